"""Attacks on the weekly settlement against an honest community, through the real settlement.

For each attack: either the attacker's payout is held for review, or each person behind it gains
less than 10% of the median honest creator's payout in the no-attack week (a held payout counts
as no gain; a pattern the demo plants must also be flagged by its rule); honest creators keep
their payout within 10% and are never held (a sabotage never holds its victim); payouts sum
exactly to the pool. The honest week alone raises no flag at all.
Each attack prints one line (gain, % of the median honest payout, held or not, cost; `-s` shows it)
and the run writes the table to var/adversarial-table.txt.

Attacks the settlement does not defeat yet are marked xfail(strict=True) with the missing defence:
once that defence lands the test passes, strict xfail fails, and the mark must go.
"""

from __future__ import annotations

import statistics
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from . import community
from .attacks import ATTACKS

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

GAIN_LIMIT = Decimal("0.10")  # of the median honest creator's baseline payout
HONEST_DRIFT = Decimal("0.10")
CENT = Decimal("0.01")

# Attacks the settlement does not defeat yet, and the defence each one needs (from the last run).
BASE_VALUE = "readers who (almost) never trade keep the base reader value (0.025 of a full reader)"
OPEN: dict[str, str] = {
    "aged_kyc_sybils_small_trade": f"{BASE_VALUE}: 30 aged KYC'd accounts with a $10 trade each are paid for",
    "comment_spam_cheap_accounts": f"{BASE_VALUE}: 200 idle accounts out-earn the median creator",
    "trade_after_week_end": f"the late trade is ignored, but {BASE_VALUE}",
    "one_machine_fresh_cookie_per_account": "accounts are not grouped by network: one address that drops its cookie "
    "gets a fresh signed device per account (and the base reader value pays each)",
    "daily_cap_flood": "no weekly cap per reader and creator: 20 counted interactions a day let one reader give "
    "every once-per-post action on 30 posts",
    "dwell_with_render_tokens_no_views": "bought reader value: time spent alone, from real render tokens and no view, "
    "earns the 5-minute cap per post for traders paying full fees",
    "paid_sybil_farm": "bought reader value: accounts paying full trading fees ($40 each over 8 weeks) are "
    "full-value readers; nothing but that cost stands against them",
}

TABLE = Path(settings.BASE_DIR) / "var" / "adversarial-table.txt"
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
    text = "\n".join([header, *(_lines[name] for name in ATTACKS if name in _lines)]) + "\n"
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


@pytest.mark.parametrize("name", _params())
def test_attack_is_held_or_gains_less_than_a_tenth_of_the_median_honest_payout(name):
    world = community.build()
    baseline = _baseline_payouts(world)
    median = statistics.median(baseline.values())

    attack = ATTACKS[name](world)
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
    if attack.expect_flag:
        assert any(attack.expect_flag in after.flags.get(c, ()) for c in attacker), f"not flagged: {attack.expect_flag}"
    assert per_person < median * GAIN_LIMIT, f"each attacker gained {per_person} (median honest payout {median})"
