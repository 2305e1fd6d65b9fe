"""Reads: every list of posts, comments and notifications, keyset-paginated and prefetched.

Pages are cut on (created_at, id) descending with an opaque cursor, never OFFSET, so page
1,000 costs what page 1 costs. Each list is a fixed number of queries whatever its length:
one for the page, one per prefetched relation.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, FloatField, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from creators.models import Block, Follow, Mute

from . import disclosures, markets, verification
from .models import Comment, Like, Notification, Post, PostRevision

User = get_user_model()

PAGE_SIZE = 20
MAX_PAGE_SIZE = 50


@dataclass
class Page:
    items: list
    next_cursor: str | None


def encode_cursor(created_at: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": _("That page link is broken; start again from the first page.")}) from None


def _page(
    queryset: QuerySet, *, cursor: str | None, size: int, time_field: str = "created_at", oldest_first: bool = False
) -> Page:
    size = max(1, min(size, MAX_PAGE_SIZE))
    after, before = ("gt", "gte") if oldest_first else ("lt", "lte")
    if cursor:
        moment, pk = decode_cursor(cursor)
        # The first condition bounds the index scan; the OR only breaks ties. Alone, the OR is a filter
        # Postgres applies row by row from the top of the index, so page 5,000 would read 5,000 pages.
        queryset = queryset.filter(
            Q(**{f"{time_field}__{before}": moment}),
            Q(**{f"{time_field}__{after}": moment}) | Q(**{time_field: moment, f"pk__{after}": pk}),
        )
    order = (time_field, "pk") if oldest_first else (f"-{time_field}", "-pk")
    items = list(queryset.order_by(*order)[: size + 1])
    more = len(items) > size
    items = items[:size]
    next_cursor = encode_cursor(getattr(items[-1], time_field), items[-1].pk) if more else None
    return Page(items=items, next_cursor=next_cursor)


def _hidden_authors(viewer):
    """People whose posts `viewer` never sees: muted, blocked, or blocking the viewer."""
    return (
        Mute.objects.filter(user=viewer)
        .values("target")
        .union(Block.objects.filter(user=viewer).values("target"))
        .union(Block.objects.filter(target=viewer).values("user"))
    )


def _post_cards(viewer) -> QuerySet[Post]:
    """Published posts with everything a post card shows, minus authors the viewer hid."""
    queryset = (
        Post.objects.filter(status=Post.Status.PUBLISHED, author__suspended_at__isnull=True)
        # The search document is for the index only; no page shows it, and it is bigger than the body.
        .defer("search_vector")
        .select_related("author__profile__title", "content_type", "trade_card", "call__asset")
        .prefetch_related("assets", "images")
    )
    if viewer is not None and viewer.is_authenticated:
        queryset = queryset.exclude(author__in=_hidden_authors(viewer)).annotate(
            liked=Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer))
        )
    return queryset


def with_exchange_facts(posts: list[Post]) -> list[Post]:
    """Adds to each post card what the exchange knows about it, a fixed number of queries per
    page: market quotes for its trade card and call, the PnL of verified trade cards (from the
    author's closing fills and those quotes), and the author's trades of its assets around
    posting (the conflict-of-interest disclosure)."""
    markets.attach_quotes(posts)
    verification.attach_card_pnl(posts)
    disclosures.attach_disclosures(posts)
    return posts


def _post_page(queryset: QuerySet[Post], *, cursor: str | None, size: int) -> Page:
    page = _page(queryset, cursor=cursor, size=size)
    with_exchange_facts(page.items)
    return page


def latest_posts(*, viewer=None, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    return _post_page(_post_cards(viewer), cursor=cursor, size=size)


def following_posts(*, viewer, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    # The followed ids go in as a list, not a subquery: Postgres then estimates from each creator's
    # own post count and, for prolific creators, walks the time index instead of joining and sorting
    # all their posts (bench/pages.py: 480 ms at 100k posts for 100 busy creators, 1 ms this way).
    followed = list(Follow.objects.filter(follower=viewer).values_list("followee", flat=True))
    return _post_page(_post_cards(viewer).filter(author__in=followed), cursor=cursor, size=size)


def asset_posts(*, symbol: str, viewer=None, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    return _post_page(_post_cards(viewer).filter(assets__symbol=symbol.upper()), cursor=cursor, size=size)


def hashtag_posts(*, name: str, viewer=None, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    return _post_page(_post_cards(viewer).filter(hashtags__name=name.lower()), cursor=cursor, size=size)


def creator_posts(*, author, viewer=None, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    return _post_page(_post_cards(viewer).filter(author=author), cursor=cursor, size=size)


def post_cards_in_order(*, ids: list[int], viewer=None) -> list[Post]:
    """Post cards for ids chosen elsewhere (For You), in the given order; posts removed since, or by
    authors the viewer hid, drop out."""
    by_id = {post.pk: post for post in _post_cards(viewer).filter(pk__in=ids)}
    return with_exchange_facts([by_id[pk] for pk in ids if pk in by_id])


COMMENT_PAGE_SIZE = 50


def post_comments(*, post: Post, viewer=None, cursor: str | None = None, size: int = COMMENT_PAGE_SIZE) -> Page:
    """A page of top-level comments, oldest first, each with its replies (one level), in three queries."""
    visible = Comment.objects.filter(deleted_at__isnull=True).select_related("author__profile")
    if viewer is not None and viewer.is_authenticated:
        visible = visible.exclude(author__in=_hidden_authors(viewer))
    top_level = visible.filter(post=post, parent__isnull=True).prefetch_related(
        Prefetch("replies", queryset=visible.order_by("created_at", "pk"))
    )
    return _page(top_level, cursor=cursor, size=size, oldest_first=True)


def notifications_for(*, user, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    queryset = Notification.objects.filter(recipient=user).select_related("actor__profile", "post")
    return _page(queryset, cursor=cursor, size=size)


def unread_notification_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _search_query(text: str) -> SearchQuery | None:
    """English words through the stemmed dictionary; each run of Chinese characters as a phrase
    of overlapping two-character grams, the way the posts are indexed (orbit_cjk_bigrams)."""
    query = None
    words = CJK_RUN.sub(" ", text).strip()
    if words:
        query = SearchQuery(words, config="english", search_type="websearch")
    for run in CJK_RUN.findall(text):
        grams = [run[i : i + 2] for i in range(max(len(run) - 1, 1))]
        phrase = SearchQuery(" <-> ".join(grams), config="simple", search_type="raw")
        query = phrase if query is None else query & phrase
    return query


def search_posts(*, query: str, viewer=None, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """Posts matching every English word and Chinese phrase of the query, best first, cut by a
    (rank, id) cursor: later pages never repeat or skip a post, and no OFFSET is scanned."""
    search = _search_query((query or "").strip()[:200])
    if search is None:
        return Page(items=[], next_cursor=None)
    size = max(1, min(size, MAX_PAGE_SIZE))
    # ts_rank is a float4; as a double it round-trips exactly through the cursor.
    rank = Cast(SearchRank("search_vector", search), FloatField())
    matches = _post_cards(viewer).filter(search_vector=search).annotate(rank=rank)
    if cursor:
        rank, pk = _decode_rank_cursor(cursor)
        matches = matches.filter(Q(rank__lt=rank) | Q(rank=rank, pk__lt=pk))
    items = list(matches.order_by("-rank", "-pk")[: size + 1])
    more = len(items) > size
    items = with_exchange_facts(items[:size])
    next_cursor = _encode_rank_cursor(items[-1].rank, items[-1].pk) if more else None
    return Page(items=items, next_cursor=next_cursor)


def _encode_rank_cursor(rank: float, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{rank!r}|{pk}".encode()).decode().rstrip("=")


def _decode_rank_cursor(cursor: str) -> tuple[float, int]:
    try:
        rank, pk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        return float(rank), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": _("That page link is broken; start again from the first page.")}) from None


def search_people(*, query: str, size: int = PAGE_SIZE) -> list:
    query = (query or "").strip()[:100]
    if not query:
        return []
    return list(
        User.objects.filter(is_active=True, suspended_at__isnull=True)
        .filter(Q(username__icontains=query) | Q(profile__display_name__icontains=query))
        .select_related("profile")
        .order_by("username")[:size]
    )


def _count_of(queryset: QuerySet, group_by: str) -> Coalesce:
    """A correlated COUNT(*) subquery (0 when there are no rows), to annotate without GROUP BY."""
    counted = queryset.order_by().values(group_by).annotate(total=Count("*")).values("total")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def post_page(*, post_id: int, viewer=None) -> Post:
    """The post with everything its page shows, in one query plus one per prefetched relation.

    Reading rights are the service's (`services.readable_post`); call it first."""
    queryset = (
        Post.objects.filter(pk=post_id)
        .defer("search_vector")
        .select_related("author__profile__title", "content_type", "trade_card", "call__asset")
        .prefetch_related("assets", "hashtags", "images")
        .annotate(revision_count=_count_of(PostRevision.objects.filter(post=OuterRef("pk")), "post"))
    )
    if viewer is not None and viewer.is_authenticated:
        queryset = queryset.annotate(liked=Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer)))
    post = queryset.first()
    if post is None:
        raise Post.DoesNotExist(_("That post does not exist or was deleted."))
    with_exchange_facts([post])
    return post


