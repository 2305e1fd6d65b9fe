"""The daily check that Orbit's confirmed transfers are the exchange's completed ones, to the cent.

For one UTC day, `reconcile_day` reads the exchange's report of the transfers it completed that day
(`exchange_api.transfers_report`) and compares it, key by key, with the payout transfers and tips
Orbit holds as confirmed with `exchange_completed_at` on that day. Every difference is one dict
(idempotency_key, kind, problem, orbit, exchange) in the day's TransferReconciliation row, logged
at ERROR and shown to operators in admin (the day's page, and the payouts page). The comparison
only reads: correcting a difference is an operator's decision.

The exchange's day wins: a transfer Orbit confirmed through a status query (which files it under the
moment Orbit learned, not the exchange's) is compared on the day the exchange reports it, and a key
missing from the report is asked about once (`transfer_status`) before it is called missing.

Re-running a day replaces its result; a review (who, when, note) stays while the result is the same.
A day whose report could not be fetched is `unavailable` and is tried again by the next run
(`days_to_reconcile`), which never replaces a day's real result with `unavailable`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from markets import exchange_api

from .models import PayoutTransfer, Tip, TransferReconciliation

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
# The periodic job looks back this many days for a day never reconciled or left unavailable.
LOOKBACK_DAYS = 7

Status = TransferReconciliation.Status


class Problem:
    MISSING_IN_ORBIT = "missing_in_orbit"
    MISSING_AT_EXCHANGE = "missing_at_exchange"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    UID_MISMATCH = "uid_mismatch"
    UNKNOWN_KEY = "unknown_key"


@dataclass(frozen=True)
class OrbitTransfer:
    """A payout transfer or tip as Orbit holds it, shaped like the exchange's report line."""

    idempotency_key: str
    kind: str  # "payout" or "tip"
    state: str
    amount: Decimal
    currency: str
    to_uid: str
    from_uid: str | None
    completed_at: datetime | None

    def describe(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "amount": f"{self.amount.quantize(CENT)}",
            "currency": self.currency,
            "to_uid": self.to_uid,
            "from_uid": self.from_uid,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
        }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def reconcile_day(day: date, *, now: datetime | None = None) -> TransferReconciliation:
    """Compares `day` (UTC) and stores the result; see the module docstring."""
    now = now or timezone.now()
    try:
        report = exchange_api.transfers_report(day)
    except exchange_api.ExchangeError as problem:
        return _record_unavailable(day, error=f"{type(problem).__name__}: {problem}"[:500], now=now)
    reported = {line.idempotency_key: line for line in report}
    orbit = _confirmed_on(day)
    elsewhere = _known(set(reported) - set(orbit))
    # Confirmed by Orbit on another day, but completed on this one by the exchange's account.
    orbit.update({key: transfer for key, transfer in elsewhere.items() if transfer.state == "confirmed"})
    differences: list[dict[str, Any]] = []
    for key in sorted(set(orbit) - set(reported)):
        if _completed_on_another_day(key):
            del orbit[key]  # the exchange files it under another day, whose check covers it
            continue
        differences.append(
            _difference(
                key,
                orbit[key].kind,
                Problem.MISSING_AT_EXCHANGE,
                "Orbit confirmed this transfer, but the exchange's report for the day lacks it "
                "and the exchange does not say it completed.",
                orbit=orbit[key],
            )
        )
    for key in sorted(set(reported) - set(orbit)):
        line = reported[key]
        known = elsewhere.get(key)
        if known is None:
            differences.append(
                _difference(
                    key,
                    line.kind,
                    Problem.UNKNOWN_KEY,
                    "The exchange completed a transfer under a key Orbit never sent.",
                    exchange=line,
                )
            )
        else:
            differences.append(
                _difference(
                    key,
                    known.kind,
                    Problem.MISSING_IN_ORBIT,
                    f"The exchange completed this transfer, but Orbit holds it as {known.state}: Orbit may "
                    "have missed the exchange's confirmation (webhook).",
                    orbit=known,
                    exchange=line,
                )
            )
    for key in sorted(set(reported) & set(orbit)):
        differences.extend(_compare(orbit[key], reported[key]))
    totals = _totals(orbit.values(), report)
    for difference in differences:
        logger.error(
            "Transfer reconciliation %s: %s %s: %s",
            day,
            difference["problem"],
            difference["idempotency_key"],
            difference["explanation"],
        )
    return _record_result(
        day,
        status=Status.DIFFERENCES if differences else Status.MATCHED,
        exchange_count=len(report),
        orbit_count=len(orbit),
        totals=totals,
        differences=differences,
        now=now,
    )


