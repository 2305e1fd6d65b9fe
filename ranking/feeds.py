"""Serving For You: a ready list per user in Redis, and a Postgres fallback that never fails.

Celery builds each active user's list (ranking.scoring) into three Redis keys:
  foryou:<user>        sorted set, post id → display score (the first item has the highest)
  foryou:<user>:why    hash, post id → encoded reason
  foryou:<user>:meta   hash, built_at and the weights version the list was built with
The web request only reads: a page is a ZREVRANGEBYSCORE below the cursor's score. When Redis is
down or the list is missing, the page is ranked from the bounded candidate set in Postgres with
the stored interest profile, and (if Redis answers) a build is queued.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from creators.models import User
from feed.models import Engagement
from orbit import redis_clients
from orbit.resilience import cache_outage, enqueue

from . import cards, scoring, weights
from .scoring import Ranked, Reason

logger = logging.getLogger(__name__)

# The request-time fallback ranks from this share of the candidates a Celery build uses.
FALLBACK_CANDIDATE_SHARE = 0.4
# Ids read per page beyond the page size, so posts removed or hidden since the build can drop
# out and the page still comes out full.
OVERFETCH = 10
# How long a user marked as queued for a build is not queued again, should the build be lost.
QUEUED_SECONDS = 600


def redis_client() -> redis.Redis:
    """Short timeouts: a Redis that does not answer must turn into the fallback, not a slow page."""
    return redis_clients.client(settings.REDIS_URL, connect_timeout=0.25, timeout=0.5)


def _key(user_id: int, suffix: str = "") -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:foryou:{user_id}{suffix}"


# --- Building ------------------------------------------------------------------------------


def build_for_you(*, user_id: int) -> int:
    """Rank the user's For You list and store it; returns the list's length."""
    # Unmarked before ranking, not after: engagement during this build queues the next one.
    redis_client().delete(_key(user_id, ":queued"))
    context = scoring.Context.live()
    ranked = scoring.rank_for_user(
        user_id, context=context, limit=settings.ORBIT_FOR_YOU_LIST_LENGTH, refresh_interest=True
    )
    if len(ranked) < settings.ORBIT_FOR_YOU_PAGE_SIZE:
        ranked += scoring.latest_fill(
            user_id,
            exclude={item.post_id for item in ranked},
            limit=settings.ORBIT_FOR_YOU_PAGE_SIZE - len(ranked),
            allow_seen=not ranked,
        )
    store_list(user_id=user_id, ranked=ranked, weights_version=context.weights_version)
    return len(ranked)


def store_list(*, user_id: int, ranked: list[Ranked], weights_version: int) -> None:
    key, why, meta = _key(user_id), _key(user_id, ":why"), _key(user_id, ":meta")
    ttl = settings.ORBIT_FOR_YOU_LIST_TTL
    # Written under temporary names and renamed in one MULTI, so a reader sees the old list or the
    # new one, never half of either.
    pipe = redis_client().pipeline(transaction=True)
    pipe.delete(f"{key}:next", f"{why}:next")
    if ranked:
        count = len(ranked)
        pipe.zadd(f"{key}:next", {item.post_id: count - position for position, item in enumerate(ranked)})
        pipe.hset(f"{why}:next", mapping={item.post_id: item.reason.encode() for item in ranked})
        pipe.rename(f"{key}:next", key)
        pipe.rename(f"{why}:next", why)
    else:
        pipe.delete(key, why)
    pipe.hset(meta, mapping={"built_at": time.time(), "weights": weights_version, "length": len(ranked)})
    for name in (key, why, meta):
        pipe.expire(name, ttl)
    pipe.execute()


# Put a new post at the top of a list that exists; lists not built yet get it at their build.
_PUSH_TOP = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local score = 1
if top[2] then score = tonumber(top[2]) + 1 end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], score, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""


def push_to_followers(*, post_id: int, author_id: int, username: str, follower_ids: list[int]) -> int:
    """A followed creator's new post goes to the top of each follower's ready list within seconds."""
    script = redis_client().register_script(_PUSH_TOP)
    reason = Reason("follow", username).encode()
    pipe = redis_client().pipeline(transaction=False)
    for follower_id in follower_ids:
        script(keys=[_key(follower_id), _key(follower_id, ":why")], args=[post_id, reason], client=pipe)
    return sum(pipe.execute())


def list_age(*, user_ids: list[int]) -> dict[int, float | None]:
    """Seconds since each user's list was built (None when there is none)."""
    pipe = redis_client().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.hget(_key(user_id, ":meta"), "built_at")
    now = time.time()
    return {
        user_id: (now - float(built_at)) if built_at else None
        for user_id, built_at in zip(user_ids, pipe.execute(), strict=True)
    }


