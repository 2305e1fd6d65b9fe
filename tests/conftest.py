import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import translation

from orbit.celery import app as celery_app

# Transactional tests end with a flush of every table, which would also wipe the
# rows that migrations insert (the content types); serialized rollback puts them back.
# Use `@pytest.mark.django_db(transaction=True, serialized_rollback=True)`.


@pytest.fixture
def celery_worker(transactional_db, django_db_serialized_rollback):
    """A real Celery worker, in a thread, consuming this test run's own queue on the real Redis.

    Transactional: the worker runs on its own database connection and must see committed rows.
    """
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """The locale middleware leaves the last request's language active in the thread."""
    yield
    translation.deactivate()
