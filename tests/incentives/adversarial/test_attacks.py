"""Attacks on the weekly settlement against an honest community, through the real settlement.

For each attack: either the attacker's payout is held for review, or each person behind it gains
less than 10% of the median honest creator's payout in the no-attack week (a held payout counts
as no gain; a pattern the demo plants must also be flagged by its rule); honest creators keep
their payout within 10% and are never held (a sabotage never holds its victim); payouts sum
exactly to the pool. The honest week alone raises no flag at all.
Each attack prints one line (gain, % of the median honest payout, held or not, cost; `-s` shows it)
and the run writes the table to var/adversarial-table.txt (one per worker under -n).

Attacks the settlement does not defeat yet are marked xfail(strict=True) with the missing defence:
once that defence lands the test passes, strict xfail fails, and the mark must go.

RESIDUAL scenarios are accounts that are real readers to every signal (they trade every week, read
widely, on their own devices, networks and identities): they are held to what the reader limits
promise instead, and their line in the table shows what they still gain for what they pay.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from incentives.contributions import Parameters, compute

from . import community
from .attacks import ATTACKS, RESIDUAL, Attack

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

GAIN_LIMIT = Decimal("0.10")  # of the median honest creator's baseline payout
HONEST_DRIFT = Decimal("0.10")
CENT = Decimal("0.01")

# Attacks the settlement does not defeat yet, and the missing defence (none as of the last run).
OPEN: dict[str, str] = {}

# One table per process: under pytest-xdist each worker writes the attacks it ran.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TABLE = Path(settings.BASE_DIR) / "var" / f"adversarial-table{'-' + _WORKER if _WORKER else ''}.txt"
_baseline: dict[str, Decimal] = {}  # creator username -> payout in the week without attack
_lines: dict[str, str] = {}


def _params():
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=OPEN[name]) if name in OPEN else (), id=name)
        for name in ATTACKS
    ]


@pytest.fixture(scope="module", autouse=True)
def _write_table():
    yield
    if not _lines:
        return
    header = f"{'attack':38} {'gain USDT':>10} {'per person':>10} {'% median':>9} {'held':>6}  cost"
    text = "\n".join([header, *(_lines[name] for name in [*ATTACKS, *RESIDUAL] if name in _lines)]) + "\n"
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(text)
    print("\n" + text)


def _baseline_payouts(world: community.Community) -> dict[int, Decimal]:
    """The honest week's payouts, by creator id of this test's community (computed once per run:
    the community is the same in every test, only its ids differ)."""
    if not _baseline:
        settled = community.settle()
        assert not settled.held, "the honest community must have no held creator"
        assert not settled.flags, "the honest community must raise no integrity flag"
        assert settled.total == community.POOL
        _baseline.update({c.username: settled.amounts.get(c.pk, Decimal("0.00")) for c in world.creators})
    return {c.pk: _baseline[c.username] for c in world.creators}


@dataclass
class Outcome:
    world: community.Community
    attack: Attack
    baseline: dict[int, Decimal]
    after: community.Settled
    median: Decimal
    per_person: Decimal


def _run(name: str, make_attack) -> Outcome:
    """The attack in the honest community through the real settlement, its line in the table, and
    the checks every scenario must pass: the pool sums exactly, no honest creator is held or moves
    more than 10%, a sabotage never holds its victim."""
    world = community.build()
    baseline = _baseline_payouts(world)
    median = statistics.median(baseline.values())

    attack = make_attack(world)
    after = community.settle()

    attacker = set(attack.creators)
    before = sum((baseline.get(c, Decimal(0)) for c in attacker), Decimal(0))
    held = sorted(c for c in attacker if c in after.held)
    unheld = sum((after.amounts.get(c, Decimal(0)) for c in attacker if c not in after.held), Decimal(0))
    gain = unheld - before
    per_person = (gain / attack.people).quantize(CENT)
    held_text = f"{len(held)}/{len([c for c in attacker if c in after.amounts])}"
    line = (
        f"{name:38} {gain:>10.2f} {per_person:>10.2f} {100 * per_person / median:>8.1f}% {held_text:>6}  {attack.cost}"
    )
    _lines[name] = line
    print(line)

    assert after.total == community.POOL, "payouts and carry-over must sum exactly to the pool"
    honest = [c for c in world.creators if c.pk not in attacker]
    assert not [c.username for c in honest if c.pk in after.held], "an honest creator was held"
    for victim in attack.victims:
        assert victim not in after.held, "a sabotage held its victim"
    drifted = {
        c.username: (baseline[c.pk], after.amounts.get(c.pk, Decimal(0)))
        for c in honest
        if abs(after.amounts.get(c.pk, Decimal(0)) - baseline[c.pk]) > baseline[c.pk] * HONEST_DRIFT + CENT
    }
    assert not drifted, f"honest payouts moved more than 10%: {drifted}"
    return Outcome(world, attack, baseline, after, median, per_person)


@pytest.mark.parametrize("name", _params())
def test_attack_is_held_or_gains_less_than_a_tenth_of_the_median_honest_payout(name):
    outcome = _run(name, ATTACKS[name])

    attack, after = outcome.attack, outcome.after
    if attack.expect_flag:
        assert any(attack.expect_flag in after.flags.get(c, ()) for c in attack.creators), (
            f"not flagged: {attack.expect_flag}"
        )
    assert outcome.per_person < outcome.median * GAIN_LIMIT, (
        f"each attacker gained {outcome.per_person} (median honest payout {outcome.median})"
    )


@pytest.mark.parametrize("name", list(RESIDUAL))
def test_accounts_that_are_real_readers_in_every_way_weigh_no_more_than_the_reader_limits(name):
    """Accounts that trade every week, read widely and engage like people: nothing tells them from
    honest readers (they are seeds of the trust walk, on their own devices, networks and KYC
    identities), so the 10% bar cannot hold without failing real traders. What holds is the reader
    limits: each account adds at most `reader_creator_share` times `reader_week_points` points of its
    value to the creator it lifts, whatever it does, and each pays its own fees every week."""
    outcome = _run(name, RESIDUAL[name])

    parameters = Parameters.current()
    [lifted] = outcome.attack.creators
    limited = compute(community.WEEK, parameters).creators[lifted]
    unlimited = compute(
        community.WEEK,
        replace(parameters, reader_week_points=32_000, reader_creator_share=Decimal(1), time_spent_week_seconds=10**7),
    ).creators[lifted]
    accounts = outcome.attack.cost.accounts - 1  # the creator's own account reads nothing
    bound = accounts * parameters.reader_creator_share * parameters.reader_week_points * Decimal("0.9")
    assert limited.score <= bound < unlimited.score
    assert limited.discounts.get("reader_limit", 0) > 0
