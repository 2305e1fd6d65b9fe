"""Content-type weights on real Postgres and Redis: the audited change, the cache, the daily rebalance."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from feed.models import Post, PostType
from orbit import queues
from ranking import feeds, weights
from ranking.models import ContentTypeWeight, ContentTypeWeightChange, PostTags
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return UserFactory(username="ops", is_staff=True)


def _weight(slug: str) -> ContentTypeWeight:
    return ContentTypeWeight.objects.get(post_type_id=slug)


def _tagged_posts(*, count: int, tagged_as: str, quality: float, claimed_as: str | None = None, author=None):
    """Published posts the tagger filed under `tagged_as`; the author picked `claimed_as`."""
    posts = PostFactory.create_batch(count, author=author or UserFactory(), content_type_id=claimed_as or tagged_as)
    PostTags.objects.bulk_create(
        PostTags(
            post=post,
            content_type=tagged_as,
            level="beginner",
            topics=["defi"],
            assets=["BTC"],
            language="en",
            quality=quality,
            model_version="test",
        )
        for post in posts
    )
    return posts


def _rebuilds_queued(callbacks) -> int:
    return sum(callback is weights.announce_weights_changed for callback in callbacks)


# --- The audited change --------------------------------------------------------------------------


def test_each_changed_field_gets_an_audit_row_with_old_and_new_values_and_who(operator):
    education = _weight("education")

    changes = weights.update_content_type_weight(
        weight=education,
        changes={"base_weight": Decimal("2"), "target_share": "0.2", "min_multiplier": Decimal("0.80")},
        by=operator,
        reason="more beginner content",
    )

    assert [(change.field, change.old_value, change.new_value) for change in changes] == [
        ("base_weight", "1.50", "2.00"),
        ("target_share", "0.150", "0.200"),
    ]  # min_multiplier was already 0.80
    stored = list(
        ContentTypeWeightChange.objects.order_by("id").values_list(
            "weight", "field", "old_value", "new_value", "changed_by", "reason"
        )
    )
    assert stored == [
        ("education", "base_weight", "1.50", "2.00", operator.pk, "more beginner content"),
        ("education", "target_share", "0.150", "0.200", operator.pk, "more beginner content"),
    ]
    education.refresh_from_db()
    assert (education.base_weight, education.target_share) == (Decimal("2.00"), Decimal("0.200"))


def test_a_change_queues_one_feed_rebuild_for_after_the_commit(operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        weights.update_content_type_weight(weight=_weight("news"), changes={"base_weight": "1.2"}, by=operator)

    assert _rebuilds_queued(callbacks) == 1


def test_the_committed_change_reaches_the_feeds_queue_as_one_rebuild_of_the_active_lists(
    operator, django_capture_on_commit_callbacks
):
    # weights announces the change (weights_changed); ranking.receivers turns it into the task.
    feeds_queue = queues.queue_name(queues.FEEDS, prefix=settings.CELERY_QUEUE_PREFIX)
    client = feeds.redis_client()
    client.delete(feeds_queue)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            weights.update_content_type_weight(weight=_weight("news"), changes={"base_weight": "1.3"}, by=operator)
        messages = [json.loads(raw) for raw in client.lrange(feeds_queue, 0, -1)]
        assert [message["headers"]["task"] for message in messages] == ["ranking.tasks.rebuild_active_feeds"]
    finally:
        client.delete(feeds_queue)


def test_saving_the_same_values_writes_nothing_and_rebuilds_nothing(operator, django_capture_on_commit_callbacks):
    education = _weight("education")
    before = education.updated_at

    with django_capture_on_commit_callbacks() as callbacks:
        changes = weights.update_content_type_weight(
            weight=education,
            # The same values, typed differently: 1.5 is 1.50, the float 0.15 is 0.150.
            changes={"base_weight": "1.5", "target_share": 0.15, "is_active": True},
            by=operator,
            reason="no-op",
        )

    assert changes == []
    assert not ContentTypeWeightChange.objects.exists()
    assert _weight("education").updated_at == before
    assert _rebuilds_queued(callbacks) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"min_multiplier": "3.00"},
            "min_multiplier",
            "The minimum multiplier (3.00) cannot be above the maximum (2.50).",
        ),
        ({"min_multiplier": "1.6", "max_multiplier": "1.4"}, "min_multiplier", "cannot be above the maximum (1.40)."),
        ({"min_multiplier": "0"}, "min_multiplier", "The minimum multiplier must be above 0."),
        ({"target_share": "1.5"}, "target_share", "Target share is a percentage of the feed from 0% to 100%"),
        ({"target_share": "-0.1"}, "target_share", "Target share is a percentage of the feed from 0% to 100%"),
        ({"base_weight": "-1"}, "base_weight", "Base weight cannot be negative"),
        ({"base_weight": "lots"}, "base_weight", "must be a decimal number"),
        ({"base_weight": "1.555"}, "base_weight", "no more than 2 decimal places"),
        ({"multiplier": "3.00"}, "multiplier", "The multiplier must be between the minimum (0.80) and the maximum"),
        ({"slug": "memes"}, "__all__", "slug cannot be changed here"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(operator, changes, field, message):
    education = _weight("education")

    with pytest.raises(ValidationError) as refused:
        weights.update_content_type_weight(weight=education, changes=changes, by=operator, reason="typo")

    assert any(message in text for text in refused.value.message_dict[field]), refused.value.message_dict
    stored = _weight("education")
    assert (stored.base_weight, stored.target_share, stored.min_multiplier, stored.max_multiplier) == (
        Decimal("1.50"),
        Decimal("0.150"),
        Decimal("0.80"),
        Decimal("2.50"),
    )
    assert not ContentTypeWeightChange.objects.exists()


def test_narrower_bounds_pull_the_multiplier_in_and_that_is_audited_too(operator):
    education = _weight("education")
    weights.update_content_type_weight(weight=education, changes={"multiplier": "2.20"}, by=None, reason="rebalance")

    weights.update_content_type_weight(
        weight=education, changes={"max_multiplier": "1.80"}, by=operator, reason="less swing"
    )

    assert _weight("education").multiplier == Decimal("1.80")
    assert education.multiplier == Decimal("1.80")  # the caller's object follows the stored row
    latest = ContentTypeWeightChange.objects.filter(changed_by=operator).order_by("id")
    assert [(change.field, change.old_value, change.new_value, change.reason) for change in latest] == [
        ("max_multiplier", "2.50", "1.80", "less swing"),
        ("multiplier", "2.20", "1.80", "less swing; kept within the new bounds"),
    ]


def test_a_stale_object_is_checked_against_the_stored_row(operator):
    """Two operators edit at once: the second one's bounds are checked against what the first saved."""
    seen_by_second = _weight("analysis")
    weights.update_content_type_weight(weight=_weight("analysis"), changes={"max_multiplier": "1.00"}, by=operator)

    with pytest.raises(ValidationError, match="cannot be above the maximum"):
        weights.update_content_type_weight(weight=seen_by_second, changes={"min_multiplier": "1.20"}, by=operator)
    assert _weight("analysis").min_multiplier == Decimal("0.80")


