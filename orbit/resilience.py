"""Orbit keeps serving when Redis is down: Redis holds only what Postgres can rebuild.

Every page and every write works without Redis, only slower: the cache misses (values are computed
from Postgres), rate limits let requests through, For You ranks from Postgres, and tasks that a
periodic sweep catches up on (tagging, For You builds) are skipped. Each process logs one warning
when Redis stops answering and one line when it answers again, not one per request; and after a
failure it leaves Redis alone for RETRY_SECONDS, so a Redis that times out costs one timeout, not
one per cache call.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import wraps

import redis
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5
# A Redis that does not answer; anything else (a wrong type, a bad command) is a bug and is raised.
OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError)


class RedisOutage:
    """One process's knowledge of whether a Redis it uses (`role`) answers."""

    def __init__(self, role: str, consequence: str):
        self.role = role
        self.consequence = consequence
        self.down = False
        self.retry_at = 0.0
        self._lock = threading.Lock()

    def skipping(self) -> bool:
        """True while Redis failed less than RETRY_SECONDS ago: do not even try."""
        return self.down and time.monotonic() < self.retry_at

    def failed(self, exc: Exception) -> None:
        with self._lock:
            first = not self.down
            self.down = True
            self.retry_at = time.monotonic() + RETRY_SECONDS
        if first:
            name = type(exc).__name__
            logger.warning("Redis (%s) is unreachable (%s: %s); %s", self.role, name, exc, self.consequence)

    def answered(self) -> None:
        if self.down:
            with self._lock:
                was_down, self.down = self.down, False
            if was_down:
                logger.warning("Redis (%s) answers again", self.role)


cache_outage = RedisOutage("cache", "serving from Postgres, with rate limits off, until it answers again.")
broker_outage = RedisOutage("Celery broker", "skipping tasks that periodic jobs catch up on, until it answers again.")


class Unreachable(redis.ConnectionError):
    """Raised instead of trying while the cache is known to be down."""


def _tolerant(miss):
    """Run a cache method; while Redis is unreachable, answer `miss(*args, **kwargs)` instead."""

    def decorate(method):
        @wraps(method)
        def call(self, *args, **kwargs):
            if cache_outage.skipping():
                return miss(*args, **kwargs)
            try:
                result = method(self, *args, **kwargs)
            except OUTAGE_ERRORS as exc:
                cache_outage.failed(exc)
                return miss(*args, **kwargs)
            cache_outage.answered()
            return result

        return call

    return decorate


def _raise_unreachable(*args, **kwargs):
    # incr has no miss value: a counter that cannot count must say so (orbit.ratelimit lets it pass).
    raise Unreachable("the cache is unreachable")


class ResilientRedisCache(RedisCache):
    """Django's Redis cache; while Redis is down, an empty cache that takes every write and forgets it.

    So every caller (ours, allauth's rate limits, anything that uses django.core.cache) keeps
    working, without each wrapping each call. `ping()` raises, for the health check."""

    get = _tolerant(lambda key, default=None, version=None: default)(RedisCache.get)
    get_many = _tolerant(lambda keys, version=None: {})(RedisCache.get_many)
    has_key = _tolerant(lambda *args, **kwargs: False)(RedisCache.has_key)
    # An empty cache takes any add() (allauth's rate limits use add() as a lock, and wait for it).
    add = _tolerant(lambda *args, **kwargs: True)(RedisCache.add)
    set = _tolerant(lambda *args, **kwargs: None)(RedisCache.set)
    set_many = _tolerant(lambda *args, **kwargs: [])(RedisCache.set_many)
    touch = _tolerant(lambda *args, **kwargs: False)(RedisCache.touch)
    delete = _tolerant(lambda *args, **kwargs: False)(RedisCache.delete)
    delete_many = _tolerant(lambda *args, **kwargs: None)(RedisCache.delete_many)
    incr = _tolerant(_raise_unreachable)(RedisCache.incr)

    def ping(self) -> None:
        """Raises when Redis does not answer (never skipped: health must see the truth)."""
        self._cache.get_client(None).ping()


def enqueue(task, *args, **kwargs) -> bool:
    """Send `task` to the broker after a commit; False (logged once per outage) when the broker is down.

    Only for work a periodic job also does (tagging: tag_untagged; For You: rebuild_active_feeds):
    the write has been committed, so a broker outage must not turn it into an error page."""
    if broker_outage.skipping():
        return False
    try:
        # Fire and forget: with a result wanted, Celery would first subscribe to the result on Redis,
        # and retry that for 20 seconds when Redis is down.
        task.apply_async(args=args, kwargs=kwargs, retry=False, ignore_result=True)
    except Exception as exc:  # kombu's OperationalError, redis' errors: whichever, the broker is down
        broker_outage.failed(exc)
        return False
    broker_outage.answered()
    return True
