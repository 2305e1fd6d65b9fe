"""Folding the engagement log into the settlement's rollups as it arrives.

The settlement (contributions.py) groups a week's events by reader, creator, post and action
before anything else; over a raw week of millions of rows that grouping is most of its time. The
fold does it ahead, a minute's events at a time, into `EngagementRollup` (one row per week, reader,
creator, post and action, with aggregates that merge: counts, sums, minima, maxima), beside
`FoldedTradeClick` (the clicks' own times, for conversions) and `EngagementRollupWeek` (per week:
the dwell cap folded with and the latest event folded).

What is new. `FoldWatermark` holds the database snapshot (pg_current_snapshot()) of the statement
that read the previous batch; a row is new when that snapshot could not see it:
`xact >= xmin AND NOT pg_visible_in_snapshot(xact, snapshot)` on `feed_engagement.xact`, the id of
the transaction that wrote it. Unlike a watermark on `id`, this cannot miss a transaction that took
its ids early and committed late. Rows without `xact` (written before feed 0018) are taken by the
first fold only.

Exactly once. The fold locks the watermark row, reads the new rows, upserts the rollups and
returns the snapshot all in ONE statement (so the rows read and the snapshot stored are the same
snapshot), then stores the snapshot, in one transaction: a crash before commit leaves everything as
it was; a second fold finds nothing new; two folds never overlap (the lock). Read committed: the
statement after the lock takes a fresh snapshot, which sees everything an earlier fold stored.

A fold inside a transaction that itself wrote engagement (a test, or the settlement run in one)
folds that transaction's rows too; as they are not committed, the stored snapshot keeps the
transaction invisible and `PartlyFoldedTransaction` remembers the last id folded from it.

The dwell cap. Time spent is capped per event before summing, with the cap in force
(ActionWeight's per_view_cap_seconds). When an operator changes it, the next fold refolds every
open week (not approved or paid) from the raw log with the new cap; closed weeks are marked mixed
and, if ever recomputed, read from the raw log.

See docs/incentives.md#6-scale-rollups-folded-as-engagement-arrives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from .models import ActionWeight, Settlement
from .weeks import Week

logger = logging.getLogger(__name__)

# The engagement kinds the settlement reads (contributions.READ_KINDS): the counted actions plus
# unlike (4) and unfollow (9). Nothing else is folded.
FOLDED_KINDS = [1, 2, 3, 4, 5, 6, 8, 9, 10]
# The periodic fold's rows per transaction: a minute's engagement is far less; a backlog is caught
# up in commits of this size.
FOLD_BATCH = 1_000_000
DEFAULT_DWELL_CAP_SECONDS = 300  # as contributions.Parameters.current() without a time-spent row


class FoldError(RuntimeError):
    pass


@dataclass(frozen=True)
class FoldResult:
    events: int  # engagement rows folded
    rollup_rows: int  # rollup rows inserted or merged into
    refolded_weeks: list[str] = field(default_factory=list)  # refolded for a new dwell cap
    busy: bool = False  # another fold held the watermark; nothing done
    more: bool = False  # `limit` left new rows for the next fold


@dataclass(frozen=True)
class RollupWeek:
    week: str
    dwell_cap_ms: int | None
    last_occurred_at: datetime
    events: int


def current_dwell_cap_ms() -> int:
    row = ActionWeight.objects.filter(kind=ActionWeight.Action.TIME_SPENT).first()
    return (row.per_view_cap_seconds if row else DEFAULT_DWELL_CAP_SECONDS) * 1000


# One batch: grouped per rollup key and merged into the rollups, the trade clicks kept, the weeks
# updated. `{source}` selects the rows (columns of feed_engagement plus week_starts_at).
_UPSERT_CTES = """
    batch AS MATERIALIZED ({source}),
    grouped AS (
        SELECT week_starts_at, actor_id, creator_id, post_id,
               (CASE kind WHEN 4 THEN 3 WHEN 9 THEN 8 ELSE kind END)::smallint,
               count(*) FILTER (WHERE kind NOT IN (4, 9))::int,
               sum(CASE WHEN kind IN (4, 9) THEN -1 ELSE 1 END)::int,
               min(occurred_at),
               max(occurred_at) FILTER (WHERE kind NOT IN (4, 9)),
               sum(least(dwell_ms, %(dwell_cap_ms)s))::bigint,
               min(dwell_ms),
               min(hashtextextended(nullif(fingerprint, ''), 0)),
               max(hashtextextended(nullif(fingerprint, ''), 0)),
               min(hashtextextended(nullif(network_prefix, ''), 0))
        FROM batch
        GROUP BY 1, 2, 3, 4, 5
    ),
    upserted AS (
        INSERT INTO incentives_engagementrollup AS r
            (week_starts_at, reader_id, creator_id, post_id, kind, events, net, first_at, last_at, dwell_ms,
             min_dwell_ms, fingerprint, other_fingerprint, network)
        SELECT * FROM grouped
        ON CONFLICT ON CONSTRAINT engagement_rollup_key DO UPDATE SET
            events = r.events + excluded.events,
            net = r.net + excluded.net,
            first_at = least(r.first_at, excluded.first_at),
            last_at = greatest(r.last_at, excluded.last_at),
            dwell_ms = r.dwell_ms + excluded.dwell_ms,
            min_dwell_ms = least(r.min_dwell_ms, excluded.min_dwell_ms),
            fingerprint = least(r.fingerprint, excluded.fingerprint),
            other_fingerprint = greatest(r.other_fingerprint, excluded.other_fingerprint),
            network = least(r.network, excluded.network)
        RETURNING 1
    ),
    clicks AS (
        INSERT INTO incentives_foldedtradeclick (reader_id, post_id, occurred_at)
        SELECT actor_id, post_id, occurred_at FROM batch WHERE kind = 10 AND actor_id IS NOT NULL
        RETURNING 1
    ),
    weeks AS (
        INSERT INTO incentives_engagementrollupweek AS w (week_starts_at, week, dwell_cap_ms, last_occurred_at, events)
        SELECT week_starts_at, to_char(week_starts_at AT TIME ZONE %(time_zone)s, 'IYYY-"W"IW'), %(dwell_cap_ms)s,
               max(occurred_at), count(*)
        FROM batch
        GROUP BY week_starts_at
        ON CONFLICT (week_starts_at) DO UPDATE SET
            last_occurred_at = greatest(w.last_occurred_at, excluded.last_occurred_at),
            events = w.events + excluded.events
        RETURNING 1
    )
