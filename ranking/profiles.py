"""Interest profiles: what each user trades and reads, as a sparse map of weights.

Keys are "asset:BTC", "topic:defi", "type:education", "creator:42" and "level:beginner"; the
engagement part also keeps the levels and languages of what the user reads ("reads_level:advanced",
"reads_language:zh"), which the learned ranker weighs against the trading level.
Two parts are kept apart because they age differently: the trading part is rebuilt from the
exchange's trading profile every time (it is already a 30-day picture), while the engagement
part is a sum of the user's engagement, each event decayed with a half-life, and is updated
incrementally: decay the stored sums to now, then add only the events after the last one seen.

See docs/ranking.md#the-pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from feed.models import Engagement
from markets.models import TradingProfile
from orbit.replicas import read_connection

from .models import UserInterest

Kind = Engagement.Kind

# How much one event says about interest. Negative feedback counts against what the post is
# about; a follow (no post) lands on the creator only. Dwell is scaled by seconds in SQL.
EVENT_WEIGHTS = {
    Kind.VIEW: 0.1,
    Kind.LIKE: 1.0,
    Kind.UNLIKE: -1.0,
    Kind.COMMENT: 1.5,
    Kind.SHARE: 2.0,
    Kind.TRADE_CLICK: 2.5,
    Kind.FOLLOW: 3.0,
    Kind.UNFOLLOW: -3.0,
    Kind.HIDE: -3.0,
    Kind.REPORT: -4.0,
}
# Dwell: 0.5 per 30 s read, at most 1.5 per dwell row.
DWELL_WEIGHT_PER_30S = 0.5
DWELL_WEIGHT_CAP = 1.5
# Keys kept per user: enough for candidates and scoring, small enough to read per request.
MAX_KEYS = 80
# Once a user has engagement, trading still counts for this share of the profile.
TRADING_SHARE_WITH_ENGAGEMENT = 0.4

DERIVATIVE_INSTRUMENTS = {"perpetual", "options"}


def half_life_seconds() -> float:
    return settings.ORBIT_INTEREST_HALF_LIFE_DAYS * 86_400.0


# --- Trading part --------------------------------------------------------------------


def trading_interest(profile: TradingProfile | None) -> dict[str, float]:
    """Interests implied by how the user trades; new users start from this alone."""
    if profile is None:
        return {"level:beginner": 1.0, "type:education": 0.5}
    weights: dict[str, float] = {}
    volumes = {symbol: float(volume) for symbol, volume in (profile.volume_by_asset or {}).items()}
    top_volume = max(volumes.values(), default=0.0)
    # Traded assets come most-traded first. With the 30-day volume per asset from the exchange's
    # fills, weight follows the square root of each asset's share of the top one (a 100× smaller
    # position still says something); without it, later assets count a little less.
    for position, symbol in enumerate(profile.traded_assets):
        if top_volume > 0 and symbol in volumes:
            weight = max(0.2, (volumes[symbol] / top_volume) ** 0.5)
        else:
            weight = 1.0 / (1.0 + 0.15 * position)
        weights[f"asset:{symbol.upper()}"] = round(weight, 4)
    instruments = set(profile.instruments)
    if instruments & DERIVATIVE_INSTRUMENTS:
        weights["topic:derivatives"] = 0.6
        weights["type:analysis"] = 0.3
        weights["type:trade_share"] = 0.3
    if "earn" in instruments:
        weights["topic:defi"] = 0.3
    level = trading_level(profile)
    weights[f"level:{level}"] = 1.0
    if level == "beginner":
        weights["type:education"] = 0.6
    weights["type:new_asset"] = 0.2
    return weights


def trading_level(profile: TradingProfile) -> str:
    if profile.volume_tier >= 4 or "options" in profile.instruments:
        return "advanced"
    if profile.volume_tier >= 2 or set(profile.instruments) & DERIVATIVE_INSTRUMENTS:
        return "intermediate"
    return "beginner"


# --- Engagement part -----------------------------------------------------------------

# One pass over the user's events since `after_id`: decay each to `now`, then spread it over
# the keys of its post (its assets, topics and tagged type) and its creator. Rows of posts not
# yet tagged still count towards the creator.
ENGAGEMENT_SQL = f"""
WITH events AS (
    SELECT e.id, e.post_id, e.creator_id,
           (CASE WHEN e.kind = {int(Kind.DWELL)}
                 THEN LEAST({DWELL_WEIGHT_CAP}, {DWELL_WEIGHT_PER_30S} * e.dwell_ms / 30000.0)
                 {" ".join(f"WHEN e.kind = {int(kind)} THEN {weight}" for kind, weight in EVENT_WEIGHTS.items())}
                 ELSE 0 END)
           * power(0.5, GREATEST(0, EXTRACT(EPOCH FROM (%(now)s - e.occurred_at))) / %(half_life)s) AS weight
    FROM feed_engagement e
    WHERE e.actor_id = %(user_id)s AND e.id > %(after_id)s AND e.occurred_at <= %(now)s
      AND e.creator_id <> %(user_id)s
),
tagged AS (
    SELECT events.weight, t.assets, t.topics, t.content_type, t.level, t.language
    FROM events JOIN ranking_posttags t ON t.post_id = events.post_id
)
SELECT 'asset:' || asset, SUM(weight / sqrt(cardinality(assets))) FROM tagged, unnest(assets) AS asset GROUP BY 1
UNION ALL
SELECT 'topic:' || topic, SUM(weight / sqrt(cardinality(topics))) FROM tagged, unnest(topics) AS topic GROUP BY 1
UNION ALL
SELECT 'type:' || content_type, SUM(weight) FROM tagged GROUP BY 1
UNION ALL
SELECT 'reads_level:' || level, SUM(weight) FROM tagged GROUP BY 1
UNION ALL
SELECT 'reads_language:' || language, SUM(weight) FROM tagged GROUP BY 1
UNION ALL
SELECT 'creator:' || creator_id, SUM(weight) FROM events GROUP BY 1
UNION ALL
SELECT '#last', MAX(id) FROM events
"""


def engagement_sums(*, user_id: int, after_id: int, now: datetime) -> tuple[dict[str, float], int]:
    """Decayed sums per key of the user's events after `after_id` up to `now`, and the last id seen."""
    # A page reads a replica (the reader is pinned to the primary for a while after a write of theirs).
    with read_connection(Engagement).cursor() as cursor:
        cursor.execute(
            ENGAGEMENT_SQL, {"user_id": user_id, "after_id": after_id, "now": now, "half_life": half_life_seconds()}
        )
        rows = cursor.fetchall()
    sums = {key: float(value) for key, value in rows if key != "#last" and value}
    last = next((int(value) for key, value in rows if key == "#last" and value is not None), after_id)
    return sums, last


