"""Reads on streaming replicas, while everyone reads their own writes from the primary.

With DATABASE_REPLICA_URLS set (orbit/settings.py), each replica is a database alias `replica_1`,
`replica_2`… and two pieces work together:

- `ReplicaReadsMiddleware` decides, once per request, whether that request may read a replica: only
  a GET or HEAD of a page or an API read, not admin, the exchange webhook or the account pages, and
  not from someone who wrote in the last REPLICA_PIN_SECONDS (a signed cookie, or for API tokens an
  entry in the cache, "pins" them to the primary after every successful write of theirs, so the page
  they land on after posting shows the post even while the replicas lag).
- `ReplicaRouter` answers Django's "where does this read go": a replica only while the current
  request allows it, no write has happened in it yet, and no `transaction.atomic` block is open on the
  primary; everything else (writes, select_for_update, Celery tasks, management commands, the shell)
  reads and writes `default`, the primary. Outside a request nothing is ever routed to a replica.

A replica that refuses connections, breaks mid-request or lags more than REPLICA_MAX_LAG_SECONDS
behind is left alone for a few seconds and the request reads the primary: a replica outage costs
throughput, never an error page. Replicas are TEST MIRRORs of `default`, so tests see one database.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db import Error as DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.connection import ConnectionDoesNotExist

from orbit import resilience

logger = logging.getLogger(__name__)

REPLICA_ALIAS_PREFIX = "replica_"
# After a replica failed to answer, it is left alone this long before the next try.
RETRY_SECONDS = 5.0
# How often (per process and replica) the replay lag is measured; between checks the last answer holds.
LAG_CHECK_SECONDS = 5.0
SAFE_METHODS = frozenset({"GET", "HEAD"})
PIN_COOKIE = "orbit_primary"
_PIN_SALT = "orbit.replicas.pin"
_API_PIN_CACHE_KEY = "replica-pin:{digest}"
# Used the instant they are written: a session right after signing in, a token by a script's first call.
PRIMARY_ONLY_MODELS = frozenset({"sessions.session", "creators.apitoken"})
# How far the replica's replay is behind the primary, in seconds: 0 when it has replayed all it received
# (an idle primary sends nothing, which is not lag), else the age of the last transaction it replayed.
LAG_SQL = """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
    END
"""


@dataclass
class RequestReads:
    """Where one request's reads may go; the router fills in the rest as the request runs."""

    replica_allowed: bool
    # The replica this request settled on (DEFAULT_DB_ALIAS when none was usable), chosen at its first read.
    alias: str | None = None
    # A write happened in this request: from then on it reads what it wrote, on the primary.
    wrote: bool = False
    # This thread's primary connection, looked up once: the router asks it on every read whether a
    # transaction is open, and `connections[...]` costs microseconds each time.
    primary: BaseDatabaseWrapper | None = None


_current_reads: ContextVar[RequestReads | None] = ContextVar("orbit_replica_reads", default=None)


def replica_aliases() -> list[str]:
    """The configured replica aliases, `replica_1`, `replica_2`…, in order."""
    return sorted(alias for alias in connections.settings if alias.startswith(REPLICA_ALIAS_PREFIX))


def is_replica(alias: str | None) -> bool:
    return alias is not None and alias.startswith(REPLICA_ALIAS_PREFIX)


# --- Which replicas answer (per process) ------------------------------------------------------------


