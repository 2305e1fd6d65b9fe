"""The engagement log partitioned by week (feed/migrations/0019, feed/partitions.py): every row kept
through the migration both ways, a row for a week with no partition still stored and read, the
append-only guarantee on the parent and on every partition, weeks created ahead idempotently and
under concurrency, old weeks (only old ones) detached for archiving."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from feed import partitions, tasks
from feed.models import Engagement
from tests.factories import EngagementFactory, PostFactory, UserFactory

BEFORE_PARTITIONING = [("feed", "0018_engagement_transaction_id")]
REFUSED = "append-only: {} is not allowed"
# Far from today's partitions, so that weeks created here never meet another test's.
FAR_FUTURE = datetime(2091, 3, 5, 12, 0, tzinfo=UTC)


def _rows() -> list[tuple]:
    """Every row of the log, every column (xact included), in id order."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_jsonb(e)::text FROM feed_engagement e ORDER BY id")
        return cursor.fetchall()


def _is_partitioned() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'feed_engagement'::regclass")
        return cursor.fetchone()[0] == "p"


def _partition_of(engagement_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM feed_engagement WHERE id = %s", [engagement_id])
        return cursor.fetchone()[0]


def _drop_tables(*names: str) -> None:
    # DROP is not among what the append-only triggers refuse; these tests' tables go with it.
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP TABLE IF EXISTS "{name}"')


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_row_survives_unpartitioning_and_partitioning_again():
    now = timezone.now()
    post = PostFactory()
    # Three weeks back, this week, and a row in the DEFAULT partition (no partition that far ahead).
    for occurred_at in [now - timedelta(days=21), now - timedelta(days=2), now, now + timedelta(days=70)]:
        EngagementFactory(post=post, occurred_at=occurred_at)
    EngagementFactory(kind=Engagement.Kind.FOLLOW, post=None, creator=UserFactory(), occurred_at=now)
    before = _rows()
    assert len(before) == 5
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()

    try:
        MigrationExecutor(connection).migrate(BEFORE_PARTITIONING)
        assert not _is_partitioned()
        assert _rows() == before
        # The plain table hands out ids after the copied ones, and refuses an update as before.
        added_on_plain_table = EngagementFactory(post=post, occurred_at=now - timedelta(days=14))
        assert added_on_plain_table.id > max(row.id for row in Engagement.objects.exclude(id=added_on_plain_table.id))
        with pytest.raises(DatabaseError, match=REFUSED.format("UPDATE")), transaction.atomic():
            Engagement.objects.filter(id=added_on_plain_table.id).update(dwell_ms=0)
        before = _rows()
    finally:
        MigrationExecutor(connection).migrate(latest)

    assert _is_partitioned()
    assert _rows() == before
    # The newest row's week got a partition of its own: the migration covers every row's week.
    newest = Engagement.objects.order_by("-occurred_at").first()
    assert _partition_of(newest.id) == partitions.partition_name(partitions.week_start(newest.occurred_at))
    added_after = EngagementFactory(post=post, occurred_at=now)
    assert added_after.id > max(row.id for row in Engagement.objects.exclude(id=added_after.id))


@pytest.mark.django_db
def test_the_log_is_partitioned_by_week_with_a_default_partition_and_every_index():
    assert _is_partitioned()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_partkeydef('feed_engagement'::regclass)")
        assert cursor.fetchone()[0] == "RANGE (occurred_at)"
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'feed_engagement'")
        indexes = {name for (name,) in cursor.fetchall()}
        cursor.execute("SELECT pg_get_constraintdef('feed_engagement_pkey'::regclass::oid)")
    assert {
        "feed_engagement_pkey",
        "engagement_time_brin",
        "engagement_creator_time",
        "engagement_post_time",
        "engagement_actor_time",
        "engagement_follow_pair",
        "engagement_xact_brin",
    } <= indexes
    names = [partition.name for partition in partitions.list_partitions()]
    assert names[-1] == partitions.DEFAULT_PARTITION
    this_week = partitions.week_start(timezone.now())
    partitions.ensure_partitions(weeks_ahead=4)
    names = {partition.name for partition in partitions.list_partitions() if partition.attached}
    assert {partitions.partition_name(this_week + weeks * partitions.WEEK) for weeks in range(5)} <= names


@pytest.mark.django_db
def test_inserts_and_bulk_inserts_land_in_their_weeks_partition_with_ids_from_one_sequence():
    partitions.ensure_partitions(weeks_ahead=1)
    post = PostFactory()
    now = timezone.now()
    single = Engagement.objects.create(kind=Engagement.Kind.LIKE, post=post, creator=post.author, occurred_at=now)
    bulk = Engagement.objects.bulk_create(
        [Engagement(kind=Engagement.Kind.VIEW, post=post, creator=post.author, occurred_at=now) for _ in range(3)]
    )
    ids = [single.id, *(row.id for row in bulk)]
    assert None not in ids and len(set(ids)) == 4
    assert _partition_of(single.id) == partitions.partition_name(partitions.week_start(now))
    assert Engagement.objects.get(id=bulk[0].id).kind == Engagement.Kind.VIEW


@pytest.mark.django_db
def test_a_row_for_a_week_without_partition_is_kept_in_the_default_partition_and_read(caplog):
    post = PostFactory()
    stray = EngagementFactory(post=post, occurred_at=FAR_FUTURE)

    assert _partition_of(stray.id) == partitions.DEFAULT_PARTITION
    assert Engagement.objects.filter(post=post, occurred_at__gte=FAR_FUTURE - timedelta(days=1)).get() == stray
    # The week of that row cannot be created while its row sits in DEFAULT: skipped, and said so.
    with caplog.at_level(logging.ERROR, logger="feed.partitions"):
        created = partitions.ensure_partitions(weeks_ahead=0, now=FAR_FUTURE)
    assert created == []
    assert "1 of its rows are in feed_engagement_default" in caplog.text
    assert "feed_engagement_default holds 1 engagement row(s)" in caplog.text
    assert [p.rows for p in partitions.list_partitions() if p.name == partitions.DEFAULT_PARTITION] == [1]


@pytest.fixture
def week_rows():
    """One row in this week's partition and one in DEFAULT, with the deferred checks run (as a commit
    would): TRUNCATE refuses a table with pending ones before any trigger could."""
    partitions.ensure_partitions(weeks_ahead=0)
    post = PostFactory()
    in_week = EngagementFactory(post=post, occurred_at=timezone.now())
    in_default = EngagementFactory(post=post, occurred_at=FAR_FUTURE)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return {_partition_of(in_week.id): in_week, partitions.DEFAULT_PARTITION: in_default}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET dwell_ms = 0 WHERE id = %s", "DELETE FROM {table} WHERE id = %s"]
)
def test_update_and_delete_are_refused_on_the_log_and_on_each_partition(week_rows, statement):
    operation = statement.split()[0]
    for table, row in [*week_rows.items(), ("feed_engagement", next(iter(week_rows.values())))]:
        with (
            pytest.raises(DatabaseError, match=REFUSED.format(operation)),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.format(table=table), [row.id])
    assert Engagement.objects.count() == 2


