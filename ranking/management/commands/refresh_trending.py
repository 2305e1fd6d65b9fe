import time

from django.core.management.base import BaseCommand

from ranking.trending import refresh_trending


class Command(BaseCommand):
    help = "Recompute every post's trending score now (beat does it every five minutes)."

    def handle(self, *args, **options):
        began = time.perf_counter()
        changed = refresh_trending()
        self.stdout.write(f"Trending scores updated for {changed:,} posts in {time.perf_counter() - began:.2f} s.")