class ReplicaHealth:
    """One process's knowledge of which replicas answer and how far behind they are.

    Like orbit/resilience.py for Redis: a failure is logged once per outage, and the replica is not
    tried again for RETRY_SECONDS, so a dead replica costs one connection attempt, not one per page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._retry_at: dict[str, float] = {}
        self._lag_checked_at: dict[str, float] = {}
        self._lag_seconds: dict[str, float] = {}
        self._lagging: set[str] = set()

    def skipping(self, alias: str) -> bool:
        return time.monotonic() < self._retry_at.get(alias, 0.0)

    def failed(self, alias: str, exc: BaseException) -> None:
        with self._lock:
            first = alias not in self._retry_at
            self._retry_at[alias] = time.monotonic() + RETRY_SECONDS
        if first:
            logger.warning(
                "Replica %s is unreachable (%s: %s); reading the primary until it answers again.",
                alias,
                type(exc).__name__,
                " ".join(str(exc).split()),
            )
        # A broken connection is dropped, so that the next try after RETRY_SECONDS opens a new one.
        with contextlib.suppress(DatabaseError, ConnectionDoesNotExist):
            connections[alias].close()

    def answered(self, alias: str) -> None:
        if alias in self._retry_at:
            with self._lock:
                was_down = self._retry_at.pop(alias, None) is not None
            if was_down:
                logger.warning("Replica %s answers again", alias)

    def lag_seconds(self, alias: str) -> float:
        """The replica's replay lag, measured at most every LAG_CHECK_SECONDS (raises if it does not answer)."""
        now = time.monotonic()
        if now - self._lag_checked_at.get(alias, float("-inf")) >= LAG_CHECK_SECONDS:
            with connections[alias].cursor() as cursor:
                cursor.execute(LAG_SQL)
                self._lag_seconds[alias] = float(cursor.fetchone()[0])
            self._lag_checked_at[alias] = now
        return self._lag_seconds[alias]

    def too_far_behind(self, alias: str) -> bool:
        lag = self.lag_seconds(alias)
        behind = lag > settings.REPLICA_MAX_LAG_SECONDS
        if behind != (alias in self._lagging):
            (self._lagging.add if behind else self._lagging.discard)(alias)
            if behind:
                logger.warning("Replica %s is %.1f s behind the primary; reading the primary instead.", alias, lag)
            else:
                logger.warning("Replica %s has caught up (%.1f s behind)", alias, lag)
        return behind

    def forget(self) -> None:
        """Back to knowing nothing (tests)."""
        with self._lock:
            self._retry_at.clear()
            self._lag_checked_at.clear()
            self._lag_seconds.clear()
            self._lagging.clear()


health = ReplicaHealth()


def _connect(alias: str) -> None:
    """Opens (or health-checks the persistent) connection to `alias`; raises when it does not answer."""
    connection = connections[alias]
    # With CONN_HEALTH_CHECKS, a kept connection whose server went away is dropped here and reopened,
    # instead of failing at the request's first query.
    connection.close_if_health_check_failed()
    connection.ensure_connection()


def choose_replica() -> str:
    """A replica that answers and keeps up, at random among them to spread the load; else the primary."""
    candidates = [alias for alias in replica_aliases() if not health.skipping(alias)]
    random.shuffle(candidates)
    for alias in candidates:
        try:
            _connect(alias)
            if health.too_far_behind(alias):
                continue
        except DatabaseError as exc:
            health.failed(alias, exc)
            continue
        health.answered(alias)
        return alias
    return DEFAULT_DB_ALIAS


# --- The router -----------------------------------------------------------------------------------


