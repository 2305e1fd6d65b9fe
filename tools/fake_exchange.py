"""A fake of the exchange's money API, for development and tests: Orbit's payouts and tips go here.

    python -m tools.fake_exchange [--port 8766] [--db var/fake-exchange.sqlite3] [--webhook-url URL]

`make run` starts it when EXCHANGE_API_URL is the local default (http://127.0.0.1:8766). Tests start
it in a thread: `FakeExchange(db_path=..., quiet=True).start()`, then `.url`, `.control(...)`, `.stop()`.

It speaks the contract of markets/exchange_api.py: requests signed with HMAC-SHA256 of
"<timestamp>.<METHOD>.<request target>.<raw body>" (401 otherwise), POST /v1/transfers under an
Idempotency-Key (same key and body: the same answer; another body: 409), GET /v1/transfers/<key>,
GET /v1/reports/transfers?date=YYYY-MM-DD, and `payout.completed` / `payout.failed` (`tip.completed` /
`tip.failed` for a tip) events sent to Orbit's webhook, signed as markets/exchange.py expects,
shortly after each accepted transfer.

Accounts, by uid:
- "uid-…" ending "-frozen": account_frozen;    "uid-…" ending "-closed": account_closed;
- "uid-…" ending "-bounce": accepted, then <kind>.failed (failure_code account_closed) at confirmation;
- any other "uid-…", and any all-digit uid (the exchange's own form, as the demo community's),
  exists, holding 1,000.00 of every currency at first; anything else is unknown_account. A tip
  debits `from_uid` when accepted (insufficient_funds below its balance); a payout debits Orbit's
  pool (1,000,000.00). The payee is credited on completion; a failed transfer gives the money back.
Every refusal is remembered under its key: retrying the key gives the same refusal.

Misbehaviour, for tests and by hand (POST /_control, JSON, any subset; GET /_control shows it):
  {"delay_ms": 0, "down": false, "lose_answers": 0, "confirm": "auto", "confirm_delay_ms": 300,
   "duplicate_confirmations": 0.0, "webhook_url": "..."}
- delay_ms: every /v1 request waits this long before it is handled (then handled all the same);
- down: every /v1 request answers 503 and changes nothing;
- lose_answers: the next n POST /v1/transfers are applied, then the connection is dropped unanswered;
- confirm: "auto" settles pending transfers confirm_delay_ms after acceptance; "manual" leaves them
  pending until POST /_control/confirm {"idempotency_key": …, "outcome": "completed" | "failed",
  "failure_code": …};
- duplicate_confirmations: the fraction of confirmations sent twice (the same event id), 0 to 1.
Confirmations go out in batches of up to 50 events per request (the two copies of a duplicated one
never in the same request); a request Orbit does not answer with a 2xx is sent again, waiting 0.5 s,
1 s, 2 s … (at most a minute), 10 times in all. GET /_control/accounts/<uid>?currency=USDT shows a balance. /_control
needs no signature: the fake listens on 127.0.0.1 only, unless told otherwise.

State (transfers, answers, balances, undelivered events) lives in one SQLite file, so it survives a
restart; every write is one BEGIN IMMEDIATE transaction, so threads (and processes) never interleave.
Nothing here imports Django.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import signal
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8766
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
DEFAULT_DB = ROOT / "var" / "fake-exchange.sqlite3"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/api/v1/exchange/events/"
# Orbit's published development credentials (orbit/settings.py uses the same on a local machine).
DEV_API_KEY = "orbit-dev"
DEV_API_SECRET = "orbit-dev-api-secret"  # noqa: S105
DEV_WEBHOOK_SECRET = "orbit-dev-webhook-secret"  # noqa: S105
TOLERANCE_SECONDS = 300

# Money is kept in integer cents (hundredths of the currency unit).
STARTING_BALANCE_CENTS = 1_000_00
POOL_UID = "orbit-pool"
POOL_STARTING_CENTS = 1_000_000_00
AMOUNT = re.compile(r"^\d{1,12}(?:\.\d{1,2})?$")
CURRENCY = re.compile(r"^[A-Z0-9]{2,10}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9:_.\-]{1,100}$")
KINDS = ("payout", "tip")
FAILURE_CODES = ("account_frozen", "account_closed", "unknown_account", "insufficient_funds")
DELIVERY_ATTEMPTS = 10
EVENTS_PER_DELIVERY = 50

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    idempotency_key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    refusal TEXT,              -- the 422 body, for a refused key
    transfer_id TEXT           -- the transfer, for an accepted one
);
CREATE TABLE IF NOT EXISTS transfers (
    transfer_id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    to_uid TEXT NOT NULL,
    from_uid TEXT,
    reference TEXT NOT NULL,
    memo TEXT NOT NULL,
    status TEXT NOT NULL,      -- pending, completed, failed
    failure_code TEXT,
    created_at REAL NOT NULL,
    confirm_due_at REAL NOT NULL,
    completed_at REAL
);
CREATE INDEX IF NOT EXISTS transfers_pending ON transfers (confirm_due_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS transfers_completed_at ON transfers (completed_at);
CREATE TABLE IF NOT EXISTS balances (
    uid TEXT NOT NULL,
    currency TEXT NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (uid, currency)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    delivered_at REAL,
    given_up INTEGER NOT NULL DEFAULT 0
);
"""


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass
class Control:
    delay_ms: int = 0
    down: bool = False
    lose_answers: int = 0
    confirm: str = "auto"
    confirm_delay_ms: int = 300
    duplicate_confirmations: float = 0.0
    webhook_url: str = ""


