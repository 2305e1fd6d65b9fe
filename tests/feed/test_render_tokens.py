"""Time spent counts only what the server saw: a render token per reader and post, and the clock.

The attack this replays: a client that never opened a post sent a beacon claiming 30 minutes on it,
again and again, and each claim was stored as time spent (and paid for).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from feed import render_tokens, services
from feed.models import Engagement
from tests.concurrency import race
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

HALF_HOUR_MS = 30 * 60 * 1000
NETWORK = "n" * 32


def dwell_rows(**filters):
    return Engagement.objects.filter(kind=Engagement.Kind.DWELL, **filters)


def credited(reader, post) -> int:
    return sum(dwell_rows(actor=reader, post=post).values_list("dwell_ms", flat=True))


def test_a_beacon_without_a_token_records_nothing():
    post, reader = PostFactory(), UserFactory()

    written = services.record_dwell(viewer=reader, items=[{"post": post.pk, "ms": HALF_HOUR_MS}])
    blank = services.record_dwell(viewer=reader, items=[{"post": post.pk, "ms": 5_000, "token": ""}])

    assert (written, blank) == (0, 0)
    assert not dwell_rows().exists()


def test_another_readers_or_another_posts_token_records_nothing():
    post, other_post, reader, other_reader = PostFactory(), PostFactory(), UserFactory(), UserFactory()
    rendered = timezone.now()
    theirs = render_tokens.issue(reader=other_reader, post_id=post.pk, now=rendered)
    for_another_post = render_tokens.issue(reader=reader, post_id=other_post.pk, now=rendered)
    signed_out = render_tokens.issue(reader=AnonymousUser(), post_id=post.pk, now=rendered)
    later = rendered + timedelta(minutes=5)

    for token in (theirs, for_another_post, signed_out, theirs[:-1] + ("A" if theirs[-1] != "A" else "B"), "x" * 500):
        item = {"post": post.pk, "ms": 60_000, "token": token}
        assert services.record_dwell(viewer=reader, items=[item], now=later) == 0
    # And a reader's own token does not count for a signed-out beacon.
    own = render_tokens.issue(reader=reader, post_id=post.pk, now=rendered)
    assert services.record_dwell(viewer=None, items=[{"post": post.pk, "ms": 60_000, "token": own}], fp=NETWORK) == 0

    assert not dwell_rows().exists()


def test_thirty_minutes_claimed_five_seconds_after_render_count_five_seconds():
    post, reader = PostFactory(), UserFactory()
    rendered = timezone.now()
    token = render_tokens.issue(reader=reader, post_id=post.pk, now=rendered)

    written = services.record_dwell(
        viewer=reader,
        items=[{"post": post.pk, "ms": HALF_HOUR_MS, "token": token}],
        now=rendered + timedelta(seconds=5),
    )

    assert written == 1
    assert credited(reader, post) == 5_000


def test_a_replayed_token_adds_nothing_beyond_the_time_that_passed():
    post, reader = PostFactory(), UserFactory()
    rendered = timezone.now()
    token = render_tokens.issue(reader=reader, post_id=post.pk, now=rendered)
    item = {"post": post.pk, "ms": HALF_HOUR_MS, "token": token}
    first = rendered + timedelta(seconds=20)

    services.record_dwell(viewer=reader, items=[item], now=first)
    services.record_dwell(viewer=reader, items=[item], now=first)  # the same beacon again
    assert credited(reader, post) == 20_000

    # A minute later the same token can claim only the minute that passed since.
    services.record_dwell(viewer=reader, items=[item, item], now=first + timedelta(minutes=1))
    assert credited(reader, post) == 80_000
    assert dwell_rows(actor=reader).count() == 2


def test_honest_reports_every_few_minutes_add_up_to_the_time_read():
    post, reader = PostFactory(), UserFactory()
    rendered = timezone.now()
    token = render_tokens.issue(reader=reader, post_id=post.pk, now=rendered)

    for minute in (4, 8, 12):
        item = {"post": post.pk, "ms": 3 * 60_000, "token": token}  # on screen 3 of every 4 minutes
        services.record_dwell(viewer=reader, items=[item], now=rendered + timedelta(minutes=minute))

    assert credited(reader, post) == 9 * 60_000


def test_a_reload_does_not_lose_the_time_read_before_it():
    post, reader = PostFactory(), UserFactory()
    opened = timezone.now()
    first_page = render_tokens.issue(reader=reader, post_id=post.pk, now=opened)
    reloaded = opened + timedelta(minutes=5)
    second_page = render_tokens.issue(reader=reader, post_id=post.pk, now=reloaded)

    # The first page's beacon arrives just after the reload served the second page.
    services.record_dwell(
        viewer=reader,
        items=[{"post": post.pk, "ms": 5 * 60_000, "token": first_page}],
        now=reloaded + timedelta(milliseconds=300),
    )
    services.record_dwell(
        viewer=reader,
        items=[{"post": post.pk, "ms": 3 * 60_000, "token": second_page}],
        now=reloaded + timedelta(minutes=3),
    )

    # All of it, less the 300 ms in which both pages were open.
    assert credited(reader, post) == 8 * 60_000 - 300


def test_two_tabs_of_one_post_earn_no_more_than_the_clock_ran():
    post, reader = PostFactory(), UserFactory()
    opened = timezone.now()
    tabs = [render_tokens.issue(reader=reader, post_id=post.pk, now=opened + timedelta(seconds=n)) for n in (0, 1)]
    leaving = opened + timedelta(minutes=2)

    for tab in tabs:
        services.record_dwell(viewer=reader, items=[{"post": post.pk, "ms": 120_000, "token": tab}], now=leaving)

    assert credited(reader, post) == 120_000


def test_twenty_posts_opened_at_once_earn_no_more_than_the_clock_ran():
    reader, posts = UserFactory(), PostFactory.create_batch(20)
    opened = timezone.now()
    items = [
        {"post": post.pk, "ms": HALF_HOUR_MS, "token": render_tokens.issue(reader=reader, post_id=post.pk, now=opened)}
        for post in posts
    ]

    services.record_dwell(viewer=reader, items=items[:10], now=opened + timedelta(minutes=10))
    services.record_dwell(viewer=reader, items=items[10:], now=opened + timedelta(minutes=10))

    assert sum(dwell_rows(actor=reader).values_list("dwell_ms", flat=True)) == 10 * 60_000


def test_two_posts_read_one_after_the_other_in_two_tabs_both_count():
    reader, first, second = UserFactory(), PostFactory(), PostFactory()
    opened = timezone.now()
    tokens = {post: render_tokens.issue(reader=reader, post_id=post.pk, now=opened) for post in (first, second)}

    # Five minutes on the first tab, then three on the second; both report when the browser closes.
    leaving = opened + timedelta(minutes=8)
    for post, minutes in ((second, 3), (first, 5)):
        item = {"post": post.pk, "ms": minutes * 60_000, "token": tokens[post]}
        services.record_dwell(viewer=reader, items=[item], now=leaving)

    assert (credited(reader, first), credited(reader, second)) == (5 * 60_000, 3 * 60_000)


def test_an_expired_token_records_nothing():
    post, reader = PostFactory(), UserFactory()
    rendered = timezone.now() - timedelta(minutes=31)
    token = render_tokens.issue(reader=reader, post_id=post.pk, now=rendered)
    anonymous = render_tokens.issue(reader=None, post_id=post.pk, now=rendered)

    assert services.record_dwell(viewer=reader, items=[{"post": post.pk, "ms": 60_000, "token": token}]) == 0
    signed_out = [{"post": post.pk, "ms": 60_000, "token": anonymous}]
    assert services.record_dwell(viewer=None, items=signed_out, fp=NETWORK) == 0
    assert not dwell_rows().exists()


def test_a_token_from_the_future_records_nothing():
    post, reader = PostFactory(), UserFactory()
    now = timezone.now()
    token = render_tokens.issue(reader=reader, post_id=post.pk, now=now + timedelta(minutes=10))

    assert services.record_dwell(viewer=reader, items=[{"post": post.pk, "ms": 60_000, "token": token}], now=now) == 0


def test_signed_out_time_is_capped_by_the_clock_and_counts_once_per_network():
    post = PostFactory()
    rendered = timezone.now()
    token = render_tokens.issue(reader=AnonymousUser(), post_id=post.pk, now=rendered)
    item = {"post": post.pk, "ms": HALF_HOUR_MS, "token": token}

    services.record_dwell(viewer=None, items=[item], fp=NETWORK, now=rendered + timedelta(seconds=7))
    services.record_dwell(viewer=None, items=[item], fp=NETWORK, now=rendered + timedelta(minutes=9))

    assert list(dwell_rows(actor__isnull=True).values_list("dwell_ms", flat=True)) == [7_000]


def test_items_for_unknown_posts_or_with_tokens_of_the_wrong_type_are_skipped_without_an_error():
    post, reader = PostFactory(), UserFactory()
    rendered = timezone.now()
    unknown = render_tokens.issue(reader=reader, post_id=987654321, now=rendered)
    items = [{"post": 987654321, "ms": 1_000, "token": unknown}, {"post": post.pk, "ms": 1_000, "token": 12345}]

    assert services.record_dwell(viewer=reader, items=items, now=rendered + timedelta(seconds=5)) == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_copies_of_one_beacon_credit_the_elapsed_time_once():
    post, reader = PostFactory(), UserFactory()
    rendered = timezone.now() - timedelta(seconds=10)
    token = render_tokens.issue(reader=reader, post_id=post.pk, now=rendered)
    arrived = rendered + timedelta(seconds=10)

    def send():
        services.record_dwell(viewer=reader, items=[{"post": post.pk, "ms": HALF_HOUR_MS, "token": token}], now=arrived)

    assert race(send, racers=6) == ["created"] * 6

    assert credited(reader, post) == 10_000
