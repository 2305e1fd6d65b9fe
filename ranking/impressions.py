"""The impression log: what each reader was shown in For You, in which place, why, and how likely
the list was to put it there (ranking.models.Impression).

A page never writes to Postgres. It pushes one entry onto a Redis list in one round trip: the reader,
the time, a page id, the model version and, per item, the post, its place, its source, its score and
its propensity. The list is capped at QUEUE_LIMIT pages (the oldest go first when nothing drains it).
`store_queued` (beat, every 15 s) moves the entries into Postgres in batches: read a batch, insert it,
commit, then trim what was read. A crash between the commit and the trim reads the batch again; the
unique (page, place) constraint turns the second insert into nothing, so each item is stored once.

Sampling keeps or drops a reader's whole day (ORBIT_IMPRESSION_SAMPLE, by a hash of reader and day),
so the engagement of a kept day always finds the impressions that led to it.

`attributed_engagement` joins each engagement with a post to its impression: the same reader's
latest impression of the post at or before the event, within ATTRIBUTION_WINDOW.

See docs/ranking.md#the-impression-log.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from redis.commands.core import Script

from creators.models import User
from feed.models import Post
from orbit.resilience import cache_outage

from .models import Impression

logger = logging.getLogger(__name__)

# Pages waiting in Redis at most (about 20 items each): a stopped drain costs the oldest, never memory.
QUEUE_LIMIT = 200_000
# Pages read from the queue per insert, and batches per run (a run stops early when the queue is empty).
BATCH_PAGES = 500
MAX_BATCHES = 40
# An engagement is credited to the latest impression of its post shown this long before it at most.
ATTRIBUTION_WINDOW = timedelta(hours=24)


def window_seconds() -> int:
    """ATTRIBUTION_WINDOW as a query parameter (whole seconds)."""
    return int(ATTRIBUTION_WINDOW.total_seconds())


# The engagement `e` that followed impression `i`: the same reader's rows on the same post after it,
# within the attribution window (%(window)s seconds), and before the post was shown to them again
# (what follows a later showing belongs to that one). For queries over `ranking_impression i`.
FOLLOWING_ENGAGEMENT_SQL = """
    LEFT JOIN feed_engagement e
      ON e.actor_id = i.reader_id AND e.post_id = i.post_id
     AND e.occurred_at >= i.served_at AND e.occurred_at < i.served_at + %(window)s * interval '1 second'
     AND NOT EXISTS (
         SELECT 1 FROM ranking_impression later
         WHERE later.reader_id = i.reader_id AND later.post_id = i.post_id AND later.surface = i.surface
           AND later.served_at > i.served_at AND later.served_at <= e.occurred_at)