def decay(weights: dict[str, float], *, seconds: float) -> dict[str, float]:
    factor = math.pow(0.5, max(0.0, seconds) / half_life_seconds())
    return {key: value * factor for key, value in weights.items()}


def merge(into: dict[str, float], extra: dict[str, float]) -> dict[str, float]:
    merged = dict(into)
    for key, value in extra.items():
        merged[key] = merged.get(key, 0.0) + value
    return merged


def prune(weights: dict[str, float]) -> dict[str, float]:
    """The strongest MAX_KEYS keys by magnitude, dropping ones that decayed to nothing."""
    # Equal weights in key order: which of them stay must not depend on the order rows came back in.
    kept = sorted((item for item in weights.items() if abs(item[1]) >= 1e-3), key=lambda item: (-abs(item[1]), item[0]))
    return {key: round(value, 4) for key, value in kept[:MAX_KEYS]}


# --- Profiles --------------------------------------------------------------------------


def combine(trading: dict[str, float], engagement: dict[str, float]) -> dict[str, float]:
    """One map in which the strongest trading key and the strongest engagement key weigh 1.

    Negative engagement (hides, reports, unfollows) stays negative so it can push a type or a
    creator down.
    """
    trading_top = max((value for value in trading.values() if value > 0), default=0.0)
    engagement_top = max((abs(value) for value in engagement.values()), default=0.0)
    trading_share = TRADING_SHARE_WITH_ENGAGEMENT if engagement_top else 1.0
    combined: dict[str, float] = {}
    if trading_top:
        for key, value in trading.items():
            combined[key] = trading_share * value / trading_top
    if engagement_top:
        for key, value in engagement.items():
            combined[key] = combined.get(key, 0.0) + (1.0 - trading_share) * value / engagement_top
    # Level is a fact about the user, not a share of attention.
    for key, value in trading.items():
        if key.startswith("level:"):
            combined[key] = value
    return combined


