import time

import pytest
from django.core.cache import cache
from django.db import transaction

from orbit import health
from orbit.celery import app as celery_app
from orbit.tasks import record_worker_heartbeat


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
