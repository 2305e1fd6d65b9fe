import json
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ranking import evaluation, impressions, offline


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"not an ISO 8601 date and time: {value!r}") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class Command(BaseCommand):
    help = (
        "Offline evaluation of For You: build Orbit's ranker's lists and two baselines' (chronological, "
        "popularity) as of a cut-off, and score them against the positive engagement that followed "
        "(NDCG, recall, catalogue and creator coverage, creator Gini, education share). A report: "
        "worse figures never fail the command. See ranking/evaluation.py for the definitions."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--cutoff",
            type=_moment,
            default=None,
            help="Rank as of this moment, ISO 8601 (naive means UTC); default: --horizon-days before the "
            "latest engagement row.",
        )
        parser.add_argument(
            "--horizon-days", type=float, default=3.0, help="Engagement after the cut-off that counts (default 3)."
        )
        parser.add_argument(
            "--users",
            type=int,
            default=300,
            help="Users to evaluate, sampled from those with positive engagement after the cut-off and history "
            "before it (default 300).",
        )
        parser.add_argument("--seed", type=int, default=42, help="Seed of the user sample (default 42).")
        parser.add_argument("--k", type=int, default=10, help="List length for NDCG and coverage (default 10).")
        parser.add_argument("--recall-at", type=int, default=50, help="List length for recall (default 50).")
        parser.add_argument("--json", action="store_true", help="Print the results as one JSON object.")
        parser.add_argument(
            "--from-impressions",
            action="store_true",
            help="Instead: estimate each ranker's engagement per page from the impression log's exploration "
            "places (inverse propensity, unbiased by what the lists showed). See ranking/offline.py.",
        )
        parser.add_argument(
            "--since",
            type=_moment,
            default=None,
            help="With --from-impressions: start of the window (default: --until - 7 days).",
        )
        parser.add_argument(
            "--until",
            type=_moment,
            default=None,
            help="With --from-impressions: end of the window (default: a day ago, so its engagement is all in).",
        )
        parser.add_argument(
            "--contexts",
            type=int,
            default=500,
            help="With --from-impressions: logged lists to rank again (default 500).",
        )

    def handle(self, *args, **options):
        if options["from_impressions"]:
            return self.from_impressions(options)
        if options["horizon_days"] <= 0 or options["users"] < 1 or options["k"] < 1 or options["recall_at"] < 1:
            raise CommandError("--horizon-days, --users, --k and --recall-at must be positive.")
        horizon = timedelta(days=options["horizon_days"])
        cutoff = options["cutoff"] or evaluation.default_cutoff(horizon=horizon)
        if cutoff is None:
            raise CommandError("No engagement to evaluate against: seed some data first (manage.py seed_demo).")
        result = evaluation.evaluate(
            cutoff=cutoff,
            horizon=horizon,
            users=options["users"],
            k=options["k"],
            recall_at_n=options["recall_at"],
            seed=options["seed"],
        )
        hint = evaluation.untagged_hint(result)
        if options["json"]:
            self.stdout.write(json.dumps({**result.as_dict(), "warning": hint}, indent=2))
            return
        if not result.users:
            self.stdout.write(
                f"No user engaged positively within {options['horizon_days']:g} days after {cutoff.isoformat()} "
                "with a post published before it; pick an earlier --cutoff."
            )
            return
        self.stdout.write(evaluation.format_report(result))
        if hint:
            self.stdout.write(self.style.WARNING(hint))

    def from_impressions(self, options):
        if options["contexts"] < 1:
            raise CommandError("--contexts must be positive.")
        until = options["until"] or timezone.now() - impressions.ATTRIBUTION_WINDOW
        since = options["since"] or until - timedelta(days=7)
        if since >= until:
            raise CommandError("--since must be before --until.")
        try:
            result = offline.evaluate_log(since=since, until=until, contexts=options["contexts"], seed=options["seed"])
        except ValueError as error:
            raise CommandError(f"{error}; serve some For You pages with exploration on first.") from error
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self.stdout.write(offline.format_log_report(result))
