"""The weekly settlement over 10M engagement rows, beside a plain GROUP BY creator over the same rows.

    python -m tools.launch bench bench/settlement.py [--events 10000000] [--users 200000]
        [--creators 10000] [--posts 300000] [--repeat 3] [--no-raw] [--reseed] [--drop]
    make bench-settlement ARGS="--events 1000000"

Data. The database orbit_bench_settlement (other sizes get orbit_bench_settlement_<events>e) on the
server of DATABASE_URL, migrated, then filled by INSERT ... SELECT from generate_series (no Python
per row): --users accounts (60% with a trading profile, KYC and volume tiers spread, a few frozen),
--posts posts by the first --creators accounts (a few creators have most posts), published over the
settled week and the 7 days before it, fills paying fees over the 12 weeks before the week's end
for two thirds of the trading profiles, and --events engagement rows all inside the settled ISO
week 2026-W47: views 50%, time spent 25%, likes 12%, comments 3%, shares 2%, trade clicks 4%,
follows 2%, unlikes 2%; readers and posts skewed (popular posts, heavy readers) but drawn
independently, so a reader, post and action almost never repeat: nearly every row is an
interaction of its own, the hardest case for the settlement (on seed_demo's data, 96% of a week's
rows are distinct readers, posts and actions, and 19% distinct readers and creators). Planted: 1%
of rows are creators on their own posts, 2% of readers share one of 200 device fingerprints (about
20 accounts each) and its network prefix (other readers share a prefix by four, as behind a
carrier's NAT), and 300 bot readers give the same dwell every time.
Engagement indexes are dropped during the load and rebuilt after it (foreign keys unchecked), then
the table is VACUUM ANALYZEd. A later run with the same sizes reuses the database; --reseed
rebuilds it, --drop removes it at the end.

Measured, --repeat times each, in this run, on the same rows (the median is compared):
* plain: SELECT creator_id, count(*) ... WHERE occurred_at in the week GROUP BY creator_id;
* weighted: the same with sum(CASE kind ...) weights, as DESIGN.md's "weighted GROUP BY";
* fold: the whole week from empty rollups, caught up as the periodic task catches up a backlog
  (incentives.folding.fold_new_engagement in steps of FOLD_BATCH rows, each committed), once, single
  process (events/s); then the incremental fold as the periodic task runs it (limit FOLD_BATCH):
  --fold-batch new events merged into the existing rollups (in a transaction rolled back
  afterwards, so the bench database is unchanged);
* compute (raw): incentives.contributions.compute(source="raw"), grouping the raw week (--no-raw
  skips it and the memory table below, the longest parts at 10M events);
* compute (rollups): the same from the rollups (every pass: reader value, integrity rules, daily
  cap, sums), after a fold that finds nothing new;
* settlement: incentives.settlement.draft_settlement, the whole draft from the rollups including
  allocation and writing contributions, flags and payouts (each repeat recomputes the draft);
* live estimate: incentives.estimates.exact_estimates at the week's last millisecond (compute up to
  now, pool, allocation), as the statement's estimate every 15 minutes.
compute is also shown by pass (compute's `timings`: working tables, repeats and conversions, each
integrity rule by its function's name, classification and sums, flags), each pass's median and its
share of compute's median.
* backlog (last): --backlog rows (an hour at 3,000 events/s: 10.8M) written after the last fold in
  transactions of --backlog-transaction rows (100), as requests write them, copies of the week's rows
  a week later; then caught up as the periodic task does it, in committed steps of FOLD_BATCH (a
  step takes whole transactions). The copies' week is dropped afterwards. --backlog 0 skips it and
  projects the hour from the fold rates instead.
Targets: the draft within 3x of the weighted GROUP BY; the live estimate within 2 s; the fold at
least 20,000 events/s on one core, and an hour of backlog at 3,000 events/s (10.8M rows) caught up
in under 5 minutes.

Memory: the peak of Python allocations (tracemalloc) and the process's resident set while
computing a quarter, half and all of the week (the live estimate's `until`): flat means it does not
grow with the number of events. Postgres's own memory is bounded by work_mem (256 MB in the
settlement's transaction).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

import psutil  # noqa: E402
import psycopg2  # noqa: E402

from bench import database  # noqa: E402

WEEK = "2026-W47"
DEFAULT_EVENTS = 10_000_000
BACKLOG_EVENTS = 3_000 * 3_600


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--creators", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fold-batch", type=int, default=200_000, help="events in the incremental fold")
    parser.add_argument(
        "--no-raw", action="store_true", help="skip compute from the raw log and the memory table (the long parts)"
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=BACKLOG_EVENTS,
        help="rows of the backlog caught up at the end (an hour at 3,000 events/s; 0 skips it)",
    )
    parser.add_argument(
        "--backlog-transaction", type=int, default=100, help="rows per transaction the backlog is written in"
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if the database exists")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    return parser.parse_args()


def database_name(args) -> str:
    return "orbit_bench_settlement" if args.events == DEFAULT_EVENTS else f"orbit_bench_settlement_{args.events}e"


def database_state(name: str) -> str:
    """ "missing", "empty" (no finished seed) or "seeded"."""
    if not database.database_exists(name):
        return "missing"
    try:
        with psycopg2.connect(database.url_of(name)) as bench, bench.cursor() as cursor:
            cursor.execute("SELECT value FROM bench_seed_done")
            return "seeded" if cursor.fetchone() else "empty"
    except psycopg2.Error:
        return "empty"


def seed(args, week) -> None:
    from django.core.management import call_command
    from django.db import connection

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"  migrated in {time.perf_counter() - began:.1f} s")
    span = {"starts_at": week.starts_at, "ends_at": week.ends_at, **vars(args)}
    steps = [
        (
            "users",
            """
            INSERT INTO creators_user (id, password, is_superuser, username, first_name, last_name, email,
                                       is_staff, is_active, date_joined, suspended_at)
            SELECT i, '!', false, 'bench' || i, '', '', '', false, true,
                   %(ends_at)s - (1 + (i * 7919) %% 900) * interval '1 day' - (i %% 1440) * interval '1 minute',
                   CASE WHEN i %% 997 = 0 THEN %(starts_at)s END
            FROM generate_series(1, %(users)s) AS i;
            INSERT INTO creators_profile (user_id, display_name, bio, avatar, language, updated_at)
            SELECT i, '', '', '', 'en', now() FROM generate_series(1, %(users)s) AS i;
            INSERT INTO creators_tradingprofile (user_id, kyc_level, volume_tier, traded_assets, instruments,
                volume_by_asset, volume_30d_usd, trades_30d, account_opened_at, last_trade_at, is_frozen, updated_at)
            SELECT i, i %% 4, i %% 5, '{}', '{}', '{}', (i %% 5) * 1000, CASE WHEN i %% 3 = 0 THEN 0 ELSE i %% 40 END,
                   %(ends_at)s - (30 + i %% 1000) * interval '1 day',
                   CASE WHEN i %% 3 = 0 THEN NULL ELSE %(ends_at)s - (i %% 20) * interval '1 day' END,
                   i %% 1009 = 0, now()
            FROM generate_series(1, %(users)s) AS i WHERE i %% 5 <> 0 AND i %% 5 <> 1;
            SELECT setval(pg_get_serial_sequence('creators_user', 'id'), %(users)s);
            """,
        ),
        (
            "posts",
            """
            INSERT INTO feed_post (id, author_id, content_type, body, body_html, like_count, comment_count,
                                   language, status, created_at)
            SELECT i, 1 + floor(%(creators)s * power(random(), 2.5))::int, 'chat', 'bench post ' || i, '', 0, 0,
                   'en', CASE WHEN i %% 500 = 0 THEN 'hidden' ELSE 'published' END,
                   %(starts_at)s - interval '7 days' + random() * (%(ends_at)s - %(starts_at)s + interval '7 days')
            FROM generate_series(1, %(posts)s) AS i;
            SELECT setval(pg_get_serial_sequence('feed_post', 'id'), %(posts)s);
            """,
        ),
        (
            "fills",
            # Reader value comes from the fees paid: the traders among the trading profiles fill
            # in 1 to 12 of the 12 weeks before the week ends, paying 0.20 to 10 USDT a fill.
            """
            INSERT INTO creators_fill (fill_id, instrument, instrument_type, asset, quote, side, quantity, price,
                                       fee, fee_currency, notional_usd, filled_at, user_id)
            SELECT 'bench-' || i || '-' || n, 'BTC-USDT', 'spot', 'BTC', 'USDT',
                   CASE WHEN n %% 2 = 0 THEN 'buy' ELSE 'sell' END, 0.01, 50000, 0.2 * (1 + i %% 50), 'USDT', 500,
                   %(ends_at)s - (n * 7 + i %% 7) * interval '1 day' - (1 + i %% 1440) * interval '1 minute', i
            FROM generate_series(1, %(users)s) AS i CROSS JOIN generate_series(0, 11) AS n
            WHERE i %% 5 <> 0 AND i %% 5 <> 1 AND i %% 3 <> 0 AND n <= i %% 12;
            """,
        ),
    ]
    with connection.cursor() as cursor:
        for label, sql in steps:
            began = time.perf_counter()
            cursor.execute(sql, span)
            print(f"  {label} in {time.perf_counter() - began:.1f} s")

        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'feed_engagement' "
            "AND indexname <> 'feed_engagement_pkey'"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        began = time.perf_counter()
        # Foreign keys unchecked for the load: the ids come from the tables just filled.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            """
            INSERT INTO feed_engagement (actor_id, post_id, creator_id, kind, dwell_ms, occurred_at, fingerprint,
                                         network_prefix)
            SELECT CASE WHEN e.roll < 0.01 THEN p.author_id ELSE e.actor END,
                   CASE WHEN e.kind = 8 THEN NULL ELSE p.id END,
                   p.author_id,
                   e.kind,
                   CASE WHEN e.kind <> 2 THEN 0
                        WHEN e.actor %% 667 = 0 THEN 30000
                        ELSE 1000 + floor(random() * 240000)::int END,
                   greatest(p.created_at, %(starts_at)s)
                       + e.at * (%(ends_at)s - greatest(p.created_at, %(starts_at)s) - interval '1 second'),
                   CASE WHEN e.actor %% 50 = 0 THEN md5('shared-device-' || (e.actor / 50) %% 200)
                        ELSE md5('device-' || e.actor) END,
                   CASE WHEN e.actor %% 50 = 0 THEN md5('shared-network-' || (e.actor / 50) %% 200)
                        ELSE md5('network-' || e.actor %% (%(users)s / 4 + 1)) END
            FROM (
                SELECT 1 + floor(%(users)s * power(random(), 1.6))::int AS actor,
                       1 + floor(%(posts)s * power(random(), 2))::int AS post,
                       random() AS at,
                       random() AS roll,
                       (ARRAY[1,1,1,1,1,1,1,1,1,1, 2,2,2,2,2, 3,3, 5, 6, 10])[1 + floor(random() * 20)::int]
                           AS base_kind,
                       random() AS kind_roll
                FROM generate_series(1, %(events)s)
            ) AS r
            CROSS JOIN LATERAL (
                SELECT r.actor, r.at, r.roll,
                       CASE WHEN r.kind_roll < 0.02 THEN 8 WHEN r.kind_roll < 0.04 THEN 4
                            WHEN r.kind_roll < 0.06 THEN 3 ELSE r.base_kind END AS kind
            ) AS e
            JOIN feed_post p ON p.id = r.post
            """,
            span,
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        print(f"  {args.events:,} engagement rows in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        for _name, definition in indexes:
            # A partitioned log's index reads "ON ONLY feed_engagement" (the parent alone, left
            # invalid): built on every partition instead.
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        print(f"  engagement indexes rebuilt in {time.perf_counter() - began:.1f} s")
        cursor.execute("CREATE TABLE bench_seed_done (value text); INSERT INTO bench_seed_done VALUES ('yes')")
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        began = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE in {time.perf_counter() - began:.1f} s")


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def catch_up(folding) -> tuple[int, int, int, float]:
    """Fold what is new as the periodic task catches up a backlog: steps of FOLD_BATCH rows, each
    committed, until nothing is left. Events and rollup rows folded, steps, seconds."""
    began, events, rollup_rows, steps = time.perf_counter(), 0, 0, 0
    while True:
        step = folding.fold_new_engagement(limit=folding.FOLD_BATCH)
        events, rollup_rows, steps = events + step.events, rollup_rows + step.rollup_rows, steps + 1
        if not step.more:
            return events, rollup_rows, steps, time.perf_counter() - began


def measure_folds(connection, folding, week, batch: int) -> tuple[float, float]:
    """The fold's rate (events/s, this process): the whole week from empty rollups, then `batch` new
    events (copies of the week's rows, a minute later) merged into the existing rollups, inside a
    transaction rolled back afterwards."""
    from django.db import transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE incentives_engagementrollup, incentives_engagementrollupweek, incentives_foldedtradeclick, "
            "incentives_partlyfoldedtransaction; DELETE FROM incentives_foldwatermark"
        )
    events, rollup_rows, steps, took = catch_up(folding)
    whole = events / took
    print(
        f"fold of the whole log from empty rollups, in {steps} steps of up to {folding.FOLD_BATCH:,}: "
        f"{events:,} events into {rollup_rows:,} rollup rows in {took:.1f} s"
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO feed_engagement (actor_id, post_id, creator_id, kind, dwell_ms, occurred_at, fingerprint, "
                "network_prefix) SELECT actor_id, post_id, creator_id, kind, dwell_ms, "
                "least(occurred_at + interval '1 minute', %s), fingerprint, network_prefix "
                "FROM feed_engagement WHERE occurred_at >= %s ORDER BY id LIMIT %s",
                [week.ends_at - timedelta(microseconds=1), week.starts_at, batch],
            )
        began = time.perf_counter()
        # As the periodic task folds (in steps of FOLD_BATCH rows): its rate is what a backlog gets.
        incremental = folding.fold_new_engagement(limit=folding.FOLD_BATCH)
        incremental_rate = incremental.events / (time.perf_counter() - began)
        print(f"incremental fold: {incremental.events:,} events into {incremental.rollup_rows:,} rollup rows\n")
        transaction.set_rollback(True)
    return whole, incremental_rate


def measure_backlog(connection, folding, week, *, events: int, per_transaction: int, url: str) -> float:
    """An outage's backlog caught up as the periodic task does it: `events` rows written after the
    last fold in transactions of `per_transaction` rows each (as web requests write them; a
    transaction is what a limited fold takes whole), copies of the week's rows a week later, then
    folded in steps of FOLD_BATCH until nothing is new. The copies' week is dropped afterwards (its
    partition detached and dropped, its rollups deleted), so the bench database is unchanged.
    Returns the seconds the catch-up took."""
    from feed import partitions

    later = week.starts_at + timedelta(days=7)
    partitions.ensure_partitions(weeks_ahead=1, now=later)
    folding.fold_new_engagement()  # nothing left over before the outage
    began = time.perf_counter()
    # A procedure commits between its INSERTs when CALLed outside a transaction block (autocommit).
    raw = psycopg2.connect(url)
    raw.autocommit = True
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")  # the bench writes; durability is not measured
            cursor.execute(
                """
                CREATE PROCEDURE pg_temp.write_backlog(starts_at timestamptz, ends_at timestamptz, events bigint,
                                                       per_transaction int)
                LANGUAGE plpgsql AS $$
                DECLARE
                    low bigint; high bigint; written bigint := 0; first bigint; size bigint;
                BEGIN
                    SELECT min(id), max(id) INTO low, high FROM feed_engagement
                    WHERE occurred_at >= starts_at AND occurred_at < ends_at;
                    WHILE written < events LOOP
                        first := low + written % (high - low + 1);
                        size := least(per_transaction, events - written);
                        INSERT INTO feed_engagement (actor_id, post_id, creator_id, kind, dwell_ms, occurred_at,
                                                     fingerprint, network_prefix)
                        SELECT actor_id, post_id, creator_id, kind, dwell_ms, occurred_at + interval '7 days',
                               fingerprint, network_prefix
                        FROM feed_engagement
                        WHERE id >= first AND id < first + size AND id <= high;
                        written := written + size;
                        COMMIT;
                    END LOOP;
                END $$
                """
            )
            cursor.execute(
                "CALL pg_temp.write_backlog(%s, %s, %s, %s)", [week.starts_at, week.ends_at, events, per_transaction]
            )
    finally:
        raw.close()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT xact) FROM feed_engagement WHERE occurred_at >= %s AND occurred_at < %s",
            [later, later + timedelta(days=7)],
        )
        written, transactions = cursor.fetchone()
    print(f"backlog: {written:,} rows in {transactions:,} transactions written in {time.perf_counter() - began:.0f} s")
    folded, _rollup_rows, steps, took = catch_up(folding)
    print(f"backlog caught up: {folded:,} rows in {steps} steps in {took:.1f} s ({folded / took:,.0f} events/s)")
    # Leave the bench database as it was: the copies' week goes.
    name = partitions.partition_name(later)
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE feed_engagement DETACH PARTITION "{name}"')
        cursor.execute(f'DROP TABLE "{name}"')
        cursor.execute("DELETE FROM incentives_engagementrollup WHERE week_starts_at = %s", [later])
        cursor.execute("DELETE FROM incentives_engagementrollupweek WHERE week_starts_at = %s", [later])
        cursor.execute(
            "DELETE FROM incentives_foldedtradeclick WHERE occurred_at >= %s AND occurred_at < %s",
            [later, later + timedelta(days=7)],
        )
    return took * BACKLOG_EVENTS / max(folded, 1)


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return times


def print_passes(pass_times: list[dict[str, float]], compute_times: list[float]) -> None:
    """Each pass of compute (integrity rules by function name), median over the runs, and its share
    of compute's median; "rest" is what no pass covers (transaction, temp tables, ANALYZE, scores)."""
    for timings, total in zip(pass_times, compute_times, strict=True):
        timings["rest"] = total - sum(timings.values())
    compute_median = statistics.median(compute_times)
    print("contributions.compute (rollups) by pass (median of the runs)")
    print(f"{'pass':<28}{'median s':>10}{'share':>9}")
    for name in pass_times[0]:
        median = statistics.median(timings[name] for timings in pass_times)
        print(f"{name:<28}{median:>10.3f}{median / compute_median:>9.1%}")
    print()


