"""The double-entry ledger: money only moves between accounts, in transfers whose legs sum to zero.

Accounts are named strings:
  treasury            where prize pools come from (its balance is minus all pools ever funded)
  pool:<week>         a week's pool while it is paid out; empty once the week is paid
  creator:<id>        what a creator has been paid
  held:<week>         payouts of a week held for review
  carryover           money no creator of its week could receive; the next draft adds it to its pool
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from .models import CENT, LedgerEntry, Payout, Settlement

TREASURY = "treasury"
CARRYOVER = "carryover"


def pool_account(week: str) -> str:
    return f"pool:{week}"


def held_account(week: str) -> str:
    return f"held:{week}"


def creator_account(creator_id: int) -> str:
    return f"creator:{creator_id}"


@dataclass(frozen=True)
class Move:
    """One transfer for `transfer_many`."""

    source: str
    destination: str
    amount: Decimal
    currency: str
    memo: str
    settlement: Settlement | None = None
    payout: Payout | None = None


def transfer(
    *,
    source: str,
    destination: str,
    amount: Decimal,
    currency: str,
    memo: str,
    settlement: Settlement | None = None,
    payout: Payout | None = None,
) -> uuid.UUID:
    """Move `amount` from `source` to `destination`. Call inside the caller's transaction."""
    move = Move(source, destination, amount, currency, memo, settlement, payout)
    return transfer_many([move])[0]


def transfer_many(moves: Iterable[Move]) -> list[uuid.UUID]:
    """Several transfers written in one INSERT (a paid week's 10,000 payouts), each with its own
    transfer id and legs summing to zero. Call inside the caller's transaction."""
    entries: list[LedgerEntry] = []
    transfer_ids: list[uuid.UUID] = []
    for move in moves:
        if move.amount <= 0 or move.amount != move.amount.quantize(CENT):
            raise ValueError(f"A transfer moves a positive whole number of cents, not {move.amount}.")
        transfer_id = uuid.uuid4()
        common = {
            "transfer_id": transfer_id,
            "currency": move.currency,
            "memo": move.memo,
            "settlement": move.settlement,
            "payout": move.payout,
        }
        entries.append(LedgerEntry(account=move.source, amount=-move.amount, **common))
        entries.append(LedgerEntry(account=move.destination, amount=move.amount, **common))
        transfer_ids.append(transfer_id)
    LedgerEntry.objects.bulk_create(entries, batch_size=5000)
    return transfer_ids


def balance(account: str, currency: str | None = None) -> Decimal:
    entries = LedgerEntry.objects.filter(account=account)
    if currency:
        entries = entries.filter(currency=currency)
    return entries.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def imbalance() -> Decimal:
    """Σ of every leg ever written: always 0."""
    return LedgerEntry.objects.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


# Tips (incentives/tips.py): a reader's money passing through Orbit's books on its way from the
# reader's exchange account to the creator's; no platform account is ever part of a tip.
TIPS_IN_FLIGHT = "tips:in_flight"


def tipper_account(tipper_id: int) -> str:
    return f"tipper:{tipper_id}"


def tips_received_account(creator_id: int) -> str:
    return f"tips:{creator_id}"