"""

# The engagement columns a batch carries, and the ISO week (in the settlement's zone) of each row.
_BATCH_COLUMNS = """
    e.id, e.xact, e.actor_id, e.creator_id, e.post_id, e.kind, e.dwell_ms, e.occurred_at, e.fingerprint,
    e.network_prefix,
    date_trunc('week', e.occurred_at AT TIME ZONE %(time_zone)s) AT TIME ZONE %(time_zone)s AS week_starts_at
"""

# Rows a fold already took: seen by the stored snapshot (rows without xact: by the first fold), or
# the folded part of a transaction read while open.
_FOLDED_BEFORE = """
    (%(snapshot)s::pg_snapshot IS NOT NULL
     AND (e.xact IS NULL
          OR pg_visible_in_snapshot(e.xact::text::xid8, %(snapshot)s::pg_snapshot)
          OR EXISTS (SELECT 1 FROM incentives_partlyfoldedtransaction t
                     WHERE t.xact = e.xact AND e.id <= t.folded_up_to_id)))
"""

# A row no fold took yet, by the BRIN index on xact (rows below the old snapshot's xmin are all seen).
_IS_NEW = """
    e.kind = ANY(%(kinds)s)
    AND (%(snapshot)s::pg_snapshot IS NULL
         OR (e.xact >= %(xmin)s AND NOT pg_visible_in_snapshot(e.xact::text::xid8, %(snapshot)s::pg_snapshot)))
    AND NOT EXISTS (SELECT 1 FROM incentives_partlyfoldedtransaction t
                    WHERE t.xact = e.xact AND e.id <= t.folded_up_to_id)
