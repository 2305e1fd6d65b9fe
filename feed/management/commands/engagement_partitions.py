from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feed import partitions


class Command(BaseCommand):
    help = (
        "The engagement log's weekly partitions: --ensure creates the coming weeks (what the daily job "
        "does), --list shows every week and the DEFAULT partition, --detach 2026-W01 takes an old week "
        "out of the log into a table of its own for archiving. With no option, --list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ensure", action="store_true", help="Create this week and the coming ones if missing.")
        parser.add_argument(
            "--weeks-ahead", type=int, default=4, help="With --ensure: how many weeks after this one (default 4)."
        )
        parser.add_argument("--list", action="store_true", help="List the partitions.")
        parser.add_argument(
            "--detach",
            metavar="WEEK",
            help=f"Detach one ISO week (e.g. 2026-W01) that ended over {partitions.MIN_ARCHIVE_AGE.days} days ago.",
        )

    def handle(self, *args: str, **options: Any) -> None:
        if options["ensure"]:
            created = partitions.ensure_partitions(weeks_ahead=options["weeks_ahead"])
            self.stdout.write(f"Created: {', '.join(created)}" if created else "Every week is there already.")
        if options["detach"]:
            try:
                name = partitions.detach_partition(options["detach"])
            except partitions.PartitionError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"Detached {name}: its rows are in that table alone; dump it, then drop it.")
        if options["list"] or not (options["ensure"] or options["detach"]):
            for partition in partitions.list_partitions():
                span = (
                    f"{partition.starts_at:%Y-%m-%d} to {partition.ends_at:%Y-%m-%d} (UTC)"
                    if partition.starts_at and partition.ends_at
                    else "rows no week takes"
                )
                state = "attached" if partition.attached else "detached"
                self.stdout.write(f"{partition.name:<28} {span:<32} {state:<9} ~{partition.rows:,} rows")
