"""The exchange's webhook: check the signature, then apply each trading event once.

The wire contract (docs/exchange.md has examples):

    POST /api/v1/exchange/events/
    X-Orbit-Timestamp: 1764057600                     (Unix seconds when the exchange signed it)
    X-Orbit-Signature: sha256=<hex>                   (HMAC-SHA256 with EXCHANGE_WEBHOOK_SECRET of
                                                       "<timestamp>." followed by the raw body)
    {"events": [{"id": "evt-1", "type": "trade.filled", "occurred_at": "2026-11-25T08:00:00Z",
                 "data": {...}}, ...]}

A request whose signature or timestamp fails is refused whole and nothing is read. Otherwise every
event gets its own result, in order: `applied`, `duplicate` (its id, or its fill, was seen before:
a redelivery changes nothing), `outdated` (a newer state was applied already, so it is recorded and
skipped) or `refused` with a code and a reason (a malformed or unknown event, or one about an
account nobody linked). Refused events change nothing and are not remembered, so the exchange can
fix and resend them under the same id.

`payout.completed` / `payout.failed` and `tip.completed` / `tip.failed` (or the kind-neutral
`transfer.completed` / `transfer.failed`) end a transfer Orbit sent (markets/exchange_api.py); their
data names it by `idempotency_key` and `transfer_id`, and `to_uid` stands for the account's uid. They
are checked here and announced with `signals.transfer_confirmed` inside the event's savepoint; the
app that owns the key applies it (incentives, for payouts and tips). A repeated confirmation is `duplicate`,
and a key no app owns is refused as `unknown_transfer`.

A batch is one transaction: the ids are claimed first with INSERT … ON CONFLICT DO NOTHING, so two
deliveries of one event racing each other apply it once (the second waits on the unique key, then
sees it taken). Fills go in with one multi-row INSERT; everything else is a few rows per event.
Each event is applied inside its own savepoint: an event the database refuses (or one that trips a
bug of ours) becomes that event's `refused` result and is undone alone, so the batch still answers
200 and the exchange's retries never fail forever on one bad event.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Context, Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from orbit import json_input

from . import performance, signals
from .models import KYC_IDENTITY_PATTERN, ExchangeEvent, Fill, Position, TradingProfile

logger = logging.getLogger(__name__)

User = get_user_model()

SIGNATURE_HEADER = "X-Orbit-Signature"
TIMESTAMP_HEADER = "X-Orbit-Timestamp"

EVENT_TYPES = (
    "account.linked",
    "kyc.changed",
    "trade.filled",
    "position.snapshot",
    "account.frozen",
    "account.unfrozen",
    "payout.completed",
    "payout.failed",
    "tip.completed",
    "tip.failed",
    "transfer.completed",
    "transfer.failed",
)
TRANSFER_EVENTS = tuple(
    event_type for event_type in EVENT_TYPES if event_type.split(".")[0] in ("payout", "tip", "transfer")
)
TRANSFER_FAILURE_CODES = ("account_frozen", "account_closed", "unknown_account", "insufficient_funds")

# 30-day traded volume (US dollars) at which each volume tier starts; the tier is the profile's
# activity level, read by ranking (beginner/intermediate/advanced) and by reader value.
VOLUME_TIER_FLOORS = (
    (TradingProfile.VolumeTier.WHALE, Decimal("1000000")),
    (TradingProfile.VolumeTier.ACTIVE, Decimal("100000")),
    (TradingProfile.VolumeTier.REGULAR, Decimal("10000")),
    (TradingProfile.VolumeTier.LIGHT, Decimal("0.01")),
)
PROFILE_WINDOW = timedelta(days=30)
# Instruments used are those of the last 90 days, plus what the latest snapshot holds.
INSTRUMENTS_WINDOW = timedelta(days=90)

DOLLAR_QUOTES = frozenset({"USDT", "USDC", "USD", "DAI", "FDUSD", "TUSD", "BUSD"})
SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")
# OKX instrument ids: BTC-USDT (spot), BTC-USDT-SWAP (perpetual), BTC-USD-261225-100000-C (option).
INSTRUMENT = re.compile(
    r"^(?P<base>[A-Z0-9]{2,20})-(?P<quote>[A-Z0-9]{2,20})"
    r"(?:(?P<swap>-SWAP)|(?P<option>-\d{6}-\d+(?:\.\d+)?-[CP]))?$"
)
KYC_IDENTITY = re.compile(KYC_IDENTITY_PATTERN)
MAX_ID_LENGTH = ExchangeEvent._meta.get_field("key").max_length
MAX_UID_LENGTH = ExchangeEvent._meta.get_field("exchange_uid").max_length
MAX_DECIMAL = Decimal("1e20")
# Quantities, prices and fees are stored with 12 decimal places (numeric(32,12)); dollar notionals
# with 2 and at most 22 digits before the point (numeric(24,2)). Checked here, so a value the
# column would round to zero or overflow is refused as that event's fault, never a database error.
DECIMAL_PLACES = 12
MAX_NOTIONAL = Decimal("1e22")
CENT = Decimal("0.01")
UNREADABLE = "This event could not be applied because of an error on our side; it has been logged. Resend it later."
# Wide enough for any product of two checked amounts: the default 28 digits would round them.
EXACT = Context(prec=64)


class WebhookRefused(Exception):
    """The whole request is refused: nothing in it was read or applied."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class EventRefused(Exception):
    """One event is refused; the rest of the batch goes on."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Result:
    id: str | None
    status: str
    code: str = ""
    reason: str = ""

    def as_dict(self) -> dict:
        answer = {"id": self.id, "status": self.status}
        if self.code:
            answer["code"] = self.code
        if self.reason:
            answer["reason"] = self.reason
        return answer


@dataclass
class Event:
    """An event that passed the shape checks, with its data parsed."""

    index: int
    id: str
    type: str
    occurred_at: datetime
    uid: str
    data: dict
    raw: dict


@dataclass
class BatchOutcome:
    results: list[Result]
    # Users whose fills or positions changed: their trading profiles are rebuilt.
    touched_users: set[int] = field(default_factory=set)
    users_with_new_fills: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        counts = {"applied": 0, "duplicate": 0, "outdated": 0, "refused": 0}
        for result in self.results:
            counts[result.status] += 1
        return counts


# --- The request --------------------------------------------------------------------------


def sign(body: bytes, *, timestamp: int, secret: str) -> str:
    """The signature header's value for `body` sent at `timestamp` (the exchange's side, and tests')."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_request(*, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None) -> None:
    """Raises WebhookRefused unless the request was signed with our secret within the window."""
    secret = settings.EXCHANGE_WEBHOOK_SECRET
    if not secret:
        raise WebhookRefused(
            "not_configured", "The exchange webhook is off: EXCHANGE_WEBHOOK_SECRET is not set on this server.", 503
        )
    if not timestamp or not signature:
        raise WebhookRefused(
            "unsigned", f"Send the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers with every request.", 401
        )
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookRefused(
            "bad_timestamp", f"{TIMESTAMP_HEADER} must be whole Unix seconds, got {timestamp[:40]!r}.", 401
        ) from None
    # The signature is checked before the time: a forged request learns nothing about our clock.
    # During a rotation the previous secret is accepted too, so the exchange can switch at any moment.
    secrets = [secret, *filter(None, [settings.EXCHANGE_WEBHOOK_PREVIOUS_SECRET])]
    sent = signature.strip().encode()
    matches = [hmac.compare_digest(sign(body, timestamp=sent_at, secret=s).encode(), sent) for s in secrets]
    if matches[1:] == [True]:
        logger.info("Exchange webhook: a request was signed with EXCHANGE_WEBHOOK_PREVIOUS_SECRET.")
    if not any(matches):
        raise WebhookRefused(
            "bad_signature",
            f"{SIGNATURE_HEADER} does not match: sign '<timestamp>.<raw body>' with HMAC-SHA256 and the shared "
            "secret, and send it as sha256=<hex>.",
            401,
        )
    skew = (time.time() if now is None else now) - sent_at
    if abs(skew) > settings.EXCHANGE_WEBHOOK_TOLERANCE:
        raise WebhookRefused(
            "stale_timestamp",
            f"The request was signed {abs(int(skew))} seconds {'ago' if skew > 0 else 'in the future'}; "
            f"requests older or newer than {settings.EXCHANGE_WEBHOOK_TOLERANCE} seconds are refused as replays. "
            "Sign it again with the current time.",
            401,
        )


