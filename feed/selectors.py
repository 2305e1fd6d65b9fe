"""Reads: every list of posts, comments and notifications, keyset-paginated and prefetched.

Pages are cut on (created_at, id) descending with an opaque cursor, never OFFSET, so page
1,000 costs what page 1 costs. Each list is a fixed number of queries whatever its length:
one for the page, one per prefetched relation.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.db.models import Exists, FloatField, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from creators.models import Follow, User
from creators.selectors import hidden_author_ids
from orbit.pagination import MAX_PAGE_SIZE, PAGE_SIZE, Page, count_of, keyset_page

from . import disclosures, prices, verification
from .models import Comment, Like, Notification, Post, PostRevision

# A post card, or one with annotations of its own (a search rank).
_Card = TypeVar("_Card", bound=Post)


def _post_cards(viewer: User | AnonymousUser | None) -> QuerySet[Post]:
    """Published posts with everything a post card shows, minus authors the viewer hid."""
    queryset = (
        Post.objects.filter(status=Post.Status.PUBLISHED, author__suspended_at__isnull=True)
        # The search document is for the index only; no page shows it, and it is bigger than the body.
        .defer("search_vector")
        .select_related("author__profile__title", "content_type", "trade_card", "call__asset")
        .prefetch_related("assets", "images")
    )
    if viewer is not None and viewer.is_authenticated:
        queryset = queryset.exclude(author__in=hidden_author_ids(viewer)).annotate(
            liked=Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer))
        )
    return queryset


def with_exchange_facts(posts: list[_Card]) -> list[_Card]:
    """Adds to each post card what the exchange knows about it, a fixed number of queries per
    page: market quotes for its trade card and call, the PnL of verified trade cards (from the
    author's closing fills and those quotes), and the author's trades of its assets around
    posting (the conflict-of-interest disclosure)."""
    prices.attach_quotes(posts)
    verification.attach_card_pnl(posts)
    disclosures.attach_disclosures(posts)
    return posts


def _post_page(queryset: QuerySet[Post], *, cursor: str | None, size: int) -> Page:
    page = keyset_page(queryset, cursor=cursor, size=size)
    with_exchange_facts(page.items)
    return page


def latest_posts(
    *, viewer: User | AnonymousUser | None = None, cursor: str | None = None, size: int = PAGE_SIZE
) -> Page:
    return _post_page(_post_cards(viewer), cursor=cursor, size=size)


def following_posts(*, viewer: User, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    # The followed ids go in as a list, not a subquery: Postgres then estimates from each creator's
    # own post count and, for prolific creators, walks the time index instead of joining and sorting
    # all their posts (bench/pages.py: 480 ms at 100k posts for 100 busy creators, 1 ms this way).
    followed = list(Follow.objects.filter(follower=viewer).values_list("followee", flat=True))
    return _post_page(_post_cards(viewer).filter(author__in=followed), cursor=cursor, size=size)


def asset_posts(
    *, symbol: str, viewer: User | AnonymousUser | None = None, cursor: str | None = None, size: int = PAGE_SIZE
) -> Page:
    return _post_page(_post_cards(viewer).filter(assets__symbol=symbol.upper()), cursor=cursor, size=size)


def hashtag_posts(
    *, name: str, viewer: User | AnonymousUser | None = None, cursor: str | None = None, size: int = PAGE_SIZE
) -> Page:
    return _post_page(_post_cards(viewer).filter(hashtags__name=name.lower()), cursor=cursor, size=size)


def creator_posts(
    *, author: User, viewer: User | AnonymousUser | None = None, cursor: str | None = None, size: int = PAGE_SIZE
) -> Page:
    return _post_page(_post_cards(viewer).filter(author=author), cursor=cursor, size=size)


def post_cards_in_order(*, ids: list[int], viewer: User | AnonymousUser | None = None) -> list[Post]:
    """Post cards for ids chosen elsewhere (For You), in the given order; posts removed since, or by
    authors the viewer hid, drop out."""
    by_id = {post.pk: post for post in _post_cards(viewer).filter(pk__in=ids)}
    return with_exchange_facts([by_id[pk] for pk in ids if pk in by_id])


COMMENT_PAGE_SIZE = 50


def post_comments(
    *, post: Post, viewer: User | AnonymousUser | None = None, cursor: str | None = None, size: int = COMMENT_PAGE_SIZE
) -> Page:
    """A page of top-level comments, oldest first, each with its replies (one level), in three queries."""
    visible = Comment.objects.filter(deleted_at__isnull=True).select_related("author__profile")
    if viewer is not None and viewer.is_authenticated:
        visible = visible.exclude(author__in=hidden_author_ids(viewer))
    top_level = visible.filter(post=post, parent__isnull=True).prefetch_related(
        Prefetch("replies", queryset=visible.order_by("created_at", "pk"))
    )
    return keyset_page(top_level, cursor=cursor, size=size, oldest_first=True)


def notifications_for(*, user: User, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    queryset = Notification.objects.filter(recipient=user).select_related("actor__profile", "post")
    return keyset_page(queryset, cursor=cursor, size=size)


def unread_notification_count(*, user: User) -> int:
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


def search_posts(
    *, query: str, viewer: User | AnonymousUser | None = None, cursor: str | None = None, size: int = PAGE_SIZE
) -> Page:
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
        after_rank, after_pk = _decode_rank_cursor(cursor)
        matches = matches.filter(Q(rank__lt=after_rank) | Q(rank=after_rank, pk__lt=after_pk))
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


def post_page(*, post_id: int, viewer: User | AnonymousUser | None = None) -> Post:
    """The post with everything its page shows, in one query plus one per prefetched relation.

    Reading rights are the service's (`services.readable_post`); call it first."""
    queryset = (
        Post.objects.filter(pk=post_id)
        .defer("search_vector")
        .select_related("author__profile__title", "content_type", "trade_card", "call__asset")
        .prefetch_related("assets", "hashtags", "images")
        .annotate(revision_count=count_of(PostRevision.objects.filter(post=OuterRef("pk")), "post"))
    )
    if viewer is not None and viewer.is_authenticated:
        queryset = queryset.annotate(liked=Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer)))
    post = queryset.first()
    if post is None:
        raise Post.DoesNotExist(_("That post does not exist or was deleted."))
    with_exchange_facts([post])
    return post
