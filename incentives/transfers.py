"""Paid payouts leave for the creator's exchange account, exactly once.

A paid settlement has already moved each payout to `creator:<id>` on Orbit's ledger; this module
moves it on, and every step is a ledger transfer of its own, so the ledger always sums to zero:

  sent        creator:<id>        → exchange:in_flight   the exchange accepted the instruction
  confirmed   exchange:in_flight  → exchange:paid        the exchange says it completed
  returned    exchange:in_flight  → carryover            refused, or failed after acceptance
              creator:<id>        → carryover            never sent (refused at once, or no account
                                                         linked within WAIT_FOR_ACCOUNT)

Every send uses the key stored with the row ("payout:<week>:<creator id>") and holds the row's lock
for the request, so two workers never send one payout at once, and a worker that dies between the
exchange's answer and the commit leaves the row as it was: the next attempt sends the same key and
the exchange answers with the transfer it already holds. A sent transfer whose confirmation never
arrives is asked about after SILENT_AFTER (`query_silent_transfers`, from the hourly sweep), and an
operator sends a stuck one again with `resend`, under the same key. See docs/incentives.md (payout
transfers).
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from markets import exchange_api
from markets.models import TradingProfile
from orbit import celery_app

from . import ledger, tips
from .models import Payout, PayoutTransfer, Settlement, Tip

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

IN_FLIGHT = "exchange:in_flight"
PAID_OUT = "exchange:paid"
# A creator with no linked exchange account has this long to link one; then the money goes back.
WAIT_FOR_ACCOUNT = timedelta(weeks=8)
# Sending is retried this many times after an unknown outcome, waiting RETRY_BASE_SECONDS × 2^n
# (30 s … about an hour), then the transfer is stuck until an operator sends it again.
MAX_RETRIES = 8
RETRY_BASE_SECONDS = 30
NOT_LINKED = "account_not_linked"
# A sent transfer with no confirmation for this long is asked about (`query_silent_transfers`): the
# exchange confirms within seconds, so silence this long means its webhook event was lost.
SILENT_AFTER = timedelta(minutes=30)
# At most this many status queries per sweep, so a long outage cannot make one sweep run for hours.
SILENT_BATCH = 200
# Queued by name: the tasks module imports this one (and settlement, which queues through here).
SEND_TASK = "incentives.tasks.send_payout_transfer"

State = PayoutTransfer.State
OPEN_TO_SEND = (State.REQUESTED, State.STUCK)


class ResendRefused(Exception):
    """Only a stuck transfer (or one still in its retries) is sent again by an operator."""


class Attempt(enum.StrEnum):
    """What one call of `send_payout_transfer` did."""

    SENT = "sent"
    CONFIRMED = "confirmed"
    RETURNED = "returned"
    WAITING = "waiting_for_account"
    UNKNOWN = "unknown"  # nothing is known to have moved: retry the same key
    NOTHING_TO_DO = "nothing_to_do"  # finished, or another worker holds it


def idempotency_key(week: str, creator_id: int) -> str:
    return f"payout:{week}:{creator_id}"


def retry_delay(retries: int) -> int:
    return RETRY_BASE_SECONDS * 2**retries


def request_transfers(*, settlement: Settlement) -> list[int]:
    """One transfer per paid payout of `settlement`; call inside pay_settlement's transaction.
    Returns the new rows' ids, for the caller to queue after commit."""
    paid = settlement.payouts.filter(status=Payout.Status.PAID, transfer__isnull=True).order_by("creator_id")
    created = PayoutTransfer.objects.bulk_create(
        PayoutTransfer(payout=payout, idempotency_key=idempotency_key(settlement.week, payout.creator_id))
        for payout in paid
    )
    return [transfer.pk for transfer in created]


def queue_sends(transfer_ids: list[int]) -> None:
    """Queues one send per transfer; call after commit (the worker must see the rows)."""
    # One producer (one broker connection) for the whole batch: 10,000 payouts of a week would
    # otherwise take a connection from the pool, and give it back, 10,000 times.
    with celery_app.producer_or_acquire() as producer:
        for transfer_id in transfer_ids:
            celery_app.send_task(SEND_TASK, args=[transfer_id], producer=producer)