def parse_batch(body: bytes) -> list:
    try:
        payload = json_input.loads(body)
    except json_input.JSONRefused as refused:
        raise WebhookRefused("malformed_body", str(refused), 400) from None
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("malformed_body", 'The body must be JSON: {"events": [...]}.', 400) from None
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not events:
        raise WebhookRefused("malformed_body", 'The body must be {"events": [...]} with at least one event.', 400)
    if len(events) > settings.EXCHANGE_WEBHOOK_MAX_EVENTS:
        raise WebhookRefused(
            "too_many_events",
            f"A batch holds at most {settings.EXCHANGE_WEBHOOK_MAX_EVENTS} events; this one has {len(events)}. "
            "Split it.",
            413,
        )
    return events


def receive(*, body: bytes, timestamp: str | None, signature: str | None) -> BatchOutcome:
    """The webhook's whole job: verify, then apply the batch (the view only translates to HTTP)."""
    verify_request(body=body, timestamp=timestamp, signature=signature)
    return apply_events(parse_batch(body))


# --- Shape checks (no database) ----------------------------------------------------------------


def _text(data: dict, name: str, *, max_length: int = 64, pattern: re.Pattern | None = None) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise EventRefused("missing_field", f"data.{name} is required and must be a non-empty string.")
    value = value.strip()
    if len(value) > max_length:
        raise EventRefused("invalid_field", f"data.{name} is longer than {max_length} characters.")
    if pattern is not None and not pattern.match(value):
        raise EventRefused("invalid_field", f"data.{name} {value[:60]!r} is not in the expected format.")
    return value


