"""What the right rail shows beside every page: the reader's watchlist, trending hashtags, hot
discussions and people to follow.

The rail is a fragment HTMX fetches once the page shows it (feed.views.rail, never on phones,
where it is hidden), so none of this is on a page's own clock. Each box is one query. What is the
same for everyone (trending, hot, active creators, top assets) is computed over everyone and
cached for a minute; each reader's own hiding rule (creators.selectors: muted, blocked, blocking)
and follows are then applied to those cached candidates in Python, so a reader who muted someone
still reads from the shared cache. Only the watchlist of a reader who trades is theirs alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, F, Func, IntegerField, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator

from creators.models import Follow, User
from creators.selectors import hidden_author_id_set
from markets import market_data
from markets.market_data import Quote
from markets.models import Asset, Fill, TradingProfile
from orbit.caching import cached
from orbit.pagination import count_of

from .models import Post

CACHE_SECONDS = 60
TRENDING_WINDOW = timedelta(hours=24)
HOT_WINDOW = timedelta(hours=24)
# A thread that flares up within a week of posting is a discussion; older ones are the archive.
# The bound also lets Postgres start from the recent posts (post_latest_published) instead of
# every comment of the day.
HOT_POST_AGE = timedelta(days=7)
# Someone who posted in the last week is an active creator.
ACTIVE_WINDOW = timedelta(days=7)
# Assets named by posts of the last week rank the signed-out watchlist.
TOP_ASSETS_WINDOW = timedelta(days=7)

WATCHLIST_SIZE = 6
TRENDING_SIZE = 8
HOT_SIZE = 5
WHO_TO_FOLLOW_SIZE = 3
# Shared candidates kept in the cache: enough that a reader who hid or follows several of them
# still gets a full box.
CANDIDATES = 30
EXCERPT_CHARS = 90


@dataclass(frozen=True)
class WatchRow:
    symbol: str
    quote: Quote | None


@dataclass(frozen=True)
class Watchlist:
    rows: list[WatchRow]
    # True when the rows are the reader's own trading; False for the top assets everyone sees.
    personal: bool


@dataclass(frozen=True)
class TrendingTag:
    name: str
    posts: int


@dataclass(frozen=True)
class HotPost:
    pk: int
    author_id: int
    author_username: str
    author_name: str
    excerpt: str
    recent_comments: int


# --- Watchlist --------------------------------------------------------------------------------


def traded_symbols(*, viewer: User, size: int = WATCHLIST_SIZE) -> list[str]:
    """Listed assets the reader trades, in one query: those of their trading profile by 30-day volume
    (as the exchange reports it), then any other they have fills of, alphabetically."""
    traded = TradingProfile.objects.filter(user=viewer).values("traded_assets")[:1]
    position = Func(Subquery(traded), F("symbol"), function="array_position", output_field=IntegerField())
    return list(
        Asset.objects.filter(is_listed=True)
        .annotate(position=position, has_fills=Exists(Fill.objects.filter(user=viewer, asset=OuterRef("symbol"))))
        .filter(Q(position__isnull=False) | Q(has_fills=True))
        .order_by(F("position").asc(nulls_last=True), "symbol")
        .values_list("symbol", flat=True)[:size]
    )


def top_symbols(*, now: datetime | None = None, size: int = WATCHLIST_SIZE) -> list[str]:
    """The listed assets most named by posts of the last week, then alphabetically (one query)."""
    since = (now or timezone.now()) - TOP_ASSETS_WINDOW
    named = Q(posts__status=Post.Status.PUBLISHED, posts__created_at__gte=since)
    return list(
        Asset.objects.filter(is_listed=True)
        .annotate(mentions=Count("posts", filter=named))
        .order_by("-mentions", "symbol")
        .values_list("symbol", flat=True)[:size]
    )


def _with_quotes(symbols: list[str]) -> list[WatchRow]:
    found = market_data.quotes(symbols)
    return [WatchRow(symbol=symbol, quote=found.get(symbol)) for symbol in symbols]


def watchlist(*, viewer: User | AnonymousUser | None) -> Watchlist:
    """The assets the reader trades with their last price and 24-hour change (two queries); for a
    signed-out reader, or one who has never traded, the top listed assets (cached)."""
    if isinstance(viewer, User):
        symbols = traded_symbols(viewer=viewer)
        if symbols:
            return Watchlist(rows=_with_quotes(symbols), personal=True)
    rows = cached("rails:top-assets", lambda: _with_quotes(top_symbols()), timeout=CACHE_SECONDS)
    return Watchlist(rows=rows, personal=False)


# --- Trending hashtags ----------------------------------------------------------------------


def trending_hashtag_counts(*, now: datetime | None = None) -> list[tuple[str, int, int]]:
    """(hashtag, author id, posts) over the last 24 hours for the top hashtags, in one query.

    Counted per author so that each reader's hidden authors can be taken out of the shared counts."""
    since = (now or timezone.now()) - TRENDING_WINDOW
    tagged = Post.hashtags.through.objects.filter(
        post__status=Post.Status.PUBLISHED,
        post__created_at__gte=since,
        post__author__suspended_at__isnull=True,
    )
    top = tagged.values("hashtag_id").annotate(posts=Count("post_id")).order_by("-posts", "hashtag_id")
    return list(
        tagged.filter(hashtag_id__in=top.values("hashtag_id")[:CANDIDATES])
        .values_list("hashtag__name", "post__author_id")
        .annotate(posts=Count("post_id"))
        .order_by()
    )


