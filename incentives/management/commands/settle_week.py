import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from incentives import settlement
from incentives.weeks import Week


class Command(BaseCommand):
    help = (
        "Settle one ISO week (in ORBIT_SETTLEMENT_TZ): compute the draft, approve it and pay it, then print a "
        "JSON summary (week, pool, total paid, each creator's contribution and amount). A week already paid "
        "is left unchanged and the summary says so. --dry-run computes the draft and writes nothing."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--week", help="ISO week, e.g. 2026-W47.")
        which.add_argument("--last", action="store_true", help="The week that ended most recently.")
        parser.add_argument("--dry-run", action="store_true", help="Compute and print; write nothing.")
        parser.add_argument("--brief", action="store_true", help="Totals only, without the list of creators.")
        parser.add_argument(
            "--draft-only", action="store_true", help="Compute the draft for review in admin; do not approve or pay."
        )

    def handle(self, *args, week, last, dry_run, draft_only, brief, **options):
        try:
            week = Week.containing(timezone.now()).previous() if last else Week.parse(week)
            if dry_run:
                with transaction.atomic():
                    outcome = settlement.draft_settlement(week=week)
                    result = settlement.summary(outcome.settlement, changed=False, message=_dry(outcome))
                    transaction.set_rollback(True)
            elif draft_only:
                outcome = settlement.draft_settlement(week=week)
                result = settlement.summary(outcome.settlement, changed=outcome.changed, message=outcome.message)
            else:
                outcome = settlement.settle_week(week=week)
                result = settlement.summary(outcome.settlement, changed=outcome.changed, message=outcome.message)
        except (ValueError, settlement.SettlementError) as error:
            raise CommandError(str(error)) from error
        if brief:
            result.pop("creators")
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))


def _dry(outcome) -> str:
    if outcome.changed:
        return f"Dry run: {outcome.settlement.week} would be drafted like this; nothing was written."
    return f"Dry run: {outcome.message}"