"""
# Rows deleted per statement when old impressions are purged.
PURGE_CHUNK = 50_000


@dataclass(frozen=True)
class Served:
    """One item of a served page, as the list that placed it described it."""

    post_id: int
    source: str
    score: float | None
    propensity: float


def queue_key() -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:ranking:impressions"


def is_sampled(reader_id: int, day: date | None = None) -> bool:
    """Whether the reader's impressions of `day` (UTC, default today) are logged: the same answer in
    every process (a hash, not Python's per-process `hash`)."""
    share = settings.ORBIT_IMPRESSION_SAMPLE
    if share >= 1:
        return True
    if share <= 0:
        return False
    day = day or timezone.now().astimezone(UTC).date()
    digest = hashlib.blake2b(f"{reader_id}:{day.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


# KEYS[1] the queue; ARGV[1] the page's entry, ARGV[2] the most pages kept.
_PUSH = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
"""


@functools.cache
def _push(client: redis.Redis) -> Script:
    return client.register_script(_PUSH)


def record_served(
    *,
    reader_id: int,
    items: list[Served],
    first_place: int,
    model_version: str,
    client: redis.Redis | None,
    explore_share: float = 0.0,
    built_at: datetime | None = None,
    surface: str = Impression.Surface.FOR_YOU,
    now: datetime | None = None,
) -> None:
    """Queue a served page's impressions (places from `first_place` on) of a list ranked at
    `built_at` (default: now, a page ranked in the request). Best effort, like the exposure counter:
    nothing without Redis, and a Redis error is noted and swallowed."""
    if not items or client is None or cache_outage.skipping():
        return
    now = now or timezone.now()
    entry = {
        "reader": reader_id,
        "at": now.timestamp(),
        "built": (built_at or now).timestamp(),
        "page": uuid.uuid4().hex,
        "surface": surface,
        "model": model_version,
        "share": explore_share,
        "items": [[item.post_id, item.source, item.score, item.propensity] for item in items],
        "first": first_place,
    }
    try:
        _push(client)(keys=[queue_key()], args=[json.dumps(entry, separators=(",", ":")), QUEUE_LIMIT])
    except redis.RedisError as exc:
        cache_outage.failed(exc)


def store_queued(*, client: redis.Redis, batch_pages: int = BATCH_PAGES, max_batches: int = MAX_BATCHES) -> int:
    """Move queued pages into Postgres; returns the impressions stored or already there (a copy
    already stored is dropped by the constraint). An entry that cannot be read (not JSON, missing
    fields), or an item whose reader or post is not in the database, is logged and skipped, never
    retried forever: one bad entry must not hold the queue up."""
    stored = 0
    key = queue_key()
    for _batch in range(max_batches):
        entries = client.lrange(key, 0, batch_pages - 1)
        if not entries:
            break
        rows = _known([row for raw in entries for row in _rows_of(raw)])
        with transaction.atomic():
            Impression.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
        stored += len(rows)
        # Only now: a crash before this line reads the batch again, and the constraint drops the copy.
        client.ltrim(key, len(entries), -1)
        if len(entries) < batch_pages:
            break
    return stored


def _known(rows: list[Impression]) -> list[Impression]:
    """The rows whose reader and post exist (two index lookups per batch), so the insert cannot fail."""
    readers = set(User.objects.filter(pk__in={row.reader_id for row in rows}).values_list("pk", flat=True))
    posts = set(Post.objects.filter(pk__in={row.post_id for row in rows}).values_list("pk", flat=True))
    known = [row for row in rows if row.reader_id in readers and row.post_id in posts]
    if len(known) < len(rows):
        logger.warning("Skipped %d impressions of readers or posts that do not exist", len(rows) - len(known))
    return known


def _rows_of(raw: bytes | str) -> list[Impression]:
    try:
        entry = json.loads(raw)
        served_at = datetime.fromtimestamp(float(entry["at"]), tz=UTC)
        built_at = datetime.fromtimestamp(float(entry["built"]), tz=UTC)
        page = uuid.UUID(entry["page"])
        return [
            Impression(
                served_at=served_at,
                reader_id=int(entry["reader"]),
                post_id=int(post_id),
                surface=entry["surface"],
                page=page,
                position=int(entry["first"]) + offset,
                source=source,
                score=None if score is None else float(score),
                propensity=float(propensity),
                model_version=entry["model"],
                explore_share=float(entry["share"]),
                list_built_at=built_at,
            )
            for offset, (post_id, source, score, propensity) in enumerate(entry["items"])
        ]
    except (ValueError, KeyError, TypeError) as exc:
        logger.error("Skipped an impression entry that cannot be read (%s): %.200r", exc, raw)
        return []


def purge_old(*, now: datetime | None = None) -> int:
    """Delete impressions older than ORBIT_IMPRESSION_RETENTION_DAYS, in chunks (each its own short
    transaction, so the log stays writable meanwhile); returns the rows deleted."""
    before = (now or timezone.now()) - timedelta(days=settings.ORBIT_IMPRESSION_RETENTION_DAYS)
    deleted = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM ranking_impression WHERE id IN ("
                " SELECT id FROM ranking_impression WHERE served_at < %s LIMIT %s)",
                [before, PURGE_CHUNK],
            )
            deleted += cursor.rowcount
            if cursor.rowcount < PURGE_CHUNK:
                return deleted


@dataclass(frozen=True)
class Attributed:
    """An engagement with a post, and the impression that led to it (None: not shown in a logged
    list, e.g. opened from a profile, a search or a link)."""

    engagement_id: int
    reader_id: int
    post_id: int
    kind: int
    occurred_at: datetime
    impression_id: int | None
    position: int | None
    source: str | None
    propensity: float | None
    model_version: str | None


def attributed_engagement(
    *, since: datetime, until: datetime, surface: str = Impression.Surface.FOR_YOU
) -> list[Attributed]:
    """Signed-in engagement with posts in [since, until), each with the reader's latest impression of
    the post on `surface` at or before it and within ATTRIBUTION_WINDOW: one index probe per event
    (impression_reader_post_time)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.id, e.actor_id, e.post_id, e.kind, e.occurred_at,
                   i.id, i.position, i.source, i.propensity, i.model_version
            FROM feed_engagement e
            LEFT JOIN LATERAL (
                SELECT id, position, source, propensity, model_version
                FROM ranking_impression
                WHERE reader_id = e.actor_id AND post_id = e.post_id AND surface = %(surface)s
                  AND served_at <= e.occurred_at AND served_at > e.occurred_at - %(window)s * interval '1 second'
                ORDER BY served_at DESC
                LIMIT 1
            ) AS i ON true
            WHERE e.occurred_at >= %(since)s AND e.occurred_at < %(until)s
              AND e.actor_id IS NOT NULL AND e.post_id IS NOT NULL
            ORDER BY e.occurred_at, e.id
            """,
            {"since": since, "until": until, "surface": surface, "window": window_seconds()},
        )
        return [Attributed(*row) for row in cursor.fetchall()]