def send_payout_transfer(*, transfer_id: int, now: datetime | None = None) -> Attempt:
    """Sends one transfer if it is still to be sent, and records what the exchange answered."""
    now = now or timezone.now()
    with transaction.atomic():
        # skip_locked: another worker is sending this row right now, and will record the answer.
        transfer = (
            PayoutTransfer.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("payout__settlement")
            .filter(pk=transfer_id)
            .first()
        )
        if transfer is None or transfer.state not in (*OPEN_TO_SEND, State.WAITING_FOR_ACCOUNT):
            return Attempt.NOTHING_TO_DO
        payout = transfer.payout
        to_uid = (
            TradingProfile.objects.filter(user_id=payout.creator_id, exchange_uid__isnull=False)
            .values_list("exchange_uid", flat=True)
            .first()
        )
        if not to_uid:
            return _wait_for_account(transfer, now)
        transfer.attempts += 1
        try:
            # Inside the lock, bounded by EXCHANGE_API_TIMEOUT: the same key is never in flight twice.
            answer = exchange_api.send_transfer(
                idempotency_key=transfer.idempotency_key,
                kind="payout",
                amount=payout.amount,
                currency=payout.currency,
                to_uid=to_uid,
                reference=transfer.idempotency_key,
                memo=f"Orbit creator payout {payout.settlement.week}",
            )
        except exchange_api.TransferRefused as refused:
            transfer.last_error = str(refused)[:500]
            _return(transfer, code=refused.code[:32], source=ledger.creator_account(payout.creator_id), now=now)
            return Attempt.RETURNED
        except exchange_api.ExchangeError as problem:
            # Unknown outcome (or not accepted at all): the row stays open, the same key is retried.
            transfer.last_error = f"{type(problem).__name__}: {problem}"[:500]
            transfer.save(update_fields=["attempts", "last_error", "updated_at"])
            logger.warning("Payout transfer %s: %s", transfer.idempotency_key, transfer.last_error)
            return Attempt.UNKNOWN
        transfer.to_uid = to_uid
        _record_sent(transfer, exchange_transfer_id=answer.transfer_id, now=now)
        if answer.status == "completed":
            _confirm(transfer, now=now)
            return Attempt.CONFIRMED
        if answer.status == "failed":
            _return(transfer, code=(answer.failure_code or "failed")[:32], source=IN_FLIGHT, now=now)
            return Attempt.RETURNED
        return Attempt.SENT


def mark_stuck(*, transfer_id: int) -> bool:
    """Retries are exhausted: the row waits for an operator (who fixes the cause and sends it again
    with `resend`). The money stays in creator:<id> or in flight, where it is."""
    return bool(PayoutTransfer.objects.filter(pk=transfer_id, state=State.REQUESTED).update(state=State.STUCK))


def apply_confirmation(
    *,
    idempotency_key: str,
    exchange_transfer_id: str,
    outcome: str,
    failure_code: str | None,
    to_uid: str,
    completed_at: datetime | None = None,
    now: datetime | None = None,
) -> str | None:
    """The exchange's `transfer.completed` / `transfer.failed` for one of our keys: "applied", or
    "duplicate" when the transfer is already final. None when the key is not a payout's."""
    now = now or timezone.now()
    # Not skip_locked: a worker still recording the send's answer is waited for, then built on.
    transfer = (
        PayoutTransfer.objects.select_for_update(of=("self",))
        .select_related("payout__settlement")
        .filter(idempotency_key=idempotency_key)
        .first()
    )
    if transfer is None:
        return None
    if transfer.state in (State.CONFIRMED, State.RETURNED):
        if (transfer.state == State.CONFIRMED) != (outcome == "completed"):
            logger.error(
                "Payout transfer %s is %s, but the exchange now says %s.", idempotency_key, transfer.state, outcome
            )
        return "duplicate"
    if transfer.state != State.SENT:
        # The confirmation overtook the send's answer (or the worker died before recording it).
        transfer.to_uid = transfer.to_uid or to_uid
        _record_sent(transfer, exchange_transfer_id=exchange_transfer_id, now=now)
    transfer.exchange_completed_at = completed_at or now
    if outcome == "completed":
        _confirm(transfer, now=now)
    else:
        transfer.last_error = f"the exchange reported the transfer failed: {failure_code}"
        _return(transfer, code=(failure_code or "failed")[:32], source=IN_FLIGHT, now=now)
    return "applied"


def release_waiting(*, creator_id: int) -> list[int]:
    """The creator linked an exchange account: their waiting transfers are to be sent. Returns the
    ids to queue (after commit)."""
    waiting = PayoutTransfer.objects.filter(payout__creator_id=creator_id, state=State.WAITING_FOR_ACCOUNT)
    ids = list(waiting.values_list("pk", flat=True))
    PayoutTransfer.objects.filter(pk__in=ids, state=State.WAITING_FOR_ACCOUNT).update(
        state=State.REQUESTED, updated_at=timezone.now()
    )
    return ids


