"""The engagement log's weekly partitions: created ahead, listed, and detached for archiving.

`feed_engagement` is RANGE-partitioned on `occurred_at`, one partition per ISO week in UTC (Monday
00:00 UTC to the next Monday), named `feed_engagement_<ISO year>w<ISO week>` (feed_engagement_2026w49),
plus `feed_engagement_default` for any row no week partition takes (a clock far off, a late row for a
week never created). The migration (feed/migrations/0019) laid this out; this module keeps it going:

* `ensure_partitions` creates the coming weeks (a daily periodic job, and the command). The database
  function `feed_engagement_add_week` (from the migration) creates one week with its TRUNCATE trigger;
  row triggers and indexes come from the parent by themselves.
* `detach_partition` takes an old week out of the log into a table of its own, for archiving.
* `list_partitions` says what is there, for the `engagement_partitions` command.

The DEFAULT partition should stay empty. Nothing here moves rows out of it (the log is append-only,
and a DELETE is refused); `ensure_partitions` logs an error when it holds rows, and skips a week whose
rows sit there (Postgres would refuse that week's partition). See docs/operations.md.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from orbit import locks

logger = logging.getLogger(__name__)

PARENT = "feed_engagement"
DEFAULT_PARTITION = "feed_engagement_default"
WEEK = timedelta(days=7)
# Creating or detaching a partition takes an ACCESS EXCLUSIVE lock on the whole log, so it queues
# behind any long read of it and every insert then queues behind it. Waiting this long at most
# bounds that stall; a job that gave up tries again the next day (weeks are made four ahead).
LOCK_TIMEOUT = "5s"
# The youngest a week may be (counted from its end) to be detached. Every reader of the log for
# money or ranking looks back far less: the settlement its week plus at most 60 days of a post's
# earning window (a draft can be reopened and recomputed for weeks after), the ranking interest
# half-life 14 days. A year and a month also keeps a full year of history for the year-over-year
# views operators ask for. One exception: the settlement asks whether a reader *ever* followed a
# creator before; follows in a detached week no longer count (see docs/operations.md).
MIN_ARCHIVE_AGE = timedelta(days=400)

_PARTITION_NAME = re.compile(r"^feed_engagement_(\d{4})w(\d{2})$")
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class PartitionError(ValueError):
    """A partition request the log refuses (a week too recent, unknown or already detached)."""


@dataclass(frozen=True)
class WeekPartition:
    name: str
    # None for the DEFAULT partition.
    starts_at: datetime | None
    ends_at: datetime | None
    # False once detached for archiving: a table of its own, no longer read through feed_engagement.
    attached: bool
    # The planner's estimate (exact for the DEFAULT partition, which should hold none).
    rows: int


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week (in UTC) holding `moment`."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time.min, tzinfo=UTC)


def parse_week(label: str) -> datetime:
    """Monday 00:00 UTC of an ISO week written `2026-W01`."""
    match = _ISO_WEEK.match(label.strip())
    if not match:
        raise PartitionError(f"{label!r} is not an ISO week such as 2026-W01.")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as error:
        raise PartitionError(f"{label!r} is not an ISO week such as 2026-W01.") from error
    return datetime.combine(monday, time.min, tzinfo=UTC)


def partition_name(monday: datetime) -> str:
    year, week, _ = monday.astimezone(UTC).isocalendar()
    return f"{PARENT}_{year:04d}w{week:02d}"


def ensure_partitions(*, weeks_ahead: int = 4, now: datetime | None = None) -> list[str]:
    """Create the partitions of this week and the `weeks_ahead` after it that are missing; return
    the names created. Safe to run any number of times, and concurrently: an advisory lock makes the
    callers take turns, and the second finds the weeks made."""
    if weeks_ahead < 0:
        raise ValueError("weeks_ahead must not be negative.")
    this_week = week_start(now or timezone.now())
    created: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        locks.lock(locks.Namespace.ENGAGEMENT_PARTITIONS)
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        for offset in range(weeks_ahead + 1):
            monday = this_week + offset * WEEK
            if _attached(cursor, partition_name(monday)):
                continue
            stranded = _default_rows(cursor, starts_at=monday, ends_at=monday + WEEK)
            if stranded:
                # Postgres refuses a partition whose rows sit in DEFAULT; they stay there, readable.
                logger.error(
                    "Engagement week %s not created: %s of its rows are in %s.",
                    partition_name(monday),
                    stranded,
                    DEFAULT_PARTITION,
                )
                continue
            cursor.execute("SELECT feed_engagement_add_week(%s)", [monday])
            name = cursor.fetchone()[0]
            if name:
                created.append(name)
        in_default = _default_rows(cursor)
    if in_default:
        logger.error(
            "%s holds %s engagement row(s) no week partition takes: see docs/operations.md.",
            DEFAULT_PARTITION,
            in_default,
        )
    if created:
        logger.info("Engagement partitions created: %s", ", ".join(created))
    return created


def detach_partition(week: str | datetime, *, now: datetime | None = None) -> str:
    """Detach one week's partition from the log; return the table that now holds its rows alone.

    The week must have ended at least MIN_ARCHIVE_AGE ago. The detached table keeps its rows,
    indexes and constraints, and stays append-only (its UPDATE/DELETE trigger, which a partition
    inherits from the log, is added back; its TRUNCATE trigger stays); dump it and drop it to archive.

    Not DETACH … CONCURRENTLY: Postgres refuses it on a table with a DEFAULT partition. The plain
    DETACH holds an ACCESS EXCLUSIVE lock on the log for a moment (no row moves), and gives up
    after LOCK_TIMEOUT rather than stall the inserts queued behind it.
    """
    monday = week_start(week) if isinstance(week, datetime) else parse_week(week)
    name = partition_name(monday)
    newest_allowed_end = week_start(now or timezone.now()) - MIN_ARCHIVE_AGE
    if monday + WEEK > newest_allowed_end:
        raise PartitionError(
            f"{name} is too recent to detach: only weeks that ended {MIN_ARCHIVE_AGE.days} days or more "
            f"before the current week may be archived."
        )
    with transaction.atomic(), connection.cursor() as cursor:
        locks.lock(locks.Namespace.ENGAGEMENT_PARTITIONS)
        if not _attached(cursor, name):
            raise PartitionError(f"{name} is not a partition of {PARENT} (never created, or detached already).")
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}"')
        # A detached partition loses the row trigger it inherited; the archive stays append-only.
        cursor.execute(
            f'CREATE TRIGGER feed_engagement_append_only BEFORE UPDATE OR DELETE ON "{name}" '
            "FOR EACH ROW EXECUTE FUNCTION feed_engagement_append_only()"
        )
        # Nothing inserts into an archive; and the log's sequence must not depend on it (dropping the
        # log, as reversing migration 0019 does, would otherwise be refused).
        cursor.execute(f'ALTER TABLE "{name}" ALTER COLUMN id DROP DEFAULT')
    logger.info("Engagement week %s detached from %s for archiving.", name, PARENT)
    return name


def list_partitions() -> list[WeekPartition]:
    """Every week partition, attached or detached (oldest first), then the DEFAULT partition."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relispartition AND i.inhparent = %s::regclass, c.reltuples
            FROM pg_class c
            LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
            WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
              AND c.relname ~ '^feed_engagement_[0-9]{4}w[0-9]{2}$'
            ORDER BY c.relname
            """,
            [PARENT],
        )
        weeks = [
            WeekPartition(
                name=name,
                starts_at=_starts_at(name),
                ends_at=_starts_at(name) + WEEK,
                attached=bool(attached),
                rows=max(int(estimate), 0),
            )
            for name, attached, estimate in cursor.fetchall()
        ]
        default = WeekPartition(
            name=DEFAULT_PARTITION, starts_at=None, ends_at=None, attached=True, rows=_default_rows(cursor)
        )
    return [*weeks, default]


def _starts_at(name: str) -> datetime:
    match = _PARTITION_NAME.match(name)
    if not match:
        raise PartitionError(f"{name} is not a week partition's name.")
    return datetime.combine(date.fromisocalendar(int(match[1]), int(match[2]), 1), time.min, tzinfo=UTC)


def _attached(cursor: CursorWrapper, name: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_inherits WHERE inhparent = %s::regclass AND inhrelid = to_regclass(%s)", [PARENT, name]
    )
    return cursor.fetchone() is not None


def _default_rows(cursor: CursorWrapper, *, starts_at: datetime | None = None, ends_at: datetime | None = None) -> int:
    if starts_at is None or ends_at is None:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")  # noqa: S608 - a constant
    else:
        cursor.execute(
            f"SELECT count(*) FROM {DEFAULT_PARTITION} WHERE occurred_at >= %s AND occurred_at < %s",  # noqa: S608
            [starts_at, ends_at],
        )
    return int(cursor.fetchone()[0])