# --- Reading, and the cache ------------------------------------------------------------------------


def test_effective_weights_are_base_times_multiplier_and_neutral_when_inactive_or_missing(operator):
    PostType.objects.create(slug="memes", name_en="Memes", name_zh="梗", position=9)  # no weight row yet
    weights.update_content_type_weight(weight=_weight("new_asset"), changes={"multiplier": "2.00"}, by=None)
    weights.update_content_type_weight(weight=_weight("chat"), changes={"is_active": False}, by=operator)

    assert weights.effective_weights() == {
        "trade_share": 1.0,
        "analysis": pytest.approx(1.1),
        "education": 1.5,
        "new_asset": pytest.approx(2.8),
        "news": 1.0,
        "chat": 1.0,  # inactive: neutral, not 0.8
        "memes": 1.0,
    }


def test_weights_are_served_from_the_cache_and_a_change_shows_at_once(operator):
    assert weights.effective_weights()["education"] == 1.5
    # Written behind the service's back: the cached value stays (for up to a minute)...
    ContentTypeWeight.objects.filter(post_type_id="education").update(base_weight=Decimal("9.00"))
    assert weights.effective_weights()["education"] == 1.5

    # ...while a change through the service is seen by the very next read, with a new version.
    version_before = weights.weights_version()
    weights.update_content_type_weight(weight=_weight("education"), changes={"base_weight": "2.00"}, by=operator)

    assert weights.effective_weights()["education"] == 2.0
    assert weights.weights_version() != version_before


def test_weights_come_from_postgres_when_the_cache_is_unreachable(operator, caplog):
    with socket.socket() as probe:  # a port nothing listens on: connections are refused at once
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(CACHES=unreachable), caplog.at_level("WARNING", logger="ranking.weights"):
        # override_settings drops the cache connections: the next use connects to the closed port.
        started = time.monotonic()
        assert weights.effective_weights()["education"] == 1.5
        assert weights.weights_version() > 0
        assert weights.effective_weights()["chat"] == 0.8
        # One failure is enough: for a few seconds this process goes straight to Postgres.
        assert len([record for record in caplog.records if "Cache unreachable" in record.getMessage()]) == 1
        # Changing weights does not depend on the cache either.
        weights.update_content_type_weight(weight=_weight("education"), changes={"base_weight": "2.00"}, by=operator)
        assert weights.current_weights().weights["education"] == 2.0
        assert time.monotonic() - started < 5

    # Back on the real cache: the first successful write lets readers use it again.
    weights.clear_weights_cache()
    assert weights.effective_weights()["education"] == 2.0
    ContentTypeWeight.objects.filter(post_type_id="education").update(base_weight=Decimal("9.00"))
    assert weights.effective_weights()["education"] == 2.0  # cached again


