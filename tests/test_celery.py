import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest
import redis
from django.core.cache import cache
from django.db import transaction

from orbit import health
from orbit.celery import app as celery_app
from orbit.tasks import record_worker_heartbeat
from tests import procfile
from tests.waiting import wait_for


def _wait_for_heartbeat(timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cache.get(health.HEARTBEAT_KEY) is not None:
            return True
        time.sleep(0.05)
    return False


def test_a_real_worker_runs_the_heartbeat_task_through_redis(celery_worker):
    cache.delete(health.HEARTBEAT_KEY)

    sent_at = time.time()
    record_worker_heartbeat.delay()

    assert _wait_for_heartbeat()
    assert cache.get(health.HEARTBEAT_KEY) >= sent_at


def test_a_task_queued_in_a_transaction_waits_for_the_commit(celery_worker):
    cache.delete(health.HEARTBEAT_KEY)
    with transaction.atomic():
        record_worker_heartbeat.delay_on_commit()
        # Nothing is sent while the transaction is open: the worker stays idle.
        assert not _wait_for_heartbeat(timeout=1.0)
    assert _wait_for_heartbeat()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_queued_in_a_rolled_back_transaction_is_never_sent(celery_worker):
    cache.delete(health.HEARTBEAT_KEY)
    with pytest.raises(RuntimeError), transaction.atomic():
        record_worker_heartbeat.delay_on_commit()
        raise RuntimeError("the request failed")
    assert not _wait_for_heartbeat(timeout=2.0)


def test_celery_is_configured_for_safe_at_least_once_delivery():
    conf = celery_app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    # A running task must finish before Redis would hand it to a second worker.
    assert conf.task_time_limit < conf.broker_transport_options["visibility_timeout"]
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.mark.parametrize(
    ("worker", "queue", "pool"), [("worker_feeds", "feeds", None), ("worker_folding", "folding", "solo")]
)
def test_a_worker_stopped_the_way_make_run_stops_it_finishes_the_task_it_is_running(worker, queue, pool):
    """honcho (`make run`) stops a program with SIGTERM to its whole process group. The worker's warm
    shutdown lets the running task finish; a prefork pool process that took the signal itself would
    die in the middle of the task instead (WorkerLostError), and a solo worker must still get it."""
    run = uuid.uuid4().hex[:8]
    prefix = f"orbit-stop-{run}-"
    # The worker's own Procfile line, with the sleeping task added to the app.
    line = procfile.command(worker).replace("-A orbit ", "-A tests.celery_sleeper ")
    assert "tests.celery_sleeper" in line and (f"--pool={pool}" in line if pool else "--pool" not in line)
    process = subprocess.Popen(
        ["sh", "-c", f"exec {line}"],
        cwd=procfile.ROOT,
        env=procfile.environment(worker, {"CELERY_QUEUE_PREFIX": prefix}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    marks = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        wait_for(lambda: any(" ready." in line for line in lines) or process.poll() is not None, seconds=60)
        assert process.poll() is None, "".join(lines)
        celery_app.send_task("tests.sleep_and_mark", args=[run, 3], queue=f"{prefix}{queue}")
        assert wait_for(lambda: marks.get(f"{run}:started"), seconds=30), "".join(lines)

        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=10)
        finished = marks.get(f"{run}:finished")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for key in [*marks.scan_iter(f"*{prefix}*"), *marks.scan_iter(f"{run}:*")]:
            marks.delete(key)
    output = "".join(lines)
    assert finished, output
    assert re.search(r"Task tests.sleep_and_mark\[\S+\] succeeded", output), output
    assert "WorkerLostError" not in output and "Traceback" not in output, output
    assert process.returncode == 0, output
