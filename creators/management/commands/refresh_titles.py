from django.core.management.base import BaseCommand

from creators.services import refresh_creator_titles


class Command(BaseCommand):
    help = "Give every creator the title their follower count has earned."

    def handle(self, *args, **options):
        self.stdout.write(f"{refresh_creator_titles():,} profile(s) changed title.")
