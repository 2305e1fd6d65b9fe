"""The running week's live estimate for the creator statement.

Ranks and amounts depend on every creator, so the estimate is computed for all of them at once
(Celery beat, every 15 minutes) with the same code as the settlement, up to now, and kept in the
cache per creator. Nothing is written to the database.

See docs/incentives.md#7-the-creator-statement.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone

from .allocation import Rules, allocate, rank_band
from .contributions import Parameters, compute
from .settlement import ineligible_creators, pool_for, unclaimed_carryover
from .weeks import Week

logger = logging.getLogger(__name__)
# Outlives two missed refreshes; an older estimate is better than none.
ESTIMATE_TIMEOUT = 3 * 3600


def _key(week: str, creator_id: int | str) -> str:
    return f"incentives:estimate:{week}:{creator_id}"


def refresh_estimate(*, now: datetime | None = None) -> int:
    """Estimate the running week for every creator with engagement; returns how many."""
    now = now or timezone.now()
    week = Week.containing(now)
    parameters = Parameters.current()
    figures = compute(week, parameters, until=now)
    pool_amount, currency = pool_for(week)
    ineligible = ineligible_creators(figures.creators.keys())
    scores = {cid: c.score for cid, c in figures.creators.items() if cid not in ineligible and c.score > 0}
    rules = Rules(alpha=parameters.alpha, max_share=parameters.max_share, minimum_payout=parameters.minimum_payout)
    allocation = allocate(total=pool_amount + unclaimed_carryover(week.label, currency), scores=scores, rules=rules)
    ranked = sorted(figures.creators.values(), key=lambda creator: (-creator.score, creator.creator_id))
    entries: dict[str, dict[str, object]] = {
        _key(week.label, creator.creator_id): {
            "week": week.label,
            "computed_at": now.isoformat(),
            "counted": creator.counted_counts,
            "counted_minutes": str(creator.counted_minutes),
            "discounts": creator.discounts,
            "score": str(creator.score),
            "rank_band": rank_band(rank, len(ranked)),
            "estimated_amount": str(allocation.amounts.get(creator.creator_id, Decimal("0.00"))),
            "currency": currency,
            "excluded_reason": ineligible.get(creator.creator_id, ""),
        }
        for rank, creator in enumerate(ranked, start=1)
    }
    entries[_key(week.label, "meta")] = {"computed_at": now.isoformat(), "creators": len(ranked)}
    cache.set_many(entries, ESTIMATE_TIMEOUT)
    return len(ranked)


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
    return {
        "week": week.label,
        "computed_at": meta["computed_at"],
        "counted": {},
        "counted_minutes": "0.00",
        "discounts": {},
        "score": "0.000000",
        "rank_band": "rest",
        "estimated_amount": "0.00",
        "currency": pool_for(week)[1],
        "excluded_reason": "",
    }
