from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ranking.models import TaggerModel
from ranking.tagging import (
    CORPUS_PATH,
    HELD_OUT_PATH,
    LANGUAGES,
    TARGETS,
    TaggerUnavailable,
    active_tagger,
    compare_models,
    store_tagger,
    train,
)


def metrics_table(metrics: dict) -> str:
    """The held-out figures of train(), one line per head and metric, with the targets that gate storing."""
    split = metrics["split"]
    held_out_set = metrics.get("held_out_set") or {}
    # The split targets gate storing only when there is no held-out set.
    gating = not held_out_set.get("available")
    rows = [
        (
            "content_type",
            "macro-F1",
            metrics["content_type"]["macro_f1"],
            TARGETS.get(("content_type", "macro_f1")) if gating else None,
        ),
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
        ("", "F1", metrics["assets"]["f1"], TARGETS.get(("assets", "f1")) if gating else None),
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
    for language, figures in metrics.get("by_language", {}).items():
        per_type = ", ".join(f"{slug} {f1:.2f}" for slug, f1 in figures["content_type"]["f1_per_type"].items())
        lines.append(
            f"  {language} ({figures['posts']:,} posts): content_type macro-F1 "
            f"{figures['content_type']['macro_f1']:.3f}, asset F1 {figures['assets']['f1']:.3f}; per type: {per_type}"
        )
    lines.append(f"assets: {metrics['assets']['pairs']:,} labeled (post, asset) pairs in the held-out posts")
    if "calibration" in metrics:
        lines.append(f"confidence: expected calibration error {metrics['calibration']['ece']:.3f} on the held-out fold")
    shipped = metrics["shipped"]
    extra = f" and {shipped['extra_posts']:,} extra posts" if shipped.get("extra_posts") else ""
    lines.append(
        f"The shipped model is retrained on all {shipped['trained_on_posts']:,} posts{extra} "
        "(the figures above are those of the 80% model)."
    )
    lines.append("")
    lines.append(held_out_set_table(held_out_set))
    return "\n".join(lines)


def held_out_set_table(held_out_set: dict) -> str:
    """The shipped model on the held-out set written apart: per language and overall, per type, and
    the reliability of its confidence. These figures gate storing when the set exists."""
    if not held_out_set.get("available"):
        return f"Held-out set: skipped ({held_out_set.get('reason', 'not evaluated')})."
    languages = [language for language in LANGUAGES if language in held_out_set["by_language"]]
    columns = [*languages, "all"]
    figures = {**held_out_set["by_language"], "all": held_out_set}
    type_target = TARGETS.get(("content_type", "macro_f1"))
    asset_target = TARGETS.get(("assets", "f1"))
    lines = [
        f"Held-out set {held_out_set.get('path', '')}: {held_out_set['posts']:,} posts written apart, never "
        "trained on; the shipped model. Storing needs each language at target.",
        f"{'metric':<26}" + "".join(f"{column:>9}" for column in columns) + "   target",
        "-" * (26 + 9 * len(columns) + 10),
    ]

    def row(label: str, values: list, target: float | None = None) -> None:
        cells = "".join(f"{value:>9.3f}" if value is not None else f"{'-':>9}" for value in values)
        lines.append(f"{label:<26}{cells}   {f'>= {target}' if target else ''}".rstrip())

    lines.append(f"{'posts':<26}" + "".join(f"{figures[column]['posts']:>9}" for column in columns))
    row("content_type macro-F1", [figures[c]["content_type"]["macro_f1"] for c in columns], type_target)
    row("content_type accuracy", [figures[c]["content_type"]["accuracy"] for c in columns])
    for slug in sorted(held_out_set["content_type"]["f1_per_type"]):
        row(f"  F1 {slug}", [figures[c]["content_type"]["f1_per_type"].get(slug) for c in columns])
    row("assets precision", [figures[c]["assets"]["precision"] for c in columns])
    row("assets recall", [figures[c]["assets"]["recall"] for c in columns])
    row("assets F1", [figures[c]["assets"]["f1"] for c in columns], asset_target)
    row("confidence: mean", [figures[c]["calibration"]["mean_confidence"] for c in columns])
    row("confidence: ECE", [figures[c]["calibration"]["ece"] for c in columns])
    lines.append("Reliability of the confidence on the held-out set (all languages):")
    lines.append(f"  {'confidence':<12}{'posts':>7}{'mean conf.':>12}{'accuracy':>10}")
    for bin_ in held_out_set["calibration"]["bins"]:
        lines.append(
            f"  {bin_['low']:.1f}-{bin_['high']:.1f}{'':<5}{bin_['posts']:>7}"
            f"{bin_['mean_confidence']:>12.3f}{bin_['accuracy']:>10.3f}"
        )
    return "\n".join(lines)


def comparison_table(rows: list[dict]) -> str:
    """compare_models() as a table: content-type macro-F1 of each candidate."""

    def cell(row: dict, key: str) -> str:
        return f"{row[key]:>8.3f}" if row.get(key) is not None else f"{'-':>8}"

    lines = [
        "Content-type macro-F1 per candidate: 'fold' is the corpus's held-out fold; 'set' columns are the "
        "held-out set (trained on the whole corpus).",
        f"{'candidate':<46}{'fold':>8}{'fold en':>8}{'fold zh':>8}{'set':>8}{'set en':>8}{'set zh':>8}"
        f"{'fit s':>8}{'posts/s':>9}",
        "-" * 111,
    ]
    for row in rows:
        speed = f"{row['tag_posts_per_second']:>9,.0f}" if "tag_posts_per_second" in row else f"{'-':>9}"
        fit = f"{row['fit_seconds']:>8.1f}" if "fit_seconds" in row else f"{'-':>8}"
        lines.append(
            f"{row['name']:<46}{cell(row, 'split_macro_f1')}{cell(row, 'split_macro_f1_en')}"
            f"{cell(row, 'split_macro_f1_zh')}{cell(row, 'held_out_macro_f1')}"
            f"{cell(row, 'held_out_macro_f1_en')}{cell(row, 'held_out_macro_f1_zh')}{fit}{speed}"
        )
    if "held_out_macro_f1" not in rows[0]:
        lines.append(f"(no held-out set at {HELD_OUT_PATH}: fold figures only)")
    return "\n".join(lines)


def brief_line(*, version: str, metrics: dict, seconds: float) -> str:
    """One line for `make run`: the figures that gate storing a model, and the time taken."""
    held_out_set = metrics.get("held_out_set") or {}
    if held_out_set.get("available"):
        per_language = ", ".join(
            f"{language} {figures['content_type']['macro_f1']:.2f}/{figures['assets']['f1']:.2f}"
            for language, figures in held_out_set["by_language"].items()
        )
        return (
            f"Tagger {version} trained in {seconds:.0f} s: held-out set content-type macro-F1/asset F1 {per_language}"
        )
    return (
        f"Tagger {version} trained in {seconds:.0f} s: held-out content-type macro-F1 "
        f"{metrics['content_type']['macro_f1']:.2f}, asset F1 {metrics['assets']['f1']:.2f}"
    )


class Command(BaseCommand):
    help = (
        "Train the post tagger on the labeled corpus, print held-out metrics per head (on the corpus's held-out "
        "fold and on the held-out set written apart, per language and per type), then store the model "
        "(retrained on the whole corpus) and make it the active one. Refuses to store a model below target: "
        "content-type macro-F1 or asset F1 in any language of the held-out set, or on the corpus's fold when "
        "there is no held-out set."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--corpus", type=Path, default=CORPUS_PATH, help=f"JSON lines of labeled posts (default {CORPUS_PATH})."
        )
        parser.add_argument(
            "--held-out",
            type=Path,
            default=HELD_OUT_PATH,
            help=f"JSON lines of held-out posts, never trained on (default {HELD_OUT_PATH}).",
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
        parser.add_argument(
            "--compare",
            action="store_true",
            help="Only measure the candidate features and models against each other (a table); store nothing.",
        )

    def handle(self, *args, **options):
        if options["compare"]:
            self.stdout.write(f"Comparing tagger candidates on {options['corpus']} (seed {options['seed']})")
            try:
                rows = compare_models(options["corpus"], seed=options["seed"], held_out_path=options["held_out"])
            except (OSError, ValueError) as error:
                raise CommandError(f"Cannot train on {options['corpus']}: {error}") from error
            self.stdout.write(comparison_table(rows))
            return
        active = TaggerModel.objects.filter(is_active=True).values_list("version", flat=True).first()
        if options["if_missing"] and active:
            try:
                active_tagger()
            except TaggerUnavailable as error:
                # An artifact of an older format would otherwise stay active and tag nothing.
                self.stdout.write(f"{error} Training a new one.")
            else:
                self.stdout.write(f"Tagger {active} is active; nothing trained (--if-missing).")
                return
        if not options["brief"]:
            self.stdout.write(f"Training the tagger on {options['corpus']} (seed {options['seed']})")
        try:
            result = train(options["corpus"], seed=options["seed"], held_out_path=options["held_out"])
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