"""
_NEW_ROWS = f"SELECT {_BATCH_COLUMNS} FROM feed_engagement e WHERE {_IS_NEW}"

# What a fold returns: the statement's own snapshot, rows folded, rollup rows written, the limit's
# cutoff (None: all new rows folded), whether rows are left, the last id of this transaction's rows.
_FOLD_RESULT = """
    SELECT pg_current_snapshot()::text,
           (SELECT count(*) FROM batch),
           (SELECT count(*) FROM upserted),
           {below},
           {more},
           (SELECT max(id) FROM batch WHERE xact = %(own_xact)s),
           -- Read so that the clicks' and weeks' inserts run.
           (SELECT count(*) FROM clicks) + (SELECT count(*) FROM weeks)
"""

_FOLD_SQL = f"""
    WITH {_UPSERT_CTES.format(source=_NEW_ROWS)}
    {_FOLD_RESULT.format(below="NULL::bigint", more="false")}
"""

# A limited fold takes whole transactions below `cutoff` only: the transaction ids up to the
# limit-th new row's (in transaction order), and at least those below the old snapshot's xmax (so
# the stored snapshot still sees everything the old one saw). Rows without xact (only on the first
# fold) come first. The cutoff reads only the new rows' transaction ids, in a bounded top-N sort: a
# backlog of ten million rows is not copied aside at every step, only scanned; the batch then reads
# the rows below the cutoff, which the BRIN index on xact narrows to the oldest part of the backlog.
_LIMITED_BATCH = f"""
    SELECT {_BATCH_COLUMNS} FROM feed_engagement e
    WHERE {_IS_NEW}
      AND (e.xact IS NULL OR e.xact < coalesce((SELECT below FROM cutoff), 9223372036854775807))
"""
_NEW_TRANSACTIONS = f"SELECT coalesce(e.xact, 0) AS xact FROM feed_engagement e WHERE {_IS_NEW}"
_LIMITED_FOLD_SQL = f"""
    WITH cutoff AS MATERIALIZED (
        -- No row when there are at most `limit` new rows: then the batch is all of them.
        SELECT greatest(%(old_xmax)s, xact + 1) AS below
        FROM ({_NEW_TRANSACTIONS}) AS new_transactions
        ORDER BY xact
        OFFSET %(limit)s LIMIT 1
    ),
    {_UPSERT_CTES.format(source=_LIMITED_BATCH)}
    {
    _FOLD_RESULT.format(
        below="(SELECT below FROM cutoff)",
        more=f"EXISTS (SELECT 1 FROM ({_NEW_TRANSACTIONS}) AS later WHERE xact >= (SELECT below FROM cutoff))",
    )
}
"""

_REFOLD_BATCH = f"""
    SELECT {_BATCH_COLUMNS} FROM feed_engagement e
    WHERE e.occurred_at >= %(starts_at)s AND e.occurred_at < %(ends_at)s AND e.kind = ANY(%(kinds)s)
      AND {_FOLDED_BEFORE}
"""
_REFOLD_SQL = f"""
    WITH {_UPSERT_CTES.format(source=_REFOLD_BATCH)}
    SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM upserted),
           (SELECT count(*) FROM clicks) + (SELECT count(*) FROM weeks)
