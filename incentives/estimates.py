"""The running week's live estimate for the creator statement.

Ranks and amounts depend on every creator, so the estimate is computed for all of them at once
(Celery beat, every 15 minutes) with the same code as the settlement, up to now, and kept in the
cache per creator. Nothing is written to the database.

What a creator sees while the week runs is deliberately coarse: the amount as a range, the rank
band and the share of interactions that did not count, never which rule discounted what. A
statement refreshed every 15 minutes with per-rule reasons and exact figures would let a farm
tune its behaviour against the detectors; the plain-language reasons come with the settled week.

See docs/incentives.md#7-the-creator-statement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from django.core.cache import cache
from django.utils import timezone

from .allocation import Rules, allocate, rank_band
from .contributions import CreatorFigures, Parameters, compute
from .settlement import beneficial_owners, ineligible_creators, pool_for, unclaimed_carryover
from .weeks import Week

logger = logging.getLogger(__name__)
# Outlives two missed refreshes; an older estimate is better than none.
ESTIMATE_TIMEOUT = 3 * 3600
# The amount is shown as a range this far either side, to two significant figures.
RANGE_SPREAD = Decimal("0.2")
# The share of interactions that did not count is shown in steps of this many percent.
SHARE_STEP = 10
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ExactEstimate:
    """What the week would pay a creator if it ended now, before it is coarsened for display."""

    figures: CreatorFigures
    amount: Decimal
    rank_band: str
    excluded_reason: str


def _key(week: str, creator_id: int | str) -> str:
    return f"incentives:estimate:{week}:{creator_id}"


def exact_estimates(*, now: datetime) -> tuple[Week, str, dict[int, ExactEstimate]]:
    """Every creator's exact estimate of the week containing `now`, computed up to `now` with the
    settlement's own code; the week, the pool's currency and the estimates by creator id."""
    week = Week.containing(now)
    parameters = Parameters.current()
    # The estimate never shows integrity findings: skip writing them up (about a quarter of compute).
    figures = compute(week, parameters, until=now, with_flags=False)
    pool_amount, currency = pool_for(week)
    ineligible = ineligible_creators(figures.creators.keys())
    scores = {cid: c.score for cid, c in figures.creators.items() if cid not in ineligible and c.score > 0}
    rules = Rules(alpha=parameters.alpha, max_share=parameters.max_share, minimum_payout=parameters.minimum_payout)
    total = pool_amount + unclaimed_carryover(week.label, currency)
    allocation = allocate(total=total, scores=scores, rules=rules, owners=beneficial_owners(scores))
    ranked = sorted(figures.creators.values(), key=lambda creator: (-creator.score, creator.creator_id))
    return (
        week,
        currency,
        {
            creator.creator_id: ExactEstimate(
                figures=creator,
                amount=allocation.amounts.get(creator.creator_id, Decimal("0.00")),
                rank_band=rank_band(rank, len(ranked)),
                excluded_reason=ineligible.get(creator.creator_id, ""),
            )
            for rank, creator in enumerate(ranked, start=1)
        },
    )


def amount_range(amount: Decimal) -> tuple[Decimal, Decimal]:
    """The amount widened by RANGE_SPREAD either side and rounded outwards to two significant figures."""
    if amount <= 0:
        return Decimal("0.00"), Decimal("0.00")
    low = _significant(amount * (1 - RANGE_SPREAD), ROUND_FLOOR)
    high = _significant(amount * (1 + RANGE_SPREAD), ROUND_CEILING)
    return low.quantize(CENT, rounding=ROUND_FLOOR), high.quantize(CENT, rounding=ROUND_CEILING)


def _significant(value: Decimal, rounding: str, digits: int = 2) -> Decimal:
    step = Decimal(1).scaleb(value.adjusted() - (digits - 1))
    return (value / step).to_integral_value(rounding=rounding) * step


def discounted_percent(figures: CreatorFigures) -> int:
    """The share of the week's interactions that did not count, whatever the reasons, in SHARE_STEP steps."""
    # Trade clicks no trade followed did count, as views (the reason only says why they are views).
    discounted = sum(figures.discounts.values()) - figures.discounts.get("unconverted_trade_click", 0)
    # What the reader limits took away is part of interactions that counted (at reduced weight):
    # it is in the counted ones already, so the whole is counted once.
    total = discounted - figures.discounts.get("reader_limit", 0) + sum(figures.counted_counts.values())
    if not total:
        return 0
    share = Decimal(100 * discounted) / Decimal(total) / SHARE_STEP
    return int(share.to_integral_value(rounding=ROUND_HALF_EVEN)) * SHARE_STEP


def _shown(week: Week, currency: str, now: datetime, exact: ExactEstimate | None) -> dict[str, object]:
    low, high = amount_range(exact.amount) if exact else (Decimal("0.00"), Decimal("0.00"))
    return {
        "week": week.label,
        "computed_at": now.isoformat(),
        "amount_low": str(low),
        "amount_high": str(high),
        "currency": currency,
        "rank_band": exact.rank_band if exact else "rest",
        "discounted_percent": discounted_percent(exact.figures) if exact else 0,
        "excluded_reason": exact.excluded_reason if exact else "",
    }


def refresh_estimate(*, now: datetime | None = None) -> int:
    """Estimate the running week for every creator with engagement; returns how many. The cache
    keeps only what the statement shows."""
    now = now or timezone.now()
    week, currency, exact = exact_estimates(now=now)
    entries: dict[str, dict[str, object]] = {
        _key(week.label, creator_id): _shown(week, currency, now, estimate) for creator_id, estimate in exact.items()
    }
    entries[_key(week.label, "meta")] = {"computed_at": now.isoformat(), "creators": len(exact)}
    cache.set_many(entries, ESTIMATE_TIMEOUT)
    return len(exact)


def estimate_for(creator_id: int, *, now: datetime | None = None) -> dict | None:
    """This creator's estimate of the running week; None when not computed yet (or the cache is
    down). A creator without engagement this week gets an explicit zero once an estimate ran."""
    week = Week.containing(now or timezone.now())
    try:
        found = cache.get_many([_key(week.label, creator_id), _key(week.label, "meta")])
    except Exception as exc:  # the statement still shows payouts and titles without Redis
        logger.warning("Cache unreachable for the estimate (%s)", type(exc).__name__)
        return None
    if _key(week.label, creator_id) in found:
        return found[_key(week.label, creator_id)]
    meta = found.get(_key(week.label, "meta"))
    if meta is None:
        return None
    return _shown(week, pool_for(week)[1], datetime.fromisoformat(meta["computed_at"]), None)
