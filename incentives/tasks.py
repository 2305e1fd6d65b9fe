from celery import shared_task
from django.utils import timezone

from orbit.singleflight import SingleFlightTask

from . import estimates, settlement
from .weeks import Week


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


@shared_task(name="incentives.tasks.estimate_current_week", base=SingleFlightTask)
def estimate_current_week() -> int:
    return estimates.refresh_estimate()
