"""Paid payouts reach the creators' exchange accounts exactly once, against the fake exchange over
real HTTP (tools/fake_exchange.py in threads of this process), with confirmations through Orbit's
signed webhook endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from feed.models import Engagement
from incentives import ledger, settlement, tasks, transfers
from incentives.models import LedgerEntry, Payout, PayoutTransfer, Settlement
from incentives.weeks import Week
from markets import exchange_api
from markets.models import TradingProfile
from tests.concurrency import race
from tests.factories import EngagementFactory, PostFactory, TradingProfileFactory, UserFactory
from tests.waiting import wait_for

from .exchange_side import URL, balance, confirmations, deliver, transfers_at_exchange
from .world import real_trader

WEEK = Week.parse("2026-W47", "UTC")
AFTER = WEEK.ends_at + timedelta(hours=1)
State = PayoutTransfer.State


def creator_with_readers(*, uid: str | None) -> int:
    """A creator whose post three trading readers liked in WEEK, linked to exchange `uid` (or not)."""
    creator = UserFactory()
    if uid:
        TradingProfileFactory(user=creator, exchange_uid=uid)
    post = PostFactory(author=creator, created_at=WEEK.starts_at + timedelta(hours=1))
    for i, reader in enumerate(real_trader() for _ in range(3)):
        EngagementFactory(
            actor=reader, post=post, kind=Engagement.Kind.LIKE, occurred_at=post.created_at + timedelta(minutes=5 + i)
        )
    return creator.pk


def pay_week(*, hold: tuple[int, ...] = ()) -> Settlement:
    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
    Payout.objects.filter(settlement=drafted, creator_id__in=hold).update(
        status=Payout.Status.HELD, hold_reason="review"
    )
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    return settlement.pay_settlement(settlement_id=drafted.pk).settlement


def transfer_of(creator_id: int) -> PayoutTransfer:
    return PayoutTransfer.objects.select_related("payout").get(payout__creator_id=creator_id)


def send(creator_id: int, **kwargs) -> transfers.Attempt:
    return transfers.send_payout_transfer(transfer_id=transfer_of(creator_id).pk, **kwargs)


# --- The path of a paid week ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_paid_week_sends_one_transfer_per_payout_and_the_webhook_confirms_them(fake, client, sends_in_process):
    creators = [creator_with_readers(uid=f"uid-creator-{n}") for n in range(2)]
    paid = pay_week()

    for creator_id in creators:
        assert send(creator_id) == transfers.Attempt.SENT
    keys = [f"payout:2026-W47:{creator_id}" for creator_id in sorted(creators)]
    assert transfers_at_exchange(fake) == [(key, "pending") for key in keys]
    for key in keys:
        fake.settle(key, outcome="completed")
    results = deliver(client, confirmations(fake))

    assert [result["status"] for result in results] == ["applied", "applied"]
    assert {transfer_of(c).state for c in creators} == {State.CONFIRMED}
    total = Payout.objects.filter(settlement=paid).aggregate(total=Sum("amount"))["total"]
    assert balance(transfers.PAID_OUT) == total
    assert balance(transfers.IN_FLIGHT) == 0
    assert all(balance(ledger.creator_account(c)) == 0 for c in creators)
    assert ledger.imbalance() == 0


@pytest.mark.django_db
def test_held_payouts_get_no_transfer(fake):
    held, paid = creator_with_readers(uid="uid-held"), creator_with_readers(uid="uid-paid")

    pay_week(hold=(held,))

    assert list(PayoutTransfer.objects.values_list("payout__creator_id", flat=True)) == [paid]


@pytest.mark.django_db
def test_a_held_payout_released_after_review_is_sent_like_the_others(fake, sends_in_process):
    held = creator_with_readers(uid="uid-released")
    pay_week(hold=(held,))
    operator = UserFactory(is_staff=True)

    settlement.review_held_payout(payout_id=Payout.objects.get(creator_id=held).pk, by=operator, release=True)

    assert send(held) == transfers.Attempt.SENT
    assert transfers_at_exchange(fake) == [(f"payout:2026-W47:{held}", "pending")]
    assert ledger.imbalance() == 0


# --- Exactly once ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lost_answer_retried_under_the_same_key_gives_one_transfer_at_the_exchange(fake):
    creator = creator_with_readers(uid="uid-creator-1")
    pay_week()
    fake.control(lose_answers=1)

    assert send(creator) == transfers.Attempt.UNKNOWN
    assert transfer_of(creator).state == State.REQUESTED and transfer_of(creator).last_error
    assert balance(ledger.creator_account(creator)) > 0  # nothing moved on our side yet
    assert send(creator) == transfers.Attempt.SENT

    assert len(transfers_at_exchange(fake)) == 1
    assert transfer_of(creator).attempts == 2
    assert ledger.imbalance() == 0


@pytest.mark.django_db
def test_the_task_retries_an_unknown_outcome_then_marks_the_transfer_stuck(fake, monkeypatch):
    creator = creator_with_readers(uid="uid-creator-1")
    pay_week()
    fake.control(down=True)
    monkeypatch.setattr(tasks.send_payout_transfer, "max_retries", 2)

    # Run in this process, Celery's retries run at once (their countdown is for a real worker).
    tasks.send_payout_transfer.apply(args=[transfer_of(creator).pk])

    stuck = transfer_of(creator)
    assert (stuck.state, stuck.attempts) == (State.STUCK, 3)
    assert "503" in stuck.last_error
    fake.control(down=False)
    assert send(creator) == transfers.Attempt.SENT  # an operator sends it again once the cause is fixed
    assert len(transfers_at_exchange(fake)) == 1


@pytest.mark.django_db
def test_the_task_run_twice_sends_once(fake):
    creator = creator_with_readers(uid="uid-creator-1")
    pay_week()
    transfer_id = transfer_of(creator).pk

    assert tasks.send_payout_transfer.apply(args=[transfer_id]).get() == "sent"
    assert tasks.send_payout_transfer.apply(args=[transfer_id]).get() == "nothing_to_do"

    assert len(transfers_at_exchange(fake)) == 1
    assert LedgerEntry.objects.filter(account=transfers.IN_FLIGHT).count() == 1


@pytest.mark.django_db
def test_a_worker_killed_between_send_and_record_resends_the_same_key_and_records_it_once(fake):
    creator = creator_with_readers(uid="uid-creator-1")
    pay_week()
    transfer = transfer_of(creator)
    # What the dead worker did: the exchange took the instruction, and its commit never happened.
    first = exchange_api.send_transfer(
        idempotency_key=transfer.idempotency_key,
        kind="payout",
        amount=transfer.payout.amount,
        currency="USDT",
        to_uid="uid-creator-1",
        reference=transfer.idempotency_key,
        memo=f"Orbit creator payout {WEEK.label}",
    )

    assert send(creator) == transfers.Attempt.SENT

    assert transfer_of(creator).exchange_transfer_id == first.transfer_id
    assert len(transfers_at_exchange(fake)) == 1
    assert ledger.imbalance() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_four_workers_sending_one_transfer_at_once_send_it_once(fake):
    creator = creator_with_readers(uid="uid-creator-1")
    pay_week()
    fake.control(delay_ms=200)  # each request is slow, so the racers overlap

    race(lambda: send(creator))

    assert len(transfers_at_exchange(fake)) == 1
    assert transfer_of(creator).attempts == 1  # the others skipped the locked row
    assert LedgerEntry.objects.filter(account=transfers.IN_FLIGHT).count() == 1


@pytest.mark.django_db
def test_the_sweep_sends_transfers_whose_message_was_lost_but_not_those_in_their_retries(fake, sends_in_process):
    lost, retrying = creator_with_readers(uid="uid-lost"), creator_with_readers(uid="uid-retrying")
    pay_week()
    PayoutTransfer.objects.filter(payout__creator_id=retrying).update(attempts=1)
    PayoutTransfer.objects.update(updated_at=timezone.now() - timedelta(hours=1))

    assert tasks.sweep_payout_transfers() == 1

    assert transfer_of(lost).state == State.SENT
    assert transfer_of(retrying).state == State.REQUESTED


# --- Confirmations ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_duplicate_confirmation_changes_nothing(fake, client):
    creator = creator_with_readers(uid="uid-creator-1")
    pay_week()
    send(creator)
    fake.settle(transfer_of(creator).idempotency_key, outcome="completed")
    [event] = confirmations(fake)
    deliver(client, [event])
    entries = LedgerEntry.objects.count()

    again = deliver(client, [event])
    under_a_new_id = deliver(client, [{**event, "id": "evt-resent"}])

    assert again[0]["status"] == "duplicate"
    assert (under_a_new_id[0]["status"], under_a_new_id[0]["code"]) == ("duplicate", "transfer_already_final")
    assert LedgerEntry.objects.count() == entries
    assert transfer_of(creator).state == State.CONFIRMED


@pytest.mark.django_db
def test_a_confirmation_arriving_before_the_send_was_recorded_still_confirms(fake, client):
    creator = creator_with_readers(uid="uid-creator-1")
    pay_week()
    transfer = transfer_of(creator)
    exchange_api.send_transfer(
        idempotency_key=transfer.idempotency_key,
        kind="payout",
        amount=transfer.payout.amount,
        currency="USDT",
        to_uid="uid-creator-1",
        reference=transfer.idempotency_key,
        memo=f"Orbit creator payout {WEEK.label}",
    )
    fake.settle(transfer.idempotency_key, outcome="completed")

    assert deliver(client, confirmations(fake))[0]["status"] == "applied"
    assert send(creator) == transfers.Attempt.NOTHING_TO_DO  # the late worker finds it done

    confirmed = transfer_of(creator)
    assert (confirmed.state, confirmed.to_uid) == (State.CONFIRMED, "uid-creator-1")
    assert balance(transfers.PAID_OUT) == confirmed.payout.amount
    assert len(transfers_at_exchange(fake)) == 1
    assert ledger.imbalance() == 0


@pytest.mark.django_db
def test_a_confirmation_for_a_key_orbit_never_sent_is_refused(fake, client):
    event = {
        "id": "evt-ex-unknown-completed",
        "type": "transfer.completed",
        "occurred_at": "2026-12-01T08:00:00Z",
        "data": {"transfer_id": "ex-unknown", "idempotency_key": "payout:2026-W47:999", "to_uid": "uid-nobody"},
    }

    [result] = deliver(client, [event])

    assert (result["status"], result["code"]) == ("refused", "unknown_transfer")


# --- Money back to the carry-over -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_transfer_returns_the_money_to_the_carry_over(fake):
    creator = creator_with_readers(uid="uid-x-frozen")
    pay_week()
    carried_before = balance(ledger.CARRYOVER)

    assert send(creator) == transfers.Attempt.RETURNED

    returned = transfer_of(creator)
    assert (returned.state, returned.failure_code) == (State.RETURNED, "account_frozen")
    assert balance(ledger.CARRYOVER) - carried_before == returned.payout.amount
    assert balance(ledger.creator_account(creator)) == 0
    assert "account_frozen" in LedgerEntry.objects.filter(account=ledger.CARRYOVER).latest("id").memo
    assert ledger.imbalance() == 0


@pytest.mark.django_db
def test_a_transfer_that_fails_after_acceptance_returns_the_money_from_in_flight(fake, client):
    creator = creator_with_readers(uid="uid-creator-bounce")
    pay_week()
    send(creator)
    fake.settle(transfer_of(creator).idempotency_key, outcome="failed", failure_code="account_closed")

    deliver(client, confirmations(fake))

    returned = transfer_of(creator)
    assert (returned.state, returned.failure_code) == (State.RETURNED, "account_closed")
    assert balance(transfers.IN_FLIGHT) == 0
    assert ledger.imbalance() == 0


# --- Creators without a linked account ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_creator_without_an_account_waits_and_is_paid_once_they_link_one(
    fake, client, sends_in_process, django_capture_on_commit_callbacks
):
    creator = creator_with_readers(uid=None)
    pay_week()
    assert send(creator) == transfers.Attempt.WAITING
    assert transfers_at_exchange(fake) == []

    link = {
        "id": "link-1",
        "type": "account.linked",
        "occurred_at": "2026-12-01T08:00:00Z",
        "data": {"uid": "uid-late-linker", "user_id": creator},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, [link])[0]["status"] == "applied"

    sent = transfer_of(creator)
    assert (sent.state, sent.to_uid) == (State.SENT, "uid-late-linker")
    assert transfers_at_exchange(fake) == [(sent.idempotency_key, "pending")]


@pytest.mark.django_db
def test_a_creator_who_never_links_has_the_payout_returned_after_eight_weeks(fake):
    creator = creator_with_readers(uid=None)
    pay_week()
    waiting = transfer_of(creator)
    send(creator)

    assert send(creator, now=waiting.created_at + timedelta(weeks=8)) == transfers.Attempt.RETURNED

    returned = transfer_of(creator)
    assert (returned.state, returned.failure_code) == (State.RETURNED, transfers.NOT_LINKED)
    assert balance(ledger.CARRYOVER) >= returned.payout.amount
    assert ledger.imbalance() == 0
    assert not TradingProfile.objects.filter(user_id=creator).exists()


# --- On a real worker ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_paying_a_week_sends_its_transfers_on_a_real_worker_and_the_exchange_confirms_through_the_webhook(
    celery_worker, live_server, fake
):
    creators = [creator_with_readers(uid=f"uid-creator-{n}") for n in range(2)]
    fake.control(confirm="auto", webhook_url=f"{live_server.url}{URL}")

    pay_week()

    assert wait_for(lambda: {transfer_of(c).state for c in creators} == {State.CONFIRMED}, seconds=30)
    assert [status for _key, status in transfers_at_exchange(fake)] == ["completed", "completed"]
    assert balance(transfers.IN_FLIGHT) == 0
    assert ledger.imbalance() == 0
