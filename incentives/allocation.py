"""Split a week's prize pool among creators, exactly to the currency's smallest unit.

Each creator's weight is score ** alpha: alpha < 1 flattens the curve so small creators get a larger slice, alpha > 1
favours the top. The pool is shared in proportion to weight, then:

1. Cap, by water-filling. A creator whose share would exceed max_share is fixed at the cap and the excess is shared
   again among the others, until nobody is over. Capping everyone who is over at once is safe: the others' shares only
   grow. When too few creators are left to take the whole pool (n * max_share < 1), the rest is carried over as
   `unallocated` rather than relaxing the cap, which exists to stop one creator taking the week.
2. Minimum payout. Creators whose exact amount is below the minimum are dropped and the split is redone on the
   survivors. Their money goes to the others, so dropping someone never lowers anyone who stays.
3. Rounding, by largest remainder. Every exact amount is floored to the unit, then the units left over go one each to
   the largest fractional remainders (ties: higher score, then lower creator id, so dict order never matters). A unit
   that would lift a creator above the cap stays `unallocated`, with the money the cap kept from everyone.

Weights are Decimals computed at 50 digits (deterministic, never floats). The split itself is done in exact fractions
of those weights, so `sum(amounts) + unallocated == total` holds exactly and an amount sitting exactly at the minimum
is never lost to rounding error.

See docs/incentives.md#3-allocation-incentivesallocationpy.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

PRECISION = 50
RANK_BANDS = (("top_1", 1), ("top_10", 10), ("top_25", 25), ("top_50", 50))


@dataclass(frozen=True)
class Rules:
    alpha: Decimal  # weight = score ** alpha, 0.1..2
    max_share: Decimal | None  # no creator gets more than max_share * total; None = no cap
    minimum_payout: Decimal  # creators whose exact amount is below it get nothing
    unit: Decimal = Decimal("0.01")  # the currency's smallest unit

    def __post_init__(self) -> None:
        if not self.unit.is_finite() or self.unit <= 0:
            raise ValueError(f"unit must be positive, got {self.unit}")
        if not self.alpha.is_finite() or not Decimal("0.1") <= self.alpha <= 2:
            raise ValueError(f"alpha must be between 0.1 and 2, got {self.alpha}")
        if self.max_share is not None and (not self.max_share.is_finite() or not 0 < self.max_share <= 1):
            raise ValueError(f"max_share must be None or in (0, 1], got {self.max_share}")
        if not _is_whole_units(self.minimum_payout, self.unit):
            minimum = self.minimum_payout
            raise ValueError(f"minimum_payout must be >= 0 and a whole number of {self.unit} units, got {minimum}")


@dataclass(frozen=True)
class Allocation:
    amounts: dict[int, Decimal]  # creator id -> amount paid, a multiple of the unit; only creators paid > 0
    shares: dict[int, Decimal]  # creator id -> exact fraction of the total before rounding (0 if dropped), for all
    unallocated: Decimal  # carried to a later week; sum(amounts) + unallocated == total exactly


def allocate(*, total: Decimal, scores: Mapping[int, Decimal], rules: Rules) -> Allocation:
    if not _is_whole_units(total, rules.unit):
        raise ValueError(f"total must be >= 0 and a whole number of {rules.unit} units, got {total}")
    for creator_id, score in scores.items():
        if not score.is_finite() or score < 0:
            raise ValueError(f"score of creator {creator_id} must be a number >= 0, got {score}")

    with localcontext(prec=PRECISION):
        weights = {
            creator_id: Fraction(score**rules.alpha) for creator_id, score in sorted(scores.items()) if score > 0
        }
    pool = Fraction(total)
    cap = Fraction(1) if rules.max_share is None else Fraction(rules.max_share)
    minimum = Fraction(rules.minimum_payout)
    while True:
        shares = _water_fill(weights, cap)
        below_minimum = [creator_id for creator_id, share in shares.items() if share * pool < minimum]
        if not below_minimum:
            break
        for creator_id in below_minimum:
            del weights[creator_id]

    unit = Fraction(rules.unit)
    total_units = int(pool / unit)
    exact_units = {creator_id: share * pool / unit for creator_id, share in shares.items()}
    paid_units = {creator_id: math.floor(units) for creator_id, units in exact_units.items()}
    # Whole units: what flooring left over, plus any money the cap kept from everyone. A unit only goes to a creator
    # it keeps within the cap, so money carried over (all survivors are then at the cap) stays unallocated.
    leftover_units = total_units - sum(paid_units.values())
    cap_units = cap * pool / unit
    takers = sorted(
        (creator_id for creator_id, units in paid_units.items() if units + 1 <= cap_units),
        key=lambda creator_id: (paid_units[creator_id] - exact_units[creator_id], -scores[creator_id], creator_id),
    )
    for creator_id in takers[:leftover_units]:
        paid_units[creator_id] += 1

    with localcontext(prec=PRECISION):
        amounts = {creator_id: units * rules.unit for creator_id, units in sorted(paid_units.items()) if units > 0}
        unallocated = (total_units - sum(paid_units.values())) * rules.unit
        exact_shares = {creator_id: _to_decimal(shares.get(creator_id, Fraction(0))) for creator_id in sorted(scores)}
    return Allocation(amounts=amounts, shares=exact_shares, unallocated=unallocated)


def rank_band(rank: int, of: int) -> str:
    """The creator statement's band for rank `rank` (1 is best) among `of` ranked creators."""
    if not 1 <= rank <= of:
        raise ValueError(f"rank must be between 1 and {of}, got {rank}")
    for band, percent in RANK_BANDS:
        if rank <= max(1, -(-of * percent // 100)):  # ceil(of * percent / 100) in integers
            return band
    return "rest"


def _water_fill(weights: Mapping[int, Fraction], cap: Fraction) -> dict[int, Fraction]:
    """Shares of the pool: 1 in all, or less when everyone is held at the cap (the rest is carried over)."""
    shares: dict[int, Fraction] = {}
    uncapped = dict(weights)
    remaining = Fraction(1)
    while uncapped:
        weight_sum = sum(uncapped.values())
        proposed = {creator_id: remaining * (weight / weight_sum) for creator_id, weight in uncapped.items()}
        over_cap = [creator_id for creator_id, share in proposed.items() if share > cap]
        if not over_cap:
            shares.update(proposed)
            return shares
        for creator_id in over_cap:
            shares[creator_id] = cap
            remaining -= cap
            del uncapped[creator_id]
    return shares


def _is_whole_units(amount: Decimal, unit: Decimal) -> bool:
    return amount.is_finite() and amount >= 0 and (Fraction(amount) / Fraction(unit)).denominator == 1


def _to_decimal(fraction: Fraction) -> Decimal:
    return Decimal(fraction.numerator) / Decimal(fraction.denominator)
