import time

from django.core.management.base import BaseCommand, CommandError

from ranking.services import tag_untagged
from ranking.tagging import TaggerUnavailable, active_tagger


class Command(BaseCommand):
    help = (
        "Tag posts that have no tags yet with the active tagger; with --all, every post the active model "
        "has not tagged (after training a new one). Prints the count, the time taken and posts per second."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Retag posts tagged by older models too.")
        parser.add_argument("--batch", type=int, default=500, help="Posts per batch and transaction (default 500).")
        parser.add_argument("--limit", type=int, default=None, help="Stop after this many posts.")

    def handle(self, *args, **options):
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        try:
            version = active_tagger().version
        except TaggerUnavailable as error:
            raise CommandError(str(error)) from error
        began = time.perf_counter()
        tagged = tag_untagged(batch=options["batch"], only_missing=not options["all"], limit=options["limit"])
        seconds = time.perf_counter() - began
        rate = f" ({tagged / seconds:,.0f} posts/s)" if tagged and seconds else ""
        self.stdout.write(
            self.style.SUCCESS(f"Tagged {tagged:,} posts in {seconds:.1f} s{rate} with tagger {version}.")
        )
