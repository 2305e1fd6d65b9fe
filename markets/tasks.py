"""Thin Celery tasks for what the exchange tells Orbit; the work is in markets/exchange.py."""

from celery import shared_task

from orbit.singleflight import SingleFlightTask

from . import exchange


@shared_task(name="markets.tasks.refresh_trading_profiles", base=SingleFlightTask)
def refresh_trading_profiles() -> int:
    # Idempotent: every linked profile is rebuilt from its fills of the last 30 days.
    return exchange.refresh_trading_profiles()
