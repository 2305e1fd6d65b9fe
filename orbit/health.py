"""Liveness of what Orbit needs: Postgres, Redis, and a consumer for every Celery queue.

A queue is healthy when some worker consumes it and its oldest waiting message is younger than the
queue's limit (ORBIT_QUEUE_MAX_WAIT). Each worker proves it consumes by writing, from a thread of its
own (orbit.celery.QueueLiveness), its name into one sorted set per queue with an expiry time: so
liveness does not wait behind a long task the way a heartbeat task queued behind it would. A worker
that is alive but no longer takes messages shows as an old backlog instead (beat's heartbeat keeps
a message flowing through the health queue).

Broker facts this relies on (kombu's Redis transport): a queue is a Redis list per priority step,
`queue` then `queue\\x06\\x16<step>`; publishing LPUSHes and consuming BRPOPs, so the oldest message
is the last one; a message taken but not yet acknowledged has left the list. Celery's messages
carry no publish time, so `stamp_sent_at` adds one to every message Orbit publishes.

The health listener (orbit/health_listener.py) answers /healthz on a port of its own, so that a load
balancer's probe never waits behind the page requests of a busy web server; there /healthz also
checks that the web server accepts connections (`check_web`), which on the web port goes without
saying.

A pipeline that must keep up with what users write (the engagement fold) says after each run up to
when it has caught up (`record_caught_up`); /healthz calls it down once that is older than its limit
(ORBIT_PIPELINE_MAX_LAG). No record yet (a fresh start, a flushed Redis) is not an outage: the
queue's own check already tells whether anything consumes it.

The periodic jobs' last runs (start, duration, outcome) are kept in Redis too, for the operations
page: rebuildable state, gone with Redis and written again at the next run.

See docs/operations.md#health-and-the-operations-page.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from kombu.transport.redis import PRIORITY_STEPS, Channel
from redis import RedisError

from . import queues, redis_clients

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "worker:heartbeat"
# Set in the WSGI environ of requests that came through the health listener (orbit/health_listener.py).
LISTENER_ENVIRON_KEY = "orbit.health_listener"
SENT_AT_HEADER = "orbit_sent_at"
# A consumer is gone once it missed this many of its liveness reports.
MISSED_REPORTS = 3
_RUN_FIELDS = ("started_at", "finished_at", "duration", "outcome", "error")


def record_worker_heartbeat() -> float:
    """Beat's probe through the health queue: while it flows, a health consumer that stopped taking
    messages shows as an old backlog there. The time it writes is for people and tests to read."""
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=3600)
    return now


def broker() -> redis.Redis:
    """The broker's Redis, where the queues live. Short timeouts: /healthz must answer "down"
    quickly rather than hang on a dead Redis."""
    return redis_clients.client(settings.CELERY_BROKER_URL, connect_timeout=2, timeout=2)


def _consumers_key(queue_name: str) -> str:
    return f"orbit:consumers:{queue_name}"


def _caught_up_key(pipeline: str) -> str:
    return f"orbit:caught-up:{settings.CELERY_QUEUE_PREFIX}{pipeline}"


def _runs_key(task_name: str) -> str:
    return f"orbit:task-runs:{settings.CELERY_QUEUE_PREFIX}{task_name}"


# --- Worker side -------------------------------------------------------------------------


def record_consumers(*, queue_names: Iterable[str], hostname: str, now: float | None = None) -> None:
    """Say that worker `hostname` consumes `queue_names`, until it misses MISSED_REPORTS reports."""
    now = time.time() if now is None else now
    lifetime = settings.ORBIT_QUEUE_LIVENESS_INTERVAL * MISSED_REPORTS
    pipe = broker().pipeline(transaction=False)
    for name in queue_names:
        key = _consumers_key(name)
        pipe.zadd(key, {hostname: now + lifetime})
        pipe.zremrangebyscore(key, "-inf", now)  # workers that died without saying goodbye
        pipe.expire(key, int(lifetime) + 1)
    pipe.execute()


def forget_consumers(*, queue_names: Iterable[str], hostname: str) -> None:
    """A worker that stops consuming says so at once, rather than after its reports expire."""
    pipe = broker().pipeline(transaction=False)
    for name in queue_names:
        pipe.zrem(_consumers_key(name), hostname)
    pipe.execute()


def report_consumers_until(stopped: threading.Event, *, consumer) -> None:
    """The liveness loop of one worker's consumer (a thread of QueueLiveness); never raises."""
    # Unique per consumer: workers started without -n share a hostname, and one's goodbye must
    # not remove another's report.
    member = f"{consumer.hostname}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
    reported: set[str] = set()
    while True:
        try:
            task_consumer = consumer.task_consumer
            names = {queue.name for queue in task_consumer.queues} if task_consumer else set()
            record_consumers(queue_names=names, hostname=member)
            if reported - names:  # a queue dropped by `celery control cancel_consumer`
                forget_consumers(queue_names=reported - names, hostname=member)
            reported = names
        except Exception:  # the broker is down, or the consumer restarts: try again next time
            logger.warning("Could not report queue liveness", exc_info=True)
        if stopped.wait(settings.ORBIT_QUEUE_LIVENESS_INTERVAL):
            break
    with contextlib.suppress(RedisError):  # else the reports expire on their own
        forget_consumers(queue_names=reported, hostname=member)


