"""Reading through the shared cache without depending on it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)
T = TypeVar("T")


def cached(key: str, compute: Callable[[], T], *, timeout: int) -> T:
    """The cached value of `key`, computing and storing it when absent. When the cache (Redis) is
    unreachable, the value is computed: a page may be slower then, never broken."""
    try:
        value = cache.get(key)
    except Exception as exc:
        logger.warning("Cache unreachable for %s (%s); computing it", key, type(exc).__name__)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout)
        except Exception as exc:
            logger.warning("Cache unreachable for %s (%s); not stored", key, type(exc).__name__)
    return value
