"""Graded calls: a post's structured market call, its grade once the horizon passes, and the record
the grades build on a creator's profile.

A call says where an asset goes ("$BTC up to 70,000 within 7 days"). It is made with its post, in
the same transaction, and nobody changes it afterwards: the record is only worth reading because
losing calls cannot be edited away. Deleting the post keeps the call and its place in the record.

Grading reads stored one-hour candles (markets.market_data) of the window from the bar holding the moment
the call was made up to its horizon:

- an up call hits when any bar's high reaches the target, a down call when any bar's low does;
  the outcome is the target;
- otherwise it missed, and the outcome is the close of the last bar before the horizon;
- the return is (outcome - entry) / entry * 100, turned round for a down call, so a hit is
  positive and a miss may be either;
- while the candles do not reach the horizon the call waits (an hour after the horizon the grader
  asks the market-data API's history for the missing bars); two days after the horizon, once the
  history has answered without them, it is void instead (no market data) and counts in no record.
  An unreachable API is our outage, not an answer: the call keeps waiting for it, up to
  OUTAGE_LIMIT after its horizon.

See docs/cards-and-calls.md#graded-calls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from markets import market_data
from markets.models import Asset, Candle
from orbit.pagination import PAGE_SIZE, Page, keyset_page

from .models import Call, Post
from .templatetags.orbit_ui import price

logger = logging.getLogger(__name__)

HORIZON_DAYS = (1, 3, 7, 14, 30, 90)
# How long a due call waits for candles that reach its horizon before it is void.
GRACE = timedelta(days=2)
# While the history API cannot be reached a call past its grace keeps waiting, since voiding it
# would take a possible hit off its author's record for our outage; past this it is void anyway.
OUTAGE_LIMIT = timedelta(days=30)
RETURN_PLACES = Decimal("0.0001")  # Call.return_percent: 4 decimal places
RECORD_PLACES = Decimal("0.01")  # the record's hit rate and average return
# Call.target_price is 32 digits with 12 decimal places.
TARGET_PLACES = 12
TARGET_WHOLE_DIGITS = 20
# A return must fit Call.return_percent (12 digits, 4 places); no real call comes near this.
MAX_TARGET_MULTIPLE = Decimal(1_000_000)


# --- Making a call ----------------------------------------------------------------------------


@dataclass
class CallInput:
    asset: str
    direction: str
    target_price: Decimal | str
    horizon_days: int | str


@dataclass(frozen=True)
class CheckedCall:
    """A call whose parts are valid on their own; whether the target is on the right side of the
    market is checked when it is attached, at the moment of posting."""

    asset: Asset
    direction: str
    target_price: Decimal
    horizon: timedelta


def _target(value) -> Decimal:
    try:
        target = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(_("Enter the target as a price, such as 70000.")) from None
    if not target.is_finite():
        raise ValidationError(_("Enter the target as a price, such as 70000."))
    if target <= 0:
        raise ValidationError(_("The target price must be above zero."))
    if target.as_tuple().exponent < -TARGET_PLACES:
        raise ValidationError(_("Use at most %(places)d decimal places.") % {"places": TARGET_PLACES})
    if target.adjusted() >= TARGET_WHOLE_DIGITS:
        raise ValidationError(_("That target price is too large."))
    return target


def _horizon_days(value) -> int:
    try:
        days = int(str(value).strip())
    except ValueError:
        days = None
    if days not in HORIZON_DAYS:
        raise ValidationError(_("Choose a horizon of 1, 3, 7, 14, 30 or 90 days."))
    return days


def check_call(call: CallInput) -> CheckedCall:
    """The call's parts, each checked; every refusal at once, keyed by the compose form's fields."""
    errors: dict[str, ValidationError] = {}
    symbol = (call.asset or "").strip().lstrip("$").upper()
    asset = None
    if not symbol:
        errors["call_asset"] = ValidationError(_("Name the asset of your call, such as BTC."))
    elif symbol in market_data.DOLLARS:
        errors["call_asset"] = ValidationError(
            _("$%(symbol)s is a dollar stablecoin: its price does not move, so a call on it cannot be graded.")
            % {"symbol": symbol}
        )
    else:
        asset = Asset.objects.filter(symbol=symbol[:20], is_listed=True).first()
        if asset is None:
            errors["call_asset"] = ValidationError(
                _("$%(symbol)s is not listed on the exchange; a call needs a listed asset, such as BTC.")
                % {"symbol": symbol[:24]}
            )
    if call.direction not in Call.Direction.values:
        errors["call_direction"] = ValidationError(_("Choose whether the price goes up or down."))
    parsed = {}
    for field, parse, value in (
        ("call_target_price", _target, call.target_price),
        ("call_horizon_days", _horizon_days, call.horizon_days),
    ):
        if value in (None, ""):
            errors[field] = ValidationError(_("This field is required."))
            continue
        try:
            parsed[field] = parse(value)
        except ValidationError as error:
            errors[field] = error
    if errors:
        raise ValidationError(errors)
    return CheckedCall(
        asset=asset,
        direction=call.direction,
        target_price=parsed["call_target_price"],
        horizon=timedelta(days=parsed["call_horizon_days"]),
    )


def entry_price_at(symbol: str, moment: datetime) -> Decimal | None:
    """The market price a call made at `moment` starts from: the close of the bar holding it, else
    the last stored close (the poller has not stored the current bar yet); None without any."""
    return market_data.price_at(symbol, moment) or market_data.latest_close(symbol)


def attach_call(*, post: Post, call: CheckedCall) -> Call:
    """Store `call` on a post being published. Run it inside the post's transaction: a refusal
    here rolls the post back with it."""
    made_at = post.created_at
    symbol = call.asset.symbol
    entry = entry_price_at(symbol, made_at)
    if entry is not None:
        # Without market data there is nothing to compare with; the grader fills the entry from the
        # bar holding made_at, and voids the call if its target turns out to be on the wrong side.
        _check_side(direction=call.direction, target=call.target_price, entry=entry, symbol=symbol)
    return Call.objects.create(
        post=post,
        author_id=post.author_id,
        asset=call.asset,
        direction=call.direction,
        target_price=call.target_price,
        entry_price=entry,
        made_at=made_at,
        horizon_at=made_at + call.horizon,
    )


def _check_side(*, direction: str, target: Decimal, entry: Decimal, symbol: str) -> None:
    shown = {"symbol": symbol, "price": price(entry)}
    if direction == Call.Direction.UP and target <= entry:
        message = _("For an up call the target must be above the current price of $%(symbol)s (%(price)s).")
    elif direction == Call.Direction.DOWN and target >= entry:
        message = _("For a down call the target must be below the current price of $%(symbol)s (%(price)s).")
    elif target > entry * MAX_TARGET_MULTIPLE:
        message = _("The target is more than a million times the current price of $%(symbol)s (%(price)s).")
    else:
        return
    raise ValidationError({"call_target_price": message % shown})


# --- Grading ----------------------------------------------------------------------------------


def _signed_return(*, outcome: Decimal, entry: Decimal, direction: str) -> Decimal:
    with localcontext(prec=60):
        change = (outcome - entry) / entry * 100
        if direction == Call.Direction.DOWN:
            change = -change
        return change.quantize(RETURN_PLACES, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Grade:
    status: str  # Call.Status, or "waiting" to leave the call open
    entry_price: Decimal | None = None
    outcome_price: Decimal | None = None
    return_percent: Decimal | None = None


WAITING = "waiting"


def grade_of(call: Call, *, now: datetime, give_up: bool = True) -> Grade:
    """What the stored candles say about a due call (a read; nothing is written). Without
    ``give_up`` a call short of candles keeps waiting even past its grace period."""
    window = Candle.objects.filter(
        instrument=market_data.instrument_for(call.asset.symbol),
        bar=market_data.BAR,
        # From the bar holding made_at (opened within the hour before it) to the last bar before the horizon.
        opened_at__gt=call.made_at - market_data.BAR_LENGTH,
        opened_at__lt=call.horizon_at,
    )
    out_of_time = give_up and now > call.horizon_at + GRACE
    unknown = Grade(status=Call.Status.VOID if out_of_time else WAITING)
    entry = call.entry_price
    if entry is None:
        entry = window.filter(opened_at__lte=call.made_at).values_list("close", flat=True).first()
        if entry is None:
            return unknown
    up = call.direction == Call.Direction.UP
    if (call.target_price <= entry) if up else (call.target_price >= entry):
        # Made without market data, and the target was already behind the price: nothing to grade.
        return Grade(status=Call.Status.VOID, entry_price=entry)
    touched = window.filter(high__gte=call.target_price) if up else window.filter(low__lte=call.target_price)
    if touched.exists():
        # A touch settles it even if later bars are missing: nothing after it can undo a hit.
        outcome = call.target_price
        status = Call.Status.HIT
    else:
        last = window.order_by("-opened_at").values("opened_at", "close", "is_closed").first()
        # A miss needs the whole way to the horizon, up to a bar that has closed.
        if last is None or last["opened_at"] < call.horizon_at - market_data.BAR_LENGTH or not last["is_closed"]:
            return Grade(status=unknown.status, entry_price=entry)
        outcome = last["close"]
        status = Call.Status.MISSED
    return Grade(
        status=status,
        entry_price=entry,
        outcome_price=outcome,
        return_percent=_signed_return(outcome=outcome, entry=entry, direction=call.direction),
    )


def grade_due_calls(now: datetime | None = None) -> dict:
    """Grade every open call whose horizon has passed; returns how many were graded (hit, missed or
    void) and how many still wait for candles. Safe to run twice at once: each call is claimed by
    a conditional UPDATE on its open status, so only one grader writes each grade."""
    now = now or timezone.now()
    counts = {"graded": 0, "hit": 0, "missed": 0, "void": 0, "waiting": 0}
    due = (
        Call.objects.filter(status=Call.Status.OPEN, horizon_at__lte=now)  # the call_open_due index
        .select_related("asset")
        .order_by("horizon_at", "pk")
    )
    waiting = []
    for call in due:
        # A call short of candles is not voided before the history API has been asked for them.
        grade = grade_of(call, now=now, give_up=False)
        if grade.status == WAITING:
            waiting.append(call)
        else:
            _record(call, grade, now=now, counts=counts)
    history = _backfill([call for call in waiting if now >= call.horizon_at + BACKFILL_AFTER])
    for call in waiting:
        symbol = call.asset.symbol
        give_up = (now > call.horizon_at + GRACE and symbol in history.answered) or (
            now > call.horizon_at + OUTAGE_LIMIT
        )
        regrade = symbol in history.refreshed or give_up
        grade = grade_of(call, now=now, give_up=give_up) if regrade else Grade(status=WAITING)
        if grade.status == WAITING:
            counts["waiting"] += 1
        else:
            _record(call, grade, now=now, counts=counts)
    if counts["graded"] or counts["waiting"]:
        logger.info("Graded calls: %s", counts)
    return counts


def _record(call: Call, grade: Grade, *, now: datetime, counts: dict) -> None:
    claimed = Call.objects.filter(pk=call.pk, status=Call.Status.OPEN).update(
        status=grade.status,
        graded_at=now,
        # Void keeps a known entry (it shows what the call started from) but has no outcome.
        entry_price=grade.entry_price if grade.entry_price is not None else call.entry_price,
        outcome_price=grade.outcome_price,
        return_percent=grade.return_percent,
    )
    if claimed:  # else another grader got there first
        counts["graded"] += 1
        counts[grade.status] += 1


# The poll keeps recent bars of every asset with open calls, but it may have been down for days, or
# have left a rarely named asset out of a busy poll. A call still waiting this long after its
# horizon asks the history endpoint for its window, at most once an hour per asset.
BACKFILL_AFTER = timedelta(hours=1)
BACKFILL_EVERY = timedelta(hours=1)
# What the cache remembers of an asset's last ask, for the rest of the hour.
ASKING, ANSWERED, UNREACHABLE = "asking", "answered", "unreachable"


def backfill_key(symbol: str) -> str:
    return f"calls:backfill:{symbol}"


@dataclass(frozen=True)
class History:
    refreshed: frozenset[str]  # symbols whose history brought new bars in this run
    # Symbols whose history answered within the hour (with bars, nothing, or an error code of the
    # API's own): whatever bars exist are stored, so a call still short of them may be void.
    answered: frozenset[str]


def _backfill(calls: list[Call]) -> History:
    """Fetch the missing history of these waiting calls' assets."""
    since: dict[str, datetime] = {}
    for call in calls:
        symbol = call.asset.symbol
        since[symbol] = min(since.get(symbol, call.made_at), call.made_at)
    refreshed, answered = set(), set()
    timeout = int(BACKFILL_EVERY.total_seconds())
    for symbol, made_at in since.items():
        key = backfill_key(symbol)
        # cache.add is atomic: of two graders, or two runs within the hour, one asks the API; the
        # others go by what it heard (still asking counts as not answered yet).
        if not cache.add(key, ASKING, timeout=timeout):
            if cache.get(key) == ANSWERED:
                answered.add(symbol)
            continue
        outcome, written = ANSWERED, 0
        try:
            with transaction.atomic():  # a refused bar costs this asset's backfill, not the run
                written = market_data.backfill(symbol, since=made_at - market_data.BAR_LENGTH)
        except market_data.MarketDataUnreachable as exc:
            outcome = UNREACHABLE
            logger.warning("Calls: could not reach the market-data API for candles of %s: %s", symbol, exc)
        except (market_data.MarketDataError, DataError, IntegrityError) as exc:
            logger.warning("Calls: could not backfill candles of %s: %s", symbol, exc)
        cache.set(key, outcome, timeout=timeout)
        if outcome == ANSWERED:
            answered.add(symbol)
        if written:
            refreshed.add(symbol)
    return History(refreshed=frozenset(refreshed), answered=frozenset(answered))