def sign(message: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def request_signature(*, secret: str, timestamp: str, method: str, target: str, body: bytes) -> str:
    """The X-Orbit-Signature of an API request (the same function as markets/exchange_api.py's)."""
    return sign(f"{timestamp}.{method}.{target}.".encode() + body, secret)


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def account_refusal(uid: str) -> str | None:
    """The refusal code the exchange gives for `uid`, if any (the rules in the module docstring)."""
    if uid.isascii() and uid.isdigit():
        return None  # the exchange's own numeric uids (the demo community's) all exist
    if not uid.startswith("uid-"):
        return "unknown_account"
    if uid.endswith("-frozen"):
        return "account_frozen"
    if uid.endswith("-closed"):
        return "account_closed"
    return None


class FakeExchange:
    def __init__(
        self,
        *,
        db_path: Path | str = DEFAULT_DB,
        api_key: str = DEV_API_KEY,
        api_secret: str = DEV_API_SECRET,
        webhook_secret: str = DEV_WEBHOOK_SECRET,
        webhook_url: str = "",
        quiet: bool = False,
    ):
        self.db_path = Path(db_path)
        self.api_key = api_key
        self.api_secret = api_secret
        self.webhook_secret = webhook_secret
        self.quiet = quiet
        self._control = Control(webhook_url=webhook_url)
        self._control_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    # --- Running ------------------------------------------------------------------------------

    def bind(self, host: str = "127.0.0.1", port: int = 0) -> FakeExchange:
        self._server = ExchangeServer((host, port), Handler, self)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeExchange:
        """Serves in background threads (tests); `serve_forever` is the command line's way."""
        self.bind(host, port)
        assert self._server is not None
        server = self._server
        # A short poll, so stop() (each test's teardown) returns within 50 ms rather than half a second.
        self._spawn(lambda: server.serve_forever(poll_interval=0.05))
        self._spawn(self._confirm_and_deliver)
        return self

    def serve_forever(self) -> None:
        assert self._server is not None
        self._spawn(self._confirm_and_deliver)
        try:
            self._server.serve_forever()
        finally:
            self._stopping.set()
            self._server.server_close()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def log(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)

    # --- Control ------------------------------------------------------------------------------

    def control(self, **changes) -> dict:
        """Changes how the fake behaves (the fields of Control) and returns the whole state."""
        with self._control_lock:
            current = asdict(self._control)
            unknown = set(changes) - set(current)
            if unknown:
                raise Refusal(400, "invalid", f"Unknown control fields: {', '.join(sorted(unknown))}.")
            updated = Control(**{**current, **changes})
            if updated.confirm not in ("auto", "manual"):
                raise Refusal(400, "invalid", 'confirm is "auto" or "manual".')
            try:
                updated.delay_ms = max(0, int(updated.delay_ms))
                updated.lose_answers = max(0, int(updated.lose_answers))
                updated.confirm_delay_ms = max(0, int(updated.confirm_delay_ms))
                updated.duplicate_confirmations = min(1.0, max(0.0, float(updated.duplicate_confirmations)))
            except (TypeError, ValueError):
                raise Refusal(
                    400,
                    "invalid",
                    "delay_ms, lose_answers, confirm_delay_ms are counts; duplicate_confirmations a fraction.",
                ) from None
            updated.down = bool(updated.down)
            updated.webhook_url = str(updated.webhook_url or "")
            self._control = updated
            return asdict(updated)

    def control_state(self) -> Control:
        with self._control_lock:
            return Control(**asdict(self._control))

    def take_lost_answer(self) -> bool:
        with self._control_lock:
            if self._control.lose_answers <= 0:
                return False
            self._control.lose_answers -= 1
            return True

    def event_counts(self) -> dict:
        with contextlib.closing(self._connect()) as db:
            delivered, waiting, given_up = db.execute(
                "SELECT count(delivered_at), count(*) FILTER (WHERE delivered_at IS NULL AND NOT given_up), "
                "sum(given_up) FROM events"
            ).fetchone()
        return {"events_delivered": delivered, "events_waiting": waiting, "events_given_up": given_up or 0}

    # --- Storage ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        return db

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock first, so two requests under
        one key (or against one balance) run one after the other, never interleaved."""
        with contextlib.closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _add_to_balance(self, db: sqlite3.Connection, uid: str, currency: str, cents: int) -> int:
        start = POOL_STARTING_CENTS if uid == POOL_UID else STARTING_BALANCE_CENTS
        db.execute(
            "INSERT INTO balances (uid, currency, cents) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (uid, currency, start),
        )
        db.execute("UPDATE balances SET cents = cents + ? WHERE uid = ? AND currency = ?", (cents, uid, currency))
        return db.execute("SELECT cents FROM balances WHERE uid = ? AND currency = ?", (uid, currency)).fetchone()[0]

    def balance(self, uid: str, currency: str) -> str:
        with self._writing() as db:
            return money(self._add_to_balance(db, uid, currency, 0))

    # --- The API ------------------------------------------------------------------------------

    def authenticate(self, *, method: str, target: str, body: bytes, headers) -> None:
        key, timestamp, signature = (
            headers.get(name) for name in ("X-Orbit-Key", "X-Orbit-Timestamp", "X-Orbit-Signature")
        )
        if not key or not timestamp or not signature:
            raise Refusal(401, "unsigned", "Send X-Orbit-Key, X-Orbit-Timestamp and X-Orbit-Signature.")
        if not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise Refusal(401, "unknown_key", "This X-Orbit-Key is not known.")
        expected = request_signature(
            secret=self.api_secret, timestamp=timestamp, method=method, target=target, body=body
        )
        if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
            raise Refusal(401, "bad_signature", "X-Orbit-Signature does not match the request.")
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            raise Refusal(401, "bad_timestamp", "X-Orbit-Timestamp must be whole Unix seconds.") from None
        if skew > TOLERANCE_SECONDS:
            raise Refusal(401, "stale_timestamp", f"The request was signed more than {TOLERANCE_SECONDS} s away.")

    def create_transfer(self, *, idempotency_key: str | None, body: bytes) -> tuple[int, dict]:
        if not idempotency_key or not IDEMPOTENCY_KEY.match(idempotency_key):
            raise Refusal(400, "invalid", "Send an Idempotency-Key header: 1 to 100 of A-Z a-z 0-9 : _ . -")
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        # The body's meaning, not its bytes, is what a replay must repeat: key order does not matter.
        fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        with self._writing() as db:
            seen = db.execute("SELECT * FROM answers WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
            if seen is not None:
                if seen["fingerprint"] != fingerprint:
                    raise Refusal(409, "idempotency_conflict", "This Idempotency-Key was used with another body.")
                if seen["refusal"] is not None:
                    return seen["status_code"], json.loads(seen["refusal"])
                return 200, self._transfer(db, seen["transfer_id"])
            try:
                transfer = self._accept(db, idempotency_key=idempotency_key, payload=payload)
            except Refusal as refusal:
                db.execute(
                    "INSERT INTO answers (idempotency_key, fingerprint, status_code, refusal) VALUES (?, ?, ?, ?)",
                    (idempotency_key, fingerprint, refusal.status, json.dumps(refusal.body())),
                )
                return refusal.status, refusal.body()
            db.execute(
                "INSERT INTO answers (idempotency_key, fingerprint, status_code, transfer_id) VALUES (?, ?, 201, ?)",
                (idempotency_key, fingerprint, transfer),
            )
            return 201, self._transfer(db, transfer)

    def _accept(self, db: sqlite3.Connection, *, idempotency_key: str, payload) -> str:
        """Checks the instruction and takes the money from its source; returns the new transfer's id."""
        if not isinstance(payload, dict):
            raise Refusal(422, "invalid", "The body must be a JSON object.")
        kind, amount, currency = payload.get("kind"), payload.get("amount"), payload.get("currency")
        to_uid, from_uid = payload.get("to_uid"), payload.get("from_uid")
        reference, memo = payload.get("reference"), payload.get("memo", "")
        if kind not in KINDS:
            raise Refusal(422, "invalid", f"kind must be one of {', '.join(KINDS)}.")
        if not isinstance(amount, str) or not AMOUNT.match(amount) or not int(amount.replace(".", "")):
            raise Refusal(
                422, "invalid", 'amount must be a positive decimal string with at most 2 decimals, e.g. "12.34".'
            )
        if not isinstance(currency, str) or not CURRENCY.match(currency):
            raise Refusal(422, "invalid", "currency must be a code such as USDT.")
        if not isinstance(to_uid, str) or not to_uid or len(to_uid) > 64:
            raise Refusal(422, "invalid", "to_uid must be an exchange uid.")
        if kind == "tip" and (not isinstance(from_uid, str) or not from_uid or len(from_uid) > 64):
            raise Refusal(422, "invalid", "A tip needs from_uid, the reader paying it.")
        if kind == "payout" and from_uid is not None:
            raise Refusal(422, "invalid", "A payout comes from Orbit's pool: from_uid must be null.")
        if from_uid == to_uid:
            raise Refusal(422, "invalid", "from_uid and to_uid must differ.")
        if (
            not isinstance(reference, str)
            or not 1 <= len(reference) <= 200
            or not isinstance(memo, str)
            or len(memo) > 200
        ):
            raise Refusal(422, "invalid", "reference (1 to 200 characters) and memo (at most 200) must be text.")
        for uid in filter(None, (from_uid, to_uid)):
            code = account_refusal(uid)
            if code:
                raise Refusal(422, code, f"Account {uid} cannot take part in a transfer ({code}).")
        whole, _, fraction = amount.partition(".")
        cents = int(whole) * 100 + int(fraction.ljust(2, "0") or 0)
        source = from_uid or POOL_UID
        if self._add_to_balance(db, source, currency, 0) < cents:
            raise Refusal(422, "insufficient_funds", f"{source} holds less than {amount} {currency}.")
        self._add_to_balance(db, source, currency, -cents)
        transfer_id = f"ex-{uuid.uuid4().hex[:20]}"
        now = time.time()
        db.execute(
            "INSERT INTO transfers (transfer_id, idempotency_key, kind, amount_cents, currency, to_uid, from_uid, "
            "reference, memo, status, created_at, confirm_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (
                transfer_id,
                idempotency_key,
                kind,
                cents,
                currency,
                to_uid,
                from_uid,
                reference,
                memo,
                now,
                now + self.control_state().confirm_delay_ms / 1000,
            ),
        )
        self.log(f"accepted {transfer_id}: {kind} {amount} {currency} {source} -> {to_uid} ({idempotency_key})")
        return transfer_id

    def _transfer(self, db: sqlite3.Connection, transfer_id: str) -> dict:
        row = db.execute("SELECT * FROM transfers WHERE transfer_id = ?", (transfer_id,)).fetchone()
        return {
            "transfer_id": row["transfer_id"],
            "idempotency_key": row["idempotency_key"],
            "kind": row["kind"],
            "status": row["status"],
            "amount": money(row["amount_cents"]),
            "currency": row["currency"],
            "to_uid": row["to_uid"],
            "from_uid": row["from_uid"],
            "reference": row["reference"],
            "failure_code": row["failure_code"],
            "created_at": iso(row["created_at"]),
            "completed_at": iso(row["completed_at"]),
        }

    def transfer_status(self, idempotency_key: str) -> tuple[int, dict]:
        with contextlib.closing(self._connect()) as db:
            seen = db.execute("SELECT * FROM answers WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
            if seen is None:
                return 404, {"code": "not_found", "message": "No transfer was ever sent under this key."}
            if seen["refusal"] is not None:
                return seen["status_code"], json.loads(seen["refusal"])
            return 200, self._transfer(db, seen["transfer_id"])

    def report(self, day: date) -> dict:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        end = start + timedelta(days=1).total_seconds()
        with contextlib.closing(self._connect()) as db:
            ids = db.execute(
                "SELECT transfer_id FROM transfers WHERE status = 'completed' AND completed_at >= ? "
                "AND completed_at < ? ORDER BY completed_at, transfer_id",
                (start, end),
            ).fetchall()
            return {"date": day.isoformat(), "transfers": [self._transfer(db, row[0]) for row in ids]}

    # --- Confirmations ------------------------------------------------------------------------

    def settle(self, idempotency_key: str, *, outcome: str, failure_code: str | None = None) -> dict:
        """Completes or fails a pending transfer and queues its confirmation (manual mode, and auto's)."""
        if outcome not in ("completed", "failed") or (outcome == "failed" and failure_code not in FAILURE_CODES):
            raise Refusal(
                400, "invalid", f'outcome is "completed", or "failed" with a failure_code in {FAILURE_CODES}.'
            )
        with self._writing() as db:
            row = db.execute("SELECT * FROM transfers WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
            if row is None:
                raise Refusal(404, "not_found", "No transfer under this key.")
            if row["status"] != "pending":
                raise Refusal(409, "not_pending", f"The transfer is {row['status']} already.")
            now = time.time()
            if outcome == "completed":
                self._add_to_balance(db, row["to_uid"], row["currency"], row["amount_cents"])
                db.execute(
                    "UPDATE transfers SET status = 'completed', completed_at = ? WHERE transfer_id = ?",
                    (now, row["transfer_id"]),
                )
            else:
                self._add_to_balance(db, row["from_uid"] or POOL_UID, row["currency"], row["amount_cents"])
                db.execute(
                    "UPDATE transfers SET status = 'failed', failure_code = ?, completed_at = ? WHERE transfer_id = ?",
                    (failure_code, now, row["transfer_id"]),
                )
            transfer = self._transfer(db, row["transfer_id"])
            event = {
                "id": f"evt-{transfer['transfer_id']}-{outcome}",
                "type": f"{transfer['kind']}.{outcome}",
                "occurred_at": iso(now),
                "data": {
                    name: transfer[name]
                    for name in (
                        "transfer_id",
                        "idempotency_key",
                        "kind",
                        "amount",
                        "currency",
                        "to_uid",
                        "from_uid",
                        "reference",
                        "failure_code",
                    )
                },
            }
            copies = 2 if random.random() < self.control_state().duplicate_confirmations else 1
            for _ in range(copies):
                db.execute(
                    "INSERT INTO events (event_id, event, next_attempt_at) VALUES (?, ?, ?)",
                    (event["id"], json.dumps(event), now),
                )
        self.log(f"{outcome} {transfer['transfer_id']}" + (f" ({failure_code})" if failure_code else ""))
        return transfer

    def _confirm_and_deliver(self) -> None:
        while not self._stopping.wait(0.05):
            try:
                if self.control_state().confirm == "auto":
                    self._settle_due()
                self._deliver_due()
            except Exception as error:  # the loop must outlive one bad round
                self.log(f"confirmation round failed: {type(error).__name__}: {error}")

    def _settle_due(self) -> None:
        with contextlib.closing(self._connect()) as db:
            due = db.execute(
                "SELECT idempotency_key, to_uid FROM transfers WHERE status = 'pending' AND confirm_due_at <= ?",
                (time.time(),),
            ).fetchall()
        for key, to_uid in due:
            bounced = to_uid.endswith("-bounce")
            with contextlib.suppress(Refusal):  # settled meanwhile by hand
                self.settle(
                    key,
                    outcome="failed" if bounced else "completed",
                    failure_code="account_closed" if bounced else None,
                )

    def _deliver_due(self) -> None:
        webhook_url = self.control_state().webhook_url
        if not webhook_url:
            return  # kept until a webhook URL is given
        with contextlib.closing(self._connect()) as db:
            due = db.execute(
                "SELECT id, event_id, event, attempts FROM events WHERE delivered_at IS NULL AND NOT given_up "
                "AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                (time.time(), EVENTS_PER_DELIVERY * 4),
            ).fetchall()
        for batch in _batches(due):
            delivered = self._post_events(webhook_url, [event for _id, _event_id, event, _attempts in batch])
            with self._writing() as db:
                for row_id, _event_id, _event, attempts in batch:
                    if delivered:
                        db.execute("UPDATE events SET delivered_at = ? WHERE id = ?", (time.time(), row_id))
                    else:
                        db.execute(
                            "UPDATE events SET attempts = attempts + 1, next_attempt_at = ?, given_up = ? WHERE id = ?",
                            (time.time() + min(60.0, 0.5 * 2**attempts), attempts + 1 >= DELIVERY_ATTEMPTS, row_id),
                        )

    def _post_events(self, webhook_url: str, events: list[str]) -> bool:
        body = json.dumps({"events": [json.loads(event) for event in events]}).encode()
        timestamp = int(time.time())
        request = urllib.request.Request(  # noqa: S310 (a configured http(s) URL)
            webhook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Orbit-Timestamp": str(timestamp),
                # markets/exchange.py's signature: HMAC-SHA256 of "<timestamp>." and the raw body.
                "X-Orbit-Signature": sign(f"{timestamp}.".encode() + body, self.webhook_secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return 200 <= response.status < 300
        except (urllib.error.URLError, OSError) as error:
            self.log(f"webhook delivery to {webhook_url} failed: {error}")
            return False


def _batches(due: list) -> list[list]:
    """Due events in requests of at most EVENTS_PER_DELIVERY, as an exchange batches its webhook
    calls; the two copies of a duplicated confirmation always go in different requests."""
    batches: list[list] = []
    for row in due:
        target = next(
            (batch for batch in batches if len(batch) < EVENTS_PER_DELIVERY and row[1] not in {r[1] for r in batch}),
            None,
        )
        if target is None:
            batches.append(target := [])
        target.append(row)
    return batches


class ExchangeServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops a burst of simultaneous connections (a batch of
    # payouts, or a test's racing threads), which then wait a whole SYN retry.
    request_queue_size = 128

    def __init__(self, address, handler, exchange: FakeExchange):
        self.exchange = exchange
        super().__init__(address, handler)

    def handle_error(self, request, client_address) -> None:
        # Mostly a client that gave up (timed out) before a delayed answer: one line, no traceback.
        self.exchange.log(f"connection from {client_address[0]}:{client_address[1]} ended: {sys.exc_info()[1]!r}")


class Handler(BaseHTTPRequestHandler):
    server: ExchangeServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, a client that keeps its
    # connection open waits for a delayed ACK (40 ms) on every answer.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args) -> None:
        self.server.exchange.log(f"{self.address_string()} {format % args}")

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        exchange = self.server.exchange
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        try:
            if path.startswith("/_control"):
                self._answer(*self._control(method, path, query, body))
                return
            control = exchange.control_state()
            if control.delay_ms:
                time.sleep(control.delay_ms / 1000)
            if control.down:
                raise Refusal(503, "unavailable", "The exchange is down for maintenance.")
            exchange.authenticate(method=method, target=self.path, body=body, headers=self.headers)
            if method == "POST" and path == "/v1/transfers":
                answer = exchange.create_transfer(idempotency_key=self.headers.get("Idempotency-Key"), body=body)
                if exchange.take_lost_answer():
                    exchange.log(f"dropping the answer to {self.headers.get('Idempotency-Key')} on purpose")
                    self.close_connection = True
                    return
                self._answer(*answer)
            elif method == "GET" and path.startswith("/v1/transfers/"):
                self._answer(*exchange.transfer_status(unquote(path.removeprefix("/v1/transfers/"))))
            elif method == "GET" and path == "/v1/reports/transfers":
                try:
                    day = date.fromisoformat(parse_qs(query).get("date", [""])[0])
                except ValueError:
                    raise Refusal(400, "invalid", "Give ?date=YYYY-MM-DD.") from None
                self._answer(200, exchange.report(day))
            else:
                raise Refusal(404, "not_found", f"No {method} {path} here.")
        except Refusal as refusal:
            self._answer(refusal.status, refusal.body())
        except OSError:
            raise  # the client is gone: nobody to answer
        except Exception as error:  # a bug of the fake's own: answered as a real exchange would, with a 5xx
            exchange.log(f"{method} {path} failed: {type(error).__name__}: {error}")
            self._answer(500, {"code": "internal", "message": "Something went wrong on the exchange's side."})

    def _control(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict]:
        exchange = self.server.exchange
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            raise Refusal(400, "invalid", "The body must be JSON.") from None
        if path == "/_control" and method == "GET":
            return 200, {**asdict(exchange.control_state()), **exchange.event_counts()}
        if path == "/_control" and method == "POST" and isinstance(payload, dict):
            return 200, {**exchange.control(**payload), **exchange.event_counts()}
        if path == "/_control/confirm" and method == "POST" and isinstance(payload, dict):
            return 200, exchange.settle(
                str(payload.get("idempotency_key")),
                outcome=str(payload.get("outcome")),
                failure_code=payload.get("failure_code"),
            )
        if path.startswith("/_control/accounts/") and method == "GET":
            uid = path.removeprefix("/_control/accounts/")
            currency = parse_qs(query).get("currency", ["USDT"])[0]
            return 200, {"uid": uid, "currency": currency, "balance": exchange.balance(uid, currency)}
        raise Refusal(404, "not_found", f"No {method} {path} here.")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--db", default=str(DEFAULT_DB), help="the SQLite file holding its state")
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("FAKE_EXCHANGE_WEBHOOK_URL", DEFAULT_WEBHOOK_URL),
        help="where confirmations go (Orbit's /api/v1/exchange/events/); empty keeps them",
    )
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when standard input closes: a supervisor that dies, even by SIGKILL, leaves no fake behind",
    )
    options = parser.parse_args(argv)
    exchange = FakeExchange(
        db_path=options.db,
        api_key=os.environ.get("EXCHANGE_API_KEY") or DEV_API_KEY,
        api_secret=os.environ.get("EXCHANGE_API_SECRET") or DEV_API_SECRET,
        webhook_secret=os.environ.get("EXCHANGE_WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET,
        webhook_url=options.webhook_url,
        quiet=options.quiet,
    )
    try:
        exchange.bind(options.host, options.port)
    except OSError as error:
        print(f"fake exchange: cannot listen on {options.host}:{options.port}: {error}", file=sys.stderr, flush=True)
        return 1
    # A supervisor's SIGTERM stops it the way Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"fake exchange listening on {exchange.url} (state in {options.db})", flush=True)
    if options.exit_on_stdin_eof:
        threading.Thread(target=lambda: (sys.stdin.read(), os.kill(os.getpid(), signal.SIGTERM)), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        exchange.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