def _decimal(data: dict, name: str, *, positive: bool = True, required: bool = True) -> Decimal | None:
    value = data.get(name)
    if value is None and not required:
        return None
    # Strings or integers only: a JSON float has already lost the exact value the exchange meant.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventRefused(
            "invalid_field", f'data.{name} must be a decimal number written as a string, such as "0.015".'
        )
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise EventRefused("invalid_field", f"data.{name} {str(value)[:40]!r} is not a number.") from None
    if not number.is_finite() or abs(number) >= MAX_DECIMAL:
        raise EventRefused("invalid_field", f"data.{name} is not a finite number below 10^20.")
    if positive and number <= 0:
        raise EventRefused("invalid_field", f"data.{name} must be greater than 0, got {number}.")
    if number.quantize(Decimal(1).scaleb(-DECIMAL_PLACES), context=EXACT) != number:
        raise EventRefused(
            "invalid_field", f"data.{name} {str(value)[:40]!r} has more than {DECIMAL_PLACES} decimal places."
        )
    return number


def _moment(value, name: str) -> datetime:
    if not isinstance(value, str):
        raise EventRefused(
            "missing_field", f"{name} is required: an ISO 8601 time with a zone, such as 2026-11-25T08:00:00Z."
        )
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise EventRefused("invalid_field", f"{name} {value[:40]!r} is not an ISO 8601 time.") from None
    if moment.tzinfo is None:
        raise EventRefused("invalid_field", f"{name} {value[:40]!r} has no time zone; add Z or an offset.")
    # A clock far ahead would let an event outrank every later real one.
    if moment > timezone.now() + timedelta(seconds=settings.EXCHANGE_WEBHOOK_TOLERANCE):
        raise EventRefused("invalid_field", f"{name} {value[:40]!r} is in the future.")
    return moment


def _kyc_identity(data: dict) -> str | None:
    """The optional identity hash: absent or null changes nothing; anything else must be the exchange's
    opaque hash, never a name or a document number (the pattern keeps those out)."""
    value = data.get("kyc_identity")
    if value is None:
        return None
    # fullmatch: `$` alone would let a trailing newline through (the database's check would not).
    if not isinstance(value, str) or not KYC_IDENTITY.fullmatch(value):
        raise EventRefused(
            "invalid_field",
            "data.kyc_identity must be the exchange's identity hash: 16 to 128 letters, digits, '-' or '_'.",
        )
    return value


def _instrument(data: dict, name: str = "instrument") -> tuple[str, str, str, str]:
    """(instrument, type, base asset, quote) from an OKX instrument id."""
    instrument = _text(data, name, max_length=48).upper()
    matched = INSTRUMENT.match(instrument)
    if matched is None:
        raise EventRefused(
            "invalid_field",
            f"data.{name} {instrument[:60]!r} is not an instrument id such as BTC-USDT, BTC-USDT-SWAP or "
            "BTC-USD-261225-100000-C.",
        )
    kind = "perpetual" if matched["swap"] else "options" if matched["option"] else "spot"
    declared = data.get("instrument_type")
    if declared is not None:
        if declared not in TradingProfile.Instrument.values:
            raise EventRefused(
                "invalid_field",
                f"data.instrument_type must be one of {', '.join(TradingProfile.Instrument.values)}.",
            )
        kind = declared
    return instrument, kind, matched["base"], matched["quote"]


