from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ranking.models import TaggerModel
from ranking.tagging import CORPUS_PATH, TARGETS, store_tagger, train


def metrics_table(metrics: dict) -> str:
    """The held-out figures of train(), one line per head and metric, with the targets that gate storing."""
    split = metrics["split"]
    rows = [
        ("content_type", "macro-F1", metrics["content_type"]["macro_f1"], TARGETS.get(("content_type", "macro_f1"))),
        ("", "accuracy", metrics["content_type"]["accuracy"], None),
        ("level", "macro-F1", metrics["level"]["macro_f1"], None),
        ("", "accuracy", metrics["level"]["accuracy"], None),
        ("topics", "micro-F1", metrics["topics"]["micro_f1"], None),
        ("", "macro-F1", metrics["topics"]["macro_f1"], None),
        ("language", "accuracy", metrics["language"]["accuracy"], None),
        ("quality", "MAE", metrics["quality"]["mae"], None),
        ("", "Spearman", metrics["quality"]["spearman"], None),
        ("assets", "precision", metrics["assets"]["precision"], None),
        ("", "recall", metrics["assets"]["recall"], None),
        ("", "F1", metrics["assets"]["f1"], TARGETS.get(("assets", "f1"))),
    ]
    lines = [
        f"Held-out metrics: {split['held_out_posts']:,} posts kept out of training, {split['train_posts']:,} "
        f"trained on ({split['method']}, seed {split['seed']})",
        f"{'head':<14}{'metric':<11}{'value':>7}   target",
        "-" * 42,
    ]
    for head, name, value, target in rows:
        lines.append(f"{head:<14}{name:<11}{value:>7.3f}   {f'>= {target}' if target else ''}".rstrip())
    per_type = ", ".join(f"{slug} {f1:.2f}" for slug, f1 in metrics["content_type"]["f1_per_type"].items())
    lines.append(f"content_type F1 per type: {per_type}")
    lines.append(f"assets: {metrics['assets']['pairs']:,} labeled (post, asset) pairs in the held-out posts")
    lines.append(
        f"The shipped model is retrained on all {metrics['shipped']['trained_on_posts']:,} posts "
        "(the figures above are those of the 80% model)."
    )
    return "\n".join(lines)


def brief_line(*, version: str, metrics: dict, seconds: float) -> str:
    """One line for `make run`: the two held-out figures that gate storing a model, and the time taken."""
    return (
        f"Tagger {version} trained in {seconds:.0f} s: held-out content-type macro-F1 "
        f"{metrics['content_type']['macro_f1']:.2f}, asset F1 {metrics['assets']['f1']:.2f}"
    )


class Command(BaseCommand):
    help = (
        "Train the post tagger on the labeled corpus, print held-out metrics per head, then store the model "
        "(retrained on the whole corpus) and make it the active one. Refuses to store a model whose held-out "
        "content-type macro-F1 or asset F1 is below target."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--corpus", type=Path, default=CORPUS_PATH, help=f"JSON lines of labeled posts (default {CORPUS_PATH})."
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="Seed of the held-out split and the models (default 0)."
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing when a model is already active (for every start)."
        )
        parser.add_argument("--no-activate", action="store_true", help="Store the model without activating it.")
        parser.add_argument(
            "--brief", action="store_true", help="One line (version, the gating metrics, time) instead of the table."
        )

    def handle(self, *args, **options):
        active = TaggerModel.objects.filter(is_active=True).values_list("version", flat=True).first()
        if options["if_missing"] and active:
            self.stdout.write(f"Tagger {active} is active; nothing trained (--if-missing).")
            return
        if not options["brief"]:
            self.stdout.write(f"Training the tagger on {options['corpus']} (seed {options['seed']})")
        try:
            result = train(options["corpus"], seed=options["seed"])
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot train on {options['corpus']}: {error}") from error
        if not options["brief"]:
            self.stdout.write(metrics_table(result.metrics))
        missed = result.missed_targets()
        if missed:
            raise CommandError(
                f"Tagger {result.version} not stored: held-out {'; '.join(missed)}. "
                "Improve the corpus (ranking/corpus/) and train again."
            )
        existed = TaggerModel.objects.filter(version=result.version).exists()
        model = store_tagger(result=result, activate=not options["no_activate"])
        stored = "already stored (same corpus, code and seed)" if existed else "stored"
        state = "active" if model.is_active else "not active (--no-activate)"
        if options["brief"]:
            self.stdout.write(brief_line(version=model.version, metrics=result.metrics, seconds=result.seconds))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Tagger {model.version} {stored}, {state}. Trained in {result.seconds:.1f} s; "
                f"artifact {len(result.artifact) / 1e6:.1f} MB; corpus sha256 {result.corpus_sha256[:12]}."
            )
        )