def drop_list(*, user_id: int) -> None:
    redis_client().delete(_key(user_id), _key(user_id, ":why"), _key(user_id, ":meta"))


# --- Reading ---------------------------------------------------------------------------


@dataclass
class Cursor:
    """Where the next page starts: below `score` in a Redis list, or after `offset` items."""

    score: float | None
    offset: int

    def encode(self) -> str:
        raw = f"{'' if self.score is None else repr(self.score)}|{self.offset}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str | None) -> Cursor:
        if not cursor:
            return cls(score=None, offset=0)
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            score, offset = raw.split("|")
            parsed = cls(score=float(score) if score else None, offset=int(offset))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            parsed = None
        if parsed is None or parsed.offset < 0 or parsed.offset > settings.ORBIT_FOR_YOU_LIST_LENGTH:
            raise ValidationError({"cursor": _("That page link is broken; start again from the first page.")})
        return parsed


@dataclass
class ForYouPage:
    items: list  # Post cards, each with .why (Reason)
    next_cursor: str | None
    source: str  # "redis" or "fallback": for logs and the benchmark, not shown to users


def for_you_page(*, user, cursor: str | None = None, size: int | None = None, renderer=None) -> ForYouPage:
    """A page of the user's For You list, each item with its reason. Items are Post rows for the
    browser, or the API's JSON cards with `renderer=cards.CachedCards(...)`."""
    size = size or settings.ORBIT_FOR_YOU_PAGE_SIZE
    renderer = renderer or cards.PostObjects(user=user)
    position = Cursor.decode(cursor)
    if cache_outage.skipping():
        return _page_from_postgres(user=user, position=position, size=size, renderer=renderer, client=None)
    try:
        page = _page_from_redis(user=user, position=position, size=size, renderer=renderer)
    except redis.RedisError as exc:
        cache_outage.failed(exc)  # logged once per outage, not per page
        return _page_from_postgres(user=user, position=position, size=size, renderer=renderer, client=None)
    if page is None:
        _queue_build(user.pk)
        return _page_from_postgres(user=user, position=position, size=size, renderer=renderer, client=redis_client())
    return page


def _page_from_redis(*, user, position: Cursor, size: int, renderer) -> ForYouPage | None:
    client = redis_client()
    key = _key(user.pk)
    below = f"({position.score!r}" if position.score is not None else "+inf"
    pipe = client.pipeline(transaction=False)
    pipe.zrevrangebyscore(key, below, "-inf", start=0, num=size + OVERFETCH, withscores=True)
    pipe.hget(_key(user.pk, ":meta"), "weights")
    entries, built_with = pipe.execute()
    if not entries and position.score is None:
        return None  # no list yet (or it expired)
    if built_with is not None and int(built_with) != weights.weights_version():
        _queue_build(user.pk)  # built before the operators' latest change; serve it meanwhile
    ids = [int(member) for member, _score in entries]
    reasons = client.hmget(_key(user.pk, ":why"), ids) if ids else []
    why = {pk: Reason.decode(raw.decode()) for pk, raw in zip(ids, reasons, strict=True) if raw}
    visible = renderer.visible(ids, client)
    items, last_score = [], None
    for pk, score in zip(ids, (score for _member, score in entries), strict=True):
        last_score = score
        if pk in visible:
            items.append(renderer.with_reason(visible[pk], why.get(pk, Reason("latest"))))
            if len(items) == size:
                break
    # More follows when entries remain after the last one used, or the read came back full.
    more = entries and (last_score != entries[-1][1] or len(entries) == size + OVERFETCH)
    next_cursor = Cursor(score=last_score, offset=position.offset + len(items)).encode() if more else None
    return ForYouPage(items=items, next_cursor=next_cursor, source="redis")


