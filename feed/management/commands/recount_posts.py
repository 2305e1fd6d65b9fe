from django.core.management.base import BaseCommand

from feed.counters import recount_posts


class Command(BaseCommand):
    help = (
        "Rebuild every post's like, comment, repost and quote counters, and every comment's like "
        "counter, from the rows they count."
    )

    def handle(self, *args, **options):
        fixed = recount_posts()
        self.stdout.write(f"{fixed:,} wrong counter row(s) fixed (posts and comments).")