"""


def fold_new_engagement(*, limit: int | None = None, skip_locked: bool = False) -> FoldResult:
    """Fold the engagement no fold has taken yet into the rollups, in one transaction (or a savepoint
    of the caller's). `limit`: about this many rows at most (whole transactions; a catch-up in
    steps); `skip_locked`: return `busy` at once when another fold holds the watermark."""
    with transaction.atomic(), connection.cursor() as cursor:
        watermark = _lock_watermark(cursor, skip_locked=skip_locked)
        if watermark is None:
            return FoldResult(events=0, rollup_rows=0, busy=True)
        snapshot, folded_cap_ms = watermark
        cursor.execute("SHOW transaction_isolation")
        if cursor.fetchone()[0] != "read committed":
            # Under repeatable read the statement below would reuse a snapshot taken before the lock,
            # and could take rows the previous fold took.
            raise FoldError("The fold needs a read committed transaction.")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        cap_ms = current_dwell_cap_ms()
        refolded: list[str] = []
        if snapshot is not None and folded_cap_ms != cap_ms:
            refolded = _refold_for_new_cap(cursor, snapshot=snapshot, cap_ms=cap_ms)
        # The row lock above gave this transaction an id; its own rows are readable but not committed.
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        own_xact = cursor.fetchone()[0]
        xmin, xmax, _ = _parse_snapshot(snapshot) if snapshot else (0, 0, [])
        cursor.execute(
            _FOLD_SQL if limit is None else _LIMITED_FOLD_SQL,
            {
                "kinds": FOLDED_KINDS,
                "snapshot": snapshot,
                "xmin": xmin,
                "old_xmax": xmax,
                "limit": limit,
                "time_zone": settings.ORBIT_SETTLEMENT_TZ,
                "dwell_cap_ms": cap_ms,
                "own_xact": own_xact,
            },
        )
        # The clicks' and weeks' counts are read so that their inserts run (a CTE runs when read or not).
        new_snapshot, events, rollup_rows, below, more, own_folded_up_to, _others = cursor.fetchone()
        stored = _snapshot_to_store(new_snapshot, below=below, own_xact=own_xact)
        if own_folded_up_to is not None:
            cursor.execute(
                "INSERT INTO incentives_partlyfoldedtransaction (xact, folded_up_to_id) VALUES (%s, %s) "
                "ON CONFLICT (xact) DO UPDATE SET folded_up_to_id = excluded.folded_up_to_id",
                [own_xact, own_folded_up_to],
            )
        # Transactions the stored snapshot sees whole need no partial mark any more.
        cursor.execute(
            "DELETE FROM incentives_partlyfoldedtransaction "
            "WHERE xact <> %s AND pg_visible_in_snapshot(xact::text::xid8, %s::pg_snapshot)",
            [own_xact, stored],
        )
        cursor.execute(
            "UPDATE incentives_foldwatermark SET snapshot = %s, dwell_cap_ms = %s, folded_at = now(), "
            "events_folded = events_folded + %s WHERE id = 1",
            [stored, cap_ms, events],
        )
    if events:
        logger.info("Folded %s engagement rows into %s rollup rows", events, rollup_rows)
    return FoldResult(events=events, rollup_rows=rollup_rows, refolded_weeks=refolded, more=more)


def rebuild_week(week: Week) -> int:
    """Refold one week from the raw log: the rows folds took so far, with the cap in force. Rows
    not folded yet stay for the next fold. Returns the rows folded."""
    if week.time_zone != settings.ORBIT_SETTLEMENT_TZ:
        raise FoldError(f"Rollups are weeks in {settings.ORBIT_SETTLEMENT_TZ}, not {week.time_zone}.")
    with transaction.atomic(), connection.cursor() as cursor:
        snapshot, _cap = _lock_watermark(cursor, skip_locked=False) or (None, None)
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cap_ms = current_dwell_cap_ms()
        # With a new cap, the other open weeks are refolded by the next fold (the watermark keeps the old).
        return _refold_week(cursor, week, snapshot=snapshot, cap_ms=cap_ms)


def rollup_week(week: Week) -> RollupWeek | None:
    """What the rollups of `week` hold; None when no event of it was folded."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT week, dwell_cap_ms, last_occurred_at, events FROM incentives_engagementrollupweek "
            "WHERE week_starts_at = %s",
            [week.starts_at],
        )
        row = cursor.fetchone()
    return RollupWeek(*row) if row else None


def fold_lag_seconds(*, now: datetime) -> float | None:
    """Seconds since the last fold (None before the first): /healthz and the load bench read it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT folded_at FROM incentives_foldwatermark WHERE id = 1")
        row = cursor.fetchone()
    return (now - row[0]).total_seconds() if row and row[0] else None


def database_clock() -> float:
    """The database server's time (Unix seconds): what the fold's snapshot is taken against, and
    the same clock on every process."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM clock_timestamp())::float8")
        return cursor.fetchone()[0]