def days_to_reconcile(*, today: date) -> list[date]:
    """Yesterday always (late confirmations may have changed it), and each earlier day of the last
    LOOKBACK_DAYS whose check is missing or was unavailable; oldest first."""
    yesterday = today - timedelta(days=1)
    earlier = [yesterday - timedelta(days=n) for n in range(LOOKBACK_DAYS - 1, 0, -1)]
    done = set(
        TransferReconciliation.objects.filter(day__in=earlier)
        .exclude(status=Status.UNAVAILABLE)
        .values_list("day", flat=True)
    )
    return [day for day in earlier if day not in done] + [yesterday]


def reconcile_due_days(*, now: datetime | None = None) -> dict[str, str]:
    """The periodic job: every day `days_to_reconcile` names. Returns each day's status."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    return {day.isoformat(): reconcile_day(day, now=now).status for day in days_to_reconcile(today=today)}


def record_review(*, reconciliation_id: int, by: Any, note: str, now: datetime | None = None) -> TransferReconciliation:
    """An operator looked at the day's differences and says what was done."""
    now = now or timezone.now()
    with transaction.atomic():
        row = TransferReconciliation.objects.select_for_update().get(pk=reconciliation_id)
        row.review_note, row.reviewed_by, row.reviewed_at = note, by, now
        row.save(update_fields=["review_note", "reviewed_by", "reviewed_at"])
    logger.info("Transfer reconciliation %s reviewed by user %s", row.day, getattr(by, "pk", None))
    return row


def latest() -> TransferReconciliation | None:
    return TransferReconciliation.objects.select_related("reviewed_by").order_by("-day").first()


def open_differences() -> list[TransferReconciliation]:
    """Days with differences nobody has reviewed yet, newest first (the payouts page shows them)."""
    return list(
        TransferReconciliation.objects.filter(status=Status.DIFFERENCES, reviewed_at__isnull=True).order_by("-day")[
            :LOOKBACK_DAYS
        ]
    )


# --- Orbit's side -------------------------------------------------------------------------------


def _from_payout(transfer: PayoutTransfer) -> OrbitTransfer:
    return OrbitTransfer(
        idempotency_key=transfer.idempotency_key,
        kind="payout",
        state=transfer.state,
        amount=transfer.payout.amount,
        currency=transfer.payout.currency,
        to_uid=transfer.to_uid,
        from_uid=None,
        completed_at=transfer.exchange_completed_at,
    )


def _from_tip(tip: Tip) -> OrbitTransfer:
    return OrbitTransfer(
        idempotency_key=tip.idempotency_key,
        kind="tip",
        state=tip.state,
        amount=Decimal(tip.amount),  # whole units
        currency=tip.currency,
        to_uid=tip.to_uid,
        from_uid=tip.from_uid,
        completed_at=tip.exchange_completed_at,
    )


def _confirmed_on(day: date) -> dict[str, OrbitTransfer]:
    start, end = day_bounds(day)
    on_day = {"exchange_completed_at__gte": start, "exchange_completed_at__lt": end}
    payouts = PayoutTransfer.objects.filter(state=PayoutTransfer.State.CONFIRMED, **on_day).select_related("payout")
    tips = Tip.objects.filter(state=Tip.State.CONFIRMED, **on_day)
    found = {transfer.idempotency_key: _from_payout(transfer) for transfer in payouts}
    found.update({tip.idempotency_key: _from_tip(tip) for tip in tips})
    return found


def _known(keys: set[str]) -> dict[str, OrbitTransfer]:
    """Orbit's payout transfers and tips under `keys`, in whatever state."""
    if not keys:
        return {}
    found = {
        transfer.idempotency_key: _from_payout(transfer)
        for transfer in PayoutTransfer.objects.filter(idempotency_key__in=keys).select_related("payout")
    }
    found.update({tip.idempotency_key: _from_tip(tip) for tip in Tip.objects.filter(idempotency_key__in=keys)})
    return found


def _completed_on_another_day(key: str) -> bool:
    """Asked once per key missing from the report: rare, so one request each is cheap. An
    unanswered question counts as not completed, so the difference is shown rather than hidden."""
    try:
        answer = exchange_api.transfer_status(key)
    except exchange_api.ExchangeError:
        return False
    return answer is not None and answer.status == "completed"


# --- Comparing ------------------------------------------------------------------------------------


