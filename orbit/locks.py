"""Postgres advisory locks, each in its own namespace.

Every advisory lock Orbit takes uses the two-key form, `pg_advisory_xact_lock(namespace, key)`:
the first int4 names what is being serialized (one row of `Namespace`), the second says which one
(a user, a week, a network and post). Two locks in different namespaces never wait on each other,
however their keys compare; a bare `pg_advisory_xact_lock(a, b)` with a user id in `a` would wait
on whatever else happens to use that number as a namespace.

Keys must fit an int4. An int that fits is used as is; anything else (a larger int, a string, a
tuple such as (viewer id, post id)) is folded into an int4 by a stable hash (BLAKE2b, the same in
every process and every Postgres version). Two different keys may fold to the same int4: then two
unrelated callers in the same namespace wait for each other once in four billion pairs, which is
harmless. The same key always folds to the same int4, so two callers that must exclude each other
always do: a fold can cause a false wait, never a wrong grant.

The transaction-level locks here are released at commit or rollback, so they must be taken inside
`transaction.atomic()`; outside one, autocommit would release them before the next statement.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.db import connections

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1

Key = int | str | tuple


class CursorLike(Protocol):
    """A DB-API cursor: Django's, or psycopg's on a connection of its own."""

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> object: ...

    def fetchone(self) -> Any: ...


class Namespace(enum.IntEnum):
    """What each lock serializes. Values are the first key of every lock; they never change once
    used (a process still running the old code would stop excluding the new one) and never repeat."""

    # One signed-in viewer's view of one post: record_view's check-then-insert (one view per day).
    VIEW = 7_101
    # One signed-in reader's time spent: record_dwell reads what was credited, then adds to it.
    DWELL = 7_102
    # One network's signed-out event of one kind on one post: the same check-then-insert, per `fp`.
    SIGNED_OUT_EVENT = 7_501
    # The engagement log's partitions (one key, 0): creating weeks ahead and detaching old ones take turns.
    ENGAGEMENT_PARTITIONS = 7_110
    # One settlement week: draft, approve, pay and reopen of that week run one at a time.
    SETTLEMENT_WEEK = 7_301
    # The pool carry-over between weeks: read and written by one settlement step at a time.
    SETTLEMENT_CARRYOVER = 7_302
    # One user's fills and trade cards: card verification on publish against the webhook storing fills.
    CARD_VERIFICATION = 7_401
    # Switching the active tagger model (one key, 0): two activations would both switch theirs on.
    TAGGER_ACTIVATION = 7_601
    # Switching the active learned ranker (one key, 0), likewise.
    RANKER_ACTIVATION = 7_602
    # One bench database on the server (session-level, on the maintenance database): one run at a time.
    BENCH_DATABASE = 7_901


def fold(key: Key) -> int:
    """The int4 second key for `key`: an int4 itself, anything else a stable 32-bit hash of it."""
    if isinstance(key, int) and not isinstance(key, bool) and INT4_MIN <= key <= INT4_MAX:
        return int(key)
    digest = hashlib.blake2b(json.dumps(_plain(key), ensure_ascii=False).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _plain(key: Key) -> int | str | list:
    """`key` as plain JSON values, so that an IntEnum and its int (or a str enum and its value) lock
    the same thing, and ("ab", 1) and ("a", "b1") do not."""
    if isinstance(key, bool):
        raise TypeError("A lock key is an int, a str or a tuple of them, not a bool.")
    if isinstance(key, int):
        return int(key)
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, tuple):
        return [_plain(part) for part in key]
    raise TypeError(f"A lock key is an int, a str or a tuple of them, not {type(key).__name__}.")


def lock(namespace: Namespace, key: Key = 0, *, using: str = "default") -> None:
    """Wait for, then hold until the transaction ends, the lock on `key` in `namespace`."""
    _require_transaction(using)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [int(namespace), fold(key)])


def lock_many(namespace: Namespace, keys: Iterable[Key], *, using: str = "default") -> None:
    """`lock` for several keys in one statement, taken in ascending order of their folded int4, so
    two callers locking overlapping sets cannot deadlock (every caller must use this order)."""
    _require_transaction(using)
    folded = sorted({fold(key) for key in keys})
    if not folded:
        return
    with connections[using].cursor() as cursor:
        # The ordered subquery fixes the locking order inside the one statement.
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, key)) FROM (SELECT unnest(%s::int[]) AS key ORDER BY 1) AS keys",
            [int(namespace), folded],
        )


def try_lock(namespace: Namespace, key: Key = 0, *, using: str = "default") -> bool:
    """Take the lock if it is free, without waiting; True if taken (held until the transaction ends)."""
    _require_transaction(using)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [int(namespace), fold(key)])
        return bool(cursor.fetchone()[0])


def try_session_lock(cursor: CursorLike, namespace: Namespace, key: Key = 0) -> bool:
    """Take a session-level lock on `cursor`'s connection if it is free; True if taken. It is held
    until that connection closes (or pg_advisory_unlock), whatever its transactions do: for
    processes such as benches that hold one for their whole run on a connection of their own."""
    cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [int(namespace), fold(key)])
    return bool(cursor.fetchone()[0])


def _require_transaction(using: str) -> None:
    if not connections[using].in_atomic_block:
        raise RuntimeError("A transaction-level advisory lock outside transaction.atomic() is released at once.")