def _lock_watermark(cursor: CursorWrapper, *, skip_locked: bool) -> tuple[str | None, int | None] | None:
    """The stored snapshot and cap, the row locked until commit; None if `skip_locked` and busy."""
    lock = "FOR UPDATE SKIP LOCKED" if skip_locked else "FOR UPDATE"
    cursor.execute(f"SELECT snapshot, dwell_cap_ms FROM incentives_foldwatermark WHERE id = 1 {lock}")
    row = cursor.fetchone()
    if row is None:
        cursor.execute("SELECT 1 FROM incentives_foldwatermark WHERE id = 1")
        if cursor.fetchone() is not None:  # there, but another fold holds it
            return None
        # The very first fold (or a flushed test database): create the row, then lock it.
        cursor.execute("INSERT INTO incentives_foldwatermark (id, events_folded) VALUES (1, 0) ON CONFLICT DO NOTHING")
        cursor.execute("SELECT snapshot, dwell_cap_ms FROM incentives_foldwatermark WHERE id = 1 FOR UPDATE")
        row = cursor.fetchone()
    return row[0], row[1]


def _refold_for_new_cap(cursor: CursorWrapper, *, snapshot: str, cap_ms: int) -> list[str]:
    """Refold the open weeks with the new cap; mark the closed ones mixed."""
    closed = list(Settlement.objects.exclude(status=Settlement.Status.DRAFT).values_list("week", flat=True))
    cursor.execute("UPDATE incentives_engagementrollupweek SET dwell_cap_ms = NULL WHERE week = ANY(%s)", [closed])
    cursor.execute("SELECT week FROM incentives_engagementrollupweek WHERE NOT (week = ANY(%s))", [closed])
    labels = sorted(row[0] for row in cursor.fetchall())
    for label in labels:
        _refold_week(cursor, Week.parse(label), snapshot=snapshot, cap_ms=cap_ms)
    logger.info("Dwell cap now %s ms: refolded %s", cap_ms, ", ".join(labels) or "no week")
    return labels


def _refold_week(cursor: CursorWrapper, week: Week, *, snapshot: str | None, cap_ms: int) -> int:
    cursor.execute("DELETE FROM incentives_engagementrollup WHERE week_starts_at = %s", [week.starts_at])
    cursor.execute(
        "DELETE FROM incentives_foldedtradeclick WHERE occurred_at >= %s AND occurred_at < %s",
        [week.starts_at, week.ends_at],
    )
    cursor.execute("DELETE FROM incentives_engagementrollupweek WHERE week_starts_at = %s", [week.starts_at])
    cursor.execute(
        _REFOLD_SQL,
        {
            "starts_at": week.starts_at,
            "ends_at": week.ends_at,
            "kinds": FOLDED_KINDS,
            "snapshot": snapshot,
            "time_zone": settings.ORBIT_SETTLEMENT_TZ,
            "dwell_cap_ms": cap_ms,
        },
    )
    return cursor.fetchone()[0]


def _parse_snapshot(text: str) -> tuple[int, int, list[int]]:
    xmin, xmax, xip = text.split(":")
    return int(xmin), int(xmax), [int(xid) for xid in xip.split(",") if xid]


def _snapshot_to_store(snapshot: str, *, below: int | None, own_xact: int) -> str:
    """The snapshot to store: the statement's own, seeing only transactions below `below` (a limited
    fold), and never this transaction (not committed: its later rows must still be new)."""
    xmin, xmax, xip = _parse_snapshot(snapshot)
    if below is not None:
        xmax = min(xmax, below)
        xip = [xid for xid in xip if xid < xmax]
        xmin = min(xmin, xmax)
    if xmin <= own_xact < xmax and own_xact not in xip:
        xip = sorted([*xip, own_xact])
    return f"{xmin}:{xmax}:{','.join(str(xid) for xid in xip)}"
