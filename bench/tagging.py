"""How fast the post tagger trains and tags, on one core, with baselines from the same run.

    python -m tools.launch bench bench/tagging.py [--posts 5000] [--repeat 3] [--seed 0]

No database: the tagger is trained here from ranking/corpus/posts.jsonl (timed; the artifact's
size is printed), then tags two workloads of --posts posts each:

* corpus posts, drawn with replacement from the corpus (English and Chinese, every content type);
* seed_demo posts, the bodies demo.posts writes (its templates with prices, openers, closers
  and hashtags filled in), which the tagger never saw. Its content type is compared with the type
  the template was written for: a check on data from outside the corpus, not a held-out metric.

Each workload is timed --repeat times and the median is printed, for:
* Tagger.tag in batches of 500 (as `manage.py retag` tags), and one post per call (as tagging a
  post on publish does);
* baselines: clean_text + extract_assets alone (regular expressions only), and clean_text plus the
  TF-IDF vectoriser alone (the feature step every learned head shares).

The process is pinned to one CPU and BLAS/OpenMP to one thread before numpy loads, so the figures
are per core.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"  # before numpy and scikit-learn load: their thread pools read it once

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")
os.environ.setdefault("DEBUG", "1")  # a developer tool: the development settings, no SECRET_KEY needed

import django  # noqa: E402

django.setup()

from demo.posts import framed_body  # noqa: E402
from demo.tables import ASSETS, TEMPLATES, TIMEFRAMES, TYPE_HASHTAGS  # noqa: E402
from ranking.tagging import CORPUS_PATH, clean_text, extract_assets, features_text, load_corpus, train  # noqa: E402

BATCH = 500


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=5000, help="posts per workload (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training and the workloads (default 0)")
    return parser.parse_args()


def demo_posts(count: int, rand: random.Random) -> tuple[list[str], list[str]]:
    """Bodies as seed_demo writes them, and the content type of the template each came from."""
    bodies, types = [], []
    keys = sorted(TEMPLATES)
    for _ in range(count):
        slug, language = rand.choice(keys)
        (symbol, name, price, _weight), (other, *_rest) = rand.sample(ASSETS[:-1], 2)
        spot = price * rand.uniform(0.95, 1.05)
        fields = {
            "a": symbol,
            "b": other,
            "A": name,
            "p": f"{spot:,.4g}",
            "s1": f"{spot * 0.95:,.4g}",
            "r1": f"{spot * 1.05:,.4g}",
            "tp": f"{spot * 1.12:,.4g}",
            "sl": f"{spot * 0.92:,.4g}",
            "pct": f"{rand.uniform(0.8, 18):.1f}",
            "pnl": f"{rand.uniform(2, 60):.1f}",
            "apr": f"{rand.uniform(2, 38):.1f}",
            "lev": rand.choice([2, 3, 5, 10, 20]),
            "tf": rand.choice(TIMEFRAMES),
            "days": rand.randint(3, 30),
            "n": rand.randint(2, 9),
            "amt": rand.randint(80, 950),
            "amt_yi": f"{rand.uniform(0.8, 9.5):.1f}",
        }
        body = framed_body(rand.choice(TEMPLATES[slug, language]).format(**fields), rand=rand, language=language)
        body = f"{body}\n\n#{rand.choice(TYPE_HASHTAGS[slug, language])}"
        bodies.append(body)
        types.append(slug)
    return bodies, types


def batched(function: Callable[[Sequence[str]], object], texts: Sequence[str], size: int) -> None:
    for start in range(0, len(texts), size):
        function(texts[start : start + size])


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> None:
    args = parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rand = random.Random(args.seed)

    began = time.perf_counter()
    result = train(seed=args.seed)
    training = time.perf_counter() - began
    tagger = result.tagger
    vectorizer = tagger.heads.vectorizer
    corpus = [post["text"] for post in load_corpus(CORPUS_PATH.read_bytes())]
    metrics = result.metrics
    print(
        f"Trained tagger {result.version} on {metrics['shipped']['trained_on_posts']:,} posts in {training:.1f} s "
        f"(held-out model, scoring, full model); artifact {len(result.artifact) / 1e6:.2f} MB (joblib, compressed), "
        f"{tagger.heads.content_type.coef_.shape[1]:,} features ({metrics['shipped']['features']} n-grams, "
        f"{metrics['shipped']['content_model']} content-type head, calibrated).\n"
        f"Corpus held-out fold: content-type macro-F1 {metrics['content_type']['macro_f1']:.3f}, "
        f"asset F1 {metrics['assets']['f1']:.3f}."
    )
    held_out_set = metrics["held_out_set"]
    if held_out_set.get("available"):
        for language, figures in held_out_set["by_language"].items():
            print(
                f"Held-out set, {language} ({figures['posts']} posts): content-type macro-F1 "
                f"{figures['content_type']['macro_f1']:.3f}, asset F1 {figures['assets']['f1']:.3f}, "
                f"confidence ECE {figures['calibration']['ece']:.3f}."
            )
    else:
        print(f"Held-out set: skipped ({held_out_set['reason']}).")
    print()

    workloads = {
        "corpus posts": [rand.choice(corpus) for _ in range(args.posts)],
    }
    workloads["seed_demo posts"], demo_types = demo_posts(args.posts, rand)
    tagger.tag(workloads["corpus posts"][:BATCH])  # warm-up: first calls pay for lazy imports and caches

    line = "-" * 86
    print(f"{args.posts:,} posts per workload, median of {args.repeat} runs, one core")
    print(f"{'workload':<17}{'what is timed':<46}{'seconds':>9}{'posts/s':>12}")
    print(line)
    for name, texts in workloads.items():
        average = sum(map(len, texts)) / len(texts)
        runs = [
            ("Tagger.tag, batches of 500", lambda texts=texts: batched(tagger.tag, texts, BATCH)),
            ("Tagger.tag, one post per call", lambda texts=texts: [tagger.tag([text]) for text in texts]),
            ("baseline: clean_text + extract_assets", lambda texts=texts: [extract_assets(text) for text in texts]),
            (
                "baseline: clean_text + vectoriser only",
                lambda texts=texts: batched(
                    lambda part: vectorizer.transform([features_text(clean_text(text)) for text in part]),
                    texts,
                    BATCH,
                ),
            ),
        ]
        for label, action in runs:
            seconds = median_seconds(action, args.repeat)
            print(f"{name:<17}{label:<46}{seconds:>9.3f}{len(texts) / seconds:>12,.0f}")
        print(f"{'':<17}(average post {average:.0f} characters)")
    print(line)

    predicted = [tags.content_type for tags in tagger.tag(workloads["seed_demo posts"])]
    agreeing = sum(guess == truth for guess, truth in zip(predicted, demo_types, strict=True))
    print(
        f"seed_demo posts: the tagger's content type matches the template's on {agreeing / len(demo_types):.1%} "
        f"of {len(demo_types):,} posts (templates written apart from the corpus)."
    )


if __name__ == "__main__":
    main()
