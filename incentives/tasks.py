import logging

from celery import shared_task
from django.utils import timezone

from orbit import health, queues
from orbit.singleflight import SingleFlightTask

from . import estimates, folding, reconciliation, settlement, tips, transfers
from .weeks import Week

logger = logging.getLogger(__name__)


@shared_task(name="incentives.tasks.draft_finished_week", base=SingleFlightTask)
def draft_finished_week() -> str:
    """Beat, Monday 00:10 in ORBIT_SETTLEMENT_TZ: the draft of the week that just ended.
    Idempotent: a redelivery recomputes the same draft; an approved week is left alone."""
    week = Week.containing(timezone.now()).previous()
    try:
        return settlement.draft_settlement(week=week).message
    except settlement.SettlementError as refused:  # a new install: no engagement yet, nothing to draft
        return str(refused)


@shared_task(name="incentives.tasks.draft_week")
def draft_week(week: str) -> str:
    return settlement.draft_settlement(week=Week.parse(week)).message


@shared_task(name="incentives.tasks.pay_settlement")
def pay_settlement(settlement_id: int) -> str:
    # Paying twice is refused by the settlement's status under the week's lock.
    return settlement.pay_settlement(settlement_id=settlement_id).message


@shared_task(name="incentives.tasks.fold_engagement", base=SingleFlightTask)
def fold_engagement() -> int:
    """Beat, every 30 s, on the folding queue: the engagement that arrived since the last fold, into
    the settlement's rollups, in transactions of about FOLD_BATCH rows, so that a backlog (after an
    outage) is caught up in steps that each commit. A fold already running (the settlement folds too)
    is not waited for: the next run takes what it left."""
    folded = 0
    while True:
        started = folding.database_clock()
        result = folding.fold_new_engagement(limit=folding.FOLD_BATCH, skip_locked=True)
        folded += result.events
        if result.busy:  # the other fold reports for itself
            return folded
        if not result.more:
            # Everything committed before this fold began is folded: /healthz measures the lag from here.
            try:
                health.record_caught_up(queues.ENGAGEMENT_FOLDING, as_of=started)
            except Exception:  # the fold is committed; the next one reports again
                logger.warning("Could not record the fold's progress", exc_info=True)
            return folded


@shared_task(name="incentives.tasks.estimate_current_week", base=SingleFlightTask)
def estimate_current_week() -> int:
    return estimates.refresh_estimate()


@shared_task(name="incentives.tasks.send_payout_transfer", bind=True, max_retries=transfers.MAX_RETRIES, acks_late=True)
def send_payout_transfer(self, transfer_id: int) -> str:
    """Sends one payout transfer under its stored key. Late acknowledgement: a worker killed midway
    leaves the message to be delivered again, and the resend under the same key is a replay."""
    attempt = transfers.send_payout_transfer(transfer_id=transfer_id)
    if attempt != transfers.Attempt.UNKNOWN:
        return attempt
    if self.request.retries >= self.max_retries:
        transfers.mark_stuck(transfer_id=transfer_id)
        return "stuck"
    raise self.retry(countdown=transfers.retry_delay(self.request.retries))


@shared_task(name="incentives.tasks.sweep_payout_transfers", base=SingleFlightTask)
def sweep_payout_transfers() -> int:
    """Periodic: queues payout transfers and tips whose message was lost, and transfers waiting for
    an account (each send finds the account now, waits on, or returns the money once the wait is
    over), and asks the exchange about sent ones whose confirmation never came."""
    transfer_ids = transfers.open_transfers_to_send()
    transfers.queue_sends(transfer_ids)
    transfers.query_silent_transfers()
    # Tips the same way: lost messages queued again, silent sends asked about.
    tip_ids = tips.lost_tips()
    for tip_id in tip_ids:
        tips.queue_send(tip_id)
    tips.query_silent_tips()
    return len(transfer_ids) + len(tip_ids)


@shared_task(name="incentives.tasks.send_tip", bind=True, max_retries=tips.MAX_RETRIES, acks_late=True)
def send_tip(self, tip_id: int) -> str:
    """Sends one reader tip under its stored key, retried like a payout transfer (then stuck)."""
    attempt = tips.send_tip(tip_id=tip_id)
    if attempt != tips.Attempt.UNKNOWN:
        return attempt
    if self.request.retries >= self.max_retries:
        tips.mark_stuck(tip_id=tip_id)
        return "stuck"
    raise self.retry(countdown=tips.retry_delay(self.request.retries))


@shared_task(name="incentives.tasks.reconcile_transfers", base=SingleFlightTask)
def reconcile_transfers() -> dict[str, str]:
    """Daily: yesterday's (UTC) transfers against the exchange's report, and any day of the last week
    never checked or left unavailable. Each day's result (and its differences) is stored and logged."""
    return reconciliation.reconcile_due_days()
