"""The test overlay: same stores as the run (real Postgres and Redis), isolated keys and queue."""

import os
import uuid

os.environ.setdefault("DEBUG", "1")

from . import queues
from .settings import *  # noqa: F403
from .settings import CACHES, DATABASES

# One run's keys and tasks never mix with a developer's running Orbit or another run on the same Redis.
_RUN = uuid.uuid4().hex[:8]
CACHES["default"]["KEY_PREFIX"] = f"orbit-test-{_RUN}"
CELERY_QUEUE_PREFIX = f"orbit-test-{_RUN}-"
CELERY_TASK_DEFAULT_QUEUE = queues.queue_name(queues.DEFAULT, prefix=CELERY_QUEUE_PREFIX)
CELERY_TASK_ROUTES = queues.task_routes(prefix=CELERY_QUEUE_PREFIX)
# Runs on one server at once (a developer's and CI's) each get their own test database.
DATABASES["default"]["TEST"] = {"NAME": f"test_orbit_{_RUN}"}

# Hashing is deliberately slow in production; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
# Tests never reach the internet: market-data tests point this at a local fake OKX server.
ORBIT_MARKET_DATA_URL = ""
