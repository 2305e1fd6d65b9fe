"""Thin Celery tasks for content: market data and graded calls. The work is in plain modules."""

from celery import shared_task

from orbit.singleflight import SingleFlightTask

from . import calls, prices


@shared_task(name="feed.tasks.poll_market_data", base=SingleFlightTask)
def poll_market_data() -> dict:
    # Idempotent: candles are upserted by (instrument, bar, time); a down API only logs.
    return prices.poll_discussed_assets()


@shared_task(name="feed.tasks.grade_due_calls", base=SingleFlightTask)
def grade_due_calls() -> dict:
    # Idempotent: only open calls are graded, each claimed with a conditional update.
    return calls.grade_due_calls()
