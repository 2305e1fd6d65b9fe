from django.core.management.base import BaseCommand
from django.utils import timezone

from incentives import estimates
from incentives.weeks import Week


class Command(BaseCommand):
    help = (
        "Compute the running week's live estimate for every creator now (beat does it every 15 minutes), "
        "so creator statements show it at once."
    )

    def handle(self, *args, **options):
        creators = estimates.refresh_estimate()
        week = Week.containing(timezone.now()).label
        self.stdout.write(f"Estimated {week} so far for {creators:,} creators with engagement.")