def trending_hashtags(*, hidden: Collection[int] = (), size: int = TRENDING_SIZE) -> list[TrendingTag]:
    """The hashtags on the most posts of the last 24 hours, leaving out posts by `hidden` authors."""
    counts: Counter[str] = Counter()
    for name, author_id, posts in cached("rails:trending", trending_hashtag_counts, timeout=CACHE_SECONDS):
        if author_id not in hidden:
            counts[name] += posts
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [TrendingTag(name=name, posts=posts) for name, posts in ranked[:size]]


# --- Hot discussions ------------------------------------------------------------------------


def hot_post_candidates(*, now: datetime | None = None) -> list[HotPost]:
    """Posts of the last week with the most comments in the last 24 hours, in one query."""
    now = now or timezone.now()
    recent = Q(comments__created_at__gte=now - HOT_WINDOW, comments__deleted_at__isnull=True)
    rows = (
        Post.objects.filter(
            status=Post.Status.PUBLISHED,
            author__suspended_at__isnull=True,
            repost_of__isnull=True,
            created_at__gte=now - HOT_POST_AGE,
        )
        .filter(recent)
        .annotate(recent_comments=Count("comments", filter=recent))
        .order_by("-recent_comments", "-pk")
        .values_list(
            "pk", "author_id", "author__username", "author__profile__display_name", "body_html", "recent_comments"
        )[:CANDIDATES]
    )
    return [
        HotPost(
            pk=pk,
            author_id=author_id,
            author_username=username,
            author_name=display_name or username,
            excerpt=Truncator(" ".join(strip_tags(body_html).split())).chars(EXCERPT_CHARS),
            recent_comments=recent_comments,
        )
        for pk, author_id, username, display_name, body_html, recent_comments in rows
    ]


def hot_discussions(*, hidden: Collection[int] = (), size: int = HOT_SIZE) -> list[HotPost]:
    candidates = cached("rails:hot", hot_post_candidates, timeout=CACHE_SECONDS)
    return [post for post in candidates if post.author_id not in hidden][:size]


# --- Who to follow ----------------------------------------------------------------------------


def active_creators(*, now: datetime | None = None) -> list[User]:
    """People who posted in the last week, most followed first, with their profiles, in one query."""
    since = (now or timezone.now()) - ACTIVE_WINDOW
    posted = Post.objects.filter(author=OuterRef("pk"), status=Post.Status.PUBLISHED, created_at__gte=since)
    return list(
        User.objects.filter(is_active=True, suspended_at__isnull=True, deleted_at__isnull=True)
        .filter(Exists(posted))
        .annotate(follower_count=count_of(Follow.objects.filter(followee=OuterRef("pk")), "followee"))
        .select_related("profile__title")
        .order_by("-follower_count", "pk")[:CANDIDATES]
    )


def who_to_follow(
    *, viewer: User | AnonymousUser | None, hidden: Collection[int] = (), size: int = WHO_TO_FOLLOW_SIZE
) -> list[User]:
    """Active creators the reader does not follow and has not hidden (one query for a signed-in
    reader: whom of the candidates they follow)."""
    candidates = cached("rails:creators", active_creators, timeout=CACHE_SECONDS)
    if not isinstance(viewer, User):
        return candidates[:size]
    followed = set(
        Follow.objects.filter(follower=viewer, followee__in=[person.pk for person in candidates]).values_list(
            "followee_id", flat=True
        )
    )
    skipped = followed | set(hidden) | {viewer.pk}
    return [person for person in candidates if person.pk not in skipped][:size]


# --- The whole rail ---------------------------------------------------------------------------


def rail_for(*, viewer: User | AnonymousUser | None) -> dict:
    """Everything the rail shows. With a warm cache: nothing for a signed-out reader; for a signed-in
    one their hidden authors, whom of the active creators they follow, and their watchlist (its
    assets, their quotes)."""
    hidden = hidden_author_id_set(viewer) if isinstance(viewer, User) else set()
    return {
        "watchlist": watchlist(viewer=viewer),
        "trending": trending_hashtags(hidden=hidden),
        "hot": hot_discussions(hidden=hidden),
        "who_to_follow": who_to_follow(viewer=viewer, hidden=hidden),
    }
