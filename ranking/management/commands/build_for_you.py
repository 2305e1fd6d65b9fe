import time

from django.core.management.base import BaseCommand, CommandError

from creators.models import User
from ranking import feeds


class Command(BaseCommand):
    help = "Build For You lists now: for the named users, or for every active user (beat does this every 5 minutes)."

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", help="Whose lists to build; all active users when none.")

    def handle(self, *args, usernames, **options):
        if usernames:
            found = dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))
            missing = sorted(set(usernames) - set(found))
            if missing:
                raise CommandError(f"No such user: {', '.join(missing)}")
            user_ids = list(found.values())
        else:
            user_ids = feeds.active_user_ids()
        began = time.perf_counter()
        items = sum(feeds.build_for_you(user_id=user_id) for user_id in user_ids)
        elapsed = time.perf_counter() - began
        self.stdout.write(
            f"Built {len(user_ids):,} For You lists ({items:,} items) in {elapsed:.1f} s"
            + (f", {1000 * elapsed / len(user_ids):.1f} ms per user." if user_ids else ".")
        )
