"""Bodies too large, too deep or holding numbers no column can: a clear 4xx, never a 500."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from feed.models import Engagement, Post
from markets import exchange
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 20_000
SECRET = "test-webhook-secret"


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    settings.EXCHANGE_WEBHOOK_SECRET = SECRET


@pytest.fixture
def writer():
    return UserFactory()


@pytest.fixture
def client(client, writer):
    client.force_login(writer)
    return client


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# --- Over the upload limit: 413 -------------------------------------------------------------------


@pytest.mark.parametrize("enforce_csrf", [False, True])
def test_an_oversize_browser_form_post_is_a_413_page(writer, enforce_csrf):
    browser = Client(enforce_csrf_checks=enforce_csrf)
    browser.force_login(writer)
    response = browser.post(reverse("feed:compose"), {"body": "x" * (LIMIT + 1), "content_type": "chat"})
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not Post.objects.exists()


def test_an_oversize_api_post_is_a_413_in_json(client, writer):
    body = json.dumps({"body": "x" * (LIMIT + 1)})
    response = client.post("/api/v1/posts/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert "too large" in response.json()["message"]
    assert not Post.objects.exists()


def test_an_oversize_signed_webhook_batch_is_a_413_in_json(client):
    body = json.dumps({"events": [{"id": "e", "padding": "x" * LIMIT}]}).encode()
    timestamp = int(time.time())
    response = client.post(
        "/api/v1/exchange/events/",
        body,
        content_type="application/json",
        headers={
            exchange.TIMESTAMP_HEADER: str(timestamp),
            exchange.SIGNATURE_HEADER: exchange.sign(body, timestamp=timestamp, secret=SECRET),
        },
    )
    assert response.status_code == 413
    assert response.json() == {"message": response.json()["message"], "status": 413}


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(client, writer):
    # A client announcing 1 GB is answered at once, whatever (little) it has sent so far.
    response = client.post(
        "/api/v1/posts/",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(1024**3),
    )
    assert response.status_code == 413
    assert str(LIMIT // 1024) in response.json()["message"]


def test_a_form_with_too_many_fields_is_a_413(writer):
    browser = Client()
    browser.force_login(writer)
    fields = {f"field{n}": "x" for n in range(1_100)}
    response = browser.post(reverse("feed:compose"), {"body": "hello", **fields})
    assert response.status_code == 413
    assert not Post.objects.exists()


# --- Deep JSON and numbers out of range: 400 ------------------------------------------------------


@pytest.mark.parametrize(
    "items", ['[{"post": 1e999, "ms": 1}]', deep(5000), '[{"post": 1180591620717411303424, "ms": 1}]']
)
def test_the_dwell_beacon_refuses_numbers_out_of_range_and_deep_json_with_a_400(items):
    PostFactory()
    response = Client().post(reverse("feed:dwell_beacon"), {"items": items})
    assert response.status_code == 400
    assert response.content
    assert not Engagement.objects.filter(kind=Engagement.Kind.DWELL).exists()


@pytest.mark.parametrize("path", ["/api/v1/posts/", "/api/v1/engagement/dwell/", "/api/v1/me/", "/api/v1/auth/token/"])
def test_api_endpoints_answer_deep_json_with_a_400_and_a_message(client, writer, path):
    response = client.generic(
        "PATCH" if path == "/api/v1/me/" else "POST",
        path,
        '{"items": ' + deep(5000) + "}",
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "nested deeper than 32" in response.json()["message"]


def test_api_json_with_an_infinite_number_is_a_400(client, writer):
    response = client.post(
        "/api/v1/posts/",
        '{"body": "hello", "content_type": "chat", "score": 1e999}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "1e999" in response.json()["message"]
    assert not Post.objects.exists()
