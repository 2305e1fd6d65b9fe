"""The weekly settlement end to end: exact money, paid once, safe against races, crashes and rings."""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creators.models import CreatorTitle, Profile
from feed.models import Engagement
from incentives import ledger, settlement, tasks
from incentives.models import Contribution, IncentivePolicy, IntegrityFlag, LedgerEntry, Payout, Settlement
from incentives.weeks import Week
from markets.models import Fill
from tests.concurrency import race
from tests.factories import (
    EngagementFactory,
    FillFactory,
    PostFactory,
    PrizePoolFactory,
    TradingProfileFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
WEEK = Week.parse("2026-W47", "UTC")
AFTER = WEEK.ends_at + timedelta(hours=1)
Kind = Engagement.Kind


def trader():
    """A reader the exchange knows: verified, paying fees every few days for months, account a year old."""
    user = UserFactory(date_joined=WEEK.starts_at - timedelta(days=365))
    TradingProfileFactory(user=user, kyc_level=2, account_opened_at=WEEK.starts_at - timedelta(days=400))
    Fill.objects.bulk_create(
        FillFactory.build(user=user, fee=Decimal(5), filled_at=WEEK.starts_at + timedelta(days=1) - timedelta(days=day))
        for day in range(0, 63, 3)
    )
    return user


def fresh_account(joined_at):
    """A new account with no trading at all."""
    return UserFactory(date_joined=joined_at)


def creator_post(creator=None, *, day=0):
    return PostFactory(author=creator or UserFactory(), created_at=WEEK.starts_at + timedelta(days=day, hours=1))


def engage(readers, post, kinds=(Kind.VIEW, Kind.LIKE), *, minutes_after=30, spread_minutes=7, device=None):
    """Each reader acts on `post`, `spread_minutes` after the one before, on their own device unless
    `device` names one they all share."""
    rows = []
    for index, reader in enumerate(readers):
        at = post.created_at + timedelta(minutes=minutes_after + index * spread_minutes)
        for kind in kinds:
            rows.append(
                Engagement(
                    actor=reader,
                    post=post,
                    creator_id=post.author_id,
                    kind=kind,
                    occurred_at=at,
                    fingerprint=device or f"device-{reader.pk}",
                )
            )
    Engagement.objects.bulk_create(rows)


def engagement_before(week: Week):
    """Orbit was already running: a week before the first engagement would be refused."""
    EngagementFactory(actor=None, kind=Kind.VIEW, occurred_at=week.starts_at - timedelta(days=1))


def amounts(week_settlement):
    return dict(week_settlement.payouts.values_list("creator_id", "amount"))


def state_snapshot():
    return (
        list(Settlement.objects.values_list("week", "status", "total_allocated", "carried_out", "paid_at")),
        sorted(Payout.objects.values_list("creator_id", "amount", "status", "paid_at")),
        sorted(Contribution.objects.values_list("creator_id", "score", "share", "rank")),
        LedgerEntry.objects.count(),
    )


@pytest.fixture(autouse=True)
def no_cap():
    """These worlds have a handful of creators: the default 10% cap would carry most of the pool
    over and hide the differences under test (the cap itself is tested in test_allocation.py)."""
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"max_share": None})


@pytest.fixture
def readers():
    return [trader() for _ in range(6)]


# --- exact money ---------------------------------------------------------------------


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pool=st.decimals(min_value=0, max_value=10**9, places=2),
    likes=st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=6),
)
def test_payouts_sum_exactly_to_the_pool_for_any_pool_and_scores(readers, pool, likes):
    with transaction.atomic():
        engagement_before(WEEK)
        PrizePoolFactory(week=WEEK.label, amount=pool)
        for count in likes:
            engage(readers[:count], creator_post())
        drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
        paid = sum(amounts(drafted).values(), Decimal("0.00"))
        assert paid + drafted.carried_out == pool
        assert paid == drafted.total_allocated
        assert all(amount > 0 and amount == amount.quantize(Decimal("0.01")) for amount in amounts(drafted).values())
        transaction.set_rollback(True)


