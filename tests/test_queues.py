"""Queues by workload, single-flight periodic jobs and coalesced feed builds, on real workers and Redis."""

import base64
import importlib.util
import json
import shlex
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from celery.beat import ScheduleEntry, Scheduler
from celery.contrib.testing.worker import TestWorkController, start_worker
from celery.worker import state as worker_state
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from incentives import tasks as incentive_tasks
from orbit import health, queues, singleflight
from orbit.celery import app as celery_app
from orbit.singleflight import SingleFlightTask, in_flight
from orbit.tasks import record_worker_heartbeat
from ranking import feeds, for_you
from ranking import tasks as ranking_tasks
from ranking.models import UserInterest
from tests.factories import UserFactory
from tests.waiting import wait_for
from tools import launch

ROOT = Path(__file__).resolve().parent.parent
OUR_APPS = {"orbit", "creators", "markets", "feed", "ranking", "incentives"}


def import_every_task_module() -> None:
    """Imported by name rather than through Celery's autodiscovery, which depends on what this process
    ran before (a pytest-xdist worker may not have run it yet) and does nothing, silently, while a
    test worker's thread is running it."""
    for app in OUR_APPS:
        if importlib.util.find_spec(f"{app}.tasks"):
            importlib.import_module(f"{app}.tasks")


def run_queue(queue: str) -> str:
    return queues.queue_name(queue, prefix=settings.CELERY_QUEUE_PREFIX)


def queued_messages(queue: str) -> int:
    # Kombu's Redis transport keeps a queue's messages in a list named after the queue.
    return feeds.redis_client().llen(run_queue(queue))


def queued_arguments(queue: str) -> list[list]:
    """The positional arguments of each task waiting in `queue`, oldest first."""
    messages = feeds.redis_client().lrange(run_queue(queue), 0, -1)
    # Kombu pushes on the left and pops on the right; the body is base64 of [args, kwargs, embed].
    return [json.loads(base64.b64decode(json.loads(raw)["body"]))[0] for raw in reversed(messages)]


@pytest.fixture
def purged_queues():
    """Each test starts with empty queues (another test may have queued without this fixture), and
    messages it leaves queued must not reach the next test's workers."""
    names = [run_queue(queue) for queue in queues.QUEUES]
    feeds.redis_client().delete(*names)
    yield
    feeds.redis_client().delete(*names)


class ThreadedWorker(TestWorkController):
    """Kombu's event loop is one per process: workers in threads of one process, each driving it,
    corrupt each other's sockets. Without it each worker polls its own connection."""

    def should_use_eventloop(self):
        return False


@contextmanager
def group_workers():
    """A real worker per group of orbit.queues.WORKER_GROUPS, in threads, as the Procfile runs them."""
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                start_worker(
                    celery_app,
                    pool="solo",
                    perform_ping_check=False,
                    shutdown_timeout=30,
                    hostname=f"{group}@test",
                    WorkController=ThreadedWorker,
                    queues=[run_queue(queue) for queue in group_queues],
                )
            )
            for group, group_queues in queues.WORKER_GROUPS.items()
        ]
        try:
            yield workers
        finally:
            # start_worker stops its worker with a process-wide flag and clears it afterwards: raise
            # it for every worker at once and wait for all, or one still running when another
            # clears the flag would run on.
            worker_state.should_terminate = 0
            for worker in workers:
                worker.blueprint.shutdown_complete.wait(30)


# --- Queues by workload ----------------------------------------------------------------------


def test_every_task_of_orbit_is_routed_to_a_named_queue():
    import_every_task_module()
    ours = {name for name in celery_app.tasks if name.split(".")[0] in OUR_APPS}
    assert ours - set(queues.TASK_QUEUES) == set(), "name the new task's queue in orbit.queues.TASK_QUEUES"
    for name in ours:
        route = celery_app.amqp.router.route({}, name, args=(), kwargs={})
        assert route["queue"].name == run_queue(queues.TASK_QUEUES[name]), name


def test_worker_groups_consume_every_queue_once():
    grouped = [queue for group_queues in queues.WORKER_GROUPS.values() for queue in group_queues]
    assert sorted(grouped) == sorted(queues.QUEUES)
    assert queues.WORKER_GROUPS["health"] == (queues.HEALTH,)
    assert queues.WORKER_GROUPS["settlement"] == (queues.SETTLEMENT,)


