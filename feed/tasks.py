"""Thin Celery tasks for content: market data and graded calls. The work is in plain modules."""

from celery import shared_task

from . import calls, markets


@shared_task(name="feed.tasks.poll_market_data")
def poll_market_data() -> dict:
    # Idempotent: candles are upserted by (instrument, bar, time); a down API only logs.
    return markets.poll_discussed_assets()


@shared_task(name="feed.tasks.grade_due_calls")
def grade_due_calls() -> dict:
    # Idempotent: only open calls are graded, each claimed with a conditional update.
    return calls.grade_due_calls()
