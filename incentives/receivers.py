"""incentives listens to creators: an account's export includes its money, and its deletion
erases the person's words (appeals) while every amount and ledger row stays as it was.

And to markets: the exchange's confirmations of payout transfers, and a creator linking an exchange
account (their payouts waiting for one are sent)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from creators.privacy import account_erasing, account_exporting, scrub_identifiers
from markets.models import TradingProfile
from markets.signals import transfer_confirmed

from . import ledger, tips, transfers
from .models import Contribution, LedgerEntry, Payout, Tip


@receiver(account_exporting, dispatch_uid="incentives.export_account")
def export_earnings(sender, *, user, **kwargs) -> dict:
    return {
        "contributions": list(
            Contribution.objects.filter(creator=user)
            .order_by("settlement__week")
            .values("settlement__week", "score", "share", "rank", "excluded_reason")
        ),
        "payouts": list(
            Payout.objects.filter(creator=user)
            .order_by("settlement__week")
            .values(
                "settlement__week",
                "amount",
                "currency",
                "status",
                "hold_reason",
                "paid_at",
                "appeal_message",
                "appealed_at",
                "review_note",
            )
        ),
        "tips_given": list(
            Tip.objects.filter(tipper=user)
            .order_by("id")
            .values("created_at", "creator__username", "post_id", "amount", "currency", "state", "exchange_transfer_id")
        ),
        "tips_received": list(
            Tip.objects.filter(creator=user, state=Tip.State.CONFIRMED)
            .order_by("id")
            .values("confirmed_at", "tipper__username", "post_id", "amount", "currency", "exchange_transfer_id")
        ),
        "ledger": list(
            LedgerEntry.objects.filter(
                account__in=[
                    ledger.creator_account(user.pk),
                    ledger.tipper_account(user.pk),
                    ledger.tips_received_account(user.pk),
                ]
            )
            .order_by("id")
            .values("account", "transfer_id", "amount", "currency", "memo", "created_at")
        ),
    }


@receiver(account_erasing, dispatch_uid="incentives.erase_account")
def erase_appeals(sender, *, user, identifiers, tombstone, **kwargs):
    Payout.objects.filter(creator=user).exclude(appeal_message="").update(appeal_message="")
    # Review notes are operators' words, but may name the person (or a deleted operator).
    scrub_identifiers(Payout.objects.all(), ["review_note", "hold_reason"], identifiers, tombstone)


@receiver(transfer_confirmed, dispatch_uid="incentives.transfer_confirmed")
def apply_transfer_confirmation(
    sender, *, idempotency_key, transfer_id, outcome, failure_code, to_uid, completed_at=None, **kwargs
) -> str | None:
    """The exchange's end of a payout transfer or a tip, applied by the module that sent it; None for
    a key Orbit never sent (markets refuses it back to the exchange)."""
    owner = tips if idempotency_key.startswith("tip:") else transfers
    return owner.apply_confirmation(
        idempotency_key=idempotency_key,
        exchange_transfer_id=transfer_id,
        outcome=outcome,
        failure_code=failure_code,
        to_uid=to_uid,
        completed_at=completed_at,
    )


@receiver(post_save, sender=TradingProfile, dispatch_uid="incentives.send_waiting_payouts")
def send_waiting_payouts(sender, *, instance: TradingProfile, **kwargs) -> None:
    """A creator linked an exchange account (account.linked): payouts waiting for one leave now."""
    if not instance.exchange_uid:
        return
    transfer_ids = transfers.release_waiting(creator_id=instance.user_id)
    if transfer_ids:
        transaction.on_commit(lambda: transfers.queue_sends(transfer_ids))
