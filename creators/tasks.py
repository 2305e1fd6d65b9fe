from celery import shared_task

from orbit.singleflight import SingleFlightTask

from . import services


@shared_task(name="creators.tasks.refresh_creator_titles", base=SingleFlightTask)
def refresh_creator_titles() -> int:
    # Idempotent: recomputes every title from the follow graph.
    return services.refresh_creator_titles()


@shared_task(name="creators.tasks.refresh_trading_profiles", base=SingleFlightTask)
def refresh_trading_profiles() -> int:
    # Idempotent: every linked profile is rebuilt from its fills of the last 30 days.
    from . import exchange

    return exchange.refresh_trading_profiles()
