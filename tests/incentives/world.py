"""One settlement week built by hand: creators and their posts, readers of known value, and the
engagement log, so each test states exactly which events it plants and when.

Everything happens in ISO week 2026-W47 (UTC in tests); `at(day, hour, minute)` is an instant in it,
day 0 being the Monday.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from creators.models import User
from feed.models import Engagement, Post
from incentives.contributions import CreatorFigures, Parameters, WeekFigures, compute
from incentives.integrity import FlagFinding
from incentives.weeks import Week
from tests.factories import PostFactory, TradingProfileFactory, UserFactory

Kind = Engagement.Kind
WEEK = "2026-W47"


def week() -> Week:
    return Week.parse(WEEK)


def at(day: float = 0, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return week().starts_at + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


A_YEAR_BEFORE = at(0, hour=0) - timedelta(days=365)


# People.


def real_trader(*, joined_at: datetime = A_YEAR_BEFORE, kyc_level: int = 2, volume_tier: int = 2, **trading) -> User:
    """An established, verified reader who traded during the week."""
    # Value: KYC verified 0.600 + active trader 0.200 + volume tier 2 × 0.050 = 0.900.
    user = UserFactory(date_joined=joined_at)
    TradingProfileFactory(
        user=user,
        kyc_level=kyc_level,
        volume_tier=volume_tier,
        trades_30d=20,
        last_trade_at=at(2),
        account_opened_at=A_YEAR_BEFORE,
        **trading,
    )
    return user


def non_trader(*, joined_at: datetime = A_YEAR_BEFORE) -> User:
    """An old account that never passed KYC nor traded: value 0.100."""
    user = UserFactory(date_joined=joined_at)
    TradingProfileFactory(user=user, kyc_level=0, volume_tier=0, trades_30d=0)
    return user


def fresh_account(*, joined_at: datetime | None = None) -> User:
    """Signed up during the week, no trading profile."""
    # Value: KYC none 0.100 × the young-account factor 0.25 = 0.025.
    return UserFactory(date_joined=joined_at or at(1, hour=9))


def creator() -> User:
    return real_trader()


# Posts and the log.


def posts(author: User, count: int = 1, *, published_at: datetime | None = None, **fields) -> list[Post]:
    return PostFactory.create_batch(count, author=author, created_at=published_at or at(0, hour=8), **fields)


def event(actor: User | None, target: Post | User, kind: int, when: datetime, *, dwell_ms: int = 0, fingerprint=""):
    """One unsaved log row; `target` is a post, or the person followed or unfollowed."""
    if isinstance(target, Post):
        return Engagement(
            actor=actor,
            post=target,
            creator_id=target.author_id,
            kind=kind,
            dwell_ms=dwell_ms,
            occurred_at=when,
            fingerprint=fingerprint,
        )
    return Engagement(actor=actor, creator=target, kind=kind, occurred_at=when, fingerprint=fingerprint)


def record(*events: Engagement | Iterable[Engagement]) -> None:
    rows = []
    for item in events:
        rows.extend([item] if isinstance(item, Engagement) else item)
    Engagement.objects.bulk_create(rows)


# The computation.


def compute_week(*, until: datetime | None = None) -> WeekFigures:
    return compute(week(), Parameters.current(), until=until)


def figures_of(author: User, *, until: datetime | None = None) -> CreatorFigures:
    return compute_week(until=until).creators[author.id]


def flags_of(figures: WeekFigures, author: User) -> dict[str, FlagFinding]:
    """The findings that name `author`, by rule."""
    return {flag.rule: flag for flag in figures.flags if flag.creator_id == author.id}