def open_transfers_to_send(*, now: datetime | None = None, older_than: timedelta = timedelta(minutes=15)) -> list[int]:
    """Transfers the sweep sends (again): requested ones never attempted (their task message was
    lost; one with attempts is in its task's retries, which a second chain would only duplicate),
    and waiting ones (each send finds an account now, waits on, or returns them after
    WAIT_FOR_ACCOUNT)."""
    now = now or timezone.now()
    return list(
        PayoutTransfer.objects.filter(
            Q(state=State.REQUESTED, attempts=0) | Q(state=State.WAITING_FOR_ACCOUNT),
            updated_at__lt=now - older_than,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def silent_transfers(*, now: datetime | None = None, older_than: timedelta = SILENT_AFTER) -> list[int]:
    """Sent transfers the exchange has said nothing about for `older_than`, oldest first."""
    now = now or timezone.now()
    return list(
        PayoutTransfer.objects.filter(state=State.SENT, sent_at__lt=now - older_than)
        .order_by("sent_at", "pk")
        .values_list("pk", flat=True)[:SILENT_BATCH]
    )


def query_silent_transfer(*, transfer_id: int, now: datetime | None = None) -> str:
    """Asks the exchange about one silent transfer, and applies a final answer exactly as the
    webhook would (`apply_confirmation`), so the event arriving later is a duplicate. Returns
    "applied", "pending", "not_sent" (the exchange never got it), "refused" (the exchange says it
    refused the key Orbit holds as accepted), "unavailable" or "nothing_to_do"."""
    transfer = PayoutTransfer.objects.filter(pk=transfer_id, state=State.SENT).first()
    if transfer is None:
        return "nothing_to_do"  # confirmed or returned meanwhile
    key = transfer.idempotency_key
    try:
        # Outside any transaction: no row lock is held while the exchange answers.
        answer = exchange_api.transfer_status(key)
    except exchange_api.TransferRefused as refused:
        # Orbit holds an accepted transfer the exchange says it refused: a person must look.
        logger.error("Payout transfer %s is sent, but the exchange says it refused it: %s", key, refused)
        return "refused"
    except exchange_api.ExchangeError as problem:
        logger.warning("Payout transfer %s: status query failed: %s", key, problem)
        return "unavailable"
    if answer is None:
        logger.error("Payout transfer %s is sent, but the exchange has no transfer under its key.", key)
        return "not_sent"
    if answer.status not in ("completed", "failed"):
        return "pending"
    with transaction.atomic():
        result = apply_confirmation(
            idempotency_key=key,
            exchange_transfer_id=answer.transfer_id,
            outcome=answer.status,
            failure_code=answer.failure_code,
            to_uid=transfer.to_uid,
            completed_at=answer.completed_at,
            now=now,
        )
    logger.warning("Payout transfer %s: no confirmation arrived; the status query found it %s.", key, answer.status)
    return result or "nothing_to_do"


def query_silent_transfers(*, now: datetime | None = None) -> dict[str, int]:
    """The sweep's status query: each silent sent transfer asked about once. Counts by outcome.
    Stops at the first unanswered question: an exchange that is down would only make each of the
    others wait out EXCHANGE_API_TIMEOUT, and the next sweep asks again."""
    outcomes: dict[str, int] = {}
    for transfer_id in silent_transfers(now=now):
        outcome = query_silent_transfer(transfer_id=transfer_id, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "unavailable":
            break
    return outcomes


def state_summary() -> list[dict]:
    """Per state: how many transfers and how much money (per currency), for the operators' page.
    One grouped query over the table."""
    rows = (
        PayoutTransfer.objects.order_by()
        .values("state", "payout__currency")
        .annotate(count=Count("pk"), total=Sum("payout__amount"))
    )
    by_state: dict[str, dict] = {
        state: {"state": state, "label": label, "count": 0, "totals": []} for state, label in State.choices
    }
    for row in rows:
        line = by_state[row["state"]]
        line["count"] += row["count"]
        line["totals"].append(f"{row['total']} {row['payout__currency']}")
    return list(by_state.values())


def can_resend(transfer: PayoutTransfer) -> bool:
    """Stuck, or requested and already attempted (its task is retrying, perhaps for hours)."""
    return transfer.state == State.STUCK or (transfer.state == State.REQUESTED and transfer.attempts > 0)


def resend(*, transfer_id: int, operator: AbstractBaseUser, now: datetime | None = None) -> PayoutTransfer:
    """An operator sends a stuck transfer again once its cause is fixed: back to requested, and one
    send queued after commit under the SAME idempotency key, so the exchange applies it once even if
    an earlier attempt did reach it. Who and when is kept in last_error (until the send's answer
    replaces it) and in the log; the admin adds its history entry."""
    now = now or timezone.now()
    with transaction.atomic():
        transfer = PayoutTransfer.objects.select_for_update(of=("self",)).get(pk=transfer_id)
        if not can_resend(transfer):
            raise ResendRefused(
                _("Only a stuck transfer, or one still retrying, can be sent again; %(key)s is %(state)s.")
                % {"key": transfer.idempotency_key, "state": transfer.get_state_display()}
            )
        before = transfer.last_error
        transfer.state = State.REQUESTED
        transfer.last_error = f"Sent again by {operator.get_username()} at {now:%Y-%m-%d %H:%M} UTC. Before: {before}"[
            :500
        ]
        transfer.save(update_fields=["state", "last_error", "updated_at"])
        transaction.on_commit(lambda: queue_sends([transfer_id]))
    logger.warning(
        "Payout transfer %s sent again by operator %s (was: %s)", transfer.idempotency_key, operator.pk, before
    )
    return transfer


def resend_tip(*, tip_id: int, operator: AbstractBaseUser, now: datetime | None = None) -> Tip:
    """The same for a stuck tip: back to requested, one send queued after commit under its key."""
    now = now or timezone.now()
    with transaction.atomic():
        tip = Tip.objects.select_for_update().get(pk=tip_id)
        if tip.state != Tip.State.STUCK:
            raise ResendRefused(
                _("Only a stuck tip can be sent again; %(key)s is %(state)s.")
                % {"key": tip.idempotency_key, "state": tip.get_state_display()}
            )
        before = tip.last_error
        tip.state = Tip.State.REQUESTED
        tip.last_error = f"Sent again by {operator.get_username()} at {now:%Y-%m-%d %H:%M} UTC. Before: {before}"[:500]
        tip.save(update_fields=["state", "last_error", "updated_at"])
        transaction.on_commit(lambda: tips.queue_send(tip_id))
    logger.warning("Tip %s sent again by operator %s (was: %s)", tip.idempotency_key, operator.pk, before)
    return tip


# --- Steps (inside the caller's transaction, with the row locked) ------------------------------


def _wait_for_account(transfer: PayoutTransfer, now: datetime) -> Attempt:
    if now - transfer.created_at >= WAIT_FOR_ACCOUNT:
        transfer.last_error = f"no exchange account was linked within {WAIT_FOR_ACCOUNT.days // 7} weeks"
        _return(transfer, code=NOT_LINKED, source=ledger.creator_account(transfer.payout.creator_id), now=now)
        return Attempt.RETURNED
    if transfer.state != State.WAITING_FOR_ACCOUNT:
        transfer.state = State.WAITING_FOR_ACCOUNT
        transfer.save(update_fields=["state", "updated_at"])
    return Attempt.WAITING


def _move(transfer: PayoutTransfer, *, source: str, destination: str, memo: str) -> None:
    payout = transfer.payout
    ledger.transfer(
        source=source,
        destination=destination,
        amount=payout.amount,
        currency=payout.currency,
        memo=f"{memo}, {transfer.idempotency_key}"[:200],
        settlement=payout.settlement,
        payout=payout,
    )


def _record_sent(transfer: PayoutTransfer, *, exchange_transfer_id: str, now: datetime) -> None:
    _move(transfer, source=ledger.creator_account(transfer.payout.creator_id), destination=IN_FLIGHT, memo="sent")
    transfer.state, transfer.sent_at = State.SENT, now
    transfer.exchange_transfer_id = exchange_transfer_id[:64]
    transfer.last_error = ""
    transfer.save()


def _confirm(transfer: PayoutTransfer, *, now: datetime) -> None:
    _move(transfer, source=IN_FLIGHT, destination=PAID_OUT, memo="confirmed by the exchange")
    transfer.state, transfer.confirmed_at = State.CONFIRMED, now
    transfer.exchange_completed_at = transfer.exchange_completed_at or now
    transfer.save()


def _return(transfer: PayoutTransfer, *, code: str, source: str, now: datetime) -> None:
    _move(transfer, source=source, destination=ledger.CARRYOVER, memo=f"returned to the carry-over ({code})")
    transfer.state, transfer.returned_at, transfer.failure_code = State.RETURNED, now, code
    transfer.save()