def check_shape(index: int, raw) -> Event:
    """Parses one event or raises EventRefused saying what is wrong with it."""
    if not isinstance(raw, dict):
        raise EventRefused("malformed_event", "Each event must be a JSON object.")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > MAX_ID_LENGTH:
        raise EventRefused("missing_id", f"Each event needs an id: a string of 1 to {MAX_ID_LENGTH} characters.")
    event_type = raw.get("type")
    if event_type not in EVENT_TYPES:
        raise EventRefused(
            "unknown_type", f"Unknown event type {str(event_type)[:40]!r}; known types: {', '.join(EVENT_TYPES)}."
        )
    occurred_at = _moment(raw.get("occurred_at"), "occurred_at")
    data = raw.get("data")
    if not isinstance(data, dict):
        raise EventRefused("malformed_event", "data must be a JSON object.")
    uid = _text(data, "to_uid" if event_type in TRANSFER_EVENTS else "uid", max_length=MAX_UID_LENGTH)
    parsed: dict = {}
    if event_type in TRANSFER_EVENTS:
        parsed = _transfer_data(event_type, data)
    if event_type == "account.linked":
        user_id = data.get("user_id")
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
            raise EventRefused("invalid_field", "data.user_id must be the Orbit user id, a positive integer.")
        parsed["user_id"] = user_id
        parsed["opened_at"] = _moment(data["opened_at"], "data.opened_at") if data.get("opened_at") else None
        level = data.get("kyc_level")
        if level is not None and (isinstance(level, bool) or level not in TradingProfile.KycLevel.values):
            raise EventRefused("invalid_field", "data.kyc_level must be 0, 1, 2 or 3.")
        parsed["kyc_level"] = level
        parsed["kyc_identity"] = _kyc_identity(data)
    elif event_type == "kyc.changed":
        level = data.get("level")
        if isinstance(level, bool) or level not in TradingProfile.KycLevel.values:
            raise EventRefused("invalid_field", "data.level must be 0, 1, 2 or 3.")
        parsed["level"] = level
        parsed["kyc_identity"] = _kyc_identity(data)
    elif event_type == "trade.filled":
        parsed["fill_id"] = _text(data, "fill_id")
        parsed["instrument"], parsed["kind"], parsed["asset"], parsed["quote"] = _instrument(data)
        side = data.get("side")
        if side not in Fill.Side.values:
            raise EventRefused("invalid_field", "data.side must be buy or sell.")
        parsed["side"] = side
        parsed["quantity"] = _decimal(data, "quantity")
        parsed["price"] = _decimal(data, "price")
        parsed["fee"] = _decimal(data, "fee", positive=False, required=False) or Decimal(0)
        fee_currency = data.get("fee_currency") or parsed["quote"]
        if not isinstance(fee_currency, str) or not SYMBOL.match(fee_currency.upper()):
            raise EventRefused("invalid_field", "data.fee_currency must be an asset symbol such as USDT.")
        parsed["fee_currency"] = fee_currency.upper()
        parsed["notional"] = _notional(parsed)
        parsed["filled_at"] = _moment(data["filled_at"], "data.filled_at") if data.get("filled_at") else occurred_at
    elif event_type == "position.snapshot":
        positions = data.get("positions")
        if not isinstance(positions, list) or len(positions) > 500:
            raise EventRefused("invalid_field", "data.positions must be a list of at most 500 open positions.")
        parsed["positions"] = [_position(n, position) for n, position in enumerate(positions)]
        lines = {(position["instrument"], position["side"]) for position in parsed["positions"]}
        if len(lines) < len(parsed["positions"]):
            raise EventRefused(
                "invalid_field", "data.positions lists a position twice; send one line per instrument and side."
            )
    return Event(
        index=index, id=event_id.strip(), type=event_type, occurred_at=occurred_at, uid=uid, data=parsed, raw=raw
    )


def _transfer_data(event_type: str, data: dict) -> dict:
    parsed = {
        "transfer_id": _text(data, "transfer_id"),
        "idempotency_key": _text(data, "idempotency_key", max_length=100),
        "outcome": event_type.split(".", 1)[1],
        "failure_code": None,
    }
    if parsed["outcome"] == "failed":
        code = data.get("failure_code")
        if code not in TRANSFER_FAILURE_CODES:
            raise EventRefused(
                "invalid_field", f"data.failure_code must be one of {', '.join(TRANSFER_FAILURE_CODES)}."
            )
        parsed["failure_code"] = code
    return parsed