def creator_profile(*, username: str, viewer=None):
    """An active user by username with follower and following counts and, for a signed-in
    viewer, whether they follow, mute or block them (or are blocked by them), in one query."""
    queryset = (
        User.objects.filter(username__iexact=username, is_active=True)
        .select_related("profile__title")
        .annotate(
            follower_count=_count_of(Follow.objects.filter(followee=OuterRef("pk")), "followee"),
            following_count=_count_of(Follow.objects.filter(follower=OuterRef("pk")), "follower"),
        )
    )
    if viewer is not None and viewer.is_authenticated:
        queryset = queryset.annotate(
            followed_by_viewer=Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("pk"))),
            muted_by_viewer=Exists(Mute.objects.filter(user=viewer, target=OuterRef("pk"))),
            blocked_by_viewer=Exists(Block.objects.filter(user=viewer, target=OuterRef("pk"))),
            blocks_viewer=Exists(Block.objects.filter(user=OuterRef("pk"), target=viewer)),
        )
    creator = queryset.first()
    if creator is None:
        raise User.DoesNotExist(_("There is no one called @%(username)s.") % {"username": username})
    return creator


def followers_of(*, user, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """Follow rows of people following `user`, newest first, each with the follower's profile."""
    return _page(Follow.objects.filter(followee=user).select_related("follower__profile"), cursor=cursor, size=size)


def followed_by(*, user, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """Follow rows of people `user` follows, newest first, each with the followee's profile."""
    return _page(Follow.objects.filter(follower=user).select_related("followee__profile"), cursor=cursor, size=size)
