"""Orbit's signed client of the exchange's money API: the only way money leaves Orbit's ledger.

Every request carries
    X-Orbit-Key: <EXCHANGE_API_KEY>
    X-Orbit-Timestamp: <Unix seconds>
    X-Orbit-Signature: sha256=<hex HMAC-SHA256 with EXCHANGE_API_SECRET of
                                "<timestamp>.<METHOD>.<request target>.<raw body>">
where the request target is the path as sent, with its query string; GET bodies are empty.
(The exchange's webhook signs its events back the way markets/exchange.py checks them.)

What a caller does with each outcome of `send_transfer`:
- a `Transfer`: the exchange holds the instruction (201 new, 200 a replay of the same key and body);
  its final state arrives later as a `transfer.completed` / `transfer.failed` webhook event.
- `TransferRefused(code, message)`: definite, nothing moved (422: account_frozen, account_closed,
  unknown_account, insufficient_funds, invalid; 409: idempotency_conflict, the key was used with
  another body). Retrying the same key gives the same refusal.
- `TransferOutcomeUnknown`: timeout, connection error, 5xx or an unreadable answer. The transfer may
  or may not exist: retry with the SAME idempotency key (never a new one), or ask `transfer_status`.
- `ExchangeError` (the base): the request was not accepted (not configured, 401, 400): nothing
  moved; fix the configuration and retry the same key.

The tools/fake_exchange.py process speaks the same contract for development and tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from django.conf import settings

KINDS = ("payout", "tip")
REFUSAL_CODES = ("account_frozen", "account_closed", "unknown_account", "insufficient_funds", "invalid")
CENT = Decimal("0.01")
# Connecting should take milliseconds; a slow connect is a sign of trouble, not of a busy exchange.
MAX_CONNECT_TIMEOUT = 3.05
# One HTTP session per thread (a Celery worker's, a bench's sender): a week's 10,000 payouts reuse
# a few kept-alive connections instead of a new TCP (and TLS) handshake each.
_sessions = threading.local()


class ExchangeError(Exception):
    """The exchange did not accept the request (or Orbit is not configured to send it)."""


class ExchangeNotConfigured(ExchangeError):
    pass


class ExchangeUnavailable(ExchangeError):
    """No usable answer: timed out, unreachable, a 5xx or an unreadable body."""


class TransferOutcomeUnknown(ExchangeUnavailable):
    """A transfer was sent, and whether the exchange applied it is unknown: retry the same key."""


class TransferRefused(ExchangeError):
    """A definite refusal: nothing moved, and the same key will always be refused the same way."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    idempotency_key: str
    status: str  # pending, completed or failed
    amount: Decimal
    currency: str
    failure_code: str | None = None
    # True when the exchange had this key already (200): an earlier attempt's answer was lost.
    replayed: bool = False
    # When the exchange completed or failed it (None while pending): the day reconciliation uses.
    completed_at: datetime | None = None


@dataclass(frozen=True)
class ReportedTransfer:
    transfer_id: str
    idempotency_key: str
    kind: str
    amount: Decimal
    currency: str
    to_uid: str
    from_uid: str | None
    completed_at: datetime