def stamp_sent_at(headers: dict, *, now: float | None = None) -> None:
    """Give a message its publish time, from which /healthz reads how long the oldest one waited."""
    headers.setdefault(SENT_AT_HEADER, time.time() if now is None else now)


@functools.cache
def periodic_task_names() -> frozenset[str]:
    return frozenset(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values())


_started: dict[str, tuple[float, float]] = {}  # task id -> (wall clock, monotonic) at start, per process


def record_task_started(*, task_name: str, task_id: str) -> None:
    """The start of a periodic job's run (the operations page); other tasks are not recorded."""
    if task_name not in periodic_task_names():
        return
    _started[task_id] = (time.time(), time.monotonic())
    with contextlib.suppress(RedisError):  # a lost record never fails a job
        broker().hset(_runs_key(task_name), "started_at", _started[task_id][0])


def record_task_finished(*, task_name: str, task_id: str, outcome: str, error: BaseException | None) -> None:
    started = _started.pop(task_id, None)
    if started is None:
        return
    summary = f"{type(error).__name__}: {error}"[:300] if error is not None else ""
    run = {
        "started_at": started[0],
        "finished_at": time.time(),
        "duration": round(time.monotonic() - started[1], 3),
        "outcome": outcome,
        "error": summary,
    }
    with contextlib.suppress(RedisError):
        broker().hset(_runs_key(task_name), mapping=run)


# --- Reading -----------------------------------------------------------------------------


