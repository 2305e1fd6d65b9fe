"""Per-user rate limits for the browser's writes, at the same rates as the API's throttles.

The rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] ("30/hour"), so one setting
governs both doors. Counting is a fixed window in the shared cache: an atomic INCR per
attempt, the key expiring with its window.
"""

from __future__ import annotations

import hashlib
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from .resilience import cache_outage

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(Exception):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def parse_rate(rate: str) -> tuple[int, int]:
    """'30/hour' -> (30, 3600); the period is named by its first letter, as DRF reads it."""
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0]]


def _count(key: str, period: int) -> int:
    """Count one more attempt under `key`. While Redis is down every attempt passes: a rate limit
    is not worth refusing people's writes for (orbit.resilience logs the outage once)."""
    try:
        # add() sets the counter only if absent, so the first attempt of a window starts it at 0.
        cache.add(key, 0, timeout=period + 1)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=period + 1)
            return 1
    except redis.RedisError as exc:
        cache_outage.failed(exc)
        return 0


def check_rate(*, scope: str, user) -> None:
    """Count one attempt of `user` in `scope`; raise RateLimited when over the scope's rate."""
    if user is None or not user.is_authenticated:
        return
    _check(scope=scope, who=str(user.pk))


def check_ip_rate(*, scope: str, ip: str) -> None:
    """Count one attempt from the client address `ip` in `scope`, for signed-out requests that
    have no user to count by; raise RateLimited when over the scope's rate."""
    if not ip:
        return
    # Hashed: an IPv6 address holds colons, which some cache backends refuse in keys.
    _check(scope=scope, who=f"ip:{hashlib.sha256(ip.encode()).hexdigest()[:24]}")


def _check(*, scope: str, who: str) -> None:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(scope)
    if not rate:
        return
    allowed, period = parse_rate(rate)
    now = int(time.time())
    window = now // period
    attempts = _count(f"ratelimit:{scope}:{who}:{window}", period)
    if attempts > allowed:
        retry_after = (window + 1) * period - now
        raise RateLimited(
            _("You are doing that too often. Try again in %(seconds)d seconds.") % {"seconds": retry_after},
            retry_after,
        )