# --- The record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """A creator's graded calls. Void calls count nowhere: the market, not the creator, failed."""

    hits: int
    missed: int
    open: int
    average_return_percent: Decimal | None  # over hits and misses; None before the first grade

    @property
    def graded(self) -> int:
        return self.hits + self.missed

    @property
    def hit_rate_percent(self) -> Decimal | None:
        if not self.graded:
            return None
        with localcontext(prec=60):
            rate = Decimal(self.hits) * 100 / self.graded
        return rate.quantize(RECORD_PLACES, rounding=ROUND_HALF_EVEN)


def call_record(*, user) -> CallRecord:
    """`user`'s record, in one aggregate query over their calls (the call_author_recent index)."""
    graded = Q(status__in=[Call.Status.HIT, Call.Status.MISSED])
    figures = Call.objects.filter(author=user).aggregate(
        hits=Count("pk", filter=Q(status=Call.Status.HIT)),
        missed=Count("pk", filter=Q(status=Call.Status.MISSED)),
        open=Count("pk", filter=Q(status=Call.Status.OPEN)),
        average=Avg("return_percent", filter=graded),
    )
    average = figures["average"]
    return CallRecord(
        hits=figures["hits"],
        missed=figures["missed"],
        open=figures["open"],
        average_return_percent=None
        if average is None
        else Decimal(average).quantize(RECORD_PLACES, rounding=ROUND_HALF_EVEN),
    )


def calls_of(*, author, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """`author`'s calls, newest first, each with its post and asset; keyset pages on (made_at, post)."""
    queryset = Call.objects.filter(author=author).select_related("post", "asset").defer("post__search_vector")
    return keyset_page(queryset, cursor=cursor, size=size, time_field="made_at")


def hides_calls_from_viewer(creator) -> bool:
    """Whether the viewer muted or blocked `creator`, or is blocked by them (the annotations of
    selectors.creator_profile): the list links to posts the viewer is not shown, so it stays
    empty, as the Posts tab does. The record itself is public."""
    return any(getattr(creator, name, False) for name in ("muted_by_viewer", "blocked_by_viewer", "blocks_viewer"))
