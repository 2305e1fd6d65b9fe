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

Beneficial owners. Accounts the exchange knows to belong to one verified person (`owners`: groups of creator ids) share
one cap: the steps above run on owners, whose score is the sum of their accounts' scores (so splitting a score across
accounts gains nothing even when alpha < 1), and each owner's amount is then split among its accounts in proportion to
score. Rounding is done at both levels by largest remainder: an owner gets its exact amount floored or one unit more,
and its accounts share exactly those units, each getting its own exact amount floored or one unit more. The minimum
payout is per account: an account below it is dropped and its owner's split is redone without it. A creator in no
group is its own owner, so without groups every step is exactly the per-creator split described above.

Weights are Decimals computed at 50 digits (deterministic, never floats). The split itself is done in exact fractions
of those weights, so `sum(amounts) + unallocated == total` holds exactly and an amount sitting exactly at the minimum
is never lost to rounding error.

See docs/incentives.md#3-allocation-incentivesallocationpy.
"""

import math
from collections.abc import Iterable, Mapping
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
    # (each creator's amount stays within its owner's cap together with the owner's other accounts)
    shares: dict[int, Decimal]  # creator id -> exact fraction of the total before rounding (0 if dropped), for all
    unallocated: Decimal  # carried to a later week; sum(amounts) + unallocated == total exactly


def allocate(
    *, total: Decimal, scores: Mapping[int, Decimal], rules: Rules, owners: Iterable[Iterable[int]] = ()
) -> Allocation:
    """Split `total` among the creators of `scores`. `owners` lists groups of creator ids owned by one person (ids
    not in `scores` are ignored); the cap holds for each group's total."""
    if not _is_whole_units(total, rules.unit):
        raise ValueError(f"total must be >= 0 and a whole number of {rules.unit} units, got {total}")
    for creator_id, score in scores.items():
        if not score.is_finite() or score < 0:
            raise ValueError(f"score of creator {creator_id} must be a number >= 0, got {score}")
    owner_of = _owner_of(owners)

    # Exact scores of the accounts still in the running, grouped by owner; an owner is named by its lowest creator id.
    accounts: dict[int, dict[int, Fraction]] = {}
    for creator_id, score in sorted(scores.items()):
        if score > 0:
            accounts.setdefault(owner_of.get(creator_id, creator_id), {})[creator_id] = Fraction(score)
    pool = Fraction(total)
    cap = Fraction(1) if rules.max_share is None else Fraction(rules.max_share)
    minimum = Fraction(rules.minimum_payout)
    while True:
        owner_scores = {owner: sum(held.values(), Fraction(0)) for owner, held in accounts.items()}
        with localcontext(prec=PRECISION):
            weights = {owner: Fraction(_owner_score(held, scores) ** rules.alpha) for owner, held in accounts.items()}
        owner_shares = _water_fill(weights, cap)
        shares = {
            creator_id: owner_shares[owner] * score / owner_scores[owner]
            for owner, held in accounts.items()
            for creator_id, score in held.items()
        }
        below_minimum = [creator_id for creator_id, share in shares.items() if share * pool < minimum]
        if not below_minimum:
            break
        for creator_id in below_minimum:
            owner = owner_of.get(creator_id, creator_id)
            del accounts[owner][creator_id]
            if not accounts[owner]:
                del accounts[owner]

    unit = Fraction(rules.unit)
    total_units = int(pool / unit)
    # Whole units to each owner: what flooring left over, plus any money the cap kept from everyone. A unit only goes to
    # an owner it keeps within the cap, so money carried over (all survivors are then at the cap) stays unallocated.
    exact_owner_units = {owner: share * pool / unit for owner, share in owner_shares.items()}
    owner_units = _largest_remainder(
        exact_owner_units,
        total_units,
        limit=cap * pool / unit,
        tie_break={owner: (-owner_scores[owner], owner) for owner in owner_shares},
    )
    # Then each owner's units among its accounts: floors of their exact amounts, and the rest (fewer units than the
    # owner has accounts) by largest remainder, so every account is within one unit of its exact amount.
    paid_units: dict[int, int] = {}
    for owner, held in accounts.items():
        exact_units = {creator_id: shares[creator_id] * pool / unit for creator_id in held}
        paid_units |= _largest_remainder(
            exact_units,
            owner_units[owner],
            limit=None,
            tie_break={creator_id: (-score, creator_id) for creator_id, score in held.items()},
        )

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


def _owner_score(held: Mapping[int, Fraction], scores: Mapping[int, Decimal]) -> Decimal:
    """An owner's score as a Decimal for the weight; one account's is its own score, untouched."""
    if len(held) == 1:
        return scores[next(iter(held))]
    return _to_decimal(sum(held.values(), Fraction(0)))


def _owner_of(owners: Iterable[Iterable[int]]) -> dict[int, int]:
    """Creator id -> its owner, named by the group's lowest creator id (a creator in no group is its own owner)."""
    owner_of: dict[int, int] = {}
    for group in owners:
        members = sorted(set(group))
        for creator_id in members:
            if creator_id in owner_of:
                raise ValueError(f"creator {creator_id} is in two owner groups; each creator has one owner")
            owner_of[creator_id] = members[0]
    return owner_of


def _largest_remainder(
    exact_units: Mapping[int, Fraction],
    units: int,
    *,
    limit: Fraction | None,
    tie_break: Mapping[int, tuple],
) -> dict[int, int]:
    """Floors of `exact_units`, then up to the units left of `units` one each by largest fractional remainder (ties by
    `tie_break`), never lifting anyone above `limit`."""
    paid = {key: math.floor(exact) for key, exact in exact_units.items()}
    takers = sorted(
        (key for key, floored in paid.items() if limit is None or floored + 1 <= limit),
        key=lambda key: (paid[key] - exact_units[key], *tie_break[key]),
    )
    for key in takers[: max(0, units - sum(paid.values()))]:
        paid[key] += 1
    return paid


def _is_whole_units(amount: Decimal, unit: Decimal) -> bool:
    return amount.is_finite() and amount >= 0 and (Fraction(amount) / Fraction(unit)).denominator == 1


def _to_decimal(fraction: Fraction) -> Decimal:
    return Decimal(fraction.numerator) / Decimal(fraction.denominator)
