"""Thin Celery tasks for content: market data, graded calls and the engagement log's partitions. The
work is in plain modules."""

from celery import shared_task

from orbit.singleflight import SingleFlightTask

from . import calls, partitions, prices


@shared_task(name="feed.tasks.poll_market_data", base=SingleFlightTask)
def poll_market_data() -> dict:
    # Idempotent: candles are upserted by (instrument, bar, time); a down API only logs.
    return prices.poll_discussed_assets()


@shared_task(name="feed.tasks.grade_due_calls", base=SingleFlightTask)
def grade_due_calls() -> dict:
    # Idempotent: only open calls are graded, each claimed with a conditional update.
    return calls.grade_due_calls()


@shared_task(name="feed.tasks.ensure_engagement_partitions", base=SingleFlightTask)
def ensure_engagement_partitions() -> dict:
    # Idempotent: creates only the missing weeks, under an advisory lock (feed/partitions.py).
    created = partitions.ensure_partitions()
    return {"created": created}