def _notional(fill: dict) -> Decimal | None:
    """The fill's worth in dollars when its quote is a dollar, to the cent."""
    if fill["quote"] not in DOLLAR_QUOTES:
        return None
    notional = EXACT.multiply(fill["quantity"], fill["price"]).quantize(CENT, context=EXACT)
    if notional >= MAX_NOTIONAL:
        raise EventRefused("invalid_field", "data.quantity × data.price is worth 10^22 dollars or more.")
    if notional <= 0:
        raise EventRefused(
            "invalid_field", "data.quantity × data.price rounds to 0.00 dollars; a fill must be worth at least a cent."
        )
    return notional


def _position(number: int, raw) -> dict:
    if not isinstance(raw, dict):
        raise EventRefused("invalid_field", f"data.positions[{number}] must be an object.")
    try:
        instrument, kind, asset, _quote = _instrument(raw)
        side = raw.get("side")
        if side not in Position.Side.values:
            raise EventRefused("invalid_field", "side must be long or short.")
        return {
            "instrument": instrument,
            "instrument_type": kind,
            "asset": asset,
            "side": side,
            "quantity": _decimal(raw, "quantity"),
            "entry_price": _decimal(raw, "entry_price", required=False),
            "mark_price": _decimal(raw, "mark_price", required=False),
        }
    except EventRefused as refused:
        raise EventRefused(refused.code, f"data.positions[{number}]: {refused.reason.removeprefix('data.')}") from None


# --- Applying --------------------------------------------------------------------------------


def apply_events(raw_events: list) -> BatchOutcome:
    results: list[Result | None] = [None] * len(raw_events)
    events: list[Event] = []
    for index, raw in enumerate(raw_events):
        event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        try:
            events.append(check_shape(index, raw))
        except EventRefused as refused:
            results[index] = Result(event_id, "refused", refused.code, refused.reason)
        except Exception:
            # Our bug, not the exchange's: one unreadable event must not fail the batch, or its
            # retries would fail the same way forever.
            logger.exception("Exchange webhook: event %r could not be read", event_id)
            results[index] = Result(event_id, "refused", "unreadable_event", UNREADABLE)
    outcome = BatchOutcome(results=[])
    with transaction.atomic():
        claimed = _claim(events)
        fresh = []
        for event in events:
            if event.id in claimed and event.index == claimed[event.id]:
                fresh.append(event)
            else:
                reason = "This event id was received before; it changes nothing."
                results[event.index] = Result(event.id, "duplicate", "already_received", reason)
        refused_ids = _apply(fresh, results, outcome)
        if refused_ids:
            # Not remembered: the exchange may correct the event and send it again under its id.
            ExchangeEvent.objects.filter(key__in=refused_ids).delete()
        if outcome.touched_users:
            refresh_trading_profiles(user_ids=outcome.touched_users)
        if outcome.users_with_new_fills:
            _after_fills(outcome.users_with_new_fills)
    outcome.results = results
    return outcome


def _claim(events: list[Event]) -> dict[str, int]:
    """Inserts the ids not seen before and returns them, each with the index of its first event.

    Within one batch the first event with an id wins; a concurrent delivery of the same id blocks
    on the primary key until this transaction ends, then finds the key taken."""
    first: dict[str, Event] = {}
    for event in events:
        first.setdefault(event.id, event)
    if not first:
        return {}
    now = timezone.now()
    # Keys in sorted order, so that two batches sharing ids wait for each other rather than deadlock.
    rows = [
        (event.id, event.type, event.uid, event.occurred_at, now, json.dumps(event.raw, separators=(",", ":")))
        for _key, event in sorted(first.items())
    ]
    with connection.cursor() as cursor:
        inserted = execute_values(
            cursor,
            f"INSERT INTO {ExchangeEvent._meta.db_table} (key, type, exchange_uid, occurred_at, received_at, payload) "
            "VALUES %s ON CONFLICT (key) DO NOTHING RETURNING key",
            rows,
            fetch=True,
            page_size=len(rows),
        )
    return {key: first[key].index for (key,) in inserted}


