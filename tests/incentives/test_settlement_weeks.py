"""Which weeks can be settled, and which way carried money flows: a typo such as 2019-W01, or a week
before Orbit recorded anything, moves nothing from the treasury; carry-over only flows forward."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from feed.models import Engagement
from incentives import ledger, settlement, tasks
from incentives.models import LedgerEntry, PrizePool, Settlement
from incentives.weeks import Week
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db
FIRST = Week.parse("2026-W47", "UTC")  # the week of Orbit's first engagement
Kind = Engagement.Kind


def engagement_in(week: Week, *, reader=None) -> None:
    post = PostFactory()
    Engagement.objects.create(
        actor=reader,
        post=post,
        creator_id=post.author_id,
        kind=Kind.VIEW,
        occurred_at=week.starts_at + timedelta(hours=3),
    )


def after(week: Week):
    return week.ends_at + timedelta(hours=1)


def test_settle_week_refuses_a_typo_week_long_before_the_first_engagement_and_leaves_the_treasury():
    engagement_in(FIRST)

    with pytest.raises(CommandError, match="ended before the first engagement"):
        call_command("settle_week", "--week", "2019-W01", stdout=io.StringIO())

    assert not Settlement.objects.exists()
    assert ledger.balance(ledger.TREASURY) == 0 and not LedgerEntry.objects.exists()


@pytest.mark.parametrize("weeks_before", [1, 2, 3])
def test_empty_weeks_before_the_first_engagement_are_refused_draft_included(weeks_before):
    engagement_in(FIRST)
    week = FIRST
    for _ in range(weeks_before):
        week = week.previous()

    with pytest.raises(settlement.SettlementError, match="ended before the first engagement"):
        settlement.draft_settlement(week=week, now=after(FIRST))
    with pytest.raises(settlement.SettlementError, match="ended before the first engagement"):
        settlement.settle_week(week=week, now=after(FIRST))

    assert not Settlement.objects.exists() and not LedgerEntry.objects.exists()
    # The week of the first engagement is settled as usual.
    assert settlement.settle_week(week=FIRST, now=after(FIRST)).settlement.status == Settlement.Status.PAID


def test_a_new_install_without_engagement_settles_nothing_and_the_weekly_beat_says_why():
    with pytest.raises(settlement.SettlementError, match="ended before the first engagement"):
        settlement.settle_week(week=FIRST, now=after(FIRST))

    assert "ended before the first engagement" in tasks.draft_finished_week()
    assert not Settlement.objects.exists() and not LedgerEntry.objects.exists()


def test_carried_money_does_not_flow_back_to_an_older_week_settled_later():
    engagement_in(FIRST)
    later = FIRST.next()
    engagement_in(later)  # nobody earns in either week (anonymous views score nothing)
    PrizePool.objects.create(week=later.label, amount=Decimal("70.00"))
    settlement.settle_week(week=later, now=after(later))
    assert ledger.balance(ledger.CARRYOVER) == Decimal("70.00")

    PrizePool.objects.create(week=FIRST.label, amount=Decimal("30.00"))
    older = settlement.settle_week(week=FIRST, now=after(later)).settlement

    assert older.carried_in == 0
    assert older.carried_out == Decimal("30.00")
    assert ledger.balance(ledger.CARRYOVER) == Decimal("100.00")
    assert ledger.imbalance() == 0
    # Both weeks' leftovers flow forward, into the next week settled.
    newest = later.next()
    engagement_in(newest, reader=UserFactory())
    assert settlement.draft_settlement(week=newest, now=after(newest)).settlement.carried_in == Decimal("100.00")
