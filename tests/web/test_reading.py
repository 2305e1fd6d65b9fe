"""Reading is recorded: one view per viewer, post and day, and time spent through the page beacon."""

import html
import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from feed import render_tokens
from feed.models import Engagement
from orbit.fingerprints import DEVICE_COOKIE
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def _views(post):
    return Engagement.objects.filter(kind=Engagement.Kind.VIEW, post=post)


def test_a_signed_in_reader_counts_one_view_per_post_and_day(bob_client, bob):
    post = PostFactory()
    for _ in range(3):
        assert bob_client.get(reverse("feed:post", args=[post.pk])).status_code == 200
    view = _views(post).get()
    assert (view.actor_id, view.creator_id) == (bob.pk, post.author_id)
    assert view.fingerprint


def test_a_view_from_yesterday_does_not_hide_todays(bob_client, bob):
    post = PostFactory()
    Engagement.objects.create(
        kind=Engagement.Kind.VIEW,
        actor=bob,
        post=post,
        creator=post.author,
        occurred_at=timezone.now() - timedelta(days=1, hours=1),
    )
    bob_client.get(reverse("feed:post", args=[post.pk]))
    assert _views(post).count() == 2


def test_anonymous_readers_get_a_device_cookie_and_count_once_per_network():
    post = PostFactory()
    client = Client(REMOTE_ADDR="192.0.2.10")
    first = client.get(reverse("feed:post", args=[post.pk]))
    assert DEVICE_COOKIE in first.cookies and first.cookies[DEVICE_COOKIE]["httponly"]
    client.get(reverse("feed:post", args=[post.pk]))  # same device: not counted again
    Client(REMOTE_ADDR="192.0.2.11").get(reverse("feed:post", args=[post.pk]))  # another device, same /24
    Client(REMOTE_ADDR="198.51.100.7").get(reverse("feed:post", args=[post.pk]))  # another network
    assert _views(post).count() == 2
    assert not _views(post).filter(actor__isnull=False).exists()


def dwell_token_of(page) -> str:
    match = re.search(r'data-dwell-token="([^"]+)"', page.content.decode())
    assert match, "the post page carries no render token"
    return html.unescape(match.group(1))


def test_the_post_page_carries_the_dwell_beacon_hooks(client, alice):
    post = PostFactory()
    response = client.get(reverse("feed:post", args=[post.pk]))
    page = response.content.decode()
    assert f'data-dwell-post="{post.pk}"' in page
    assert f'data-dwell-url="{reverse("feed:dwell_beacon")}"' in page
    assert 'name="csrf-token"' in page
    assert "orbit.js" in page
    # A render token for this (signed-out) reader and this post, issued just now.
    now = timezone.now()
    assert render_tokens.issued_at(dwell_token_of(response), reader=None, post_id=post.pk, now=now)
    assert not render_tokens.issued_at(dwell_token_of(response), reader=alice, post_id=post.pk, now=now)
    client.force_login(alice)
    signed_in = dwell_token_of(client.get(reverse("feed:post", args=[post.pk])))
    assert render_tokens.issued_at(signed_in, reader=alice, post_id=post.pk, now=timezone.now())


def test_the_dwell_beacon_stores_a_batch_of_time_spent(alice):
    first, second = PostFactory(), PostFactory()
    # The beacon is a form POST (sendBeacon cannot set headers): the CSRF token travels in the body.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    token = browser.get(reverse("feed:post", args=[first.pk])).context["csrf_token"]
    # The render tokens of pages served ten seconds ago: time counts only since a page was served.
    served = timezone.now() - timedelta(seconds=10)
    first_token, second_token = (
        render_tokens.issue(reader=alice, post_id=post.pk, now=served) for post in (first, second)
    )
    items = [
        {"post": first.pk, "ms": 4200, "token": first_token},
        {"post": second.pk, "ms": 900, "token": second_token},
        {"post": first.pk, "ms": 800, "token": first_token},
        {"post": second.pk, "ms": 60_000},  # no token: not counted
    ]
    response = browser.post(
        reverse("feed:dwell_beacon"), {"csrfmiddlewaretoken": str(token), "items": json.dumps(items)}
    )
    assert response.status_code == 204
    dwell = dict(Engagement.objects.filter(kind=Engagement.Kind.DWELL).values_list("post_id", "dwell_ms"))
    assert dwell == {first.pk: 5000, second.pk: 900}
    assert Engagement.objects.filter(kind=Engagement.Kind.DWELL, actor=alice).count() == 2


def test_the_dwell_beacon_counts_no_more_than_the_time_since_the_page_was_served(alice):
    post = PostFactory()
    browser = Client()
    browser.force_login(alice)
    served = dwell_token_of(browser.get(reverse("feed:post", args=[post.pk])))
    items = json.dumps([{"post": post.pk, "ms": 30 * 60 * 1000, "token": served}])

    for _ in range(3):
        assert browser.post(reverse("feed:dwell_beacon"), {"items": items}).status_code == 204

    counted = sum(Engagement.objects.filter(kind=Engagement.Kind.DWELL).values_list("dwell_ms", flat=True))
    assert 0 < counted < 5_000


def test_the_dwell_beacon_refuses_missing_csrf_and_bad_payloads():
    post = PostFactory()
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(reverse("feed:dwell_beacon"), {"items": "[]"}).status_code == 403
    relaxed = Client()
    assert relaxed.post(reverse("feed:dwell_beacon"), {"items": "not json"}).status_code == 400
    too_many = json.dumps([{"post": post.pk, "ms": 1}] * 51)
    assert relaxed.post(reverse("feed:dwell_beacon"), {"items": too_many}).status_code == 400
    assert relaxed.get(reverse("feed:dwell_beacon")).status_code == 405
    assert not Engagement.objects.filter(kind=Engagement.Kind.DWELL).exists()