def _apply(events: list[Event], results: list, outcome: BatchOutcome) -> list[str]:
    """Applies the claimed events in order; returns the ids of those refused on the way."""
    uids = {event.uid for event in events}
    # Every profile the batch touches is locked up front, in user order: two batches about the same
    # accounts then queue behind each other instead of deadlocking on rows taken in other orders.
    locked = TradingProfile.objects.filter(exchange_uid__in=uids).order_by("user_id").select_for_update()
    profiles = {profile.exchange_uid: profile for profile in locked}
    refused: list[str] = []
    fills: list[tuple[Event, int]] = []
    fill_ids_in_batch: set[str] = set()
    for event in events:
        try:
            # Each event that writes gets its own savepoint: whatever fails in it is undone alone. A
            # fill is only queued here (the batch's fills go in with one INSERT below, which has its
            # own fallback), so it skips the two round trips a savepoint costs.
            with contextlib.nullcontext() if event.type == "trade.filled" else transaction.atomic():
                status = _apply_one(event, profiles, fills, fill_ids_in_batch)
        except Exception as problem:
            status = _refusal(event, problem)
        if status is not None:
            if status.status == "refused":
                refused.append(event.id)
            elif status.status == "applied" and event.type == "position.snapshot":
                outcome.touched_users.add(profiles[event.uid].user_id)
            results[event.index] = status
    if fills:
        try:
            with transaction.atomic():
                inserted = _insert_fills(fills)
        except DatabaseError:
            # One fill the database refuses must not sink the others: insert them one by one.
            inserted = set()
            for event, user_id in fills:
                try:
                    with transaction.atomic():
                        inserted |= _insert_fills([(event, user_id)])
                except DatabaseError as problem:
                    results[event.index] = _refusal(event, problem)
                    refused.append(event.id)
            fills = [(event, user_id) for event, user_id in fills if event.id not in refused]
        for event, user_id in fills:
            if event.data["fill_id"] in inserted:
                results[event.index] = Result(event.id, "applied")
                outcome.users_with_new_fills.add(user_id)
                outcome.touched_users.add(user_id)
            else:
                results[event.index] = Result(event.id, "duplicate", "fill_already_recorded", _fill_seen(event))
    return refused


def _apply_one(event: Event, profiles: dict, fills: list, fill_ids_in_batch: set[str]) -> Result | None:
    """Applies one event; a fill is only queued (None), to be inserted with the batch's others."""
    if event.type == "account.linked":
        return _link(event, profiles)
    if event.type in TRANSFER_EVENTS:
        return _transfer_ended(event)
    profile = profiles.get(event.uid)
    if profile is None:
        raise EventRefused(
            "unknown_account",
            f"No Orbit account is linked to exchange uid {event.uid!r}; send account.linked for it first.",
        )
    if event.type != "trade.filled":
        return _APPLY[event.type](event, profile)
    if event.data["fill_id"] in fill_ids_in_batch:
        return Result(event.id, "duplicate", "fill_already_recorded", _fill_seen(event))
    fill_ids_in_batch.add(event.data["fill_id"])
    fills.append((event, profile.user_id))
    return None


def _refusal(event: Event, problem: Exception) -> Result:
    if isinstance(problem, EventRefused):
        return Result(event.id, "refused", problem.code, problem.reason)
    if isinstance(problem, DatabaseError):
        logger.warning("Exchange webhook: the database refused event %r: %s", event.id, problem)
        reason = f"The database refused this event ({type(problem).__name__}); check its values and resend it."
        return Result(event.id, "refused", "rejected_by_database", reason)
    logger.exception("Exchange webhook: event %r failed", event.id, exc_info=problem)
    return Result(event.id, "refused", "unreadable_event", UNREADABLE)


def _fill_seen(event: Event) -> str:
    return f"Fill {event.data['fill_id']!r} is already recorded; this event changes nothing."


