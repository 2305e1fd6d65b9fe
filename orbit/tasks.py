from celery import shared_task

from . import health


# Idempotent by nature: it only overwrites a timestamp. A heartbeat that waited
# in the queue longer than its own period proves nothing, hence `expires` in the
# beat entry.
@shared_task(name="orbit.tasks.record_worker_heartbeat", ignore_result=True)
def record_worker_heartbeat() -> float:
    return health.record_worker_heartbeat()
