"""One settlement week built by hand: creators and their posts, readers of known value, and the
engagement log, so each test states exactly which events it plants and when.

Everything happens in ISO week 2026-W47 (UTC in tests); `at(day, hour, minute)` is an instant in it,
day 0 being the Monday.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from creators.models import User
from feed.models import Engagement, Post
from incentives.contributions import CreatorFigures, Parameters, WeekFigures, compute
from incentives.integrity import FlagFinding
from incentives.weeks import Week
from markets.models import Fill
from tests.factories import FillFactory, PostFactory, TradeCardFactory, TradingProfileFactory, UserFactory

Kind = Engagement.Kind
WEEK = "2026-W47"


def week() -> Week:
    return Week.parse(WEEK)


def at(day: float = 0, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return week().starts_at + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


A_YEAR_BEFORE = at(0, hour=0) - timedelta(days=365)


# People.


def real_trader(
    *, joined_at: datetime = A_YEAR_BEFORE, kyc_level: int = 2, trading_until: datetime | None = None, **trading
) -> User:
    """An established, verified reader who has traded for months before the week (or before
    `trading_until`, for a week other than WEEK)."""
    # Value: fee share 1 × (KYC verified 0.600 + tenure 8/8 × 0.300) = 0.900.
    user = UserFactory(date_joined=joined_at)
    TradingProfileFactory(user=user, kyc_level=kyc_level, account_opened_at=A_YEAR_BEFORE, **trading)
    trade_every_few_days(user, until=trading_until)
    return user


def recent_trader(*, joined_at: datetime = A_YEAR_BEFORE, kyc_level: int = 2) -> User:
    """An old, verified account that began trading in the week: $30 of fees in three fills."""
    # Value: fee share 1 × (KYC verified 0.600 + tenure 1/8 × 0.300) = 0.6375, 0.638 in thousandths.
    user = UserFactory(date_joined=joined_at)
    TradingProfileFactory(user=user, kyc_level=kyc_level, account_opened_at=joined_at)
    trade_every_few_days(user, fee=Decimal(10), weeks=1)
    return user


def new_trader(*, joined_at: datetime | None = None) -> User:
    """Signed up on the exchange and on Orbit in the week (Monday 09:00 unless told), then paid $20
    of fees an hour later."""
    # Value: fee share 1 × (KYC verified 0.600 + tenure 1/8 × 0.300) × the young-account factor 0.25
    # = 0.159375, 0.159 in thousandths.
    joined_at = joined_at or at(0, hour=9)
    user = UserFactory(date_joined=joined_at)
    TradingProfileFactory(user=user, kyc_level=2, account_opened_at=joined_at)
    FillFactory(user=user, fee=Decimal(20), filled_at=joined_at + timedelta(hours=1))
    return user


def trade_every_few_days(
    user: User, *, fee: Decimal = Decimal(5), weeks: int = 9, until: datetime | None = None
) -> None:
    """A fill every third day for `weeks` weeks up to the week's last hour (or the hour before
    `until`), each paying $5 of fees: over $20 in any 30 days and a trade in each of the 8 weeks
    before whatever moment of the week the value is taken at."""
    last = (until or week().ends_at) - timedelta(hours=1)
    Fill.objects.bulk_create(
        FillFactory.build(user=user, fee=fee, filled_at=last - timedelta(days=day)) for day in range(0, 7 * weeks, 3)
    )


def non_trader(*, joined_at: datetime = A_YEAR_BEFORE) -> User:
    """An old account that never passed KYC nor traded: value 0, so nothing it does counts
    (discounted as "no_trading")."""
    user = UserFactory(date_joined=joined_at)
    TradingProfileFactory(user=user, kyc_level=0, volume_tier=0, trades_30d=0)
    return user


def fresh_account(*, joined_at: datetime | None = None) -> User:
    """Signed up during the week, no trading profile: value 0 ("no_trading")."""
    return UserFactory(date_joined=joined_at or at(1, hour=9))


def creator() -> User:
    return real_trader()


# Posts and the log.


def posts(author: User, count: int = 1, *, published_at: datetime | None = None, **fields) -> list[Post]:
    return PostFactory.create_batch(count, author=author, created_at=published_at or at(0, hour=8), **fields)


def trade_card(post: Post, instrument: str = "ETH-USDT") -> Post:
    """Put a trade card in `instrument` on the post (its Trade button opens that market). Not
    BTC-USDT, which `real_trader` trades every few days."""
    TradeCardFactory(post=post, instrument=instrument)
    return post


def fill(trader: User, when: datetime, instrument: str = "ETH-USDT") -> None:
    """The exchange reports that `trader` traded `instrument` at `when`."""
    FillFactory(user=trader, instrument=instrument, filled_at=when)


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


def compute_week(*, until: datetime | None = None, with_flags: bool = True) -> WeekFigures:
    return compute(week(), Parameters.current(), until=until, with_flags=with_flags)


def figures_of(author: User, *, until: datetime | None = None) -> CreatorFigures:
    return compute_week(until=until).creators[author.id]


def flags_of(figures: WeekFigures, author: User) -> dict[str, FlagFinding]:
    """The findings that name `author`, by rule."""
    return {flag.rule: flag for flag in figures.flags if flag.creator_id == author.id}