def test_the_ledger_balances_and_the_pool_empties_exactly(readers):
    for count in (1, 2, 3):
        engage(readers[:count], creator_post())
    PrizePoolFactory(week=WEEK.label, amount=Decimal("100.00"))

    paid = settlement.settle_week(week=WEEK, now=AFTER).settlement

    assert paid.status == Settlement.Status.PAID
    assert ledger.imbalance() == 0
    assert ledger.balance(ledger.pool_account(WEEK.label)) == 0
    assert ledger.balance(ledger.TREASURY) == Decimal("-100.00")
    for creator_id, amount in amounts(paid).items():
        assert ledger.balance(ledger.creator_account(creator_id)) == amount


# --- paid once and only once ------------------------------------------------------------


def test_settling_a_week_twice_changes_nothing(readers):
    engage(readers, creator_post())
    first = settlement.settle_week(week=WEEK, now=AFTER)
    before = state_snapshot()

    second = settlement.settle_week(week=WEEK, now=AFTER)

    assert first.changed and not second.changed
    assert "already paid" in second.message
    assert state_snapshot() == before


def test_an_approved_settlement_never_changes_when_engagement_arrives_later(readers):
    post = creator_post()
    engage(readers[:2], post)
    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    before = state_snapshot()

    engage(readers[2:], post)
    again = settlement.draft_settlement(week=WEEK, now=AFTER)

    assert not again.changed
    assert state_snapshot() == before


def test_a_draft_is_recomputed_from_the_log_when_run_again(readers):
    post = creator_post()
    engage(readers[:2], post)
    first = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
    score_before = Contribution.objects.get(settlement=first).score

    engage(readers[2:], post)
    second = settlement.draft_settlement(week=WEEK, now=AFTER).settlement

    assert second.pk == first.pk
    assert Contribution.objects.get(settlement=second).score == score_before * 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_settlements_of_one_week_started_at_once_produce_one():
    readers = [trader() for _ in range(3)]
    engage(readers, creator_post())
    engage(readers[:1], creator_post())

    outcomes = race(lambda: settlement.settle_week(week=WEEK, now=AFTER), racers=3)

    assert outcomes == ["created"] * 3  # every racer finished cleanly: the later ones found it paid
    assert Settlement.objects.count() == 1
    assert Payout.objects.count() == 2
    pool_funding = LedgerEntry.objects.filter(account=ledger.pool_account(WEEK.label), amount__gt=0)
    assert pool_funding.count() == 1
    assert ledger.imbalance() == 0


def test_a_second_pay_is_refused_by_the_status_not_written_twice(readers):
    engage(readers, creator_post())
    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    settlement.pay_settlement(settlement_id=drafted.pk)
    entries = LedgerEntry.objects.count()

    again = settlement.pay_settlement(settlement_id=drafted.pk)

    assert not again.changed
    assert LedgerEntry.objects.count() == entries


def test_a_draft_cannot_be_paid_and_an_unfinished_week_cannot_be_settled(readers):
    engage(readers, creator_post())
    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
    with pytest.raises(settlement.SettlementError, match="approve it before paying"):
        settlement.pay_settlement(settlement_id=drafted.pk)
    with pytest.raises(settlement.SettlementError, match="not over yet"):
        settlement.draft_settlement(week=WEEK.next(), now=AFTER)
    assert LedgerEntry.objects.count() == 0


# --- crashes midway --------------------------------------------------------------------


def test_an_exception_while_drafting_leaves_no_rows_and_a_rerun_matches_an_undisturbed_run(readers, monkeypatch):
    for count in (2, 4, 6):
        engage(readers[:count], creator_post())
    with transaction.atomic():
        undisturbed = settlement.settle_week(week=WEEK, now=AFTER).settlement
        expected = amounts(undisturbed)
        transaction.set_rollback(True)

    def crash(*args, **kwargs):
        raise RuntimeError("worker lost midway")

    # After the settlement, contributions and flags are written, before the payouts.
    monkeypatch.setattr(settlement, "_holds", crash)
    with pytest.raises(RuntimeError):
        settlement.settle_week(week=WEEK, now=AFTER)
    assert state_snapshot() == ([], [], [], 0)
    assert not IntegrityFlag.objects.exists()

    monkeypatch.undo()
    rerun = settlement.settle_week(week=WEEK, now=AFTER).settlement
    assert amounts(rerun) == expected
    assert ledger.imbalance() == 0


