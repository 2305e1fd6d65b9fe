"""The test overlay: same stores as the run (real Postgres and Redis), isolated keys and queue."""

import hashlib
import os
import socket
import uuid

os.environ.setdefault("DEBUG", "1")

from . import queues
from .settings import *  # noqa: F403
from .settings import BASE_DIR, CACHES, DATABASES

# One process's keys, tasks and uploads never mix with a developer's running Orbit, another run or
# another worker of the same run (pytest-xdist) on the same Redis and disk.
_RUN = uuid.uuid4().hex[:8]
CACHES["default"]["KEY_PREFIX"] = f"orbit-test-{_RUN}"
CELERY_QUEUE_PREFIX = f"orbit-test-{_RUN}-"
CELERY_TASK_DEFAULT_QUEUE = queues.queue_name(queues.DEFAULT, prefix=CELERY_QUEUE_PREFIX)
CELERY_TASK_ROUTES = queues.task_routes(prefix=CELERY_QUEUE_PREFIX)
MEDIA_ROOT = BASE_DIR / "var" / "test-runs" / _RUN / "media"  # removed at the end (tests/conftest.py)


def _kept_database_name() -> str:
    """The test database kept between local runs (tests/conftest.py says who may use it), named after
    this machine and checkout, so that another checkout on the same server never touches it, and after
    the migrations and pinned requirements (third-party migrations), so that a changed migration gets a
    database of its own instead of a schema that no longer matches."""
    digest = hashlib.sha256(f"{socket.gethostname()}:{BASE_DIR}".encode())
    for path in [*sorted(BASE_DIR.glob("*/migrations/*.py")), BASE_DIR / "requirements" / "base.txt"]:
        digest.update(path.relative_to(BASE_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return f"test_orbit_kept_{digest.hexdigest()[:12]}"


DATABASES["default"]["TEST"] = {"NAME": _kept_database_name()}

# Hashing is deliberately slow in production; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests never reach the internet: market-data tests point this at a local fake OKX server.
ORBIT_MARKET_DATA_URL = ""
# Orderings in tests are exact; the exploration tests set their own share.
ORBIT_FOR_YOU_EXPLORE_SHARE = 0.0