def _link(event: Event, profiles: dict[str, TradingProfile]) -> Result:
    data = event.data
    user = User.objects.filter(pk=data["user_id"], is_active=True).first()
    if user is None:
        raise EventRefused("unknown_user", f"There is no active Orbit user with id {data['user_id']}.")
    linked = profiles.get(event.uid)
    if linked is not None and linked.user_id != user.pk:
        raise EventRefused(
            "uid_taken", f"Exchange uid {event.uid!r} is already linked to another Orbit account; unlink it first."
        )
    # Locked: a link and a KYC change for one user in two concurrent batches must not interleave.
    profile, _created = TradingProfile.objects.select_for_update().get_or_create(user=user)
    if profile.exchange_uid and profile.exchange_uid != event.uid:
        raise EventRefused(
            "user_linked_elsewhere",
            f"Orbit user {user.pk} is already linked to another exchange uid; unlink it first.",
        )
    if profile.linked_at is not None and profile.exchange_uid == event.uid:
        profiles[event.uid] = profile
        # A link sent again may carry a newer identity hash (the exchange re-verified the person).
        if data["kyc_identity"] is not None:
            result = _newer(event, profile, "kyc_identity_changed_at", {"kyc_identity": data["kyc_identity"]})
            if result.status == "applied":
                return result
        return Result(event.id, "outdated", "already_linked", "This account is already linked; nothing changed.")
    profile.exchange_uid = event.uid
    profile.linked_at = event.occurred_at
    if data["opened_at"] is not None:
        profile.account_opened_at = data["opened_at"]
    kyc_is_newer = profile.kyc_changed_at is None or profile.kyc_changed_at <= event.occurred_at
    if data["kyc_level"] is not None and kyc_is_newer:
        profile.kyc_level = data["kyc_level"]
        profile.kyc_changed_at = event.occurred_at
    identity_is_newer = profile.kyc_identity_changed_at is None or profile.kyc_identity_changed_at <= event.occurred_at
    if data["kyc_identity"] is not None and identity_is_newer:
        profile.kyc_identity = data["kyc_identity"]
        profile.kyc_identity_changed_at = event.occurred_at
    profile.save()
    profiles[event.uid] = profile
    return Result(event.id, "applied")


def _transfer_ended(event: Event) -> Result:
    """The app that sent the transfer applies its end; markets only checks and announces it."""
    data = event.data
    answers = signals.transfer_confirmed.send(
        sender=ExchangeEvent,
        idempotency_key=data["idempotency_key"],
        transfer_id=data["transfer_id"],
        outcome=data["outcome"],
        failure_code=data["failure_code"],
        to_uid=event.uid,
        completed_at=event.occurred_at,
    )
    applied = [answer for _receiver, answer in answers if answer is not None]
    if not applied:
        raise EventRefused(
            "unknown_transfer", f"Orbit sent no transfer under idempotency key {data['idempotency_key']!r}."
        )
    if "applied" in applied:
        return Result(event.id, "applied")
    return Result(event.id, "duplicate", "transfer_already_final", "This transfer's end is already recorded.")


def _newer(event: Event, profile: TradingProfile, field_name: str, changes: dict) -> Result:
    """Applies `changes` unless the profile already holds a state from after this event."""
    updated = (
        TradingProfile.objects.filter(pk=profile.pk)
        .exclude(**{f"{field_name}__gt": event.occurred_at})
        .update(**changes, **{field_name: event.occurred_at}, updated_at=timezone.now())
    )
    if not updated:
        return Result(event.id, "outdated", "newer_state", "A later event already set this; nothing changed.")
    for name, value in changes.items():
        setattr(profile, name, value)
    return Result(event.id, "applied")


def _kyc(event: Event, profile: TradingProfile) -> Result:
    level = _newer(event, profile, "kyc_changed_at", {"kyc_level": event.data["level"]})
    if event.data["kyc_identity"] is None:
        return level
    # The level and the identity hash each keep their own time: a late event rolls back neither.
    identity = _newer(event, profile, "kyc_identity_changed_at", {"kyc_identity": event.data["kyc_identity"]})
    return level if level.status == "applied" else identity


def _frozen(event: Event, profile: TradingProfile) -> Result:
    return _newer(event, profile, "frozen_changed_at", {"is_frozen": event.type == "account.frozen"})


def _snapshot(event: Event, profile: TradingProfile) -> Result:
    result = _newer(event, profile, "positions_at", {})
    if result.status == "applied":
        # A snapshot is the whole set of open positions: what it leaves out was closed.
        Position.objects.filter(user_id=profile.user_id).delete()
        Position.objects.bulk_create(
            Position(user_id=profile.user_id, taken_at=event.occurred_at, **position)
            for position in event.data["positions"]
        )
    return result


_APPLY = {
    "kyc.changed": _kyc,
    "account.frozen": _frozen,
    "account.unfrozen": _frozen,
    "position.snapshot": _snapshot,
}


def _insert_fills(fills: list[tuple[Event, int]]) -> set[str]:
    """One multi-row INSERT; returns the fill ids that were new (a fill seen under another event
    id is a duplicate, not an error)."""
    rows = []
    # In fill id order for the same reason as the event ids (see _claim).
    for event, user_id in sorted(fills, key=lambda pair: pair[0].data["fill_id"]):
        data = event.data
        rows.append(
            (
                data["fill_id"],
                user_id,
                data["instrument"],
                data["kind"],
                data["asset"],
                data["quote"],
                data["side"],
                data["quantity"],
                data["price"],
                data["fee"],
                data["fee_currency"],
                data["notional"],
                data["filled_at"],
            )
        )
    with connection.cursor() as cursor:
        inserted = execute_values(
            cursor,
            f"INSERT INTO {Fill._meta.db_table} (fill_id, user_id, instrument, instrument_type, asset, quote, side, "
            "quantity, price, fee, fee_currency, notional_usd, filled_at) VALUES %s "
            "ON CONFLICT (fill_id) DO NOTHING RETURNING fill_id",
            rows,
            fetch=True,
            page_size=len(rows),
        )
    return {fill_id for (fill_id,) in inserted}


