"""The fold (incentives/folding.py): every engagement row folded exactly once, whatever happens: a
crash before commit, a fold with nothing new, a transaction that commits after a fold passed it,
two folds at once, a limited catch-up, a week rebuilt from the raw log."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from incentives import folding, tasks
from incentives.contributions import READ_KINDS
from incentives.models import FoldWatermark

from .world import Kind, at, creator, event, posts, real_trader, record, week

pytestmark = pytest.mark.django_db

# The rollups as a fresh GROUP BY of the whole log would make them (the cap in force: 300 s).
RAW_GROUPS = """
    SELECT date_trunc('week', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', actor_id, creator_id, post_id,
           (CASE kind WHEN 4 THEN 3 WHEN 9 THEN 8 ELSE kind END)::smallint,
           count(*) FILTER (WHERE kind NOT IN (4, 9)), sum(CASE WHEN kind IN (4, 9) THEN -1 ELSE 1 END),
           min(occurred_at), max(occurred_at) FILTER (WHERE kind NOT IN (4, 9)), sum(least(dwell_ms, 300000)),
           min(dwell_ms), min(hashtextextended(nullif(fingerprint, ''), 0)),
           max(hashtextextended(nullif(fingerprint, ''), 0)), min(hashtextextended(nullif(network_prefix, ''), 0))
    FROM feed_engagement WHERE kind = ANY(%s)
    GROUP BY 1, 2, 3, 4, 5
"""
ROLLUPS = """
    SELECT week_starts_at, reader_id, creator_id, post_id, kind, events, net, first_at, last_at, dwell_ms,
           min_dwell_ms, fingerprint, other_fingerprint, network
    FROM incentives_engagementrollup
"""


def rows_of(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(cursor.fetchall(), key=repr)


def assert_rollups_are_the_log_grouped() -> None:
    assert rows_of(ROLLUPS) == rows_of(RAW_GROUPS, [READ_KINDS])
    clicks = "SELECT actor_id, post_id, occurred_at FROM feed_engagement WHERE kind = 10 AND actor_id IS NOT NULL"
    assert rows_of("SELECT reader_id, post_id, occurred_at FROM incentives_foldedtradeclick") == rows_of(clicks)


def some_engagement(count: int = 12, *, day: float = 1) -> list:
    author = creator()
    [post] = posts(author)
    readers = [real_trader() for _ in range(3)]
    kinds = [Kind.VIEW, Kind.DWELL, Kind.LIKE, Kind.UNLIKE, Kind.TRADE_CLICK, Kind.FOLLOW]
    rows = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        target = author if kind == Kind.FOLLOW else post
        when = at(day, minute=n)
        rows.append(event(readers[n % 3], target, kind, when, dwell_ms=400_000 if kind == Kind.DWELL else 0))
    return rows


def watermark() -> tuple:
    return FoldWatermark.objects.values_list("snapshot", "events_folded").first()


def test_the_first_fold_takes_the_whole_log_and_the_rollups_are_the_log_grouped():
    record(some_engagement())

    result = folding.fold_new_engagement()

    assert result.events == 12
    assert_rollups_are_the_log_grouped()
    assert folding.rollup_week(week()).events == 12


def test_a_second_fold_with_nothing_new_writes_no_rollup_row():
    record(some_engagement())
    folding.fold_new_engagement()
    # xmin: the transaction that last wrote each row version; an update would change it.
    versions = rows_of("SELECT id, xmin::text FROM incentives_engagementrollup")
    weeks = rows_of("SELECT week_starts_at, events, xmin::text FROM incentives_engagementrollupweek")

    result = folding.fold_new_engagement()

    assert (result.events, result.rollup_rows) == (0, 0)
    assert rows_of("SELECT id, xmin::text FROM incentives_engagementrollup") == versions
    assert rows_of("SELECT week_starts_at, events, xmin::text FROM incentives_engagementrollupweek") == weeks
    assert rows_of("SELECT count(*) FROM incentives_foldedtradeclick") == [(2,)]


def test_rows_written_after_a_fold_in_the_same_transaction_are_folded_by_the_next():
    record(some_engagement(6))
    folding.fold_new_engagement()
    record(some_engagement(6, day=2))

    assert folding.fold_new_engagement().events == 6
    assert folding.fold_new_engagement().events == 0
    assert_rollups_are_the_log_grouped()


def test_rebuilding_a_week_from_the_raw_log_gives_the_same_rollups():
    record(some_engagement())
    folding.fold_new_engagement()
    before = rows_of(ROLLUPS)

    call_command("fold_engagement", "--rebuild-week", week().label)

    assert rows_of(ROLLUPS) == before
    assert folding.fold_new_engagement().events == 0


def test_the_periodic_task_folds_what_is_new():
    record(some_engagement())

    assert tasks.fold_engagement() == 12
    assert tasks.fold_engagement() == 0


# Committed data, several connections.


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_fold_that_fails_before_commit_changes_nothing_and_the_rerun_folds_each_row_once(monkeypatch):
    record(some_engagement())
    folding.fold_new_engagement()
    record(some_engagement(day=2))
    before_rollups, before_watermark = rows_of(ROLLUPS), watermark()

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed after the upserts, before the commit")

    monkeypatch.setattr(folding, "_snapshot_to_store", crash)
    with pytest.raises(RuntimeError):
        folding.fold_new_engagement()

    assert rows_of(ROLLUPS) == before_rollups
    assert watermark() == before_watermark
    monkeypatch.undo()
    assert folding.fold_new_engagement().events == 12
    assert folding.fold_new_engagement().events == 0
    assert_rollups_are_the_log_grouped()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_transaction_that_commits_after_a_fold_passed_it_is_folded_by_the_next_fold():
    early = some_engagement(6)
    record(some_engagement(6, day=2))
    took_its_ids, folded_past_it = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                record(early)  # smaller ids and an older transaction id than the rows above
                took_its_ids.set()
                folded_past_it.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert took_its_ids.wait(timeout=30)
    record(some_engagement(6, day=3))
    assert folding.fold_new_engagement().events == 12  # the slow rows are not committed yet
    folded_past_it.set()
    thread.join()

    assert folding.fold_new_engagement().events == 6
    assert_rollups_are_the_log_grouped()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_limited_folds_catch_up_in_whole_transactions_and_take_each_row_once():
    for day in range(5):
        record(some_engagement(6, day=day))  # five committed transactions of six rows

    steps = []
    while not steps or steps[-1].more:
        steps.append(folding.fold_new_engagement(limit=4))

    # The fourth row's transaction and those before it, each step.
    assert [step.events for step in steps] == [6, 6, 6, 6, 6]
    assert folding.fold_new_engagement(limit=4).events == 0
    assert_rollups_are_the_log_grouped()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_folds_at_once_never_count_a_row_twice():
    record(some_engagement(30))
    barrier = threading.Barrier(2)
    folded: list[int] = []

    def fold():
        try:
            barrier.wait()
            folded.append(folding.fold_new_engagement().events)
        finally:
            connection.close()

    threads = [threading.Thread(target=fold) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The second waited on the watermark's lock, then found nothing new.
    assert sorted(folded) == [0, 30]
    assert_rollups_are_the_log_grouped()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_periodic_fold_skips_while_another_fold_holds_the_watermark():
    folding.fold_new_engagement()  # the watermark row exists from the first fold on
    record(some_engagement())
    holding, release = threading.Event(), threading.Event()

    def settlement_folding():
        try:
            with transaction.atomic():
                folding.fold_new_engagement()
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=settlement_folding)
    thread.start()
    assert holding.wait(timeout=30)
    try:
        assert folding.fold_new_engagement(skip_locked=True).busy
    finally:
        release.set()
        thread.join()
    assert folding.fold_new_engagement(skip_locked=True).events == 0
    assert_rollups_are_the_log_grouped()


def test_rollup_pages_keep_room_so_a_merge_is_a_hot_update():
    """A merge changes no indexed column: with free space on the page it touches no index."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'incentives_engagementrollup'")
        assert cursor.fetchone()[0] == ["fillfactor=80"]
