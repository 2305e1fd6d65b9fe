"""Direct Redis clients, for what Django's cache API cannot do (lists, sorted sets, Lua, claims).

One client per server and set of timeouts, made on first use and kept for the process (each holds
a connection pool). Keyed by URL, so a test that points REDIS_URL at a Redis of its own gets a
client for that one without anything to reset.
"""

from __future__ import annotations

import functools

import redis


@functools.cache
def client(url: str, *, connect_timeout: float, timeout: float) -> redis.Redis:
    # Short timeouts everywhere: a Redis that does not answer must turn into a fallback, not a hang.
    return redis.Redis.from_url(
        url, socket_connect_timeout=connect_timeout, socket_timeout=timeout, retry_on_timeout=False
    )