# --- The daily rebalance ---------------------------------------------------------------------------


def test_rebalance_raises_a_scarce_good_type_and_lowers_a_plentiful_weak_one():
    author = UserFactory()
    _tagged_posts(count=10, tagged_as="education", quality=0.95, author=author)
    _tagged_posts(count=90, tagged_as="chat", quality=0.2, author=author)
    now = timezone.now() + timedelta(minutes=1)

    results = {result.content_type: result for result in weights.rebalance_content_type_weights(now=now)}

    # education: sqrt(0.15 / 0.10) × quality well above the average → above its bound of 2.50
    assert _weight("education").multiplier == Decimal("2.50")
    # chat: sqrt(0.20 / 0.90) × quality below the average → below its bound of 0.50
    assert _weight("chat").multiplier == Decimal("0.50")
    # No posts at all: back to neutral within the bounds.
    assert _weight("analysis").multiplier == Decimal("1.00")
    assert (results["education"].posts, results["education"].supply_share) == (10, pytest.approx(0.1))
    assert results["chat"].changed and results["education"].changed and not results["analysis"].changed

    education_change = ContentTypeWeightChange.objects.get(weight="education")
    assert (education_change.field, education_change.old_value, education_change.new_value) == (
        "multiplier",
        "1.00",
        "2.50",
    )
    assert education_change.changed_by is None
    assert education_change.reason.startswith("daily rebalance: supply 10.0% vs target 15.0%, quality 0.95 vs 0.2")
    assert set(ContentTypeWeight.objects.values_list("rebalanced_at", flat=True)) == {now}
    assert weights.effective_weights()["education"] == pytest.approx(1.5 * 2.5)


def test_running_the_rebalance_again_on_the_same_data_changes_nothing(django_capture_on_commit_callbacks):
    _tagged_posts(count=10, tagged_as="education", quality=0.95)
    _tagged_posts(count=30, tagged_as="news", quality=0.5)
    _tagged_posts(count=60, tagged_as="chat", quality=0.3)
    now = timezone.now() + timedelta(minutes=1)
    with django_capture_on_commit_callbacks() as first_callbacks:
        first = weights.rebalance_content_type_weights(now=now)
    audit_rows = ContentTypeWeightChange.objects.count()
    multipliers = dict(ContentTypeWeight.objects.values_list("post_type", "multiplier"))

    with django_capture_on_commit_callbacks() as second_callbacks:
        second = weights.rebalance_content_type_weights(now=now)

    assert any(result.changed for result in first) and _rebuilds_queued(first_callbacks) == 1  # one for all types
    assert not any(result.changed for result in second)
    assert ContentTypeWeightChange.objects.count() == audit_rows
    assert dict(ContentTypeWeight.objects.values_list("post_type", "multiplier")) == multipliers
    assert _rebuilds_queued(second_callbacks) == 0


def test_rebalance_counts_the_taggers_type_not_the_one_the_author_picked():
    """Chat labelled "education" by its authors must not make education look plentiful (and chat scarce)."""
    _tagged_posts(count=10, tagged_as="education", quality=0.95)
    _tagged_posts(count=90, tagged_as="chat", claimed_as="education", quality=0.2)

    weights.rebalance_content_type_weights(now=timezone.now() + timedelta(minutes=1))

    assert _weight("education").multiplier == Decimal("2.50")
    assert _weight("chat").multiplier == Decimal("0.50")


def test_rebalance_counts_each_post_as_much_as_the_tagger_is_sure_of_its_type():
    """Forty posts the tagger half-believes are education are twenty posts of supply, not forty."""
    unsure = _tagged_posts(count=40, tagged_as="education", quality=0.9)
    _tagged_posts(count=20, tagged_as="education", quality=0.3)
    _tagged_posts(count=60, tagged_as="chat", quality=0.5)
    PostTags.objects.filter(post__in=unsure).update(confidence=0.5)

    results = {result.content_type: result for result in weights.rebalance_content_type_weights()}

    assert results["education"].posts == pytest.approx(40)  # 40 × 0.5 + 20 × 1
    assert results["education"].supply_share == pytest.approx(0.4)
    # Quality weighted the same way: (20 × 0.9 + 20 × 0.3) / 40.
    assert results["education"].quality == pytest.approx(0.6)


