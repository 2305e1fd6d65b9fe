"""The content-mix rollup: For You pages count what they served, the rollup turns that and the day's
published posts into ContentMixDay rows with exact numbers, again and again, and Redis going away
fails neither the pages nor the rollup."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.utils import timezone

from feed.models import Post
from ranking import content_mix, feeds, for_you
from ranking.models import ContentMixDay, PostTags
from tests.factories import PostFactory, PostTagsFactory
from tests.ranking.world import creator, reader, tagged_post

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)


def _post(content_type, *, tagged_as=None, confidence=1.0, at=NOW - timedelta(hours=1), status=None):
    post = PostFactory(content_type_id=content_type, created_at=at, **({"status": status} if status else {}))
    if tagged_as is not None:
        PostTagsFactory(post=post, content_type=tagged_as, confidence=confidence)
    return post


def _exposure_hash(day):
    raw = feeds.redis_client().hgetall(content_mix.exposure_key(day))
    return {int(field): int(count) for field, count in raw.items()}


def _rows():
    return {
        (row.day, row.post_type_id): (row.posts, row.impressions)
        for row in ContentMixDay.objects.filter(day__in=[YESTERDAY, TODAY])
    }


def _expected(served: dict) -> dict:
    """The same numbers from the rows themselves, in Python: supply = published posts created that
    UTC day by their tags' type weighted by confidence; exposure = served counts by the post's tags'
    type, else its own."""
    expected = defaultdict(lambda: [0.0, 0])
    for tags in PostTags.objects.select_related("post"):
        day = tags.post.created_at.astimezone(UTC).date()
        if tags.post.status == Post.Status.PUBLISHED and day in (YESTERDAY, TODAY):
            expected[(day, tags.content_type)][0] += tags.confidence
    posts = {post.pk: post for post in Post.objects.select_related("tags")}
    for day, counts in served.items():
        for post_id, count in counts.items():
            post = posts[post_id]
            slug = post.tags.content_type if hasattr(post, "tags") else post.content_type_id
            expected[(day, slug)][1] += count
    return {key: (pytest.approx(posts), impressions) for key, (posts, impressions) in expected.items()}


@pytest.fixture
def seeded():
    """Posts of several types today and yesterday: tagged with confidence, one the tagger calls
    something else than its author, one untagged, one deleted, one from the day before yesterday."""
    posts = {
        "edu": _post("education", tagged_as="education", confidence=0.8),
        "edu2": _post("education", tagged_as="education", confidence=0.5, at=NOW - timedelta(days=1)),
        "relabelled": _post("education", tagged_as="chat", confidence=0.9),
        "analysis": _post("analysis", tagged_as="analysis"),
        "untagged": _post("news"),
        "deleted": _post("analysis", tagged_as="analysis", status=Post.Status.DELETED),
        "old": _post("news", tagged_as="news", at=NOW - timedelta(days=2)),
    }
    content_mix.record_exposure(post_ids=[posts["edu"].pk, posts["relabelled"].pk, posts["untagged"].pk], now=NOW)
    content_mix.record_exposure(post_ids=[posts["edu"].pk, posts["analysis"].pk], now=NOW)
    content_mix.record_exposure(post_ids=[posts["edu2"].pk, posts["old"].pk], now=NOW - timedelta(days=1))
    return posts


def test_the_rollup_writes_the_numbers_a_direct_query_gives(seeded):
    written = content_mix.roll_up_content_mix(now=NOW)

    served = {TODAY: _exposure_hash(TODAY), YESTERDAY: _exposure_hash(YESTERDAY)}
    assert served[TODAY] == {seeded["edu"].pk: 2, seeded["relabelled"].pk: 1, seeded["untagged"].pk: 1,
                             seeded["analysis"].pk: 1}  # fmt: skip
    rows = _rows()
    assert written == len(rows) == 2 * 6  # every content type on both days, zeros included
    nonzero = {key: value for key, value in rows.items() if value != (0.0, 0)}
    assert nonzero == _expected(served)
    # Spelled out: the relabelled post counts as chat (0.9), the deleted one not at all.
    assert rows[(TODAY, "education")] == (pytest.approx(0.8), 2)
    assert rows[(TODAY, "chat")] == (pytest.approx(0.9), 1)
    assert rows[(TODAY, "news")] == (0.0, 1)  # untagged: no supply, exposure by its own type
    assert rows[(YESTERDAY, "news")] == (0.0, 1)  # served yesterday, published the day before


def test_running_the_rollup_again_writes_the_same_rows_and_follows_unpublished_posts(seeded):
    content_mix.roll_up_content_mix(now=NOW)
    first = _rows()

    content_mix.roll_up_content_mix(now=NOW + timedelta(minutes=10))
    assert _rows() == first  # SET, not add

    Post.objects.filter(pk=seeded["analysis"].pk).update(status=Post.Status.HIDDEN)
    content_mix.roll_up_content_mix(now=NOW + timedelta(minutes=20))
    assert _rows()[(TODAY, "analysis")] == (0.0, 1)  # out of the supply; it was still served once


def test_a_page_of_for_you_counts_each_served_item_once_from_redis_and_from_the_fallback():
    me = reader("me", trades=["BTC"])
    [tagged_post(creator(f"writer{index}"), assets=["BTC"], hours_ago=1 + index / 3) for index in range(5)]
    today = timezone.now().astimezone(UTC).date()

    fallback = for_you.for_you_page(user=me)  # no list yet: ranked from Postgres
    assert fallback.source == "fallback"
    assert _exposure_hash(today) == {post.pk: 1 for post in fallback.items}

    feeds.build_for_you(user_id=me.pk)
    ready = for_you.for_you_page(user=me)
    assert ready.source == "redis"
    counts = _exposure_hash(today)
    assert sum(counts.values()) == len(fallback.items) + len(ready.items)
    for post in ready.items:
        assert counts[post.pk] == 1 + (post in fallback.items)
    assert 0 < feeds.redis_client().ttl(content_mix.exposure_key(today)) <= content_mix.EXPOSURE_TTL_SECONDS


class _DownRedis:
    """A client whose every command fails, as a stopped Redis does."""

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise redis.ConnectionError("Connection refused")

        return refuse


def test_with_redis_down_pages_are_served_and_the_rollup_keeps_the_stored_exposure(seeded, monkeypatch):
    content_mix.roll_up_content_mix(now=NOW)
    before = _rows()
    me = reader("me", trades=["BTC"])
    tagged_post(creator("writer"), assets=["BTC"])
    Post.objects.filter(pk=seeded["edu"].pk).update(status=Post.Status.HIDDEN)

    with monkeypatch.context() as patched:  # undone before the fixtures clean Redis up
        patched.setattr(feeds, "redis_client", lambda: _DownRedis())
        content_mix.record_exposure(post_ids=[seeded["edu"].pk], now=NOW)  # no exception
        assert content_mix.roll_up_content_mix(now=NOW) == 12
        page = for_you.for_you_page(user=me)

    assert page.source == "fallback" and page.items  # the page does not fail for the counter
    after = _rows()
    assert after[(TODAY, "education")] == (0.0, before[(TODAY, "education")][1])  # supply moved, exposure kept
    assert {key: impressions for key, (_posts, impressions) in after.items()} == {
        key: impressions for key, (_posts, impressions) in before.items()
    }
