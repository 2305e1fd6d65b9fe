"""The content mix by day: what was published (supply) and what For You served (exposure), per
content type, in the small table ContentMixDay that the operators' dashboard charts against the
target shares.

Exposure is counted where it happens and costs a page almost nothing: `record_exposure` adds one
to a Redis hash field per served post (`<prefix>:ranking:exposure:<YYYY-MM-DD>`, field = post id),
one HINCRBY per post inside a small Lua script, in one round trip, and never fails the page. Every
ten minutes `roll_up_content_mix` turns today's and yesterday's hashes into content types (one
query) and counts the supply the way the daily rebalance does (ranking.weights), then SETs each
row: a rerun writes the same numbers.

Days are UTC days.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import redis
from django.conf import settings
from django.db import connection
from django.db.models.functions import TruncDate
from django.utils import timezone
from redis.commands.core import Script

from feed.models import Post, PostType
from orbit.resilience import cache_outage

from . import feeds, weights
from .models import ContentMixDay, PostTags

logger = logging.getLogger(__name__)

# Long enough for the rollup to read yesterday's hash after midnight (and a day or two of a
# stopped beat); short enough that Redis holds only a few small hashes.
EXPOSURE_TTL_SECONDS = 3 * 86400


def exposure_key(day: date) -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:ranking:exposure:{day.isoformat()}"


# KEYS[1] the day's hash; ARGV the served post ids, then the expiry in seconds. A script rather than
# a pipeline of HINCRBYs: the same commands run in Redis, but the page's process packs and parses
# one command instead of twenty-one (about 45 µs of CPU per page here, against about 145 µs).
_COUNT_SERVED = """
for index = 1, #ARGV - 1 do redis.call('HINCRBY', KEYS[1], ARGV[index], 1) end
redis.call('EXPIRE', KEYS[1], ARGV[#ARGV])
"""


@functools.cache
def _count_served(client: redis.Redis) -> Script:
    return client.register_script(_COUNT_SERVED)  # EVALSHA, loading the script when Redis lacks it


def record_exposure(*, post_ids: Iterable[int], client: redis.Redis | None = None, now: datetime | None = None) -> None:
    """Count one impression per served post for today (UTC). Best effort: while Redis is known to
    be down this does nothing, and a Redis error is noted (orbit.resilience) and swallowed; a page
    is never refused for a counter."""
    post_ids = list(post_ids)
    if not post_ids or cache_outage.skipping():
        return
    key = exposure_key((now or timezone.now()).astimezone(UTC).date())
    try:
        _count_served(client or feeds.redis_client())(keys=[key], args=[*post_ids, EXPOSURE_TTL_SECONDS])
    except redis.RedisError as exc:
        cache_outage.failed(exc)


def _read_exposure(days: list[date]) -> dict[date, dict[int, int]] | None:
    """day → {post id: impressions} from Redis; None when Redis does not answer."""
    try:
        pipe = feeds.redis_client().pipeline(transaction=False)
        for day in days:
            pipe.hgetall(exposure_key(day))
        hashes = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("Content mix: Redis unreachable, exposure left as stored (%s)", exc)
        return None
    return {
        day: {int(field): int(count) for field, count in raw.items()} for day, raw in zip(days, hashes, strict=True)
    }


# The served posts' content types in one query: the tagger's type when the post has tags (as the
# supply counts them), else the author's choice; posts deleted since are dropped.
_AUTHORS_TYPE = Post._meta.get_field("content_type").column
_EXPOSURE_BY_TYPE_SQL = f"""
SELECT served.day, COALESCE(tags.content_type, post.{_AUTHORS_TYPE}) AS content_type, SUM(served.impressions)
FROM unnest(%(days)s::date[], %(post_ids)s::bigint[], %(impressions)s::bigint[]) AS served(day, post_id, impressions)
JOIN {Post._meta.db_table} post ON post.id = served.post_id
LEFT JOIN {PostTags._meta.db_table} tags ON tags.post_id = served.post_id
GROUP BY 1, 2
"""  # noqa: S608 (table names from model metadata; every value is a parameter)


def exposure_by_type(exposure: dict[date, dict[int, int]]) -> dict[tuple[date, str], int]:
    """(day, content type slug) → impressions, for the per-post counts of `exposure`."""
    days, post_ids, impressions = [], [], []
    for day, counts in exposure.items():
        for post_id, count in counts.items():
            days.append(day)
            post_ids.append(post_id)
            impressions.append(count)
    if not post_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_EXPOSURE_BY_TYPE_SQL, {"days": days, "post_ids": post_ids, "impressions": impressions})
        return {(day, slug): int(total) for day, slug, total in cursor.fetchall()}


def supply_by_day(*, first_day: date, last_day: date) -> dict[tuple[date, str], float]:
    """(day, content type slug) → published posts created that UTC day, counted as the daily
    rebalance counts them (ranking.weights: the tagger's type, weighted by its confidence)."""
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    rows = (
        weights.published_post_tags()
        .filter(post__created_at__gte=since, post__created_at__lt=until)
        .annotate(day=TruncDate("post__created_at", tzinfo=UTC))
        .values("day", "content_type")
        .annotate(posts=weights.supply_count())
        .order_by()
    )
    return {(row["day"], row["content_type"]): float(row["posts"]) for row in rows}


def roll_up_content_mix(*, now: datetime | None = None, days: int = 2) -> int:
    """Write the last `days` UTC days' rows (today and yesterday by default), one per day and content
    type, zeros included, with the exact supply and exposure: a rerun changes nothing, and a post
    unpublished since the last run leaves the supply. When Redis does not answer, the supply is
    still written and each row keeps the impressions it had. Returns how many rows were written."""
    today = (now or timezone.now()).astimezone(UTC).date()
    window = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    slugs = list(PostType.objects.values_list("slug", flat=True))
    supply = supply_by_day(first_day=window[0], last_day=window[-1])
    exposure = _read_exposure(window)
    served = exposure_by_type(exposure) if exposure is not None else {}

    rows = [
        ContentMixDay(
            day=day,
            post_type_id=slug,
            posts=supply.get((day, slug), 0.0),
            impressions=served.get((day, slug), 0),
        )
        for day in window
        for slug in slugs
    ]
    update_fields = ["posts", "impressions", "updated_at"] if exposure is not None else ["posts", "updated_at"]
    ContentMixDay.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["day", "post_type"], update_fields=update_fields
    )
    unknown = {slug for _day, slug in [*supply, *served]} - set(slugs)
    if unknown:  # tags naming a type operators have since removed: nothing to chart them under
        logger.info("Content mix: no content type %s; their posts are left out", ", ".join(sorted(unknown)))
    return len(rows)