def _page_from_postgres(*, user, position: Cursor, size: int, renderer, client) -> ForYouPage:
    """Rank from a smaller bounded candidate set with the stored profile; the request writes nothing."""
    ranked = scoring.rank_for_user(
        user.pk,
        context=scoring.Context.live(candidate_share=FALLBACK_CANDIDATE_SHARE),
        limit=position.offset + size + OVERFETCH,
        refresh_interest=False,
    )
    window = ranked[position.offset :]
    if not window and position.offset == 0:
        window = scoring.latest_fill(user.pk, exclude=set(), limit=size + OVERFETCH, allow_seen=True)
    ids = [item.post_id for item in window]
    visible = renderer.visible(ids, client)
    items, consumed = [], 0
    for position_in_window, item in enumerate(window):
        if item.post_id in visible:
            items.append(renderer.with_reason(visible[item.post_id], item.reason))
            consumed = position_in_window + 1
            if len(items) == size:
                break
    more = position.offset + consumed < len(ranked)
    next_cursor = Cursor(score=None, offset=position.offset + consumed).encode() if more else None
    return ForYouPage(items=items, next_cursor=next_cursor, source="fallback")


def mark_queued(*, user_ids: list[int]) -> list[int]:
    """Those of these users not already queued for a build, now marked as queued.

    Builds coalesce: a user stays marked until their build starts, so neither a page nor the
    periodic refresh queues them again meanwhile. The mark expires after QUEUED_SECONDS in case
    the task is lost with its worker."""
    pipe = redis_client().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.set(_key(user_id, ":queued"), 1, nx=True, ex=QUEUED_SECONDS)
    return [user_id for user_id, marked in zip(user_ids, pipe.execute(), strict=True) if marked]


def _queue_build(user_id: int) -> None:
    """Queue a build unless one is queued; silently skipped when Redis is unreachable."""
    from . import tasks

    try:
        # The broker is Redis too: a page must not fail for it, nor leave the user marked unqueued.
        if mark_queued(user_ids=[user_id]) and not enqueue(tasks.build_for_you, user_id):
            redis_client().delete(_key(user_id, ":queued"))
    except redis.RedisError as exc:
        cache_outage.failed(exc)


# --- Keeping lists fresh -------------------------------------------------------------------


def active_user_ids() -> list[int]:
    """People who signed in within ORBIT_FOR_YOU_ACTIVE_DAYS or engaged in the last day."""
    now = timezone.now()
    recent_actors = Engagement.objects.filter(occurred_at__gt=now - timedelta(days=1), actor__isnull=False).values(
        "actor_id"
    )
    return list(
        User.objects.filter(
            Q(last_login__gt=now - timedelta(days=settings.ORBIT_FOR_YOU_ACTIVE_DAYS)) | Q(pk__in=recent_actors),
            is_active=True,
            suspended_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def users_due_for_rebuild(*, user_ids: list[int], engaged_since_id: int | None) -> tuple[list[int], int]:
    """Of these users, those whose list is missing or older than ORBIT_FOR_YOU_MAX_AGE, or who
    engaged after event `engaged_since_id` (their interests moved; None on the very first run).
    Also returns the newest event id, the next run's `engaged_since_id`."""
    ages = list_age(user_ids=user_ids)
    due = {user_id for user_id, age in ages.items() if age is None or age > settings.ORBIT_FOR_YOU_MAX_AGE}
    newest = Engagement.objects.order_by("-id").values_list("id", flat=True).first() or 0
    if engaged_since_id is not None:
        # A range of the primary key, not a list of every active user in the query.
        engaged = Engagement.objects.filter(id__gt=engaged_since_id, id__lte=newest, actor_id__isnull=False)
        due |= set(engaged.values_list("actor_id", flat=True).distinct()) & set(user_ids)
    return sorted(due), newest