def test_the_procfile_make_run_and_docker_compose_start_one_worker_per_group():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(launch.WORKERS) == {name for name in procfile if name.startswith("worker")}
    for group, group_queues in queues.WORKER_GROUPS.items():
        line = shlex.split(procfile[f"worker_{group}"])
        assert line[line.index("-n") + 1] == f"{group}@%h"
        assert line[line.index("-Q") + 1] == ",".join(f"${{CELERY_QUEUE_PREFIX}}{queue}" for queue in group_queues)
        service = compose[f"worker-{group}"]
        command = service["command"]
        assert command[command.index("-n") + 1] == f"{group}@%h"
        assert command[command.index("-Q") + 1] == ",".join(group_queues)
        assert service["environment"]["WORKER_NODE"] == group
        assert "inspect ping -d $$WORKER_NODE@$$HOSTNAME" in service["healthcheck"]["test"][1]
    assert "worker" not in procfile and "worker" not in compose


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_flood_of_feed_builds_delays_neither_a_settlement_draft_nor_the_heartbeat(purged_queues):
    stuck = UserFactory(last_login=timezone.now())
    UserInterest.objects.create(user=stuck)
    others = [UserFactory(last_login=timezone.now()) for _ in range(5)]
    with group_workers(), transaction.atomic():
        # The feeds worker is kept busy the way a long batch keeps it: its build waits on this row lock.
        UserInterest.objects.select_for_update().get(pk=stuck.pk)
        ranking_tasks.build_for_you_batch.delay([stuck.pk])
        assert wait_for(_a_query_waits_on_a_lock, seconds=10), "the feeds worker never started the batch"
        for index in range(500):
            ranking_tasks.build_for_you_batch.delay([others[index % len(others)].pk])
        assert queued_messages(queues.FEEDS) == 500

        cache.delete(health.HEARTBEAT_KEY)
        sent_at = time.monotonic()
        record_worker_heartbeat.delay()
        assert wait_for(lambda: cache.get(health.HEARTBEAT_KEY) is not None, seconds=5)
        heartbeat_seconds = time.monotonic() - sent_at

        sent_at = time.monotonic()
        draft = incentive_tasks.draft_finished_week.delay()
        assert isinstance(draft.get(timeout=5), str)
        draft_seconds = time.monotonic() - sent_at

        assert queued_messages(queues.FEEDS) >= 499, "the flood was still waiting behind the busy feeds worker"
        feeds.redis_client().delete(run_queue(queues.FEEDS))
    assert heartbeat_seconds < 5 and draft_seconds < 5


def _a_query_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction pg_stat_activity is a snapshot taken at its first read: take a new one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


# --- Single-flight periodic jobs ---------------------------------------------------------------

job_may_finish = threading.Event()
job_runs = []


@celery_app.task(name="tests.test_queues.slow_periodic_job", base=SingleFlightTask)
def slow_periodic_job() -> int:
    job_runs.append(time.monotonic())
    job_may_finish.wait(20)
    return len(job_runs)


def _beat_sends(task_name: str):
    """Sends `task_name` the way celery beat does when its entry is due."""
    scheduler = Scheduler(app=celery_app, lazy=True)
    entry = ScheduleEntry(
        name=task_name, task=task_name, schedule=timedelta(seconds=60), options={"expires": 60}, app=celery_app
    )
    return scheduler.apply_async(entry, advance=False)


def test_a_periodic_job_sent_again_while_it_runs_runs_once(celery_worker, purged_queues):
    job_runs.clear()
    job_may_finish.clear()
    first = _beat_sends(slow_periodic_job.name)
    assert wait_for(lambda: len(job_runs) == 1, seconds=10)

    again = _beat_sends(slow_periodic_job.name)

    assert again.id == first.id  # the run in flight, not a new one
    assert queued_messages(queues.DEFAULT) == 0
    job_may_finish.set()
    assert first.get(timeout=10) == 1
    assert not wait_for(lambda: len(job_runs) > 1, seconds=2)
    # Once the run is over the next tick queues the job again.
    assert wait_for(lambda: in_flight(slow_periodic_job.name) is None, seconds=5)
    assert _beat_sends(slow_periodic_job.name).get(timeout=10) == 2


def test_a_periodic_job_sent_twice_while_queued_is_queued_once(purged_queues):
    first = _beat_sends(slow_periodic_job.name)
    again = _beat_sends(slow_periodic_job.name)

    assert again.id == first.id
    assert queued_messages(queues.DEFAULT) == 1
    feeds.redis_client().delete(run_queue(queues.DEFAULT))
    singleflight.release(slow_periodic_job.name, first.id)


def test_a_periodic_job_whose_message_expired_unrun_can_be_queued_again(purged_queues):
    job_runs.clear()
    slow_periodic_job.apply_async(expires=1)
    time.sleep(1.5)
    # A worker drops the expired message without running it, and lets go of the claim.
    with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[run_queue(queues.DEFAULT)]):
        assert wait_for(lambda: in_flight(slow_periodic_job.name) is None, seconds=10)
    assert job_runs == []


def test_every_periodic_job_is_single_flight_and_the_heartbeat_expires():
    import_every_task_module()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = celery_app.tasks[entry["task"]]
        if entry["task"] == "orbit.tasks.record_worker_heartbeat":
            # Tiny and idempotent, exempt; a heartbeat older than its period proves nothing anyway.
            assert entry["options"]["expires"] <= entry["schedule"]
        else:
            assert isinstance(task, SingleFlightTask), f"{name}: give {entry['task']} base=SingleFlightTask"


# --- Coalesced feed builds -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_user_already_queued_for_a_feed_build_is_not_queued_again(purged_queues):
    readers = [UserFactory(last_login=timezone.now()) for _ in range(3)]

    assert ranking_tasks.refresh_active_feeds() == 3
    assert ranking_tasks.refresh_active_feeds() == 0  # still queued: nothing more is sent
    for_you._queue_build(readers[0].pk)  # a page asks for the same user's list
    assert queued_arguments(queues.FEEDS) == [[[reader.pk for reader in readers]]]

    # Once a user's build has started, their next change queues them again.
    feeds.build_for_you(user_id=readers[0].pk)
    for_you._queue_build(readers[0].pk)
    assert queued_messages(queues.FEEDS) == 2


@pytest.mark.django_db
def test_a_feed_batch_stops_at_its_time_box_and_queues_the_rest(monkeypatch, purged_queues):
    readers = [UserFactory().pk for _ in range(4)]
    monkeypatch.setattr(ranking_tasks, "BATCH_SECONDS", 0)

    assert ranking_tasks.build_for_you_batch(readers) == 1
    assert queued_messages(queues.FEEDS) == 1
    assert queued_arguments(queues.FEEDS) == [[readers[1:]]]