def test_an_exception_while_paying_writes_no_ledger_and_a_retry_pays_once(readers, monkeypatch):
    for count in (2, 4):
        engage(readers[:count], creator_post())
    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    real_transfer_many, calls = ledger.transfer_many, []

    def transfer_then_crash(moves):
        calls.append(moves)
        if len(calls) == 2:  # the pool is funded (written), then writing the payouts' legs fails
            raise RuntimeError("database connection lost")
        return real_transfer_many(moves)

    monkeypatch.setattr(ledger, "transfer_many", transfer_then_crash)
    with pytest.raises(RuntimeError):
        settlement.pay_settlement(settlement_id=drafted.pk)
    assert LedgerEntry.objects.count() == 0
    assert set(Payout.objects.values_list("status", flat=True)) == {Payout.Status.PENDING}

    monkeypatch.undo()
    settlement.pay_settlement(settlement_id=drafted.pk)
    assert set(Payout.objects.values_list("status", flat=True)) == {Payout.Status.PAID}
    assert LedgerEntry.objects.filter(payout__isnull=False).count() == 2 * Payout.objects.count()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_ledger_refuses_edits_and_unbalanced_transfers():
    ledger.transfer(source="treasury", destination="creator:1", amount=Decimal("5.00"), currency="USDT", memo="t")
    entry = LedgerEntry.objects.first()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("6.00"))
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        LedgerEntry.objects.create(
            transfer_id=entry.transfer_id, account="creator:1", amount=Decimal("1.00"), currency="USDT", memo="x"
        )
    assert ledger.imbalance() == 0


# --- fraud ---------------------------------------------------------------------------


def test_self_likes_earn_nothing(readers):
    creator = UserFactory()
    post = creator_post(creator)
    engage([creator] * 1, post, kinds=(Kind.VIEW, Kind.LIKE, Kind.COMMENT, Kind.SHARE, Kind.TRADE_CLICK))
    engage(readers[:1], creator_post())  # someone else earns this week

    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement

    contribution = Contribution.objects.get(settlement=drafted, creator=creator)
    assert contribution.score == 0
    assert contribution.counted_counts == {}
    assert contribution.discounts["self"] == 5
    assert not Payout.objects.filter(creator=creator).exists()


@pytest.mark.parametrize("burst", [True, False], ids=["joined-in-a-burst", "joined-days-apart"])
def test_fifty_fresh_non_trading_accounts_earn_nothing_beside_fifty_real_traders(burst):
    ringed_post, honest_post = creator_post(), creator_post()
    joined = WEEK.starts_at - timedelta(days=1)
    ring = [fresh_account(joined + (timedelta(seconds=30 * i) if burst else timedelta(hours=5 * i))) for i in range(50)]
    traders = [trader() for _ in range(50)]
    kinds = (Kind.VIEW, Kind.LIKE, Kind.COMMENT, Kind.SHARE)
    engage(ring, ringed_post, kinds, spread_minutes=1)
    engage(traders, honest_post, kinds, spread_minutes=1)

    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement

    ringed = Contribution.objects.get(settlement=drafted, creator_id=ringed_post.author_id)
    honest = Contribution.objects.get(settlement=drafted, creator_id=honest_post.author_id)
    # Accounts that pay no fees are worth nothing: the ringed creator's week scores 0 and earns
    # nothing, whichever reason names it.
    assert ringed.score == 0 and honest.score > 0
    assert ringed.discounts == {"new_account_burst" if burst else "no_trading": 200}
    paid = amounts(drafted)
    assert ringed_post.author_id not in paid and paid[honest_post.author_id] > 0
    if burst:
        flag = IntegrityFlag.objects.get(settlement=drafted, creator_id=ringed_post.author_id)
        assert flag.rule == IntegrityFlag.Rule.NEW_ACCOUNT_BURST and flag.actor_count == 50
        # The burst removed none of the creator's score: a low flag, for the record.
        assert flag.severity == IntegrityFlag.Severity.LOW
    else:
        assert not IntegrityFlag.objects.filter(settlement=drafted, creator_id=ringed_post.author_id).exists()


