"""The demo's running week, computed by the settlement's own code: readers are worth what their own
trading makes them, and the planted cheaters are still discounted."""

import statistics
from datetime import UTC, datetime

import pytest

from creators.models import User
from demo.seeding import seed_demo_data
from incentives import contributions
from incentives.contributions import Parameters, compute
from incentives.weeks import Week

pytestmark = pytest.mark.django_db

ANCHOR = datetime(2026, 11, 28, 12, tzinfo=UTC)  # a Saturday: most of the week's engagement is in


def test_demo_readers_are_worth_their_trading_and_the_planted_cheaters_are_still_discounted(monkeypatch):
    report = seed_demo_data(users=600, posts=2000, events=30_000, seed=42, anchor=ANCHOR)
    reader_values: dict[int, int] = {}
    drop_working_tables = contributions._drop_working_tables

    def keep_reader_values(cursor):
        cursor.execute("SELECT reader_id, value_milli FROM inc_readers")
        reader_values.update(cursor.fetchall())
        drop_working_tables(cursor)

    monkeypatch.setattr(contributions, "_drop_working_tables", keep_reader_values)

    figures = compute(Week.containing(ANCHOR), Parameters.current(), until=ANCHOR)

    planted = report.planted
    ids = dict(User.objects.values_list("username", "pk"))
    creators = set(User.objects.filter(posts__isnull=False).values_list("pk", flat=True))
    burst = {ids[name] for name in planted.burst_accounts}
    readers = [value / 1000 for reader, value in reader_values.items() if reader not in creators | burst]
    assert len(readers) > 300
    # Readers who trade are worth something, and the week's values spread as trading does.
    assert statistics.median(readers) > 0.15
    assert 0.25 < sum(value > 0.3 for value in readers) / len(readers) < 0.8
    # The sign-up burst never traded: as near-worthless as new accounts come, and still flagged.
    assert burst <= set(reader_values)
    assert max(reader_values[account] for account in burst) <= 25 * 0.25
    beneficiary = figures.creators[ids[planted.burst_beneficiary]]
    assert beneficiary.discounts.get("new_account_burst", 0) > 0
    # Most of the like ring is caught feeding itself, and no creator outside it.
    ring = {ids[name] for name in planted.ring}
    pod_fed = {flag.creator_id for flag in figures.flags if flag.rule == "reciprocal_ring"}
    assert len(pod_fed & ring) >= 4
    assert pod_fed <= ring
    # Self-likes never count.
    for name in planted.self_likers:
        assert figures.creators[ids[name]].discounts.get("self", 0) > 0
