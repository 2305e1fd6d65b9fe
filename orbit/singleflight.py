"""Single-flight periodic jobs: no second copy is queued while one is queued or running.

A periodic job that takes longer than its period (behind a backlog, or on a large week) would
otherwise be queued again at every tick, and the copies would pile up in its queue. Sending claims
the job in Redis (`SET NX EX`, the value being the run's task id); the run releases the claim when
it returns or fails, and a worker that drops it unrun (its `expires` passed) releases it too. The
claim expires by itself after the longest a run can live (the message's expiry, or the time limit
when it has none, plus the time limit), so a worker lost mid-run cannot stop the job for good.

Use it as the base of the task: `@shared_task(name=..., base=SingleFlightTask)`. A refused send
returns the AsyncResult of the run already in flight. Calling the task directly (tests, commands)
takes no claim.

See docs/operations.md#periodic-jobs-are-single-flight.
"""

from __future__ import annotations

import logging
from datetime import datetime

import redis
from celery import Task
from celery.signals import task_revoked
from celery.utils import uuid
from django.conf import settings
from django.utils import timezone

from . import redis_clients

logger = logging.getLogger(__name__)

# Deletes the claim only if it is still this run's (an expired claim may have passed to a later run).
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def redis_client() -> redis.Redis:
    return redis_clients.client(settings.REDIS_URL, connect_timeout=2, timeout=2)


def claim_key(task_name: str) -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:singleflight:{task_name}"


def in_flight(task_name: str) -> str | None:
    """The task id of the run of `task_name` that is queued or running, if any."""
    holder = redis_client().get(claim_key(task_name))
    return holder.decode() if holder else None


def release(task_name: str, task_id: str) -> None:
    redis_client().eval(_RELEASE, 1, claim_key(task_name), task_id)


class SingleFlightTask(Task):
    """A periodic job's task: sending it again while a run is queued or running sends nothing."""

    def apply_async(self, args=None, kwargs=None, task_id=None, **options):
        task_id = task_id or uuid()
        key = claim_key(self.name)
        if not redis_client().set(key, task_id, nx=True, ex=self._claim_seconds(options)):
            holder = in_flight(self.name)
            if holder is None:  # the run ended between our SET and GET: try once more
                return self.apply_async(args, kwargs, task_id=task_id, **options)
            logger.info("%s not queued: run %s is still queued or running", self.name, holder)
            return self.AsyncResult(holder)
        try:
            return super().apply_async(args, kwargs, task_id=task_id, **options)
        except Exception:
            release(self.name, task_id)  # nothing was queued: the next tick must not be refused
            raise

    def after_return(self, status, retval, task_id, args, kwargs, einfo):
        release(self.name, task_id)

    def _claim_seconds(self, options: dict) -> int:
        time_limit = options.get("time_limit") or self.time_limit or self.app.conf.task_time_limit or 3600
        expires = options.get("expires")
        if isinstance(expires, datetime):
            expires = (expires - timezone.now()).total_seconds()
        return int((expires or time_limit) + time_limit)


@task_revoked.connect
def _release_unrun(sender=None, request=None, **kwargs):
    # An expired or revoked message never reaches after_return.
    if isinstance(sender, SingleFlightTask) and request is not None:
        release(sender.name, request.id)
