from django.core.management.base import BaseCommand, CommandError

from ranking import training


class Command(BaseCommand):
    help = (
        "Train a For You ranker on the impression log and judge it against the active ranker on the held-out "
        "days' exploration places; it replaces the active ranker only if it is better. Beat runs this daily. "
        "See ranking/training.py."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=0, help="Seed of the samples of lists (default 0).")

    def handle(self, *args, **options):
        try:
            retraining = training.retrain(seed=options["seed"])
        except ValueError as error:
            raise CommandError(
                f"{error}: serve some For You pages first, so there are impressions to learn from."
            ) from error
        model = retraining.model
        for action, figures in model.metrics.items():
            if isinstance(figures, dict):
                auc = f", held-out AUC {figures['auc']:.3f}" if "auc" in figures else ""
                learned = "learned" if figures.get("learned") else "base rate only"
                self.stdout.write(f"{action:<8} {figures['positives']:>7} positives ({learned}{auc})")
        difference = model.evaluation.get("difference")
        if difference:
            self.stdout.write(
                f"Against {model.compared_with}: {difference['value']:+.4f} per page, "
                f"95% interval [{difference['low']:+.4f}, {difference['high']:+.4f}]"
            )
        if retraining.promoted:
            self.stdout.write(self.style.SUCCESS(f"{model.version} is now the active ranker."))
        else:
            self.stdout.write(self.style.WARNING(f"{model.version} was stored, not activated: {retraining.reason}"))