@pytest.mark.django_db
def test_truncate_is_refused_on_the_log_and_on_each_partition(week_rows):
    for table in [*week_rows, "feed_engagement"]:
        with (
            pytest.raises(DatabaseError, match=REFUSED.format("TRUNCATE")),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"TRUNCATE {table}")
    assert Engagement.objects.count() == 2


@pytest.mark.django_db
def test_ensuring_partitions_twice_creates_each_week_once():
    moment = FAR_FUTURE + timedelta(days=70)  # Wednesday of ISO week 2091-W20
    created = partitions.ensure_partitions(weeks_ahead=2, now=moment)
    assert created == ["feed_engagement_2091w20", "feed_engagement_2091w21", "feed_engagement_2091w22"]
    assert partitions.ensure_partitions(weeks_ahead=2, now=moment) == []
    with connection.cursor() as cursor:
        # A new week carries the log's TRUNCATE trigger and, from the parent, its row trigger.
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'feed_engagement_2091w20'::regclass AND NOT tgisinternal "
            "ORDER BY tgname"
        )
        assert [name for (name,) in cursor.fetchall()] == ["feed_engagement_append_only", "feed_engagement_no_truncate"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_ensures_both_succeed_and_create_each_week_once():
    moment = FAR_FUTURE + timedelta(days=140)
    barrier = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[Exception] = []

    def ensure() -> None:
        barrier.wait()
        try:
            results.append(partitions.ensure_partitions(weeks_ahead=3, now=moment))
        except Exception as error:  # the test reports any failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(len(names) for names in results) == [0, 4]
    finally:
        _drop_tables(*(name for names in results for name in names))


@pytest.mark.django_db
def test_detaching_refuses_a_week_younger_than_the_archive_age():
    partitions.ensure_partitions(weeks_ahead=0)
    this_week = timezone.now().isocalendar()
    with pytest.raises(partitions.PartitionError, match="too recent to detach"):
        partitions.detach_partition(f"{this_week.year}-W{this_week.week:02d}")
    old_but_not_enough = timezone.now() - partitions.MIN_ARCHIVE_AGE + timedelta(days=7)
    with pytest.raises(partitions.PartitionError, match="too recent to detach"):
        partitions.detach_partition(old_but_not_enough)
    assert partitions.partition_name(partitions.week_start(timezone.now())) in {
        p.name for p in partitions.list_partitions() if p.attached
    }


@pytest.mark.django_db
def test_detaching_an_old_week_takes_its_rows_out_of_the_log_into_an_append_only_table():
    old_week = partitions.week_start(timezone.now() - partitions.MIN_ARCHIVE_AGE - timedelta(days=30))
    [name] = partitions.ensure_partitions(weeks_ahead=0, now=old_week)
    post = PostFactory()
    old_rows = EngagementFactory.create_batch(3, post=post, occurred_at=old_week + timedelta(hours=5))
    recent = EngagementFactory(post=post, occurred_at=timezone.now())
    year, week, _ = old_week.isocalendar()
    # Run the deferred foreign key checks now, as the rows' commit would: a table with pending ones
    # cannot be altered.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert partitions.detach_partition(f"{year}-W{week:02d}") == name

    assert list(Engagement.objects.filter(post=post)) == [recent]
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT id FROM "{name}" ORDER BY id')  # noqa: S608 - a partition's name
        assert [row_id for (row_id,) in cursor.fetchall()] == [row.id for row in old_rows]
        with pytest.raises(DatabaseError, match=REFUSED.format("DELETE")), transaction.atomic():
            cursor.execute(f'DELETE FROM "{name}"')  # noqa: S608
    [listed] = [p for p in partitions.list_partitions() if p.name == name]
    assert not listed.attached
    with pytest.raises(partitions.PartitionError, match="detached already"):
        partitions.detach_partition(f"{year}-W{week:02d}")


def test_iso_weeks_name_partitions_across_a_year_end():
    assert partitions.parse_week("2027-W01") == datetime(2027, 1, 4, tzinfo=UTC)
    assert partitions.partition_name(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "feed_engagement_2026w53"
    assert partitions.week_start(datetime(2027, 1, 3, 23, 0, tzinfo=UTC)) == datetime(2026, 12, 28, tzinfo=UTC)
    with pytest.raises(partitions.PartitionError):
        partitions.parse_week("2026-W54")


@pytest.mark.django_db
def test_the_command_ensures_and_lists_the_weeks(capsys):
    call_command("engagement_partitions", "--ensure", "--list")
    output = capsys.readouterr().out
    assert partitions.partition_name(partitions.week_start(timezone.now())) in output
    assert "feed_engagement_default" in output


@pytest.mark.django_db
def test_the_daily_job_creates_the_coming_weeks_and_is_on_the_beat_schedule():
    result = tasks.ensure_engagement_partitions()
    assert tasks.ensure_engagement_partitions() == {"created": []}
    attached = {p.name for p in partitions.list_partitions() if p.attached}
    assert set(result["created"]) <= attached
    assert partitions.partition_name(partitions.week_start(timezone.now()) + 4 * partitions.WEEK) in attached
    assert (
        settings.CELERY_BEAT_SCHEDULE["ensure-engagement-partitions"]["task"] == tasks.ensure_engagement_partitions.name
    )
