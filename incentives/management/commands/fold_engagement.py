from django.core.management.base import BaseCommand, CommandError

from incentives import folding
from incentives.weeks import Week


class Command(BaseCommand):
    help = (
        "Fold the engagement no fold has taken yet into the settlement's rollups, once (the folding queue "
        "does it every 30 s). --rebuild-week 2026-W47 refolds that week from the raw log instead: the "
        "rows already folded, with the dwell cap in force; rows not folded yet are left to the next fold."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild-week", metavar="WEEK", help="ISO week in ORBIT_SETTLEMENT_TZ, e.g. 2026-W47.")
        parser.add_argument(
            "--limit", type=int, help="Fold about this many rows at most (whole transactions); the rest next time."
        )

    def handle(self, *args, rebuild_week, limit, **options):
        if rebuild_week:
            try:
                week = Week.parse(rebuild_week)
                events = folding.rebuild_week(week)
            except (ValueError, folding.FoldError) as refused:
                raise CommandError(str(refused)) from None
            self.stdout.write(f"Refolded {week}: {events:,} engagement rows from the raw log.")
            return
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        result = folding.fold_new_engagement(limit=limit)
        refolded = (
            f" (refolded {', '.join(result.refolded_weeks)} for the new dwell cap)" if result.refolded_weeks else ""
        )
        more = " More is waiting: run it again." if result.more else ""
        self.stdout.write(
            f"Folded {result.events:,} engagement rows into {result.rollup_rows:,} rollup rows{refolded}.{more}"
        )