def test_a_creator_above_the_hold_severity_is_held_and_paid_only_after_release(readers):
    ringed_post = creator_post()
    # Ten trading accounts on one phone and one honest reader: all but the oldest account stop
    # counting, and those nine were 9/11 of what the creator's week was worth, far over a fifth.
    ring = [trader() for _ in range(10)]
    engage(ring, ringed_post, spread_minutes=1, device="ringphone")
    engage(readers[:1], ringed_post)
    # The creator follows the accounts, so is tied to them: a device farm alone, which anyone can
    # aim at a rival, never holds.
    Engagement.objects.bulk_create(
        Engagement(actor=ringed_post.author, creator=account, kind=Kind.FOLLOW, occurred_at=WEEK.starts_at)
        for account in ring
    )
    engage(readers, creator_post())

    paid = settlement.settle_week(week=WEEK, now=AFTER).settlement

    held = Payout.objects.get(settlement=paid, creator_id=ringed_post.author_id)
    assert held.status == Payout.Status.HELD
    assert "device" in held.hold_reason.lower()
    assert ledger.balance(ledger.creator_account(held.creator_id)) == 0
    assert ledger.balance(ledger.held_account(WEEK.label)) == held.amount

    settlement.appeal_payout(payout_id=held.pk, creator=held.creator, message="These are my students.")
    released = settlement.review_held_payout(payout_id=held.pk, by=UserFactory(is_staff=True), release=True)

    assert released.status == Payout.Status.PAID
    assert ledger.balance(ledger.creator_account(held.creator_id)) == held.amount
    assert ledger.balance(ledger.held_account(WEEK.label)) == 0
    with pytest.raises(settlement.SettlementError):
        settlement.review_held_payout(payout_id=held.pk, by=UserFactory(), release=True)


def test_forfeited_and_unallocated_money_goes_to_the_next_weeks_pool(readers):
    # Week 47: nobody earns anything, so its whole pool is carried over.
    engagement_before(WEEK)
    PrizePoolFactory(week=WEEK.label, amount=Decimal("70.00"))
    empty = settlement.settle_week(week=WEEK, now=AFTER).settlement
    assert empty.carried_out == Decimal("70.00") and not empty.payouts.exists()

    next_week = WEEK.next()
    PrizePoolFactory(week=next_week.label, amount=Decimal("30.00"))
    post = PostFactory(created_at=next_week.starts_at + timedelta(hours=1))
    engage(readers, post)
    paid = settlement.settle_week(week=next_week, now=next_week.ends_at + timedelta(hours=1)).settlement

    assert paid.carried_in == Decimal("70.00")
    assert sum(amounts(paid).values()) + paid.carried_out == Decimal("100.00")
    assert ledger.balance(ledger.CARRYOVER) == paid.carried_out
    assert ledger.imbalance() == 0


def test_carried_money_only_joins_a_pool_of_the_same_currency(readers):
    engagement_before(WEEK)
    PrizePoolFactory(week=WEEK.label, amount=Decimal("70.00"), currency="USDT")
    settlement.settle_week(week=WEEK, now=AFTER)  # nobody earns: 70.00 USDT carried over
    next_week = WEEK.next()
    PrizePoolFactory(week=next_week.label, amount=Decimal("0.50"), currency="USDC")
    post = PostFactory(created_at=next_week.starts_at + timedelta(hours=1))
    engage(readers, post)

    paid = settlement.settle_week(week=next_week, now=next_week.ends_at + timedelta(hours=1)).settlement

    assert paid.currency == "USDC" and paid.carried_in == 0
    assert sum(amounts(paid).values()) + paid.carried_out == Decimal("0.50")
    assert ledger.balance(ledger.CARRYOVER, "USDT") == Decimal("70.00")


# --- fairness ------------------------------------------------------------------------


@pytest.mark.parametrize("extra_readers", [1, 3, 10])
def test_a_creators_share_never_falls_when_honest_engagement_on_their_posts_rises(readers, extra_readers):
    posts = [creator_post() for _ in range(4)]
    for count, post in zip((1, 2, 4, 6), posts, strict=True):
        engage(readers[:count], post)
    before = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
    watched = posts[1].author_id
    share_before = Contribution.objects.get(settlement=before, creator_id=watched).share
    amount_before = amounts(before)[watched]

    engage([trader() for _ in range(extra_readers)], posts[1], (Kind.VIEW, Kind.LIKE, Kind.COMMENT))
    after = settlement.draft_settlement(week=WEEK, now=AFTER).settlement

    assert Contribution.objects.get(settlement=after, creator_id=watched).share > share_before
    assert amounts(after)[watched] >= amount_before