def _trading_profile(user_id: int) -> TradingProfile | None:
    return TradingProfile.objects.filter(user_id=user_id).first()


@dataclass(frozen=True)
class InterestParts:
    """The two parts of a profile as stored: `trading` as trading_interest gives it, `engagement` as
    decayed sums (not scaled), which the learned ranker reads apart."""

    trading: dict[str, float]
    engagement: dict[str, float]

    @property
    def combined(self) -> dict[str, float]:
        return combine(self.trading, self.engagement)


def parts_as_of(user_id: int, *, as_of: datetime | None = None) -> InterestParts:
    """Both parts from scratch, counting only engagement up to `as_of` (evaluation and training)."""
    now = as_of or timezone.now()
    engagement, _last = engagement_sums(user_id=user_id, after_id=0, now=now)
    return InterestParts(trading=trading_interest(_trading_profile(user_id)), engagement=prune(engagement))


def build_interest(user_id: int, *, as_of: datetime | None = None) -> dict[str, float]:
    """The profile from scratch, counting only engagement up to `as_of` (evaluation uses this)."""
    return parts_as_of(user_id, as_of=as_of).combined


def refresh_interest(*, user_id: int) -> UserInterest:
    """Fold the user's new engagement into the stored profile; safe to run twice or at once."""
    now = timezone.now()
    trading = trading_interest(_trading_profile(user_id))
    with transaction.atomic():
        interest, _created = UserInterest.objects.get_or_create(user_id=user_id)
        # Lock so two refreshes cannot both add the same new events.
        interest = UserInterest.objects.select_for_update().get(pk=interest.pk)
        stored = interest.engagement
        if interest.engagement_as_of is not None:
            stored = decay(stored, seconds=(now - interest.engagement_as_of).total_seconds())
        new, last = engagement_sums(user_id=user_id, after_id=interest.last_engagement_id, now=now)
        interest.engagement = prune(merge(stored, new))
        interest.trading = trading
        interest.last_engagement_id = last
        interest.engagement_as_of = now
        interest.save()
    return interest


def refreshed_parts(user_id: int) -> InterestParts:
    """The user's current profile parts, refreshed with any engagement since last time."""
    interest = refresh_interest(user_id=user_id)
    return InterestParts(trading=interest.trading, engagement=interest.engagement)


def stored_parts(user_id: int) -> InterestParts:
    """The profile parts as last refreshed, without writing; a user never refreshed gets them built."""
    interest = UserInterest.objects.filter(user_id=user_id).first()
    if interest is None:
        return parts_as_of(user_id)
    return InterestParts(trading=interest.trading, engagement=interest.engagement)


def interest_of(user_id: int) -> dict[str, float]:
    """The user's current combined profile, refreshed with any engagement since last time."""
    return refreshed_parts(user_id).combined


def stored_interest(user_id: int) -> dict[str, float]:
    """The profile as last refreshed, without writing; a user never refreshed gets one built."""
    return stored_parts(user_id).combined


def user_level(weights: dict[str, float]) -> str:
    for level in ("advanced", "intermediate", "beginner"):
        if weights.get(f"level:{level}"):
            return level
    return "beginner"
