"""What each creator brought in a week, computed in SQL over the engagement log.

The work happens in Postgres, in one transaction, in a few set-based passes; Python only sees
one row per creator, action and reason, so memory does not grow with the number of events.

1. `inc_pairs`: the week's events grouped by reader, post (or followed creator) and action, read
   from the rollups the fold keeps as engagement arrives (folding.py), not from the raw week. One
   group is at most one counted interaction: repeats are discounted as "repeat". An unlike or
   unfollow cancels its like or follow ("undone"). Beside it, `inc_repeats` (the interactions
   the reader already made in an earlier week: "repeat" too) and `inc_conversions` (trade clicks
   a fill confirmed; any other click counts as a view).
2. `inc_devices`, `inc_readers`, `inc_posts`: the readers' devices, each reader's value (0 to
   the maximum of ReaderValueRules, as integer thousandths so sums are exact and the same under
   any plan; from the fees the reader paid and the weeks they traded before the week's end, never
   from today's profile), and the posts still earning (published, in their first
   `post_earning_days`).
3. The integrity rules (`integrity.py`) mark interactions to discount.
4. One pass classifies every group by the first reason it does not count (signed out, self,
   undone, past the post's earning window, a repeat of an earlier week, a rule, a reader of no
   value), caps each reader's counted interactions with one creator per day (time spent is capped
   per reader and post instead), keeping the most valuable actions, and sums per creator and
   action.

score = Σ over actions of weight * Σ reader value of the counted interactions
      + time-spent weight * Σ reader value * counted minutes.
Integer sums in SQL, Decimal in Python: the score is exact and the same on every run.

See docs/incentives.md#1-what-counts-incentivescontributionspy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils.translation import gettext_lazy as _

from markets.market_data import DOLLARS

from . import folding, integrity
from .models import ActionWeight, IncentivePolicy, ReaderValueRules
from .sql import stream
from .timing import timed
from .weeks import Week

logger = logging.getLogger(__name__)
Action = ActionWeight.Action
Source = Literal["rollups", "raw"]
ACTION_SLUGS = {
    Action.VIEW: "view",
    Action.TIME_SPENT: "time_spent",
    Action.LIKE: "like",
    Action.COMMENT: "comment",
    Action.SHARE: "share",
    Action.FOLLOW: "follow",
    Action.TRADE_CLICK: "trade_click",
}
# Engagement kinds read: the counted actions plus unlike (4) and unfollow (9), which undo.
READ_KINDS = sorted([*ACTION_SLUGS, 4, 9])
SCORE_PLACES = Decimal("0.000001")
# A trade click pays as one only when the exchange reports a fill by the reader in the card's
# instrument within this long after the click (and before the end of the computed week). Any
# other click is only as good as a view: a click costs nothing, a trade costs fees.
CONVERSION_WINDOW = timedelta(hours=24)
# The classification's pseudo-action for a trade click without such a fill: weighed, capped and
# counted as a view, shown as a trade click among the raw counts.
UNCONVERTED_CLICK = 0
# Actions on a post counted once over the post's whole earning window, across weeks (time spent
# is capped per reader, post and week instead).
ONCE_PER_POST = [Action.VIEW, Action.LIKE, Action.COMMENT, Action.SHARE, Action.TRADE_CLICK]

# Why an interaction did not count, in words a creator can act on. Never the thresholds.
DISCOUNT_REASONS = {
    "repeat": _("Repeated interactions: one reader counts once per post and action"),
    "unconverted_trade_click": _("Trade clicks not followed by a trade, counted as views"),
    "undone": _("Likes and follows that were taken back"),
    "signed_out": _("Readers who were not signed in"),
    "self": _("Your own activity"),
    "post_window": _("Interactions after a post's earning window, or on removed posts"),
    "ineligible_reader": _("Readers whose accounts are suspended or frozen"),
    "no_trading": _("Readers who have not traded on the exchange recently"),
    "daily_cap": _("Interactions beyond the daily limit from one reader"),
    "reader_limit": _("One reader's week counts up to a limit, and only part of it for one creator"),
    "same_device": _("Activity from devices you use yourself"),
    "shared_device": _("Several accounts using one device"),
    "new_account_burst": _("Accounts created in a burst, without trading activity"),
    "lockstep": _("Groups of accounts acting in lockstep"),
    "reciprocal_ring": _("Creators engaging each other in a pod"),
    "dense_block": _("A group of accounts engaging the same few creators"),
    "machine_dwell": _("Time spent that looks automated"),
    "shared_network": _("Many accounts from one network"),
    "low_trust": _("Accounts with no ties to the wider community of traders"),
}


@dataclass(frozen=True)
class Parameters:
    """Everything a computation depends on besides the log; frozen into each settlement."""

    weights: dict[int, Decimal]
    dwell_cap_seconds: int
    daily_cap: int
    post_earning_days: int
    reader_week_points: int
    reader_creator_share: Decimal
    time_spent_week_seconds: int
    reader_value: dict[str, str]
    alpha: Decimal
    max_share: Decimal | None
    minimum_payout: Decimal
    hold_severity: int
    thresholds: integrity.Thresholds = field(default_factory=integrity.Thresholds)

    @classmethod
    def current(cls) -> Parameters:
        policy, rules = IncentivePolicy.current(), ReaderValueRules.current()
        weights = {row.kind: row for row in ActionWeight.objects.all()}
        dwell = weights.get(Action.TIME_SPENT)
        return cls(
            weights={kind: row.weight for kind, row in weights.items()},
            dwell_cap_seconds=dwell.per_view_cap_seconds if dwell else 300,
            daily_cap=policy.daily_cap,
            post_earning_days=policy.post_earning_days,
            reader_week_points=policy.reader_week_points,
            reader_creator_share=policy.reader_creator_share,
            time_spent_week_seconds=policy.time_spent_week_minutes * 60,
            # Every rule the operators can set (all fields but the row's id and timestamp).
            reader_value={
                field.name: str(getattr(rules, field.name))
                for field in ReaderValueRules._meta.concrete_fields
                if field.name not in ("id", "updated_at")
            },
            alpha=policy.alpha,
            max_share=policy.max_share,
            minimum_payout=policy.minimum_payout,
            hold_severity=policy.hold_severity,
        )

    def as_json(self) -> dict:
        return {
            "weights": {ACTION_SLUGS[Action(kind)]: str(weight) for kind, weight in sorted(self.weights.items())},
            "time_spent_cap_seconds": self.dwell_cap_seconds,
            "daily_cap": self.daily_cap,
            "reader_week_points": self.reader_week_points,
            "reader_creator_share": str(self.reader_creator_share),
            "time_spent_week_seconds": self.time_spent_week_seconds,
            "post_earning_days": self.post_earning_days,
            "reader_value": self.reader_value,
            "alpha": str(self.alpha),
            "max_share": None if self.max_share is None else str(self.max_share),
            "minimum_payout": str(self.minimum_payout),
            "hold_severity": self.hold_severity,
            "integrity": self.thresholds.as_json(),
        }


@dataclass
class CreatorFigures:
    creator_id: int
    raw_counts: dict[str, int] = field(default_factory=dict)
    counted_counts: dict[str, int] = field(default_factory=dict)
    discounts: dict[str, int] = field(default_factory=dict)
    counted_dwell_ms: int = 0
    # Σ reader value × the reader's limits (millionths) per counted action; for time spent, times
    # the counted milliseconds.
    value_sums: dict[int, int] = field(default_factory=dict)
    score: Decimal = Decimal(0)

    @property
    def counted_minutes(self) -> Decimal:
        return (Decimal(self.counted_dwell_ms) / 60_000).quantize(Decimal("0.01"))


@dataclass
class WeekFigures:
    week: Week
    parameters: Parameters
    creators: dict[int, CreatorFigures]
    flags: list[integrity.FlagFinding]


def compute(
    week: Week,
    parameters: Parameters,
    *,
    until: datetime | None = None,
    timings: dict[str, float] | None = None,
    source: Source = "rollups",
    with_flags: bool = True,
) -> WeekFigures:
    """Contributions of every creator with engagement in `week` (up to `until`, for the live
    estimate). Runs in its own transaction (or the caller's). Given `timings`, records the wall
    time of each pass in it (each integrity rule under its function's name).

    `with_flags=False` skips writing up the integrity findings (`flags` comes back empty): the
    live estimate shows creators their amounts and discounts, never the findings, and this pass
    is about a quarter of the work. The discounts themselves are applied either way.

    From the rollups (folding.py), after folding what is new, so the week's last minute counts;
    `source="raw"` groups the raw log instead (the rollup-equals-raw test and the bench). The
    rollups cannot answer, and the raw log is read, for a week in another time zone than
    ORBIT_SETTLEMENT_TZ, a week folded with another dwell cap than `parameters`', or an `until`
    before an event already folded (the live estimate's `until` is now: nothing folded is later)."""
    ends_at = min(until, week.ends_at) if until else week.ends_at
    if source == "rollups":
        folding.fold_new_engagement()
        source = _source_for(week, ends_at, parameters)
    with transaction.atomic(), connection.cursor() as cursor:
        # The aggregations below are hash tables over millions of rows: give them room for this
        # transaction only, so they are not spilled to disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # Compiling these wide expressions costs more than it saves (about 1.5 s per statement).
        cursor.execute("SET LOCAL jit = off")
        with timed(timings, "working tables"):
            _build_working_tables(cursor, week, ends_at, parameters, source)
        with timed(timings, "repeats and conversions"):
            _find_repeats_and_conversions(cursor, week, ends_at, parameters, source)
        integrity.apply_rules(cursor, parameters.thresholds, week, timings=timings)
        with timed(timings, "classification and sums"):
            creators = _classify_and_sum(cursor, week, parameters)
        flags = []
        if with_flags:
            with timed(timings, "flags"):
                flags = integrity.find_flags(cursor)
        _drop_working_tables(cursor)
    for figures in creators.values():
        figures.score = score_of(figures, parameters)
    return WeekFigures(week=week, parameters=parameters, creators=creators, flags=flags)


def score_of(figures: CreatorFigures, parameters: Parameters) -> Decimal:
    total = Decimal(0)
    for kind, value_sum in figures.value_sums.items():
        weight = parameters.weights.get(kind, Decimal(0))
        # Time spent: value * limits (millionths) * milliseconds → value * minutes.
        unit = TIME_SPENT_UNIT if kind == Action.TIME_SPENT else VALUE_UNIT
        total += weight * Decimal(value_sum) / unit
    return total.quantize(SCORE_PLACES, rounding=ROUND_HALF_EVEN)


# The week's pairs grouped from the raw log.
PAIRS_FROM_RAW = """
    CREATE TEMP TABLE inc_pairs ON COMMIT DROP AS
    SELECT e.actor_id AS reader_id,
           e.creator_id,
           e.post_id,
           (CASE e.kind WHEN 4 THEN 3 WHEN 9 THEN 8 ELSE e.kind END)::smallint AS kind,
           count(*) FILTER (WHERE e.kind NOT IN (4, 9))::int AS events,
           sum(CASE WHEN e.kind IN (4, 9) THEN -1 ELSE 1 END)::int AS net,
           min(e.occurred_at) AS first_at,
           sum(least(e.dwell_ms, %(dwell_cap_ms)s))::bigint AS dwell_ms,
           min(e.dwell_ms) AS min_dwell_ms,
           -- Two devices per reader, post and action (the smallest and largest fingerprint):
           -- enough to tie a creator's laptop and phone together without a second pass. As
           -- 64-bit hashes, which aggregate and join far faster than text.
           min(hashtextextended(nullif(e.fingerprint, ''), 0)) AS fingerprint,
           max(hashtextextended(nullif(e.fingerprint, ''), 0)) AS other_fingerprint,
           -- The network prefix (IPv4 /24, IPv6 /48) the reader came from; NULL without one.
           min(hashtextextended(nullif(e.network_prefix, ''), 0)) AS network
    FROM feed_engagement e
    WHERE e.occurred_at >= %(starts_at)s AND e.occurred_at < %(ends_at)s AND e.kind = ANY(%(kinds)s)
    GROUP BY e.actor_id, e.creator_id, e.post_id, 4;
"""

# The week's pairs from the rollups: the same columns and types.
PAIRS_FROM_ROLLUPS = """
    CREATE TEMP TABLE inc_pairs ON COMMIT DROP AS
    SELECT reader_id, creator_id, post_id, kind, events, net, first_at, dwell_ms, min_dwell_ms, fingerprint,
           other_fingerprint, network
    FROM incentives_engagementrollup
    WHERE week_starts_at = %(starts_at)s;
"""


def _source_for(week: Week, ends_at: datetime, parameters: Parameters) -> Source:
    """ "rollups" when the week's rollups hold exactly what the raw week would give, else "raw"."""
    if week.time_zone != settings.ORBIT_SETTLEMENT_TZ:
        logger.warning(
            "%s is in %s, rollups in %s: reading the raw log", week, week.time_zone, settings.ORBIT_SETTLEMENT_TZ
        )
        return "raw"
    folded = folding.rollup_week(week)
    if folded is None:
        return "rollups"  # nothing folded, nothing in the raw week either
    if folded.dwell_cap_ms != parameters.dwell_cap_seconds * 1000:
        logger.warning("%s was folded with another dwell cap: reading the raw log", week)
        return "raw"
    if folded.last_occurred_at >= ends_at:
        return "raw"  # an `until` inside the folded part of the week: only the raw log can cut it
    return "rollups"


def _build_working_tables(
    cursor: CursorWrapper, week: Week, ends_at: datetime, parameters: Parameters, source: Source
) -> None:
    rules = {name: Decimal(value) for name, value in parameters.reader_value.items()}
    cursor.execute(
        (PAIRS_FROM_ROLLUPS if source == "rollups" else PAIRS_FROM_RAW)
        + """

        CREATE TEMP TABLE inc_devices ON COMMIT DROP AS
        SELECT DISTINCT reader_id, device AS fingerprint
        FROM inc_pairs, LATERAL (VALUES (fingerprint), (other_fingerprint)) AS devices (device)
        WHERE reader_id IS NOT NULL AND (device IS NOT NULL OR fingerprint IS NULL);
        -- Temporary tables are never auto-analyzed; the planner needs their sizes.
        ANALYZE inc_pairs; ANALYZE inc_devices;

        -- Reader value from the reader's own fills before the week's end, never from today's
        -- profile: dollar fees paid in the fee window (rebates count as nothing) and the weeks with a
        -- fill among the last `tenure_weeks`, aggregated per reader in one pass over the fill window.
        CREATE TEMP TABLE inc_readers ON COMMIT DROP AS
        SELECT u.id AS reader_id,
               u.date_joined AS joined_at,
               coalesce(f.traded, false) AS trades,
               coalesce(f.tenure_weeks, 0) AS tenure_weeks,
               least(u.date_joined, coalesce(t.account_opened_at, u.date_joined)) AS opened_at,
               (u.suspended_at IS NULL AND u.is_active AND NOT coalesce(t.is_frozen, false)) AS eligible,
               CASE WHEN u.suspended_at IS NOT NULL OR NOT u.is_active OR coalesce(t.is_frozen, false) THEN 0
               ELSE round(1000
                   * least(%(maximum)s,
                           %(base)s
                           -- Logarithmic in the fees, flat from the full amount: a token trade's
                           -- cents are worth almost nothing, a month of real trading all of it.
                           -- (Numeric ln is slow: skipped for the many readers who paid nothing.)
                           + CASE WHEN coalesce(f.fees_usd, 0) = 0 THEN 0
                             ELSE least(1, ln(1 + f.fees_usd / %(fee_scale_usd)s)
                                           / ln(1 + %(full_fees_usd)s / %(fee_scale_usd)s)) END
                             * (CASE coalesce(t.kyc_level, 0)
                                    WHEN 0 THEN %(kyc_none)s WHEN 1 THEN %(kyc_basic)s
                                    WHEN 2 THEN %(kyc_verified)s ELSE %(kyc_advanced)s END
                                + %(tenure_bonus)s * coalesce(f.tenure_weeks, 0) / %(tenure_weeks)s))
                   -- An exchange account opened long ago makes a new Orbit account an old reader.
                   * CASE WHEN least(u.date_joined, coalesce(t.account_opened_at, u.date_joined))
                               > %(ends_at)s - %(new_account_days)s * interval '1 day'
                          THEN %(new_account_factor)s ELSE 1 END)
               END::int AS value_milli
        FROM creators_user u
        LEFT JOIN creators_tradingprofile t ON t.user_id = u.id
        LEFT JOIN (
            SELECT user_id,
                   sum(greatest(0, CASE
                       WHEN fee_currency = ANY(%(dollars)s) THEN fee
                       WHEN fee_currency = upper(asset) AND upper(quote) = ANY(%(dollars)s) THEN fee * price
                       ELSE 0 END)) FILTER (WHERE filled_at >= %(ends_at)s - %(fee_window_days)s * interval '1 day')
                       AS fees_usd,
                   bool_or(filled_at >= %(ends_at)s - %(fee_window_days)s * interval '1 day') AS traded,
                   -- Week 0 is the 7 days before the end, week 1 the 7 before those, and so on.
                   count(DISTINCT floor(extract(epoch FROM %(ends_at)s - filled_at) / 604800))
                       FILTER (WHERE filled_at >= %(ends_at)s - %(tenure_weeks)s * interval '7 days') AS tenure_weeks
            FROM (
                SELECT user_id, fee, price, asset, quote, filled_at,
                       upper(coalesce(nullif(fee_currency, ''), quote)) AS fee_currency
                FROM creators_fill
                WHERE filled_at < %(ends_at)s
                  AND filled_at >= %(ends_at)s - greatest(%(fee_window_days)s * interval '1 day',
                                                          %(tenure_weeks)s * interval '7 days')
                  AND user_id IN (SELECT reader_id FROM inc_devices)
            ) AS fills
            GROUP BY user_id
        ) f ON f.user_id = u.id
        WHERE u.id IN (SELECT reader_id FROM inc_devices);

        CREATE TEMP TABLE inc_posts ON COMMIT DROP AS
        SELECT id AS post_id, created_at + %(earning_days)s * interval '1 day' AS earns_until
        FROM feed_post
        WHERE status = 'published'
          AND created_at >= %(starts_at)s - %(earning_days)s * interval '1 day' AND created_at < %(ends_at)s;

        ANALYZE inc_readers; ANALYZE inc_posts;
        """,
        {
            "starts_at": week.starts_at,
            "ends_at": ends_at,
            "kinds": READ_KINDS,
            "dwell_cap_ms": parameters.dwell_cap_seconds * 1000,
            "earning_days": parameters.post_earning_days,
            **{name: int(rules.pop(name)) for name in ("new_account_days", "fee_window_days", "tenure_weeks")},
            "dollars": sorted(DOLLARS),
            **rules,
        },
    )


def _find_repeats_and_conversions(
    cursor: CursorWrapper, week: Week, ends_at: datetime, parameters: Parameters, source: Source
) -> None:
    """Two small tables beside inc_pairs, read by the classification:

    * `inc_repeats`: the week's interactions the reader already made in an earlier week: the same
      action on the same post since the post was published (only posts still earning this week
      can matter), or a follow of the same person at any time before. Made, not paid: an earlier
      week is settled and frozen, and this only ever pays less.
    * `inc_conversions`: the readers and posts whose trade click the exchange confirmed with a
      fill in the card's instrument within CONVERSION_WINDOW after a click, before `ends_at`.
    """
    cursor.execute(
        REPEATS_AND_CONVERSIONS_FROM_ROLLUPS
        if source == "rollups"
        else """
        CREATE TEMP TABLE inc_repeats ON COMMIT DROP AS
        -- A hash semi-join over the log since the oldest post still earning: at most
        -- post_earning_days of events, read by the time index, with no new index to keep.
        SELECT p.reader_id, p.creator_id, p.post_id, p.kind
        FROM inc_pairs p
        JOIN feed_post post ON post.id = p.post_id
        WHERE p.kind = ANY(%(once_per_post)s) AND p.reader_id IS NOT NULL AND p.events > 0
          AND post.created_at < %(starts_at)s
          AND post.created_at >= %(starts_at)s - %(earning_days)s * interval '1 day'
          AND EXISTS (
              SELECT 1 FROM feed_engagement e
              WHERE e.actor_id = p.reader_id AND e.post_id = p.post_id AND e.kind = p.kind
                AND e.kind = ANY(%(once_per_post)s)  -- so time spent is not even read
                AND e.occurred_at >= post.created_at AND e.occurred_at < %(starts_at)s
                AND e.occurred_at >= %(starts_at)s - %(earning_days)s * interval '1 day')
        UNION ALL
        -- Follows have no earning window: any earlier follow of the person, found through the
        -- small partial index on follow rows (engagement_follow_pair).
        SELECT p.reader_id, p.creator_id, NULL, p.kind
        FROM inc_pairs p
        WHERE p.kind = 8 AND p.post_id IS NULL AND p.reader_id IS NOT NULL AND p.events > 0
          AND EXISTS (
              SELECT 1 FROM feed_engagement e
              WHERE e.kind = 8 AND e.actor_id = p.reader_id AND e.creator_id = p.creator_id
                AND e.occurred_at < %(starts_at)s);

        CREATE TEMP TABLE inc_conversions ON COMMIT DROP AS
        -- Few readers who click also trade the instrument that week: the fills (by user and time)
        -- narrow the clicks first, then each fill looks back for a click of its own.
        SELECT DISTINCT p.reader_id, p.post_id
        FROM inc_pairs p
        JOIN feed_tradecard card ON card.post_id = p.post_id
        JOIN creators_fill f
          ON f.user_id = p.reader_id AND f.instrument = card.instrument
         AND f.filled_at >= p.first_at AND f.filled_at < %(ends_at)s
        WHERE p.kind = 10 AND p.reader_id IS NOT NULL AND p.events > 0
          AND EXISTS (
              SELECT 1 FROM feed_engagement e
              WHERE e.actor_id = p.reader_id AND e.post_id = p.post_id AND e.kind = 10
                AND e.occurred_at >= %(starts_at)s AND e.occurred_at < %(ends_at)s
                AND e.occurred_at <= f.filled_at
                AND e.occurred_at > f.filled_at - %(window_seconds)s * interval '1 second');

        ANALYZE inc_repeats; ANALYZE inc_conversions;
        """,
        {
            "starts_at": week.starts_at,
            "ends_at": ends_at,
            "earning_days": parameters.post_earning_days,
            "once_per_post": [int(kind) for kind in ONCE_PER_POST],
            "window_seconds": int(CONVERSION_WINDOW.total_seconds()),
        },
    )


# The same two tables from the rollups: an earlier event exists in [from, week start) exactly when an
# earlier week's rollup row of the same reader, post and action has its latest event at or after
# `from`; clicks come from the folded trade clicks.
REPEATS_AND_CONVERSIONS_FROM_ROLLUPS = """
    CREATE TEMP TABLE inc_repeats ON COMMIT DROP AS
    SELECT p.reader_id, p.creator_id, p.post_id, p.kind
    FROM inc_pairs p
    JOIN feed_post post ON post.id = p.post_id
    WHERE p.kind = ANY(%(once_per_post)s) AND p.reader_id IS NOT NULL AND p.events > 0
      AND post.created_at < %(starts_at)s
      AND post.created_at >= %(starts_at)s - %(earning_days)s * interval '1 day'
      AND EXISTS (
          SELECT 1 FROM incentives_engagementrollup r
          WHERE r.reader_id = p.reader_id AND r.post_id = p.post_id AND r.kind = p.kind AND r.events > 0
            AND r.week_starts_at < %(starts_at)s
            -- Weeks that can hold an event of the window (a week is at most 7 days and an hour).
            AND r.week_starts_at >= %(starts_at)s - (%(earning_days)s + 8) * interval '1 day'
            AND r.last_at >= greatest(post.created_at, %(starts_at)s - %(earning_days)s * interval '1 day'))
    UNION ALL
    SELECT p.reader_id, p.creator_id, NULL, p.kind
    FROM inc_pairs p
    WHERE p.kind = 8 AND p.post_id IS NULL AND p.reader_id IS NOT NULL AND p.events > 0
      AND EXISTS (
          SELECT 1 FROM incentives_engagementrollup r
          WHERE r.kind = 8 AND r.post_id IS NULL AND r.reader_id = p.reader_id AND r.creator_id = p.creator_id
            AND r.events > 0 AND r.week_starts_at < %(starts_at)s);

    CREATE TEMP TABLE inc_conversions ON COMMIT DROP AS
    SELECT DISTINCT p.reader_id, p.post_id
    FROM inc_pairs p
    JOIN feed_tradecard card ON card.post_id = p.post_id
    JOIN creators_fill f
      ON f.user_id = p.reader_id AND f.instrument = card.instrument
     AND f.filled_at >= p.first_at AND f.filled_at < %(ends_at)s
    WHERE p.kind = 10 AND p.reader_id IS NOT NULL AND p.events > 0
      AND EXISTS (
          SELECT 1 FROM incentives_foldedtradeclick c
          WHERE c.reader_id = p.reader_id AND c.post_id = p.post_id
            AND c.occurred_at >= %(starts_at)s AND c.occurred_at < %(ends_at)s
            AND c.occurred_at <= f.filled_at
            AND c.occurred_at > f.filled_at - %(window_seconds)s * interval '1 second');

    ANALYZE inc_repeats; ANALYZE inc_conversions;
"""


# Ordered by what an action is worth to the creator, so the daily cap keeps the best ones. A post's
# time spent is one interaction of the cap too, ordered by its weight per minute.
def _cap_order(parameters: Parameters) -> list[int]:
    counted = [*ACTION_SLUGS, UNCONVERTED_CLICK]
    return sorted(counted, key=lambda kind: (-parameters.weights.get(_paid_as(kind), Decimal(0)), kind))


def _paid_as(kind: int) -> int:
    return Action.VIEW if kind == UNCONVERTED_CLICK else kind


# Units of CreatorFigures.value_sums: reader value and the reader's limits are integer thousandths
# each; time spent is in milliseconds besides.
VALUE_UNIT = Decimal(1_000_000)
TIME_SPENT_UNIT = VALUE_UNIT * 60_000


# Every interaction of the week with the first reason it does not count (NULL when it counts), its
# reader's value and its day: one hash-join pass over inc_pairs, read twice after it. Reader-level
# facts are joined to the readers first (200k rows), not to every interaction.
CLASSIFIED_SQL = f"""
    CREATE TEMP TABLE inc_classified ON COMMIT DROP AS
    SELECT p.reader_id, p.creator_id, p.events,
           (CASE WHEN p.kind = 10
                  AND NOT coalesce((p.reader_id, p.post_id) IN (SELECT reader_id, post_id FROM inc_conversions), false)
                 THEN {UNCONVERTED_CLICK} ELSE p.kind END)::smallint AS kind,
           CASE
               WHEN p.reader_id IS NULL THEN 'signed_out'
               WHEN p.reader_id = p.creator_id THEN 'self'
               WHEN p.net <= 0 THEN 'undone'
               WHEN p.post_id IS NOT NULL AND (ep.post_id IS NULL OR p.first_at >= ep.earns_until) THEN 'post_window'
               WHEN (p.reader_id, p.creator_id, p.kind, coalesce(p.post_id, 0))
                    IN (SELECT reader_id, creator_id, kind, coalesce(post_id, 0) FROM inc_repeats) THEN 'repeat'
               WHEN (p.reader_id, p.creator_id) IN (SELECT reader_id, creator_id FROM inc_pair_discounts)
                   THEN (SELECT reason FROM inc_pair_discounts d
                         WHERE d.reader_id = p.reader_id AND d.creator_id = p.creator_id)
               WHEN r.reader_reason IS NOT NULL THEN r.reader_reason
               WHEN p.kind = 2 AND r.machine_dwell THEN 'machine_dwell'
               WHEN NOT coalesce(r.eligible, false) THEN 'ineligible_reader'
               WHEN coalesce(r.value_milli, 0) = 0 THEN 'no_trading'
           END AS reason,
           coalesce(r.value_milli, 0) AS value_milli,
           least(p.dwell_ms, %(dwell_cap_ms)s) AS dwell_ms,
           (p.first_at AT TIME ZONE %(time_zone)s)::date AS day
    FROM inc_pairs p
    LEFT JOIN inc_posts ep ON ep.post_id = p.post_id
    LEFT JOIN (
        SELECT r.reader_id, r.eligible, r.value_milli, rd.reason AS reader_reason,
               dd.reader_id IS NOT NULL AS machine_dwell
        FROM inc_readers r
        LEFT JOIN inc_reader_discounts rd ON rd.reader_id = r.reader_id
        LEFT JOIN inc_dwell_discounts dd ON dd.reader_id = r.reader_id
    ) AS r ON r.reader_id = p.reader_id
    WHERE p.events > 0
"""

# Every interaction's raw count per creator, reason (NULL: it counts, before the caps) and action:
# a hash aggregate into a small table. What did not count needs nothing more (most of a week's
# interactions end here); what counts is capped and budgeted by the pass below.
SUMS_BY_REASON_SQL = """
    SELECT creator_id, reason, kind,
           sum(events),
           sum(CASE WHEN reader_id IS NULL THEN events ELSE 1 END)
    FROM inc_classified
    GROUP BY creator_id, reason, kind
"""


def _counted_sums_sql(parameters: Parameters) -> str:
    """What counted, per creator, over the interactions with no reason: group per reader, creator
    and day with one column per action (a hash aggregate, no sort), cap the day, then the reader's
    week, then sum per creator what the caps and limits kept.

    The reader's week: each reader gives at most `reader_week_points` points a week (Σ weight of
    the counted interactions, time spent by the minute up to `time_spent_week_seconds` per
    creator), shared in proportion across the creators engaged, and at most
    `reader_creator_share` of them to one creator. Each pair (reader, creator) keeps an integer
    thousandth `keep_milli` of its interactions' worth, so sums stay exact.

    Only the kept counts travel past the day (the raw counts come from SUMS_BY_REASON_SQL), as
    int, so their sums are bigint (a sum of bigint is numeric, several times slower to add up);
    the sums of worth and the time spent stay numeric."""
    order = _cap_order(parameters)
    time_spent = Action.TIME_SPENT
    per_day = ",\n".join(f"count(*) FILTER (WHERE kind = {k})::int AS n_{k}" for k in order)
    # kept_k = least(n_k, what the cap leaves after the more valuable actions), in cap order. Filling
    # the cap in that order, the more valuable actions take least(cap, the sum of their counts), so
    # what is left for action k is the cap minus the counts before it (floored at 0). Most readers
    # stay under the cap, and CASE evaluates that only for those who do not.
    total = " + ".join(f"n_{k}" for k in order)
    kept = []
    for position, k in enumerate(order):
        before = " + ".join(f"n_{j}" for j in order[:position]) or "0"
        kept.append(
            f"CASE WHEN {total} <= %(daily_cap)s THEN n_{k}"
            f" ELSE least(n_{k}, greatest(0, %(daily_cap)s - ({before}))) END AS kept_{k}"
        )
    per_pair = ",\n".join(f"sum(kept_{k})::int AS kept_{k}" for k in order)
    points = " + ".join(
        f"kept_{k} * {parameters.weights.get(_paid_as(k), Decimal(0))}::numeric" for k in order if k != time_spent
    )
    worth = ",\n".join(
        f"sum(kept_{k}), "
        + (
            "sum(dwell_kept_ms * value_milli * keep_milli)"
            if k == time_spent
            else f"sum(kept_{k}::bigint * value_milli * keep_milli)"
        )
        for k in order
    )
    kept_all = " + ".join(f"kept_{k}" for k in order)
    return f"""
        WITH per_day AS (
            SELECT creator_id, reader_id, max(value_milli) AS value_milli,
                   {per_day},
                   sum(dwell_ms) FILTER (WHERE kind = {time_spent}) AS dwell_ms
            FROM inc_classified
            WHERE reason IS NULL
            GROUP BY creator_id, reader_id, day
        ), capped AS (
            SELECT *, {", ".join(kept)} FROM per_day
        ), per_pair AS (
            -- The reader's week with the creator: what the daily caps kept, and the time spent on
            -- the posts the caps kept, up to the weekly limit.
            SELECT creator_id, reader_id, max(value_milli)::bigint AS value_milli,
                   {per_pair},
                   least(coalesce(sum(dwell_ms * kept_{time_spent} / nullif(n_{time_spent}, 0)), 0),
                         %(dwell_week_ms)s)::bigint AS dwell_kept_ms
            FROM capped
            GROUP BY creator_id, reader_id
        ), pointed AS (
            SELECT *, {points}
                      + dwell_kept_ms * {parameters.weights.get(time_spent, Decimal(0))}::numeric / 60000
                      AS points
            FROM per_pair
        ), reader_weeks AS (
            -- Each reader's counted points over the week (a hash aggregate and a hash join, not a
            -- window over the pairs sorted by reader).
            SELECT reader_id, sum(points) AS week_points FROM pointed GROUP BY reader_id
        ), budgeted AS (
            SELECT p.*,
                   CASE WHEN p.points = 0 THEN 1000
                   ELSE floor(1000 * least(
                       1, %(week_points)s / w.week_points, %(creator_share)s * %(week_points)s / p.points))
                   END::bigint AS keep_milli
            FROM pointed p JOIN reader_weeks w ON w.reader_id = p.reader_id
        )
        SELECT creator_id,
               {worth},
               sum(dwell_kept_ms),
               -- Interactions the reader's limits took away, in thousandths of an interaction.
               sum(({kept_all}) * (1000 - keep_milli))
        FROM budgeted
        GROUP BY creator_id
    """


def _classify_and_sum(cursor: CursorWrapper, week: Week, parameters: Parameters) -> dict[int, CreatorFigures]:
    """Classifies every interaction (CLASSIFIED_SQL), sums them per creator, reason and action, then
    what counted after the caps and the reader's limits, per creator."""
    cursor.execute(
        CLASSIFIED_SQL + "; ANALYZE inc_classified",
        {"dwell_cap_ms": parameters.dwell_cap_seconds * 1000, "time_zone": week.time_zone},
    )
    creators: dict[int, CreatorFigures] = {}

    def figures_of(creator_id: int) -> CreatorFigures:
        return creators.get(creator_id) or creators.setdefault(creator_id, CreatorFigures(creator_id))

    # Interactions that count before the caps, per creator and action.
    counting: dict[tuple[int, int], int] = {}
    cursor.execute(SUMS_BY_REASON_SQL)
    for creator_id, reason, kind, events, interactions in stream(cursor):
        figures = figures_of(creator_id)
        # What happened is shown as it happened; an unconverted click counts as a view.
        _add(figures.raw_counts, _raw_slug(kind), events)
        if kind != Action.TIME_SPENT:  # a reader's visits to one post add up to the cap instead
            _add(figures.discounts, "repeat", events - interactions)
        if reason is None:
            counting[creator_id, kind] = interactions
        else:
            _add(figures.discounts, reason, interactions)

    order = _cap_order(parameters)
    cursor.execute(
        _counted_sums_sql(parameters),
        {
            "dwell_week_ms": parameters.time_spent_week_seconds * 1000,
            "daily_cap": parameters.daily_cap,
            "week_points": parameters.reader_week_points,
            "creator_share": parameters.reader_creator_share,
        },
    )
    for row in stream(cursor):
        creator_id = row[0]
        figures = figures_of(creator_id)
        columns = iter(row[1:])
        for kind in order:
            kept, value_sum = next(columns), next(columns)
            interactions = counting.get((creator_id, kind), 0)
            if not interactions:
                continue
            _add(figures.counted_counts, ACTION_SLUGS[Action(_paid_as(kind))], kept)
            _add(figures.discounts, "daily_cap", interactions - kept)
            if kind == UNCONVERTED_CLICK:
                _add(figures.discounts, "unconverted_trade_click", kept)
            paid_as = _paid_as(kind)
            figures.value_sums[paid_as] = figures.value_sums.get(paid_as, 0) + int(value_sum or 0)
        dwell_ms, limited_milli = next(columns), next(columns)
        figures.counted_dwell_ms += int(dwell_ms or 0)
        _add(figures.discounts, "reader_limit", round(Decimal(limited_milli or 0) / 1000))
    return creators


def _raw_slug(kind: int) -> str:
    return ACTION_SLUGS[Action.TRADE_CLICK if kind == UNCONVERTED_CLICK else Action(kind)]


def _add(counts: dict[str, int], key: str, amount: int | Decimal | None) -> None:
    if amount:
        counts[key] = counts.get(key, 0) + int(amount)


def _drop_working_tables(cursor: CursorWrapper) -> None:
    # ON COMMIT DROP covers the normal case; a caller's outer transaction may run compute twice.
    cursor.execute(
        "DROP TABLE IF EXISTS inc_pairs, inc_devices, inc_readers, inc_posts, inc_pair_discounts, "
        "inc_reader_discounts, inc_dwell_discounts, inc_lockstep_members, inc_repeats, inc_conversions, "
        "inc_classified"
    )
