import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db.backends.postgresql.operations import DatabaseOperations
from django.utils import translation

from orbit import queues, resilience
from orbit.celery import app as celery_app

# Transactional tests end with a flush of every table, which would also wipe the
# rows that migrations insert (the content types); serialized rollback puts them back.
# Use `@pytest.mark.django_db(transaction=True, serialized_rollback=True)`.


@pytest.fixture
def celery_worker(transactional_db, django_db_serialized_rollback):
    """A real Celery worker, in a thread, consuming this test run's own queues on the real Redis.

    Transactional: the worker runs on its own database connection and must see committed rows.
    """
    run_queues = [queues.queue_name(queue, prefix=settings.CELERY_QUEUE_PREFIX) for queue in queues.QUEUES]
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=run_queues
    ) as worker:
        yield worker


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """The locale middleware leaves the last request's language active in the thread."""
    yield
    translation.deactivate()


@pytest.fixture(scope="session", autouse=True)
def _flush_past_truncate_triggers():
    """The engagement log and the ledger refuse TRUNCATE (append-only triggers), and a transactional
    test ends with a TRUNCATE of every table. The test database's superuser passes by turning
    triggers off for that one transaction, the way only a superuser can (docs/incentives.md)."""
    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        original(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


@pytest.fixture(autouse=True)
def _no_redis_outage_from_other_tests():
    """A test that stops a Redis makes this process skip Redis for a few seconds (orbit.resilience);
    the next test starts with Redis trusted again."""
    yield
    for outage in (resilience.cache_outage, resilience.broker_outage):
        outage.down, outage.retry_at = False, 0.0
