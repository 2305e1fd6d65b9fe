"""How Orbit's rankers do against readers' true taste, in a simulated community (demo.simulation).

    python -m tools.launch bench bench/ranking_quality.py [--size ci|full] [--seed 7] [--serve orbit]
        [--readers N] [--creators N] [--posts N] [--days N] [--window-days 3] [--k 10] [--keep]
    make bench-ranking                      # the full size
    make bench-ranking ARGS="--size ci"     # the CI size, under a minute once the tagger is trained

Database. orbit_bench_ranking_quality on the server of DATABASE_URL, made fresh for every run (a
simulated community needs a database of its own: its accounts have fixed names), migrated, with the
tagger trained from the shipped corpus and activated; dropped at the end, also after a failure,
unless --keep. One run at a time: a second is refused. Its cache keys and Celery queues (the
tagging tasks publish_post queues, which no worker consumes here: the simulation tags each post
itself, with the same function) carry the database's name on the REDIS_URL server and are deleted
at the end.

What runs, all through Orbit's services under a simulated clock (demo/simulation/clock.py): readers
in six groups whose true tastes are known, most of them not what they trade; creators publishing
English and Chinese posts of every content type; the real tagger; trading profiles from the
exchange's events; For You served by --serve (Orbit's ranker by default) day after day while
readers view, spend time, like, comment, share, follow and click through with a position-based
examination model. Then, at the moment after the last day, every ranker orders each reader's
unseen posts of the last --window-days days, and NDCG@--k is computed against the true taste:

* oracle: true utility itself, the ceiling (1.000 wherever a reader has something to find);
* orbit: Orbit's For You (ranking.scoring.rank_for_user with a Context as of the moment);
* orbit_no_boost: the same with every content type's weight at 1, which tells how well For You
  matches tastes apart from what the operators' content-type weights trade for;
* popularity and chronological: the baselines of `manage.py evaluate_ranking`, in the same run.

It prints the community, the measured share of readers whose tastes differ from their trading,
what readers did, NDCG@k overall and per reader group, and the times taken. The same seed and
sizes give the same figures. The exit code is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")
os.environ.setdefault("DEBUG", "1")  # a developer tool: the development settings, no SECRET_KEY needed

import django  # noqa: E402

from bench import database  # noqa: E402

BENCH_DATABASE = "orbit_bench_ranking_quality"
# Cache keys and Celery queues of a run, apart from everyone else's on the shared Redis.
BENCH_PREFIX = BENCH_DATABASE


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("ci", "full"), default="full", help="preset sizes (default full)")
    parser.add_argument("--readers", type=int, help="readers (overrides the preset)")
    parser.add_argument("--creators", type=int, help="creators (overrides the preset)")
    parser.add_argument("--posts", type=int, help="posts published over the days (overrides the preset)")
    parser.add_argument("--days", type=int, help="simulated days (overrides the preset)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--serve",
        choices=("orbit", "orbit_no_boost", "chronological", "popularity", "oracle"),
        default="orbit",
        help="the ranker that serves For You during the simulated days (default orbit)",
    )
    parser.add_argument("--window-days", type=int, default=3, help="candidates: unseen posts of these last days")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end (to look at it)")
    return parser.parse_args()


def delete_bench_keys() -> int:
    """Every key the run made on the shared Redis: cache keys, Celery queues and their bindings."""
    from ranking import feeds

    client = feeds.redis_client()
    keys = [
        *client.scan_iter(match=f"{BENCH_PREFIX}*", count=1000),
        # kombu's bindings of the queues: _kombu.binding.<queue> and _kombu.binding_permanent.<queue>.
        *client.scan_iter(match=f"_kombu.binding*.{BENCH_PREFIX}*", count=1000),
    ]
    return client.delete(*keys) if keys else 0


def main() -> None:
    args = parse_args()
    lock = database.hold_lock(BENCH_DATABASE, bench="bench/ranking_quality.py")  # noqa: F841 - held for the run
    print(f"Creating {BENCH_DATABASE} next to {database.source_name()}")
    database.recreate_database(BENCH_DATABASE)
    database.use_database(BENCH_DATABASE)  # before django.setup(): every connection goes to the scratch database
    os.environ["CACHE_KEY_PREFIX"] = BENCH_PREFIX
    os.environ["CELERY_QUEUE_PREFIX"] = f"{BENCH_PREFIX}-"
    try:
        django.setup()
        from django.conf import settings

        settings.DEBUG = False  # no query log
        # The daily rebalance queues a rebuild of ready lists, which no worker runs here (the
        # simulation ranks as of each visit instead); its "not queued again" notices are noise.
        logging.getLogger("orbit.singleflight").setLevel(logging.WARNING)
        run(args)
    finally:
        try:
            delete_bench_keys()
        except Exception as exc:  # the cache keys expire anyway; the database must still go
            print(f"Could not delete the bench's Redis keys: {exc}")
        if args.keep:
            print(f"Kept {BENCH_DATABASE}")
        else:
            database.drop_database(BENCH_DATABASE)
            print(f"Dropped {BENCH_DATABASE}")


def run(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from django.core.management import call_command

    from demo.simulation.community import SIZES
    from demo.simulation.run import format_report, run_simulation
    from ranking.tagging import store_tagger, train

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"Migrated in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    store_tagger(result=train())
    print(f"Trained and activated the tagger in {time.perf_counter() - began:.1f} s")

    size = SIZES[args.size]
    overrides = {name: getattr(args, name) for name in ("readers", "creators", "posts", "days")}
    size = replace(size, **{name: value for name, value in overrides.items() if value is not None})
    print(
        f"Simulating {size.readers:,} readers, {size.creators:,} creators, {size.posts:,} posts over "
        f"{size.days} days (seed {args.seed})"
    )
    began = time.perf_counter()
    outcome = run_simulation(
        size, seed=args.seed, serve=args.serve, window_days=args.window_days, k=args.k, progress=print
    )
    total = time.perf_counter() - began
    print()
    print(format_report(outcome))
    print(f"Build, simulation and evaluation: {total:.1f} s in all.")


if __name__ == "__main__":
    main()
