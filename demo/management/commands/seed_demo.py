from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from demo.parameters import DEFAULT_DEMO_PASSWORD
from demo.seeding import default_anchor, seed_demo_data


def _anchor(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--anchor: not an ISO 8601 date and time: {value!r}") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Command(BaseCommand):
    help = (
        "Fill the database with deterministic demo data: USERS generated accounts plus the fixed accounts "
        "'demo' and 'operator' (created only when missing), exactly POSTS posts and EVENTS engagement rows, "
        "with follows, likes, comments, shares and reports to match, and a few planted cheaters "
        "(see demo/seeding.py). Appends when data exists. The same seed, anchor and sizes give the same rows."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--users", type=int, default=1500, help="Generated accounts (default 1500), besides demo and operator."
        )
        parser.add_argument("--posts", type=int, default=6000, help="Posts (default 6000).")
        parser.add_argument("--events", type=int, default=150_000, help="Engagement rows (default 150000).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--anchor",
            type=_anchor,
            default=None,
            help="The 'now' all timestamps lead up to, ISO 8601 (naive means UTC); default: this hour, UTC.",
        )
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any post exists.")
        parser.add_argument(
            "--demo-password",
            default=DEFAULT_DEMO_PASSWORD,
            help=f"Password of every seeded account (default {DEFAULT_DEMO_PASSWORD!r}).",
        )

    def handle(self, *args, **options):
        anchor = options["anchor"] or default_anchor()
        self.stdout.write(
            f"Seeding {options['users']:,} users, {options['posts']:,} posts and {options['events']:,} "
            f"engagement rows (seed {options['seed']}, anchor {anchor.isoformat()})"
        )
        try:
            report = seed_demo_data(
                users=options["users"],
                posts=options["posts"],
                events=options["events"],
                seed=options["seed"],
                anchor=anchor,
                demo_password=options["demo_password"],
                only_if_empty=options["if_empty"],
                progress=self.stdout.write,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        if report is None:
            self.stdout.write("Posts already exist; nothing seeded (--if-empty).")
            return
        planted = report.planted
        self.stdout.write(
            "Planted cheating:\n"
            f"  self-likers ({planted.self_engagement_rows} rows): {', '.join(planted.self_likers) or '-'}\n"
            f"  like ring ({planted.ring_engagement_rows} rows): {', '.join(planted.ring) or '-'}\n"
            f"  sign-up burst ({planted.burst_engagement_rows} rows): {len(planted.burst_accounts)} accounts "
            f"joined from {planted.burst_joined_from.isoformat() if planted.burst_joined_from else '-'}, "
            f"beneficiary {planted.burst_beneficiary or '-'}"
        )
        if report.fixed_accounts_created:
            self.stdout.write(
                f"Log in as 'demo' (reader) or 'operator' (staff) with password {options['demo_password']!r}."
            )
        self.stdout.write(self.style.SUCCESS(f"Seeded {report.total_rows:,} rows in {report.total_seconds:.1f} s."))
