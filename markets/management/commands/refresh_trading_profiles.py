from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from markets.exchange import refresh_trading_profiles


class Command(BaseCommand):
    help = (
        "Rebuild trading profiles (30-day volume per asset, volume tier, instruments, last trade) from the "
        "exchange's fills: for the named users, or every profile with fills or positions."
    )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", help="only these users")

    def handle(self, *args, usernames, **options):
        user_ids = None
        if usernames:
            found = dict(get_user_model().objects.filter(username__in=usernames).values_list("username", "pk"))
            missing = sorted(set(usernames) - set(found))
            if missing:
                raise CommandError(f"No such user: {', '.join(missing)}")
            user_ids = list(found.values())
        self.stdout.write(f"{refresh_trading_profiles(user_ids=user_ids):,} trading profile(s) rebuilt.")