# --- lifecycle around the settlement -----------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_weekly_draft_and_the_payment_run_on_a_real_celery_worker(celery_worker, now):
    # The task drafts the week before the worker's clock: `now` keeps the test clear of a week's end.
    finished = Week.containing(now).previous()
    post = PostFactory(created_at=finished.starts_at + timedelta(hours=2))
    engage([trader() for _ in range(3)], post)

    message = tasks.draft_finished_week.delay().get(timeout=60)

    drafted = Settlement.objects.get(week=finished.label)
    assert drafted.status == Settlement.Status.DRAFT and finished.label in message
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    tasks.pay_settlement.delay(drafted.pk).get(timeout=60)
    drafted.refresh_from_db()
    assert drafted.status == Settlement.Status.PAID
    assert Payout.objects.get(settlement=drafted).status == Payout.Status.PAID
    assert ledger.imbalance() == 0


def test_the_beat_schedule_drafts_on_monday_at_0010_in_the_settlement_time_zone(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["draft-weekly-settlement"]
    schedule = entry["schedule"]
    assert entry["task"] == "incentives.tasks.draft_finished_week"
    assert schedule.minute == {10} and schedule.hour == {0} and schedule.day_of_week == {1}
    assert str(schedule.tz) == settings.ORBIT_SETTLEMENT_TZ


def test_titles_follow_recent_contribution_after_a_settlement(readers):
    CreatorTitle.objects.filter(slug="rising").update(min_followers=0, min_recent_contribution=Decimal("0.5"))
    CreatorTitle.objects.filter(slug__in=["established", "star"]).update(is_active=False)
    busy, quiet = creator_post(), creator_post()
    engage(readers, busy)
    engage(readers[:1], quiet, kinds=(Kind.VIEW,))

    settlement.settle_week(week=WEEK, now=AFTER)

    titles = dict(Profile.objects.filter(user__in=[busy.author, quiet.author]).values_list("user_id", "title"))
    assert titles == {busy.author_id: "rising", quiet.author_id: "newcomer"}
    assert Profile.objects.get(user=busy.author).recent_contribution > Decimal("0.5")


# --- the command ----------------------------------------------------------------------


def _settle_week(*args):
    out = io.StringIO()
    call_command("settle_week", *args, stdout=out)
    return json.loads(out.getvalue())


def test_settle_week_prints_the_summary_and_says_when_nothing_changed(readers):
    engage(readers, creator_post())
    PrizePoolFactory(week=WEEK.label, amount=Decimal("250.00"))

    first = _settle_week("--week", WEEK.label)
    second = _settle_week("--week", WEEK.label)

    assert first["week"] == "2026-W47" and first["pool"] == "250.00" and first["changed"] is True
    assert first["total_paid"] == "250.00"
    assert first["creators"][0]["amount"] == "250.00" and first["creators"][0]["contribution"]["like"] == 6
    assert second["changed"] is False and "nothing changed" in second["message"]
    assert Settlement.objects.get().total_allocated == Decimal("250.00")


def test_settle_week_dry_run_writes_nothing(readers):
    engage(readers, creator_post())

    summary = _settle_week("--week", WEEK.label, "--dry-run")

    assert summary["status"] == "draft" and "nothing was written" in summary["message"]
    assert not Settlement.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("week", "message"), [("2026-47", "write it like 2026-W47"), ("2026-W60", "has no ISO week 60")]
)
def test_settle_week_explains_a_bad_week(week, message):
    with pytest.raises(CommandError, match=message):
        call_command("settle_week", "--week", week, stdout=io.StringIO())


def test_totals_in_the_summary_match_the_rows(readers):
    for count in (1, 3, 6):
        engage(readers[:count], creator_post())
    summary = _settle_week("--week", WEEK.label)
    total = Payout.objects.aggregate(total=Sum("amount"))["total"]
    assert Decimal(summary["total_paid"]) + Decimal(summary["total_held"]) == total
