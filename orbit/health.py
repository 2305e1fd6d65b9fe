"""Liveness of the three things Orbit needs: Postgres, Redis and a Celery worker.

The worker proves itself through a heartbeat that beat schedules every 30 s and a
worker writes to Redis; a stale or missing heartbeat means no worker consumes.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from redis import RedisError

HEARTBEAT_KEY = "worker:heartbeat"


def record_worker_heartbeat() -> float:
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=settings.ORBIT_WORKER_HEARTBEAT_MAX_AGE * 10)
    return now


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # whatever the failure, the answer is "down" and why
        return f"down: {type(exc).__name__}"
    return "ok"


def check_redis_and_worker() -> tuple[str, str]:
    try:
        # The cache answers "nothing stored" while Redis is down (orbit.resilience): ask Redis itself.
        ping = getattr(cache, "ping", None)
        if ping is not None:
            ping()
        last_heartbeat = cache.get(HEARTBEAT_KEY)
    except RedisError as exc:
        return f"down: {type(exc).__name__}", "unknown: redis is down"
    if last_heartbeat is None:
        return "ok", "down: no heartbeat yet"
    age = time.time() - last_heartbeat
    if age > settings.ORBIT_WORKER_HEARTBEAT_MAX_AGE:
        return "ok", f"down: last heartbeat {int(age)}s ago"
    return "ok", "ok"


def system_health() -> dict[str, str]:
    redis_status, worker_status = check_redis_and_worker()
    return {"database": check_database(), "redis": redis_status, "worker": worker_status}
