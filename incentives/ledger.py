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
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValueError(f"A transfer moves a positive whole number of cents, not {amount}.")
    transfer_id = uuid.uuid4()
    common = {
        "transfer_id": transfer_id,
        "currency": currency,
        "memo": memo,
        "settlement": settlement,
        "payout": payout,
    }
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(account=source, amount=-amount, **common),
            LedgerEntry(account=destination, amount=amount, **common),
        ]
    )
    return transfer_id


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
