from django.core.management.base import BaseCommand

from feed.counters import recount_posts


class Command(BaseCommand):
    help = "Rebuild every post's like, comment, repost and quote counters from the rows they count."

    def handle(self, *args, **options):
        fixed = recount_posts()
        self.stdout.write(f"{fixed:,} post(s) had wrong counters and were fixed.")