def test_rebalance_only_counts_published_posts_of_the_window():
    _tagged_posts(count=10, tagged_as="education", quality=0.95)
    _tagged_posts(count=10, tagged_as="chat", quality=0.2)
    old = _tagged_posts(count=80, tagged_as="chat", quality=0.2)
    Post.objects.filter(pk__in=[post.pk for post in old[:40]]).update(created_at=timezone.now() - timedelta(days=8))
    Post.objects.filter(pk__in=[post.pk for post in old[40:]]).update(status=Post.Status.HIDDEN)

    results = {result.content_type: result for result in weights.rebalance_content_type_weights()}

    assert (results["education"].posts, results["chat"].posts) == (10, 10)
    assert results["chat"].supply_share == pytest.approx(0.5)


def test_rebalance_reads_supply_in_one_grouped_query_however_many_posts():
    def supply_queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            weights.rebalance_content_type_weights(now=timezone.now() + timedelta(minutes=1))
        return [query["sql"] for query in captured if "ranking_posttags" in query["sql"]]

    _tagged_posts(count=5, tagged_as="education", quality=0.9)
    few = supply_queries()
    _tagged_posts(count=60, tagged_as="chat", quality=0.3)
    many = supply_queries()

    assert len(few) == len(many) == 1
    assert "GROUP BY" in many[0]


def test_rebalance_leaves_inactive_types_alone(operator):
    weights.update_content_type_weight(weight=_weight("chat"), changes={"is_active": False}, by=operator)
    _tagged_posts(count=90, tagged_as="chat", quality=0.1)
    _tagged_posts(count=10, tagged_as="education", quality=0.9)

    results = weights.rebalance_content_type_weights(now=timezone.now() + timedelta(minutes=1))

    assert "chat" not in {result.content_type for result in results}
    chat = _weight("chat")
    assert (chat.multiplier, chat.rebalanced_at) == (Decimal("1.00"), None)


def test_a_content_type_added_later_gets_a_neutral_weight_row():
    PostType.objects.create(slug="memes", name_en="Memes", name_zh="梗", position=9)

    assert weights.ensure_weight_rows() == 1
    assert weights.ensure_weight_rows() == 0
    memes = _weight("memes")
    assert (memes.base_weight, memes.multiplier, memes.is_active, memes.effective) == (
        Decimal("1.00"),
        Decimal("1.00"),
        True,
        1.0,
    )


def test_the_rebalance_creates_missing_rows_before_it_runs():
    PostType.objects.create(slug="memes", name_en="Memes", name_zh="梗", position=9)

    results = weights.rebalance_content_type_weights()

    assert "memes" in {result.content_type for result in results}
    assert _weight("memes").multiplier == Decimal("1.00")  # no posts yet: neutral


# --- After the commit: the For You lists are rebuilt with the new weights -----------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_committed_change_rebuilds_active_users_lists_with_the_new_weights_version(celery_worker):
    reader = UserFactory(username="active_reader", last_login=timezone.now())
    operator = UserFactory(username="ops_committed", is_staff=True)
    meta_key = feeds.list_key(reader.pk, ":meta")
    feeds.redis_client().delete(meta_key)

    weights.update_content_type_weight(weight=_weight("education"), changes={"base_weight": "2.00"}, by=operator)
    current = weights.weights_version()

    deadline = time.monotonic() + 20
    built_with = None
    while time.monotonic() < deadline:
        built_with = feeds.redis_client().hget(meta_key, "weights")
        if built_with is not None:
            break
        time.sleep(0.1)
    assert built_with is not None and int(built_with) == current


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_operators_at_once_cannot_leave_the_bounds_crossed(celery_worker):
    """Each checked the bounds they saw; the second to get the row lock is checked against the first's."""
    first, second = UserFactory(username="ops_one", is_staff=True), UserFactory(username="ops_two", is_staff=True)
    edits = [(first, {"max_multiplier": "1.00"}), (second, {"min_multiplier": "1.20"})]
    seen = [_weight("analysis"), _weight("analysis")]  # both forms were loaded before either saved
    barrier = threading.Barrier(len(edits))
    outcomes = []

    def edit(index):
        operator, changes = edits[index]
        barrier.wait()
        try:
            weights.update_content_type_weight(weight=seen[index], changes=changes, by=operator)
            outcomes.append("saved")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(index,)) for index in range(len(edits))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "saved"]
    analysis = _weight("analysis")
    assert analysis.min_multiplier <= analysis.multiplier <= analysis.max_multiplier
    assert ContentTypeWeightChange.objects.filter(weight="analysis").values("changed_by").distinct().count() == 1
