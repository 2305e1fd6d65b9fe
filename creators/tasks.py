from celery import shared_task

from orbit.singleflight import SingleFlightTask

from . import services


@shared_task(name="creators.tasks.refresh_creator_titles", base=SingleFlightTask)
def refresh_creator_titles() -> int:
    # Idempotent: recomputes every title from the follow graph.
    return services.refresh_creator_titles()
