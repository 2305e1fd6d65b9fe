import fcntl
import os
import shutil
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.db.backends.postgresql.operations import DatabaseOperations
from django.utils import timezone, translation

from orbit import queues, redis_clients, resilience
from orbit.celery import app as celery_app
from tools import fake_exchange

KEPT_DATABASE_LOCKS = Path(settings.BASE_DIR) / "var" / "test-databases"
_KEPT_DATABASE = pytest.StashKey[tuple]()  # (its lock file, the name orbit/settings_test.py gave it)
_FLUSHED = threading.Event()  # a transactional test emptied the tables (_flush_past_truncate_triggers)


def pytest_configure(config):
    """Which test database this process uses.

    Locally the test database is kept between runs (pytest-django's --reuse-db), so that migrations run
    once rather than on every run; orbit/settings_test.py names it after them. One run at a time uses
    it, holding a lock file in var/test-databases/. A run started meanwhile, and every CI run (CI=true),
    gets a fresh database of its own, dropped at the end. Under pytest-xdist each worker decides for its
    own database (pytest-django names them ..._gw0, ..._gw1).
    """
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no test
    test_database = settings.DATABASES["default"]["TEST"]
    worker = config.workerinput["workerid"] if hasattr(config, "workerinput") else None
    in_ci = os.environ.get("CI", "").lower() in {"1", "true"}
    name = f"{test_database['NAME']}_{worker}" if worker else test_database["NAME"]
    lock = None if in_ci else _lock(KEPT_DATABASE_LOCKS / f"{name}.lock")
    if lock is None:
        test_database["NAME"] = f"test_orbit_{uuid.uuid4().hex[:8]}"
        config.option.reuse_db = False
        return
    config.stash[_KEPT_DATABASE] = (lock, test_database["NAME"])
    config.option.reuse_db = True
    # A run that stopped halfway (killed, or its teardown failed) may have left committed rows behind.
    lock.seek(0)
    if lock.read() != "clean":
        config.option.create_db = True


def _lock(path: Path):
    """`path` opened and locked until this process ends or closes it; None while another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(path, "a+")  # noqa: SIM115 (held open for the whole run)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_blocker, django_db_modify_db_settings_parallel_suffix):
    """Marks the kept database in use while tests run on it, and clean once they have all torn down."""
    lock, name = request.config.stash.get(_KEPT_DATABASE, (None, None))
    if lock is None:
        yield
        return
    with django_db_blocker.unblock():
        _drop_outdated_kept_databases(keep=name)
    _write_state(lock, "in use")
    yield
    if not _FLUSHED.is_set():
        _write_state(lock, "clean")
    elif hasattr(connection, "_test_serialized_contents"):
        # A transactional test ends by emptying every table, the rows migrations inserted too (serialized
        # rollback brings them back for the next such test only): the next run gets them back now.
        with django_db_blocker.unblock():
            call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)
            connection.creation.deserialize_db_from_string(connection._test_serialized_contents)
        _write_state(lock, "clean")
    # else no copy to restore from: left "in use", so the next run makes the database again


def _drop_outdated_kept_databases(*, keep: str) -> None:
    """Drops the databases kept for this checkout's earlier migrations (or requirements) that no run holds."""
    for path in KEPT_DATABASE_LOCKS.glob("*.lock"):
        if path.stem.startswith(keep) or (lock := _lock(path)) is None:
            continue
        with lock, connection._nodb_cursor() as cursor:
            try:
                cursor.execute(f'DROP DATABASE IF EXISTS "{path.stem}"')
            except DatabaseError:
                continue  # someone is connected to it (psql, say): next time
        path.unlink()


def _write_state(lock, state: str) -> None:
    lock.seek(0)
    lock.truncate()
    lock.write(state)
    lock.flush()


@pytest.fixture(scope="session", autouse=True)
def _remove_this_runs_media():
    """Each test process stores uploads in a folder of its own (orbit/settings_test.py)."""
    yield
    shutil.rmtree(Path(settings.MEDIA_ROOT).parent, ignore_errors=True)


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


# Services take `now=`; pages and thin tasks read the clock themselves. A test of those that starts
# just before midnight (in UTC or in ORBIT_SETTLEMENT_TZ: a week ends at one) would build "today" or
# "this week" on one side of it and have the page read them on the other.
MIDNIGHT_MARGIN = timedelta(minutes=2)


@pytest.fixture
def now(settings):
    """The real clock's now, at least MIDNIGHT_MARGIN away from midnight in UTC and in the settlement
    time zone (waiting for it when needed), so that a test shorter than that, and whatever it backdates
    by less, agrees with the pages it reads on the day and the week."""
    while True:
        moment = timezone.now()
        wait = max(_seconds_too_near_midnight(moment, zone) for zone in (UTC, ZoneInfo(settings.ORBIT_SETTLEMENT_TZ)))
        if not wait:
            return moment
        time.sleep(wait)


def _seconds_too_near_midnight(moment: datetime, zone) -> float:
    local = moment.astimezone(zone)
    since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    until_midnight = timedelta(days=1) - since_midnight
    if since_midnight < MIDNIGHT_MARGIN:
        return (MIDNIGHT_MARGIN - since_midnight).total_seconds()
    if until_midnight < MIDNIGHT_MARGIN:
        return (until_midnight + MIDNIGHT_MARGIN).total_seconds()
    return 0.0


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
        _FLUSHED.set()
        original(self, ["SET LOCAL session_replication_role = replica", *sql_list])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original


@pytest.fixture(autouse=True)
def _no_cache_keys_from_other_tests():
    """This process's cache keys go after each test (its own prefix only: other runs and workers
    share the Redis server, so no FLUSHDB). They outlive the test's database rollback, and the ids
    they are keyed by can come back: seeding with COPY sets sequences to the seeded rows' maximum,
    and the next test's user may get an id whose rate-limit counts are still there."""
    yield
    client = redis_clients.client(settings.REDIS_URL, connect_timeout=2, timeout=2)
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _no_redis_outage_from_other_tests():
    """A test that stops a Redis makes this process skip Redis for a few seconds (orbit.resilience);
    the next test starts with Redis trusted again."""
    yield
    for outage in (resilience.cache_outage, resilience.broker_outage):
        outage.down, outage.retry_at = False, 0.0


@pytest.fixture
def exchange_server(settings, tmp_path):
    """The fake exchange (tools/fake_exchange.py) serving real HTTP in this process, confirming at
    once, with Orbit's settings pointing at it and a one-second timeout."""
    server = fake_exchange.FakeExchange(db_path=tmp_path / "exchange.sqlite3", quiet=True).start()
    server.control(confirm_delay_ms=0)
    settings.EXCHANGE_API_URL = server.url
    settings.EXCHANGE_API_KEY = fake_exchange.DEV_API_KEY
    settings.EXCHANGE_API_SECRET = fake_exchange.DEV_API_SECRET
    settings.EXCHANGE_WEBHOOK_SECRET = fake_exchange.DEV_WEBHOOK_SECRET
    settings.EXCHANGE_API_TIMEOUT = 1.0
    yield server
    server.stop()