def sign_request(*, secret: str, timestamp: int, method: str, target: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{method}.{target}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def wire_amount(amount: Decimal) -> str:
    """The amount as sent: always two decimals, so every retry of one payout sends the same bytes
    (12.3 and 12.30 would otherwise be two bodies, and the second a 409)."""
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation:
        raise ValueError(f"{amount} is not an amount of money.") from None
    if cents != amount or cents <= 0:
        raise ValueError(f"A transfer's amount must be positive with at most two decimals, not {amount}.")
    return f"{cents:f}"


def send_transfer(
    *,
    idempotency_key: str,
    kind: str,
    amount: Decimal,
    currency: str,
    to_uid: str,
    from_uid: str | None = None,
    reference: str,
    memo: str = "",
) -> Transfer:
    """Instructs the exchange to move `amount` to `to_uid` (from `from_uid` for a tip, from Orbit's
    pool for a payout). The caller stores `idempotency_key` before calling, and reuses it for every
    retry of this one instruction."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}.")
    payload = {
        "kind": kind,
        "amount": wire_amount(amount),
        "currency": currency,
        "to_uid": to_uid,
        "from_uid": from_uid,
        "reference": reference,
        "memo": memo,
    }
    try:
        response = _request("POST", "/v1/transfers", payload=payload, idempotency_key=idempotency_key)
    except ExchangeUnavailable as unavailable:
        raise TransferOutcomeUnknown(str(unavailable)) from None
    answer = _json(response, unknown=TransferOutcomeUnknown)
    if response.status_code in (200, 201):
        try:
            return _transfer(answer, replayed=response.status_code == 200)
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise TransferOutcomeUnknown(f"HTTP {response.status_code} with an unreadable transfer") from None
    if response.status_code in (409, 422):
        raise TransferRefused(str(answer.get("code", "invalid")), str(answer.get("message", "")))
    raise ExchangeError(f"HTTP {response.status_code}: {answer.get('code')}: {answer.get('message')}")


def transfer_status(idempotency_key: str) -> Transfer | None:
    """The transfer sent under `idempotency_key` as the exchange knows it now; None if it never
    arrived (then resending under the same key is safe). Raises TransferRefused for a refused key."""
    response = _request("GET", f"/v1/transfers/{quote(idempotency_key, safe=':')}")
    answer = _json(response, unknown=ExchangeUnavailable)
    if response.status_code == 404 and answer.get("code") == "not_found":
        return None
    if response.status_code == 200:
        try:
            return _transfer(answer)
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise ExchangeUnavailable("HTTP 200 with an unreadable transfer") from None
    if response.status_code in (409, 422):
        raise TransferRefused(str(answer.get("code", "invalid")), str(answer.get("message", "")))
    raise ExchangeError(f"HTTP {response.status_code}: {answer.get('code')}: {answer.get('message')}")


def transfers_report(day: date) -> list[ReportedTransfer]:
    """Every transfer the exchange completed on `day` (UTC), for reconciliation with Orbit's ledger."""
    response = _request("GET", "/v1/reports/transfers", query={"date": day.isoformat()})
    answer = _json(response, unknown=ExchangeUnavailable)
    if response.status_code != 200:
        raise ExchangeError(f"HTTP {response.status_code}: {answer.get('code')}: {answer.get('message')}")
    try:
        return [
            ReportedTransfer(
                transfer_id=line["transfer_id"],
                idempotency_key=line["idempotency_key"],
                kind=line["kind"],
                amount=Decimal(line["amount"]),
                currency=line["currency"],
                to_uid=line["to_uid"],
                from_uid=line.get("from_uid"),
                completed_at=datetime.fromisoformat(line["completed_at"]),
            )
            for line in answer["transfers"]
        ]
    except (KeyError, TypeError, ValueError, InvalidOperation):
        raise ExchangeUnavailable("the transfers report is unreadable") from None


# --- The wire ---------------------------------------------------------------------------------


def _request(
    method: str,
    path: str,
    *,
    payload: dict | None = None,
    idempotency_key: str | None = None,
    query: dict[str, str] | None = None,
) -> requests.Response:
    if not (settings.EXCHANGE_API_URL and settings.EXCHANGE_API_KEY and settings.EXCHANGE_API_SECRET):
        raise ExchangeNotConfigured("Transfers are off: EXCHANGE_API_URL is not set on this server.")
    target = urlsplit(settings.EXCHANGE_API_URL).path + path + (f"?{urlencode(query)}" if query else "")
    # Sorted and compact: the same instruction is always the same bytes.
    body = b"" if payload is None else json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Accept": "application/json",
        "X-Orbit-Key": settings.EXCHANGE_API_KEY,
        "X-Orbit-Timestamp": str(timestamp),
        "X-Orbit-Signature": sign_request(
            secret=settings.EXCHANGE_API_SECRET, timestamp=timestamp, method=method, target=target, body=body
        ),
    }
    if payload is not None:
        headers["Content-Type"] = "application/json"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    read_timeout = settings.EXCHANGE_API_TIMEOUT
    url = f"{settings.EXCHANGE_API_URL}{path}" + (f"?{urlencode(query)}" if query else "")
    try:
        response = _session().request(
            method,
            url,
            data=body or None,
            headers=headers,
            timeout=(min(read_timeout, MAX_CONNECT_TIMEOUT), read_timeout),
            allow_redirects=False,
        )
    except requests.RequestException as exc:  # timeouts, refused or dropped connections
        raise ExchangeUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 500:
        raise ExchangeUnavailable(f"{method} {path}: HTTP {response.status_code}")
    return response


def _session() -> requests.Session:
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
        session.trust_env = False  # proxies from the environment are not for the exchange's API
    return session


def _json(response: requests.Response, *, unknown: type[ExchangeUnavailable]) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise unknown(f"HTTP {response.status_code} without a JSON object")
    return answer


def _transfer(answer: dict[str, Any], *, replayed: bool = False) -> Transfer:
    return Transfer(
        transfer_id=str(answer["transfer_id"]),
        idempotency_key=str(answer["idempotency_key"]),
        status=str(answer["status"]),
        amount=Decimal(answer["amount"]),
        currency=str(answer["currency"]),
        failure_code=answer.get("failure_code"),
        replayed=replayed,
        completed_at=datetime.fromisoformat(answer["completed_at"]) if answer.get("completed_at") else None,
    )
