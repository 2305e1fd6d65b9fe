"""For You lists: built by Celery per user into Redis, kept fresh, pushed to followers on publish.
ranking/for_you.py serves pages from them (with a Postgres fallback that never fails).

Celery builds each active user's list (ranking.scoring) into four Redis keys:
  foryou:<user>        sorted set, post id → display score (the first item has the highest)
  foryou:<user>:why    hash, post id → encoded reason
  foryou:<user>:log    hash, post id → "source|score|propensity", for the impression log
  foryou:<user>:meta   hash, built_at, the weights version, the model version and the exploration
                       share of the list
The web request only reads: a page is a ZREVRANGEBYSCORE below the cursor's score. When Redis is
down or the list is missing, the page is ranked from the bounded candidate set in Postgres with
the stored interest profile, and (if Redis answers) a build is queued.

See docs/ranking.md#serving.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from creators.models import User
from feed.models import Engagement
from orbit import redis_clients

from . import scoring
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


def list_key(user_id: int, suffix: str = "") -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:foryou:{user_id}{suffix}"


# --- Building ------------------------------------------------------------------------------


def build_for_you(*, user_id: int) -> int:
    """Rank the user's For You list and store it; returns the list's length."""
    # Unmarked before ranking, not after: engagement during this build queues the next one.
    redis_client().delete(list_key(user_id, ":queued"))
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
    store_list(
        user_id=user_id,
        ranked=ranked,
        weights_version=context.weights_version,
        model_version=context.model_version or scoring.MODEL_VERSION,
        explore_share=settings.ORBIT_FOR_YOU_EXPLORE_SHARE,
    )
    return len(ranked)


def store_list(
    *,
    user_id: int,
    ranked: list[Ranked],
    weights_version: int,
    model_version: str = scoring.MODEL_VERSION,
    explore_share: float = 0.0,
) -> None:
    key, why, log, meta = (list_key(user_id, suffix) for suffix in ("", ":why", ":log", ":meta"))
    ttl = settings.ORBIT_FOR_YOU_LIST_TTL
    # Written under temporary names and renamed in one MULTI, so a reader sees the old list or the
    # new one, never half of either.
    pipe = redis_client().pipeline(transaction=True)
    pipe.delete(f"{key}:next", f"{why}:next", f"{log}:next")
    if ranked:
        count = len(ranked)
        # Members as the text Redis stores anyway (the client would encode an int the same way).
        pipe.zadd(f"{key}:next", {str(item.post_id): count - position for position, item in enumerate(ranked)})
        pipe.hset(f"{why}:next", mapping={item.post_id: item.reason.encode() for item in ranked})
        pipe.hset(f"{log}:next", mapping={item.post_id: encode_log(item) for item in ranked})
        pipe.rename(f"{key}:next", key)
        pipe.rename(f"{why}:next", why)
        pipe.rename(f"{log}:next", log)
    else:
        pipe.delete(key, why, log)
    pipe.hset(
        meta,
        mapping={
            "built_at": time.time(),
            "weights": weights_version,
            "model": model_version,
            "explore_share": repr(explore_share),
            "length": len(ranked),
        },
    )
    for name in (key, why, log, meta):
        pipe.expire(name, ttl)
    pipe.execute()


def encode_log(item: Ranked) -> str:
    return f"{item.source}|{item.score!r}|{item.propensity!r}"


def decode_log(raw: bytes | None) -> tuple[str, float | None, float]:
    """(source, score, propensity) of a list item; a post pushed on top after the build has none."""
    if raw is None:
        return "pushed", None, 1.0
    source, score, propensity = raw.decode().split("|")
    return source, float(score), float(propensity)


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
        script(keys=[list_key(follower_id), list_key(follower_id, ":why")], args=[post_id, reason], client=pipe)
    return sum(pipe.execute())


def list_age(*, user_ids: list[int]) -> dict[int, float | None]:
    """Seconds since each user's list was built (None when there is none)."""
    pipe = redis_client().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.hget(list_key(user_id, ":meta"), "built_at")
    now = time.time()
    return {
        user_id: (now - float(built_at)) if built_at else None
        for user_id, built_at in zip(user_ids, pipe.execute(), strict=True)
    }


def drop_list(*, user_id: int) -> None:
    redis_client().delete(*(list_key(user_id, suffix) for suffix in ("", ":why", ":log", ":meta")))


def mark_queued(*, user_ids: list[int]) -> list[int]:
    """Those of these users not already queued for a build, now marked as queued.

    Builds coalesce: a user stays marked until their build starts, so neither a page nor the
    periodic refresh queues them again meanwhile. The mark expires after QUEUED_SECONDS in case
    the task is lost with its worker."""
    pipe = redis_client().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.set(list_key(user_id, ":queued"), 1, nx=True, ex=QUEUED_SECONDS)
    return [user_id for user_id, marked in zip(user_ids, pipe.execute(), strict=True) if marked]


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