def _sent_at(raw: bytes | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(json.loads(raw)["headers"][SENT_AT_HEADER])
    except (ValueError, KeyError, TypeError):
        return None  # a message published without our stamp: its age is unknown


def queue_states(*, now: float | None = None) -> dict[str, dict]:
    """Per queue: live consumers, waiting messages, the oldest one's wait and a status. One round trip."""
    now = time.time() if now is None else now
    pipe = broker().pipeline(transaction=False)
    for queue in queues.QUEUES:
        name = queues.queue_name(queue, prefix=settings.CELERY_QUEUE_PREFIX)
        pipe.zcount(_consumers_key(name), now, "+inf")
        for step in PRIORITY_STEPS:
            list_name = f"{name}{Channel.sep}{step}" if step else name
            pipe.llen(list_name)
            pipe.lindex(list_name, -1)
    replies = iter(pipe.execute())
    states = {}
    for queue in queues.QUEUES:
        consumers = next(replies)
        backlog, sent_times = 0, []
        for _step in PRIORITY_STEPS:
            backlog += next(replies)
            sent_at = _sent_at(next(replies))
            if sent_at is not None:
                sent_times.append(sent_at)
        oldest = round(max(0.0, now - min(sent_times)), 1) if sent_times else None
        limit = settings.ORBIT_QUEUE_MAX_WAIT[queue]
        if not consumers:
            status = "down: no consumer"
        elif oldest is not None and oldest > limit:
            status = f"down: oldest message waited {int(oldest)}s (limit {int(limit)}s)"
        else:
            status = "ok"
        states[queue] = {
            "consumers": consumers,
            "backlog": backlog,
            "oldest_seconds": oldest,
            "max_wait_seconds": limit,
            "status": status,
        }
    return states


def _moment(timestamp: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(timestamp), tz=UTC) if timestamp else None


def _describe_schedule(schedule) -> str:
    if isinstance(schedule, int | float):
        return f"every {schedule:g} s"
    fields = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    if all(hasattr(schedule, f"_orig_{field}") for field in fields):  # a crontab, as cron writes it
        return " ".join(str(getattr(schedule, f"_orig_{field}")) for field in fields)
    return str(schedule)


def periodic_job_runs() -> list[dict]:
    """Each beat entry with its task's last run, for the operations page."""
    entries = sorted(settings.CELERY_BEAT_SCHEDULE.items())
    try:
        pipe = broker().pipeline(transaction=False)
        for _name, entry in entries:
            pipe.hgetall(_runs_key(entry["task"]))
        runs = pipe.execute()
    except RedisError:
        runs = [{}] * len(entries)
    jobs = []
    for (name, entry), run in zip(entries, runs, strict=True):
        run = {key.decode(): value.decode() for key, value in run.items()}
        jobs.append(
            {
                "name": name,
                "task": entry["task"],
                "queue": queues.TASK_QUEUES.get(entry["task"], queues.DEFAULT),
                "schedule": _describe_schedule(entry["schedule"]),
                "started_at": _moment(run.get("started_at")),
                "finished_at": _moment(run.get("finished_at")),
                "duration": float(run["duration"]) if run.get("duration") else None,
                # Started but not finished: running now, or its worker died mid-run.
                "outcome": run.get("outcome") or ("RUNNING" if run.get("started_at") else ""),
                "error": run.get("error", ""),
            }
        )
    return jobs


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # whatever the failure, the answer is "down" and why
        return f"down: {type(exc).__name__}"
    return "ok"


def check_redis() -> str:
    try:
        # The cache answers "nothing stored" while Redis is down (orbit.resilience): ask Redis itself.
        ping = getattr(cache, "ping", None)
        if ping is not None:
            ping()
        else:
            cache.get(HEARTBEAT_KEY)  # a plain Redis cache raises when Redis is down
    except Exception as exc:  # as check_queues: whatever the failure, the answer is "down" and why
        return f"down: {type(exc).__name__}"
    return "ok"


def check_queues() -> tuple[str, dict[str, dict]]:
    """The worker's verdict ("ok" or "down: " naming each bad queue) and the per-queue detail."""
    try:
        states = queue_states()
    # Not only RedisError: under load redis-py can fail a half-opened connection with a ValueError
    # ("I/O operation on closed file"); whatever the failure, /healthz answers why, never a 500.
    except Exception as exc:
        return f"unknown: broker unreachable ({type(exc).__name__})", {}
    bad = [
        f"{queue} ({state['status'][len('down: ') :]})" for queue, state in states.items() if state["status"] != "ok"
    ]
    return ("down: " + ", ".join(bad) if bad else "ok"), states


def record_caught_up(pipeline: str, *, as_of: float) -> None:
    """Say that `pipeline` has processed everything written before `as_of` (a Unix time)."""
    broker().set(_caught_up_key(pipeline), as_of, ex=7 * 24 * 3600)


def pipeline_states(*, now: float | None = None) -> dict[str, dict]:
    """Per pipeline: seconds behind (None before its first report), its limit, and "ok" or why not."""
    now = time.time() if now is None else now
    limits = settings.ORBIT_PIPELINE_MAX_LAG
    values = broker().mget([_caught_up_key(name) for name in limits])
    states = {}
    for (name, limit), value in zip(limits.items(), values, strict=True):
        lag = None if value is None else max(0.0, round(now - float(value), 1))
        status = "ok" if lag is None or lag <= limit else f"down: {lag:.0f} s behind (limit {limit:.0f} s)"
        states[name] = {"lag_seconds": lag, "max_lag_seconds": limit, "status": status}
    return states


def check_pipelines() -> tuple[str, dict[str, dict]]:
    """The pipelines' verdict ("ok" or "down: " naming each one behind) and the per-pipeline detail."""
    try:
        states = pipeline_states()
    except Exception as exc:  # as check_queues: whatever the failure, the answer is why
        return f"unknown: broker unreachable ({type(exc).__name__})", {}
    bad = [f"{name} ({state['status'][len('down: ') :]})" for name, state in states.items() if state["status"] != "ok"]
    return ("down: " + ", ".join(bad) if bad else "ok"), states


def check_web(address: str, *, timeout: float = 1.0) -> str:
    """Whether something accepts TCP connections at `address` ("ok", or why not; host:port, a
    wildcard host meaning this machine). The kernel accepts for gunicorn however busy its workers
    are: this tells a stopped or crashed web server from a busy one, which is what a load balancer
    must know (pulling a busy node only moves its load onto the others)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    # A server bound to every interface is reached on the loopback.
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - read, not bound
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return "ok"
    except (OSError, ValueError) as exc:
        return f"down: nothing accepts connections at {address} ({exc.__class__.__name__})"


def system_health() -> dict:
    """database, redis, worker and pipelines, each "ok" or why not, and the per-queue and
    per-pipeline detail under "queues" and "pipeline_lag"."""
    worker, states = check_queues()
    pipelines, lags = check_pipelines()
    return {
        "database": check_database(),
        "redis": check_redis(),
        "worker": worker,
        "pipelines": pipelines,
        "queues": states,
        "pipeline_lag": lags,
    }