def main() -> int:
    args = parse_args()
    name = database_name(args)
    lock = database.hold_lock(name, bench="bench/settlement.py")  # noqa: F841 - held open for the whole run
    state = database_state(name)
    reseed = args.reseed or state != "seeded"
    if reseed:
        print(f"Creating {name} next to {database.source_name()}")
        database.recreate_database(name)
    database.use_database(name)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections

    from incentives import estimates, folding, settlement
    from incentives.contributions import Parameters, compute
    from incentives.weeks import Week

    settings.DEBUG = False  # no query log
    week = Week.parse(WEEK, "UTC")
    try:
        if reseed:
            print(f"Seeding {args.users:,} users, {args.posts:,} posts, {args.events:,} events in {WEEK}")
            began = time.perf_counter()
            seed(args, week)
            print(f"  seeded in {time.perf_counter() - began:.0f} s\n")
        else:
            print(f"Reusing {name} (--reseed to rebuild it)\n")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM feed_engagement WHERE occurred_at >= %s AND occurred_at < %s",
                [week.starts_at, week.ends_at],
            )
            rows = cursor.fetchone()[0]
        print(f"{rows:,} engagement rows in {WEEK}; {args.repeat} runs each, median compared\n")

        def plain():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT creator_id, count(*) FROM feed_engagement "
                    "WHERE occurred_at >= %s AND occurred_at < %s GROUP BY creator_id",
                    [week.starts_at, week.ends_at],
                )
                cursor.fetchall()

        def weighted():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT creator_id, sum(CASE kind WHEN 1 THEN 0.1 WHEN 2 THEN 0.5 * dwell_ms / 60000.0 "
                    "WHEN 3 THEN 1 WHEN 5 THEN 2 WHEN 6 THEN 3 WHEN 8 THEN 3 WHEN 10 THEN 4 ELSE 0 END::float) "
                    "FROM feed_engagement WHERE occurred_at >= %s AND occurred_at < %s GROUP BY creator_id",
                    [week.starts_at, week.ends_at],
                )
                cursor.fetchall()

        parameters = Parameters.current()
        now = week.ends_at + timedelta(hours=1)
        pass_times: list[dict[str, float]] = []  # one per run of compute

        def compute_by_pass():
            pass_times.append({})
            compute(week, parameters, timings=pass_times[-1])

        fold_rate, incremental_rate = measure_folds(connection, folding, week, args.fold_batch)
        results = {
            "plain GROUP BY creator": timed(plain, args.repeat),
            "weighted GROUP BY creator": timed(weighted, args.repeat),
            **(
                {}
                if args.no_raw
                else {"compute (raw)": timed(lambda: compute(week, parameters, source="raw"), args.repeat)}
            ),
            "compute (rollups)": timed(compute_by_pass, args.repeat),
            "draft_settlement (all)": timed(lambda: settlement.draft_settlement(week=week, now=now), args.repeat),
            "live estimate": timed(
                lambda: estimates.exact_estimates(now=week.ends_at - timedelta(milliseconds=1)), args.repeat
            ),
        }
        baseline = statistics.median(results["plain GROUP BY creator"])
        weighted_median = statistics.median(results["weighted GROUP BY creator"])
        print(f"{'what':<28}{'median s':>10}{'min s':>9}{'max s':>9}{'× plain':>9}{'× weighted':>12}")
        for label, times in results.items():
            median = statistics.median(times)
            print(
                f"{label:<28}{median:>10.2f}{min(times):>9.2f}{max(times):>9.2f}{median / baseline:>9.2f}"
                f"{median / weighted_median:>12.2f}"
            )
        ratio = statistics.median(results["draft_settlement (all)"]) / weighted_median
        estimate = statistics.median(results["live estimate"])
        backlog = (
            measure_backlog(
                connection,
                folding,
                week,
                events=args.backlog,
                per_transaction=args.backlog_transaction,
                url=database.url_of(name),
            )
            if args.backlog
            else BACKLOG_EVENTS / min(fold_rate, incremental_rate)
        )
        print(
            f"\nfold from empty rollups: {fold_rate:,.0f} events/s; incremental fold: {incremental_rate:,.0f} events/s"
        )
        print(f"Target: draft within 3× of the weighted GROUP BY: {ratio:.2f}× ({_verdict(ratio <= 3)})")
        print(f"Target: live estimate ≤ 2 s: {estimate:.2f} s ({_verdict(estimate <= 2)})")
        print(f"Target: fold ≥ 20,000 events/s: {incremental_rate:,.0f} ({_verdict(incremental_rate >= 20_000)})")
        print(
            f"Target: an hour at 3,000 events/s caught up < 5 min: {backlog:.0f} s "
            f"{'(measured on ' + format(args.backlog, ',') + ' rows)' if args.backlog else 'projected'} "
            f"({_verdict(backlog < 300)})"
        )
        drafted = settlement.Settlement.objects.get(week=WEEK)
        print(
            f"Draft: {drafted.creator_count:,} creators paid, {drafted.flags.count():,} flags, "
            f"{drafted.payouts.filter(status='held').count():,} held, {drafted.total_allocated} allocated\n"
        )
        print_passes(pass_times, results["compute (rollups)"])
        if args.no_raw:
            return 0

        # Part of a week: `until` before folded events, so compute reads the raw log (as it would itself).
        print("Memory while computing part of the week from the raw log (Python allocations, resident set)")
        print(f"{'part of week':<14}{'events':>13}{'peak alloc MB':>15}{'RSS MB':>9}")
        process = psutil.Process()
        for fraction in (0.25, 0.5, 1.0):
            until = week.starts_at + (week.ends_at - week.starts_at) * fraction
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM feed_engagement WHERE occurred_at >= %s AND occurred_at < %s",
                    [week.starts_at, until],
                )
                events = cursor.fetchone()[0]
            tracemalloc.start()
            compute(week, parameters, until=until, source="raw")
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{fraction:<14.2f}{events:>13,}{peak / 2**20:>15.1f}{process.memory_info().rss / 2**20:>9.0f}")
    finally:
        connections.close_all()
        if args.drop:
            database.drop_database(name)
            print(f"Dropped {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