def _compare(orbit: OrbitTransfer, line: exchange_api.ReportedTransfer) -> list[dict[str, Any]]:
    found = []
    if orbit.amount != line.amount:
        found.append(
            _difference(
                orbit.idempotency_key,
                orbit.kind,
                Problem.AMOUNT_MISMATCH,
                f"Orbit confirmed {orbit.amount.quantize(CENT)}, the exchange completed {line.amount.quantize(CENT)}.",
                orbit=orbit,
                exchange=line,
            )
        )
    if orbit.currency != line.currency:
        found.append(
            _difference(
                orbit.idempotency_key,
                orbit.kind,
                Problem.CURRENCY_MISMATCH,
                f"Orbit confirmed {orbit.currency}, the exchange completed {line.currency}.",
                orbit=orbit,
                exchange=line,
            )
        )
    # A payout comes from Orbit's pool, so only a tip's payer is compared.
    payer_differs = orbit.kind == "tip" and (orbit.from_uid or None) != (line.from_uid or None)
    if orbit.to_uid != line.to_uid or payer_differs:
        found.append(
            _difference(
                orbit.idempotency_key,
                orbit.kind,
                Problem.UID_MISMATCH,
                "The exchange moved the money between other accounts than Orbit recorded.",
                orbit=orbit,
                exchange=line,
            )
        )
    return found


def _describe_line(line: exchange_api.ReportedTransfer) -> dict[str, Any]:
    return {
        "transfer_id": line.transfer_id,
        "amount": f"{line.amount.quantize(CENT)}",
        "currency": line.currency,
        "to_uid": line.to_uid,
        "from_uid": line.from_uid,
        "completed_at": line.completed_at.isoformat(),
    }


def _difference(
    key: str,
    kind: str,
    problem: str,
    explanation: str,
    *,
    orbit: OrbitTransfer | None = None,
    exchange: exchange_api.ReportedTransfer | None = None,
) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "kind": kind,
        "problem": problem,
        "explanation": explanation,
        "orbit": orbit.describe() if orbit else None,
        "exchange": _describe_line(exchange) if exchange else None,
    }


def _totals(orbit: Any, report: list[exchange_api.ReportedTransfer]) -> dict[str, dict[str, str]]:
    """Sums per currency on each side, as exact strings ("123.45")."""
    sums: dict[str, dict[str, Decimal]] = {}
    for transfer in orbit:
        side = sums.setdefault(transfer.currency, {"exchange": Decimal(0), "orbit": Decimal(0)})
        side["orbit"] += transfer.amount
    for line in report:
        side = sums.setdefault(line.currency, {"exchange": Decimal(0), "orbit": Decimal(0)})
        side["exchange"] += line.amount
    return {
        currency: {name: f"{amount.quantize(CENT)}" for name, amount in sides.items()}
        for currency, sides in sorted(sums.items())
    }


# --- Storing --------------------------------------------------------------------------------------


def _record_result(
    day: date,
    *,
    status: str,
    exchange_count: int,
    orbit_count: int,
    totals: dict,
    differences: list[dict[str, Any]],
    now: datetime,
) -> TransferReconciliation:
    result = {
        "status": status,
        "exchange_count": exchange_count,
        "orbit_count": orbit_count,
        "totals": totals,
        "differences": differences,
    }
    with transaction.atomic():
        row = TransferReconciliation.objects.select_for_update().filter(day=day).first()
        if row is None:
            row = TransferReconciliation(day=day)
        elif any(getattr(row, name) != value for name, value in result.items()):
            # What the reviewer looked at is gone: the new result needs its own review.
            row.reviewed_by, row.reviewed_at, row.review_note = None, None, ""
        for name, value in result.items():
            setattr(row, name, value)
        row.checked_at, row.error = now, ""
        row.save()
    if differences:
        logger.error("Transfer reconciliation %s: %d difference(s).", day, len(differences))
    else:
        logger.info("Transfer reconciliation %s: matched (%d transfers).", day, exchange_count)
    return row


def _record_unavailable(day: date, *, error: str, now: datetime) -> TransferReconciliation:
    logger.error("Transfer reconciliation %s: the exchange's report is unavailable: %s", day, error)
    with transaction.atomic():
        row = TransferReconciliation.objects.select_for_update().filter(day=day).first()
        if row is not None and row.status != Status.UNAVAILABLE:
            return row  # keep the day's real result; the next run tries again only if asked
        row = row or TransferReconciliation(day=day)
        row.status, row.checked_at, row.error = Status.UNAVAILABLE, now, error
        row.exchange_count, row.totals, row.differences = 0, {}, []
        row.orbit_count = len(_confirmed_on(day))
        row.save()
    return row
