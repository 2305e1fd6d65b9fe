"""How fast seed_demo fills a database, and how COPY compares with bulk_create.

    .venv/bin/python bench/seed.py [--users 20000 --posts 100000 --events 1000000] [--seed 42]

Creates the scratch database orbit_bench_seed on the server of DATABASE_URL (dropping a leftover
one first), migrates it, seeds it with demo.seeding.seed_demo_data, then inserts the first
--baseline-rows engagement rows again, each time in a transaction that is rolled back: with COPY
(CSV building included) and with bulk_create(batch_size=5000) (model building included), each
once with foreign keys unchecked (deferred, then rolled back) and once checked immediately, as in
the seed. The scratch database is dropped at the end, also after a failure. Query logging is off
whatever DEBUG says.
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

from bench import database  # noqa: E402

BENCH_DATABASE = "orbit_bench_seed"
ANCHOR = "2026-01-15T12:00:00+00:00"  # fixed, so every run seeds the same rows


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--baseline-rows",
        type=int,
        default=100_000,
        help="engagement rows for the COPY vs bulk_create comparison (default 100000)",
    )
    return parser.parse_args()


def engagement_slice(rows: int):
    from feed.models import Engagement

    return list(
        Engagement.objects.order_by("id").values_list(
            "actor_id", "post_id", "creator_id", "kind", "dwell_ms", "occurred_at", "fingerprint"
        )[:rows]
    )


def time_copy(rows, *, check_foreign_keys: bool) -> float:
    """Seconds to build CSV text for rows (as the seed does) and COPY it in."""
    import numpy as np
    from django.db import connection, transaction

    from demo.copy_writer import chunked_csv, epoch_ms, int_texts, next_id, timestamp_texts
    from feed.models import Engagement

    table = Engagement._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if check_foreign_keys:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        first_id = next_id(cursor, table)
        began = time.perf_counter()
        actor, post, creator, kind, dwell, at, fingerprint = zip(*rows, strict=True)
        actor, creator, kind, dwell = (np.array(values, dtype=np.int64) for values in (actor, creator, kind, dwell))
        post = np.array([-1 if value is None else value for value in post], dtype=np.int64)
        at = np.array([epoch_ms(moment) for moment in at], dtype=np.int64)
        fingerprint = list(fingerprint)

        def columns(part: slice) -> list[list[str]]:
            return [
                int_texts(np.arange(part.start, part.stop) + first_id),
                int_texts(actor[part]),
                [value if value != "-1" else "" for value in int_texts(post[part])],
                int_texts(creator[part]),
                int_texts(kind[part]),
                int_texts(dwell[part]),
                timestamp_texts(at[part]),
                fingerprint[part],
            ]

        sql = (
            f"COPY {table} (id, actor_id, post_id, creator_id, kind, dwell_ms, occurred_at, fingerprint) "
            "FROM STDIN WITH (FORMAT csv)"
        )
        for _count, text in chunked_csv(columns, len(rows)):
            cursor.copy_expert(sql, io.BytesIO(text.encode()), 1 << 20)
        seconds = time.perf_counter() - began
        transaction.set_rollback(True)
    return seconds


def time_bulk_create(rows, *, check_foreign_keys: bool) -> float:
    """Seconds to build Engagement objects for rows and bulk_create them."""
    from django.db import connection, transaction

    from feed.models import Engagement

    with transaction.atomic():
        if check_foreign_keys:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        began = time.perf_counter()
        Engagement.objects.bulk_create(
            [
                Engagement(
                    actor_id=actor,
                    post_id=post,
                    creator_id=creator,
                    kind=kind,
                    dwell_ms=dwell,
                    occurred_at=at,
                    fingerprint=fingerprint,
                )
                for actor, post, creator, kind, dwell, at, fingerprint in rows
            ],
            batch_size=5000,
        )
        seconds = time.perf_counter() - began
        transaction.set_rollback(True)
    return seconds


def main() -> None:
    args = parse_args()
    lock = database.hold_lock(BENCH_DATABASE, bench="bench/seed.py")  # noqa: F841 - held open for the whole run
    print(f"Creating scratch database {BENCH_DATABASE} next to {database.source_name()}")
    database.recreate_database(BENCH_DATABASE)
    database.use_database(BENCH_DATABASE)  # before django.setup(): every connection goes to the scratch database
    try:
        django.setup()
        settings.DEBUG = False  # no query log: it would cost the ORM path time and memory
        run(args)
    finally:
        database.drop_database(BENCH_DATABASE)
        print(f"Dropped {BENCH_DATABASE}")


def run(args: argparse.Namespace) -> None:
    from datetime import datetime

    from django.core.management import call_command

    from demo.seeding import seed_demo_data

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"Migrated in {time.perf_counter() - began:.1f} s\n")

    print(f"Seeding {args.users:,} users, {args.posts:,} posts, {args.events:,} events (seed {args.seed})")
    report = seed_demo_data(
        users=args.users,
        posts=args.posts,
        events=args.events,
        seed=args.seed,
        anchor=datetime.fromisoformat(ANCHOR),
        progress=print,
    )

    rows = engagement_slice(args.baseline_rows)
    # Deferred foreign keys are never checked here (the transaction rolls back): raw insert speed.
    baseline = {
        (method, checked): timer(rows, check_foreign_keys=checked)
        for checked in (False, True)
        for method, timer in (
            ("COPY (CSV building included)", time_copy),
            ("bulk_create(batch_size=5000)", time_bulk_create),
        )
    }

    generation = sum(seconds for _name, seconds in report.stages)
    other = report.total_seconds - generation - sum(load.seconds for load in report.loads)
    line = "-" * 66
    print(f"\n{'table':<26}{'rows':>12}{'seconds':>10}{'rows/s':>14}   (CSV + COPY + FK checks)")
    print(line)
    for load in sorted(report.loads, key=lambda load: -load.rows):
        print(f"{load.table:<26}{load.rows:>12,}{load.seconds:>10.2f}{load.rows_per_second:>14,.0f}")
    print(line)
    print(f"{'generation (Python)':<26}{'':>12}{generation:>10.2f}")
    print(f"{'assets, tags, commit…':<26}{'':>12}{other:>10.2f}")
    print(
        f"{'total':<26}{report.total_rows:>12,}{report.total_seconds:>10.2f}"
        f"{report.total_rows / report.total_seconds:>14,.0f}"
    )

    print(f"\nEngagement: the first {len(rows):,} rows inserted again, into the seeded table (rolled back)")
    print(f"{'method':<34}{'FK checks':<12}{'seconds':>8}{'rows/s':>12}")
    print(line)
    for (method, checked), seconds in baseline.items():
        print(f"{method:<34}{'immediate' if checked else 'skipped':<12}{seconds:>8.2f}{len(rows) / seconds:>12,.0f}")
    for checked in (False, True):
        ratio = baseline["bulk_create(batch_size=5000)", checked] / baseline["COPY (CSV building included)", checked]
        print(f"COPY is {ratio:.1f}x faster than bulk_create with FK checks {'immediate' if checked else 'skipped'}.")
    print()


if __name__ == "__main__":
    main()