class ReplicaRouter:
    """DATABASE_ROUTERS entry: replicas for the reads a request may make there, the primary for the rest."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        reads = _current_reads.get()
        if reads is None or not reads.replica_allowed or reads.wrote:
            return DEFAULT_DB_ALIAS
        if model._meta.label_lower in PRIMARY_ONLY_MODELS:
            return DEFAULT_DB_ALIAS
        # Inside transaction.atomic the request reads what it is about to change: the primary's rows.
        if reads.primary is None:
            reads.primary = connections[DEFAULT_DB_ALIAS]
        if reads.primary.in_atomic_block:
            return DEFAULT_DB_ALIAS
        if reads.alias is None:
            reads.alias = choose_replica()
        return reads.alias

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        reads = _current_reads.get()
        if reads is not None:
            reads.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Replicas hold the primary's very rows: a post read from a replica may point at a user from the primary.
        ours = {DEFAULT_DB_ALIAS, *replica_aliases()}
        if obj1._state.db in ours and obj2._state.db in ours:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        # A streaming replica is read-only and receives the schema from the primary.
        return db == DEFAULT_DB_ALIAS


def read_connection(model: type[Model]) -> BaseDatabaseWrapper:
    """The connection for a raw SQL read about `model`: where the router sends the ORM's reads of it.

    `django.db.connection` is always the primary; a selector whose raw SQL may read a replica takes
    `read_connection(Post).cursor()` instead. Without replicas it is the primary too."""
    return connections[router.db_for_read(model)]


# --- Read-your-writes pins --------------------------------------------------------------------------


def _token_pin_key(authorization: str) -> str:
    return _API_PIN_CACHE_KEY.format(digest=hashlib.sha256(authorization.encode()).hexdigest()[:32])


def is_pinned(request: HttpRequest) -> bool:
    """True when this person wrote in the last REPLICA_PIN_SECONDS and so must read the primary."""
    pinned = request.get_signed_cookie(PIN_COOKIE, default=None, salt=_PIN_SALT, max_age=settings.REPLICA_PIN_SECONDS)
    if pinned is not None:
        return True
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if not authorization:
        return False
    # API clients rarely keep cookies: their pin is kept under their token, in the cache.
    if cache.get(_token_pin_key(authorization)) is not None:
        return True
    # A cache that does not answer cannot say: the primary is the safe answer.
    return resilience.cache_outage.down


def pin_to_primary(request: HttpRequest, response: HttpResponse) -> None:
    """Sends the writer's next REPLICA_PIN_SECONDS of reads to the primary."""
    seconds = settings.REPLICA_PIN_SECONDS
    response.set_signed_cookie(
        PIN_COOKIE,
        "1",
        salt=_PIN_SALT,
        max_age=seconds,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization:
        cache.set(_token_pin_key(authorization), 1, timeout=seconds)


def _is_a_person(request: HttpRequest) -> bool:
    """Someone who will come back for their writes: signed in, holding a session, or an API token."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    session = getattr(request, "session", None)
    return bool(getattr(session, "session_key", None) or request.META.get("HTTP_AUTHORIZATION"))


_primary_paths: tuple[str, ...] | None = None


def primary_paths() -> tuple[str, ...]:
    """Path prefixes that always read the primary: admin (operators act on what they just saw), the
    exchange's webhook, and the account pages (sign-up, e-mail confirmation, password reset)."""
    global _primary_paths
    if _primary_paths is None:
        prefixes = []
        for name in ("admin:index", "api:exchange_events", "account_login"):
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            # The section, not the page: /admin/, /api/v1/exchange/events/, /accounts/.
            prefixes.append(url if name == "api:exchange_events" else url[: url.index("/", 1) + 1])
        _primary_paths = tuple(prefixes)
    return _primary_paths


def may_read_replica(request: HttpRequest) -> bool:
    if request.method not in SAFE_METHODS:
        return False
    if request.path_info.startswith(primary_paths()):
        return False
    return not is_pinned(request)


class ReplicaReadsMiddleware:
    """Lets a request read a replica when `may_read_replica`, and pins writers to the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_reads.set(RequestReads(replica_allowed=may_read_replica(request)))
        try:
            response = self.get_response(request)
        finally:
            _current_reads.reset(token)
        if request.method not in SAFE_METHODS and response.status_code < 400 and _is_a_person(request):
            pin_to_primary(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A replica that broke mid-request (stopped, failed over, network gone): the same safe request
        again, on the primary, instead of an error page. Any other failure is left to Django."""
        reads = _current_reads.get()
        if reads is None or not reads.replica_allowed or reads.alias is None or not is_replica(reads.alias):
            return None
        if not isinstance(exception, DatabaseError) or _still_answers(reads.alias):
            return None
        health.failed(reads.alias, exception)
        reads.replica_allowed, reads.alias = False, None
        return self.get_response(request)


def _still_answers(alias: str) -> bool:
    connection = connections[alias]
    try:
        return connection.connection is not None and connection.is_usable()
    except DatabaseError:
        return False


@contextlib.contextmanager
def reads_for_request(*, replica_allowed: bool) -> Any:
    """Routes reads as a request would (tests, and code that serves requests outside the middleware)."""
    token = _current_reads.set(RequestReads(replica_allowed=replica_allowed))
    try:
        yield _current_reads.get()
    finally:
        _current_reads.reset(token)