def _after_fills(user_ids: set[int]) -> None:
    """New fills change performance, and can verify trade cards posted before they arrived (feed
    listens to fills_stored)."""
    signals.fills_stored.send(sender=Fill, user_ids=user_ids)
    transaction.on_commit(lambda: performance.forget(user_ids))


# --- Trading profiles ---------------------------------------------------------------------------


def refresh_trading_profiles(*, user_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Rebuilds the fill-derived part of trading profiles: 30-day volume per asset (and so the traded
    assets and the volume tier), 30-day trade count, last trade, instruments used.

    With `user_ids`, those users; without, every profile with fills or positions (the daily job, since
    the 30-day window slides). Profiles the exchange never sent trading for keep what they hold.
    One statement."""
    now = now or timezone.now()
    tiers = " ".join(f"WHEN coalesce(a.volume, 0) >= {floor} THEN {int(tier)}" for tier, floor in VOLUME_TIER_FLOORS)
    if user_ids is None:
        user_filter = (
            f"EXISTS (SELECT 1 FROM {Fill._meta.db_table} f WHERE f.user_id = t.user_id)"
            f" OR EXISTS (SELECT 1 FROM {Position._meta.db_table} p WHERE p.user_id = t.user_id)"
        )
    else:
        user_filter = "t.user_id = ANY(%(user_ids)s)"
    sql = f"""
        WITH chosen AS (
            SELECT t.user_id FROM {TradingProfile._meta.db_table} t
            WHERE {user_filter}
        ),
        per_asset AS (
            SELECT f.user_id, f.asset, sum(coalesce(f.notional_usd, 0)) AS volume, count(*) AS trades
            FROM {Fill._meta.db_table} f JOIN chosen USING (user_id)
            WHERE f.filled_at >= %(since)s AND f.filled_at <= %(now)s
            GROUP BY f.user_id, f.asset
        ),
        assets AS (
            SELECT user_id,
                   jsonb_object_agg(asset, round(volume, 2)::text) AS by_asset,
                   array_agg(asset ORDER BY volume DESC, asset) AS traded,
                   sum(volume) AS volume,
                   sum(trades) AS trades
            FROM per_asset GROUP BY user_id
        ),
        instruments AS (
            SELECT user_id, array_agg(DISTINCT kind ORDER BY kind) AS kinds FROM (
                SELECT f.user_id, f.instrument_type AS kind FROM {Fill._meta.db_table} f JOIN chosen USING (user_id)
                WHERE f.filled_at >= %(instruments_since)s AND f.filled_at <= %(now)s
                UNION
                SELECT p.user_id, p.instrument_type FROM {Position._meta.db_table} p JOIN chosen USING (user_id)
            ) used GROUP BY user_id
        ),
        last_fill AS (
            SELECT f.user_id, max(f.filled_at) AS at FROM {Fill._meta.db_table} f JOIN chosen USING (user_id)
            WHERE f.filled_at <= %(now)s GROUP BY f.user_id
        )
        UPDATE {TradingProfile._meta.db_table} t SET
            volume_by_asset = coalesce(a.by_asset, '{{}}'::jsonb),
            traded_assets = coalesce(a.traded, '{{}}'),
            volume_30d_usd = round(coalesce(a.volume, 0), 2),
            trades_30d = coalesce(a.trades, 0),
            volume_tier = CASE {tiers} ELSE 0 END,
            instruments = coalesce(i.kinds, '{{}}'),
            last_trade_at = l.at,
            updated_at = %(now)s
        FROM chosen c
        LEFT JOIN assets a ON a.user_id = c.user_id
        LEFT JOIN instruments i ON i.user_id = c.user_id
        LEFT JOIN last_fill l ON l.user_id = c.user_id
        WHERE t.user_id = c.user_id
    """
    params = {
        "user_ids": list(user_ids or []),
        "since": now - PROFILE_WINDOW,
        "instruments_since": now - INSTRUMENTS_WINDOW,
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
