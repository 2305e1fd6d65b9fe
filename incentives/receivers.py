"""incentives listens to creators: an account's export includes its money, and its deletion
erases the person's words (appeals) while every amount and ledger row stays as it was."""

from django.dispatch import receiver

from creators.privacy import account_erasing, account_exporting, scrub_identifiers

from . import ledger
from .models import Contribution, LedgerEntry, Payout


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
        "ledger": list(
            LedgerEntry.objects.filter(account=ledger.creator_account(user.pk))
            .order_by("id")
            .values("transfer_id", "amount", "currency", "memo", "created_at")
        ),
    }


@receiver(account_erasing, dispatch_uid="incentives.erase_account")
def erase_appeals(sender, *, user, identifiers, tombstone, **kwargs):
    Payout.objects.filter(creator=user).exclude(appeal_message="").update(appeal_message="")
    # Review notes are operators' words, but may name the person (or a deleted operator).
    scrub_identifiers(Payout.objects.all(), ["review_note", "hold_reason"], identifiers, tombstone)
