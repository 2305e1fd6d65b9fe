"""For You serving speed under gunicorn: the Redis lists, the Postgres fallback and a bare endpoint.

    python -m tools.launch bench bench/feed.py [--users 100000 --posts 1000000 --events 5000000]
        [--duration 20] [--clients 16] [--redis-users 2000] [--fallback-users 1000] [--reseed]
    make bench-feed ARGS="--users 5000 --posts 50000 --events 300000 --duration 10"

Data. The database orbit_bench_feed on the server of DATABASE_URL (other sizes get their own,
orbit_bench_feed_<users>u_<posts>p_<events>e_s<seed>), filled by demo.seeding with the current
hour as the seed's "now". A later run with the same sizes and seed reuses it while that "now" is
less than --max-age-hours old (the candidate and trending windows count back from the real
clock); --reseed seeds it again, --drop removes it at the end. One run at a time per database: a
second is refused. Posts are not run through the ML tagger (bench/tagging.py measures that):
ranking_posttags is filled by one INSERT ... SELECT from each post's own data (its content type,
cashtag assets, topics from its hashtags, language, a pseudo-random quality), model_version
"bench-seeded". Then ranking.trending.refresh_trending() runs, timed.

Readers. The Redis path's readers are --redis-users active readers (they trade, follow at least
three people and engaged in the last week); the bench forgets their stored interest profiles and
builds each list with ranking.feeds.build_for_you, timed one by one, then rebuilds a sample
(incremental interest, as the five-minute refresh does). The fallback's readers are
--fallback-users other active readers with a stored interest profile and no list. No Celery
worker consumes the bench's queue, so their lists stay missing; the view's "queue a build" is
sent at most once a minute per reader, and the bench sets those markers beforehand so that the
measured requests show the ranking, not the broker. A direct call of ranking.for_you.for_you_page
confirms which way each group is served, before and after the load.

Serving. gunicorn as the Procfile's web line runs it (gunicorn.conf.py's threaded workers, --workers as WEB_WORKERS,
default 2; access log, to a file here), DEBUG off, on a free port of 127.0.0.1, with
DJANGO_SETTINGS_MODULE=bench.feed_settings: Orbit's settings and URLs plus the bare endpoint of
bench/feed_urls.py (20 random posts by primary key through a plain ModelSerializer, the same
token authentication and middleware). Cache keys, For You lists and the Celery queue get a prefix
of their own, in logical database 13 of the REDIS_URL server (a FLUSHDB of database 0, as test
suites do, cannot wipe the lists mid-run); the bench deletes its keys at the end.

Load. locust (bench/locustfile_feed.py), headless, in one process: --clients clients back to
back, each request as the next reader's token, --warmup seconds untimed, then --duration seconds
timed, per path: the bare endpoint, For You from Redis, the fallback, the Latest API as a
reference (the same post cards as For You, no ranking), and last the fallback again with a learned
ranker active (ranking.learned; fitted to synthetic impressions, activated for that path only,
removed at the end): the learned ranker scores every candidate in the request, so its p99 in the
worker is compared with the heuristic fallback's of the same run (target: at most 1.5 times).
The table gives requests per second; the exact median and 99th percentile of every response time
as the clients see it (mostly the
wait for a free worker, with more clients than workers) and as the worker spends it (gunicorn's
access log); errors; CPU milliseconds per request in gunicorn and in this database's Postgres
backends (hardly moved by other work on the machine, unlike the throughput); and the cores in
use by those, by locust, and by the rest of the machine. The machine has 2 cores: the load
generator and anyone else's work take CPU from the server, and the table shows how much.

--explain prints the SQL of one page on each For You path with its time, and EXPLAIN ANALYZE of
the slowest fallback queries. Figures are printed against the targets; the exit code is 0.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
LOCUSTFILE = ROOT / "bench" / "locustfile_feed.py"

# The database of the acceptance sizes; other sizes get a name of their own (database_name), so a
# quick small run never throws away the large database that took minutes to seed.
BENCH_DATABASE = "orbit_bench_feed"
DEFAULT_SIZES = {"users": 100_000, "posts": 1_000_000, "events": 5_000_000, "seed": 42}
# Cache keys, For You lists and the Celery queue of a run, apart from everyone else's on the shared
# Redis: named after the run's database (set in main), which one run at a time holds (database.hold_lock).
BENCH_PREFIX = BENCH_DATABASE
SEED_RECORD = "bench_feed_seed"  # one row: what the database was seeded with, written when seeding finished
TAGGER_VERSION = "bench-seeded"

# The Redis database is fixed before Django reads its settings; the database, key prefix and queue in main.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")
os.environ.setdefault("DEBUG", "1")  # this process is a developer tool; the web server runs with DEBUG off
# A logical database of its own on the REDIS_URL server as well: a FLUSHDB elsewhere (test suites
# clear their cache) would otherwise wipe the ready lists in the middle of a measurement.
BENCH_REDIS_DB = 13
os.environ["REDIS_URL"] = (
    urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")._replace(path=f"/{BENCH_REDIS_DB}").geturl()
)

import django  # noqa: E402
import psutil  # noqa: E402
from django.conf import settings  # noqa: E402

from bench import database  # noqa: E402

# Hashtags of the demo data that name a topic of ranking.tagging.TOPICS.
HASHTAG_TOPICS = {
    "perps": "derivatives",
    "funding": "derivatives",
    "options": "derivatives",
    "合约": "derivatives",
    "macro": "macro",
    "etf": "macro",
    "宏观": "macro",
    "onchain": "onchain",
    "链上数据": "onchain",
    "memecoin": "memecoins",
    "meme币": "memecoins",
    "earn": "staking",
    "理财": "staking",
    "launchpool": "airdrops",
    "riskmanagement": "risk_management",
    "风险管理": "risk_management",
    "ta": "technical_analysis",
    "priceaction": "technical_analysis",
    "技术分析": "technical_analysis",
    "regulation": "regulation",
    "strategy": "defi",
    "新币": "defi",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=DEFAULT_SIZES["users"], help="accounts to seed (100000)")
    parser.add_argument("--posts", type=int, default=DEFAULT_SIZES["posts"], help="posts to seed (1000000)")
    parser.add_argument("--events", type=int, default=DEFAULT_SIZES["events"], help="engagement rows (5000000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SIZES["seed"])
    parser.add_argument("--duration", type=int, default=20, help="timed seconds per path (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed seconds per path first (default 5)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--redis-users", type=int, default=2000, help="readers with a built list (default 2000)")
    parser.add_argument("--fallback-users", type=int, default=1000, help="readers without a list (default 1000)")
    parser.add_argument("--rebuilds", type=int, default=200, help="lists built a second time (default 200)")
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_WORKERS", 2)), help="gunicorn workers (WEB_WORKERS, 2)"
    )
    parser.add_argument(
        "--max-age-hours", type=float, default=24, help="reseed when the seeded 'now' is older (default 24)"
    )
    parser.add_argument("--reseed", action="store_true", help=f"seed {BENCH_DATABASE} again even if it fits")
    parser.add_argument("--drop", action="store_true", help=f"drop {BENCH_DATABASE} at the end")
    parser.add_argument("--explain", action="store_true", help="print the SQL of one page per For You path")
    return parser.parse_args()


# --- The bench database -----------------------------------------------------------------------


@dataclass
class SeedRecord:
    users: int
    posts: int
    events: int
    seed: int
    anchor: datetime
    seed_seconds: float
    tag_seconds: float
    tagged: int


def read_seed_record() -> SeedRecord | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [SEED_RECORD])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(
            f"SELECT users, posts, events, seed, anchor, seed_seconds, tag_seconds, tagged FROM {SEED_RECORD}"  # noqa: S608
        )
        row = cursor.fetchone()
    return SeedRecord(*row) if row else None


def write_seed_record(record: SeedRecord) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {SEED_RECORD} (users int, posts int, events int, seed int, anchor timestamptz, "
            "seed_seconds float, tag_seconds float, tagged int)"
        )
        cursor.execute(
            f"INSERT INTO {SEED_RECORD} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            [
                record.users,
                record.posts,
                record.events,
                record.seed,
                record.anchor,
                record.seed_seconds,
                record.tag_seconds,
                record.tagged,
            ],
        )


def why_not_reuse(record: SeedRecord | None, args: argparse.Namespace) -> str | None:
    """None when the seeded database fits this run, else the reason to seed it again."""
    if record is None:
        return "no finished seed in it"
    wanted = (args.users, args.posts, args.events, args.seed)
    if (record.users, record.posts, record.events, record.seed) != wanted:
        return (
            f"seeded with {record.users:,} users, {record.posts:,} posts, {record.events:,} events, seed {record.seed}"
        )
    age_hours = (datetime.now(UTC) - record.anchor).total_seconds() / 3600
    if age_hours > args.max_age_hours:
        return f"its data leads up to {record.anchor:%Y-%m-%d %H:%M} UTC, {age_hours:.0f} h ago"
    return None


def seed(args: argparse.Namespace) -> SeedRecord:
    from django.core.management import call_command
    from django.db import connection

    from demo.seeding import default_anchor, seed_demo_data

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"Migrated in {time.perf_counter() - began:.1f} s")
    anchor = default_anchor()
    print(f"Seeding {args.users:,} users, {args.posts:,} posts, {args.events:,} events (seed {args.seed})")
    print(f"The data leads up to {anchor:%Y-%m-%d %H:%M} UTC (this hour)")
    began = time.perf_counter()
    seed_demo_data(
        users=args.users, posts=args.posts, events=args.events, seed=args.seed, anchor=anchor, progress=print
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seed_seconds = time.perf_counter() - began
    print(f"Seeded and analyzed in {seed_seconds:.1f} s")
    began = time.perf_counter()
    tagged = fill_tags()
    tag_seconds = time.perf_counter() - began
    print(f"Tagged {tagged:,} posts from their own data (INSERT ... SELECT, no ML) in {tag_seconds:.1f} s")
    record = SeedRecord(args.users, args.posts, args.events, args.seed, anchor, seed_seconds, tag_seconds, tagged)
    write_seed_record(record)
    return record


def fill_tags() -> int:
    """PostTags for every post from the post's own data, in one statement (see the docstring)."""
    from django.db import connection

    from feed.models import Hashtag, Post
    from markets.models import Asset
    from ranking.models import PostTags

    post_assets = Post.assets.through._meta.db_table
    post_hashtags = Post.hashtags.through._meta.db_table
    topic_rows = ", ".join(["(%s, %s)"] * len(HASHTAG_TOPICS))
    # Knuth's multiplicative hash of the id: a fixed, evenly spread number in [0, 1) per post.
    spread = "((p.id * 2654435761) %% 4294967296) / 4294967296.0"
    sql = f"""
        WITH assets AS (
            SELECT pa.post_id, array_agg(a.symbol ORDER BY a.symbol) AS symbols
            FROM {post_assets} pa JOIN {Asset._meta.db_table} a ON a.id = pa.asset_id
            GROUP BY pa.post_id
        ), topic_names (hashtag, topic) AS (VALUES {topic_rows}),
        topics AS (
            SELECT ph.post_id, array_agg(DISTINCT t.topic) AS names
            FROM {post_hashtags} ph
            JOIN {Hashtag._meta.db_table} h ON h.id = ph.hashtag_id
            JOIN topic_names t ON t.hashtag = h.name
            GROUP BY ph.post_id
        )
        INSERT INTO {PostTags._meta.db_table}
            (post_id, content_type, level, topics, assets, language, quality, model_version, tagged_at, trending)
        SELECT p.id, p.content_type,
               CASE WHEN p.content_type = 'education' THEN 'beginner'
                    ELSE (ARRAY['beginner', 'intermediate', 'intermediate', 'advanced'])[1 + (p.id * 7919) %% 4]
               END,
               COALESCE(topics.names, '{{}}'), COALESCE(assets.symbols, '{{}}'), p.language,
               round((0.2 + 0.75 * {spread})::numeric, 3), %s, now(), 0
        FROM {Post._meta.db_table} p
        LEFT JOIN assets ON assets.post_id = p.id
        LEFT JOIN topics ON topics.post_id = p.id
        ON CONFLICT (post_id) DO NOTHING
    """  # noqa: S608 - table names from the models, every value a parameter
    params = [value for pair in HASHTAG_TOPICS.items() for value in pair] + [TAGGER_VERSION]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        tagged = cursor.rowcount
        cursor.execute(f"ANALYZE {PostTags._meta.db_table}")
    return tagged


# --- Readers ----------------------------------------------------------------------------------


def active_readers(count: int) -> list[int]:
    """Readers who trade, follow at least three people and engaged in the last week, in a fixed
    pseudo-random order (md5 of the id) so that runs on the same data pick the same people."""
    from django.db.models import CharField, Count, Q
    from django.db.models.functions import MD5, Cast
    from django.utils import timezone

    from creators.models import User
    from feed.models import Engagement

    recent = Engagement.objects.filter(occurred_at__gt=timezone.now() - timedelta(days=7)).values("actor_id")
    return list(
        User.objects.filter(
            is_active=True,
            is_staff=False,
            suspended_at__isnull=True,
            trading_profile__volume_tier__gte=1,
            pk__in=recent,
        )
        .annotate(follows=Count("following_set"))
        .filter(Q(follows__gte=3))
        .order_by(MD5(Cast("pk", CharField())))
        .values_list("pk", flat=True)[:count]
    )


def issue_tokens(user_ids: list[int]) -> dict[int, str]:
    from creators.models import User
    from creators.tokens import issue_api_token

    return {user.pk: issue_api_token(user=user, name="bench")[1] for user in User.objects.filter(pk__in=user_ids)}


def build_lists(user_ids: list[int], *, label: str) -> tuple[list[float], list[int], float]:
    """Seconds per build, list lengths, and the total wall time, building one list after another."""
    from ranking import feeds

    seconds, lengths = [], []
    began = time.perf_counter()
    for done, user_id in enumerate(user_ids, 1):
        start = time.perf_counter()
        lengths.append(feeds.build_for_you(user_id=user_id))
        seconds.append(time.perf_counter() - start)
        if done % 500 == 0 and done < len(user_ids):
            print(f"  {label}: {done:,} of {len(user_ids):,} lists ({time.perf_counter() - began:.0f} s)")
    return seconds, lengths, time.perf_counter() - began


def install_learned_ranker(seed: int) -> str:
    """Store and activate a learned ranker (ranking.learned), fitted to synthetic impressions whose
    likes follow reading affinities and places: serving cost does not depend on what it learned."""
    import numpy as np

    from ranking import learned, training
    from ranking.models import RankingModel
    from ranking.training import Examples

    rng = np.random.default_rng(seed)
    count = 20_000
    rows = rng.random((count, len(learned.FEATURES)))
    positions = rng.integers(0, 40, count)
    signal = rows[:, learned.FEATURES.index("reads_type")] + rows[:, learned.FEATURES.index("reads_creator")]
    labels = {
        action: rng.random(count) < (0.02 + 0.1 * signal) / (1 + positions / 5) for action in training.LABEL_ORDER
    }
    types = rng.choice(["analysis", "education", "news", "chat"], count).tolist()
    built_at = np.arange(count, dtype=float)
    model, metrics = training.fit(
        Examples(rows=rows, types=types, positions=positions, labels=labels, built_at=built_at),
        version=f"bench-{seed}",
    )
    RankingModel.objects.filter(version=model.version).delete()
    RankingModel.objects.create(version=model.version, artifact=model.artifact(), metrics=metrics)
    training.activate(version=model.version)
    learned.forget_cached_model()
    return model.version


def remove_learned_ranker(version: str) -> None:
    from ranking import training
    from ranking.models import RankingModel

    training.deactivate_all()
    RankingModel.objects.filter(version=version).delete()


def prepare_fallback_readers(user_ids: list[int], *, marker_seconds: int) -> None:
    """A stored interest profile each, no list, and the "build queued" marker already set."""
    from ranking import feeds, profiles

    for user_id in user_ids:
        profiles.refresh_interest(user_id=user_id)
        feeds.drop_list(user_id=user_id)
    # The marker the view sets itself when it queues a build (ranking.for_you._queue_build).
    pipe = feeds.redis_client().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.set(feeds.list_key(user_id, ":queued"), 1, ex=marker_seconds)
    pipe.execute()


def served_from(user_id: int) -> tuple[str, int]:
    from creators.models import User
    from ranking import for_you

    page = for_you.for_you_page(user=User.objects.get(pk=user_id))
    return page.source, len(page.items)


def lists_present(user_ids: list[int]) -> int:
    from ranking import feeds

    pipe = feeds.redis_client().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.exists(feeds.list_key(user_id))
    return sum(pipe.execute())


def delete_bench_keys() -> int:
    """Every key the bench made on the shared Redis: cache, lists, markers and its Celery queue."""
    from ranking import feeds

    client = feeds.redis_client()
    keys = list(client.scan_iter(match=f"{BENCH_PREFIX}:*", count=1000))
    keys += [BENCH_PREFIX, f"_kombu.binding.{BENCH_PREFIX}", f"_kombu.binding_permanent.{BENCH_PREFIX}"]
    deleted = 0
    for start in range(0, len(keys), 1000):
        deleted += client.delete(*keys[start : start + 1000])
    return deleted


# --- The web server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    """gunicorn as the Procfile's web line starts it, in production mode, on 127.0.0.1."""

    def __init__(self, *, workers: int, logs: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs = logs
        environ = dict(os.environ)
        environ.update(
            DJANGO_SETTINGS_MODULE="bench.feed_settings",
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="0",  # plain HTTP on the loopback; behind a proxy in production
        )
        command = [
            str(BIN / "gunicorn"),
            "orbit.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--access-logfile",
            str(logs / "access.log"),
            # gunicorn's default format plus %(D)s, the microseconds a worker spent on the request:
            # the server's time without the wait for a free worker that the clients see.
            "--access-logformat",
            '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s',
            "--timeout",
            "30",
        ]
        self.errors = (logs / "gunicorn.log").open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=self.errors, stderr=subprocess.STDOUT)

    def wait_until_answering(self, timeout: float = 60) -> None:
        # /healthz says 503 while no Celery worker beats (none runs here): any answer will do.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310 - our own loopback URL
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def get(self, path: str, token: str) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"Token {token}"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def access_log_size(self) -> int:
        path = self.logs / "access.log"
        return path.stat().st_size if path.exists() else 0

    def server_milliseconds(self, *, since: int) -> list[float]:
        """Worker time of every request logged after byte `since` of the access log."""
        with (self.logs / "access.log").open("rb") as log:
            log.seek(since)
            return [int(line.rsplit(None, 1)[-1]) / 1000 for line in log.read().splitlines() if line.strip()]

    def processes(self) -> list[psutil.Process]:
        master = psutil.Process(self.process.pid)
        return [master, *master.children(recursive=True)]

    def log_tail(self) -> str:
        self.errors.flush()
        return "\n".join((self.logs / "gunicorn.log").read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.errors.close()


# --- Load -------------------------------------------------------------------------------------


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


def _database_backends() -> list[psutil.Process]:
    # Postgres names each backend "postgres: <user> <database> ..." in its process title.
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(BENCH_DATABASE in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq + getattr(times, "steal", 0.0)


@dataclass
class LoadResult:
    label: str
    requests: int
    errors: int
    seconds: float
    median_ms: float
    p99_ms: float
    cpu: dict[str, float]  # cores used on average: web, db, locust, rest
    cpu_ms: dict[str, float]  # CPU milliseconds per request (all requests of the locust run): web, db
    server_median_ms: float  # time in the gunicorn worker (access log), without waiting for a free worker
    server_p99_ms: float

    @property
    def per_second(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0


def percentile(ordered: list[float], share: float) -> float:
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def drive(
    server: WebServer, *, label: str, path: str, tokens: list[str], seconds: int, clients: int, work: Path
) -> LoadResult:
    """locust against one path for `seconds` (after all clients started); figures from every response."""
    slug = "".join(c if c.isalnum() else "-" for c in label)
    token_file, samples_file = work / f"{slug}.tokens", work / f"{slug}.samples"
    token_file.write_text("\n".join(tokens) + "\n")
    environ = dict(os.environ, BENCH_FEED_PATH=path, BENCH_FEED_TOKENS=str(token_file))
    environ["BENCH_FEED_SAMPLES"] = str(samples_file)
    command = [
        str(BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(clients),
        "--spawn-rate",
        "100",
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "5",
        "--host",
        server.url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    logged_from = server.access_log_size()
    web = {process.pid: (process, _cpu_seconds(process)) for process in server.processes()}
    db = {process.pid: (process, _cpu_seconds(process)) for process in _database_backends()}
    busy_before, began = _machine_busy_seconds(), time.monotonic()
    with (work / f"{slug}.locust.log").open("w") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(locust.pid, 0)
        locust.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - began
    busy = _machine_busy_seconds() - busy_before
    if locust.returncode != 0 or not samples_file.exists():
        tail = (work / f"{slug}.locust.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"locust failed ({locust.returncode}) on {path}:\n{tail}")

    web_used = sum(_cpu_seconds(process) - before for process, before in web.values())
    db_used = 0.0
    for process in _database_backends():
        before = db.get(process.pid, (None, 0.0))[1]  # a backend opened during the run counts from zero
        db_used += _cpu_seconds(process) - before
    locust_used = usage.ru_utime + usage.ru_stime
    cpu = {
        "web": web_used / wall,
        "db": db_used / wall,
        "locust": locust_used / wall,
        "rest": max(0.0, busy - web_used - db_used - locust_used) / wall,
    }

    lines = samples_file.read_text().split()
    all_running = float(lines[0])
    samples = [tuple(map(float, line.split(","))) for line in lines[1:]]
    # Only requests that ended while every client was running: no ramp-up, no stopping.
    timed = [(ended, ms, failed) for ended, ms, failed in samples if ended >= all_running]
    last = max((ended for ended, _ms, _failed in timed), default=all_running)
    times = sorted(ms for _ended, ms, _failed in timed)
    handled = max(1, len(samples))
    time.sleep(0.5)  # gunicorn writes a request's log line after sending the response
    on_server = sorted(server.server_milliseconds(since=logged_from))
    return LoadResult(
        label=label,
        requests=len(timed),
        errors=sum(1 for *_rest, failed in timed if failed),
        seconds=last - all_running,
        median_ms=statistics.median(times) if times else float("nan"),
        p99_ms=percentile(times, 0.99),
        cpu=cpu,
        cpu_ms={"web": web_used * 1000 / handled, "db": db_used * 1000 / handled},
        server_median_ms=statistics.median(on_server) if on_server else float("nan"),
        server_p99_ms=percentile(on_server, 0.99),
    )


# --- Explaining -------------------------------------------------------------------------------


def explain_page(user_id: int, *, label: str, analyze_slowest: int) -> None:
    """The queries of one For You page for this reader, each with its time; EXPLAIN ANALYZE of the slowest."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from creators.models import User
    from ranking import for_you

    user = User.objects.get(pk=user_id)
    for_you.for_you_page(user=user)  # warm
    began = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        page = for_you.for_you_page(user=user)
    total = (time.perf_counter() - began) * 1000
    queries = [(float(query["time"]) * 1000, query["sql"]) for query in captured.captured_queries]
    print(
        f"\n{label}: source {page.source}, {len(page.items)} posts, {len(queries)} queries, "
        f"{sum(ms for ms, _sql in queries):.1f} ms in SQL of {total:.1f} ms in for_you_page (in-process)"
    )
    for ms, sql in queries:
        print(f"  {ms:7.2f} ms  {sql[:150]}")
    for ms, sql in sorted(queries, reverse=True)[:analyze_slowest]:
        print(f"\n  EXPLAIN ANALYZE ({ms:.2f} ms when captured):\n  {sql[:2000]}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            for (line,) in cursor.fetchall():
                print(f"    {line}")


# --- Main -------------------------------------------------------------------------------------


def database_name(args: argparse.Namespace) -> str:
    sizes = {name: getattr(args, name) for name in DEFAULT_SIZES}
    if sizes == DEFAULT_SIZES:
        return BENCH_DATABASE
    return f"{BENCH_DATABASE}_{args.users}u_{args.posts}p_{args.events}e_s{args.seed}"


def main() -> None:
    global BENCH_DATABASE, BENCH_PREFIX
    args = parse_args()
    BENCH_DATABASE = BENCH_PREFIX = database_name(args)
    # Before anything reads Django's settings: this process and gunicorn use these.
    database.use_database(BENCH_DATABASE)
    os.environ["CACHE_KEY_PREFIX"] = BENCH_PREFIX
    os.environ["CELERY_QUEUE_PREFIX"] = f"{BENCH_PREFIX}-"
    lock = database.hold_lock(BENCH_DATABASE, bench="bench/feed.py")  # noqa: F841 - held open for the whole run
    fresh = args.reseed or not database.database_exists(BENCH_DATABASE)
    if fresh:
        print(f"Creating {BENCH_DATABASE} next to {database.source_name()}")
        database.recreate_database(BENCH_DATABASE)
    django.setup()
    settings.DEBUG = False  # no query log in this process either
    try:
        record = None if fresh else read_seed_record()
        reason = None if fresh else why_not_reuse(record, args)
        if reason:
            print(f"Seeding {BENCH_DATABASE} again: {reason}")
            database.recreate_database(BENCH_DATABASE)
        if fresh or reason:
            record = seed(args)
        else:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            print(
                f"Reusing {BENCH_DATABASE}: seeded in {record.seed_seconds:.1f} s, tagged in "
                f"{record.tag_seconds:.1f} s, its data leads up to {record.anchor:%Y-%m-%d %H:%M} UTC "
                f"(--reseed to seed it again)"
            )
        delete_bench_keys()  # lists and markers a stopped run may have left
        with tempfile.TemporaryDirectory(prefix="bench-feed-") as work:
            run(args, record, Path(work))
    finally:
        from django.db import connections

        try:
            delete_bench_keys()
        except Exception as exc:  # the Redis keys expire anyway; the database must still be dropped
            print(f"Could not delete the bench's Redis keys: {exc}")
        connections.close_all()
        if args.drop:
            database.drop_database(BENCH_DATABASE)
            print(f"Dropped {BENCH_DATABASE}")


def run(args: argparse.Namespace, record: SeedRecord, work: Path) -> None:
    from django.db import connection

    from creators.models import User
    from feed.models import Engagement, Post
    from ranking import trending
    from ranking.models import PostTags, UserInterest

    sizes = {
        "users": User.objects.count(),
        "posts": Post.objects.count(),
        "engagement rows": Engagement.objects.count(),
        "post tags": PostTags.objects.count(),
    }
    print("Sizes: " + ", ".join(f"{count:,} {name}" for name, count in sizes.items()))
    print(
        f"Seeding took {record.seed_seconds:.1f} s (COPY, then ANALYZE); post tags {record.tag_seconds:.1f} s "
        f'(one INSERT ... SELECT from the posts\' own data, model_version "{TAGGER_VERSION}", not the ML tagger)'
    )
    began = time.perf_counter()
    trending_rows = trending.refresh_trending()
    print(f"refresh_trending(): {trending_rows:,} posts scored in {time.perf_counter() - began:.2f} s")
    # The refresh rewrites a fifth of the tags; vacuumed now, autovacuum does not do it in the middle
    # of a measured path (it did, in the last one, costing it seconds at p99).
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {PostTags._meta.db_table}")
    print(f"VACUUM ANALYZE of the post tags in {time.perf_counter() - began:.2f} s")

    readers = active_readers(args.redis_users + args.fallback_users)
    redis_readers, fallback_readers = readers[: args.redis_users], readers[args.redis_users :]
    if not redis_readers or not fallback_readers:
        raise SystemExit(f"Only {len(readers)} active readers: seed more users or ask for fewer readers.")
    tokens = issue_tokens(readers)
    UserInterest.objects.filter(user_id__in=readers).delete()  # every first build starts from the log

    print(f"\nBuilding {len(redis_readers):,} For You lists with ranking.feeds.build_for_you, one after another")
    seconds, lengths, total = build_lists(redis_readers, label="first builds")
    again, _lengths, again_total = build_lists(redis_readers[: args.rebuilds], label="rebuilds")
    line = "-" * 118
    print(f"{'build':<48}{'lists':>7}{'median ms':>11}{'p99 ms':>9}{'mean ms':>9}{'total s':>9}")
    print(line)
    for label, times, wall in (
        ("first (interest profile from the whole log)", seconds, total),
        (f"  the same {len(again)} readers' first builds", seconds[: len(again)], sum(seconds[: len(again)])),
        ("again (interest refreshed incrementally)", again, again_total),
    ):
        ordered = sorted(times)
        print(
            f"{label:<48}{len(times):>7,}{statistics.median(ordered) * 1000:>11.1f}"
            f"{percentile(ordered, 0.99) * 1000:>9.1f}{statistics.fmean(ordered) * 1000:>9.1f}{wall:>9.1f}"
        )
    print(f"List length: mean {statistics.fmean(lengths):.0f}, shortest {min(lengths)}, longest {max(lengths)}")

    run_seconds = int(3 * (args.warmup + args.duration + 10) + 300)
    prepare_fallback_readers(fallback_readers, marker_seconds=run_seconds)
    checks = {
        "redis": served_from(redis_readers[0]),
        "fallback": served_from(fallback_readers[0]),
    }
    print(
        f"\nReaders: {len(redis_readers):,} with a list (for_you_page serves reader {redis_readers[0]} from "
        f"{checks['redis'][0]}, {checks['redis'][1]} posts), {len(fallback_readers):,} without one "
        f"(reader {fallback_readers[0]} from {checks['fallback'][0]}, {checks['fallback'][1]} posts)"
    )
    if checks["redis"][0] != "redis" or checks["fallback"][0] != "fallback":
        raise SystemExit("A group is not served the way it should be; the figures would be wrong.")

    if args.explain:
        explain_page(redis_readers[1], label="For You from Redis", analyze_slowest=0)
        explain_page(fallback_readers[1], label="For You fallback", analyze_slowest=3)

    server = WebServer(workers=args.workers, logs=work)
    try:
        server.wait_until_answering()
        paths = [
            ("bare DRF endpoint, 20 posts", "/bench/bare-posts/", [tokens[pk] for pk in readers]),
            ("For You from Redis", "/api/v1/feed/for-you/", [tokens[pk] for pk in redis_readers]),
            ("For You fallback (Postgres)", "/api/v1/feed/for-you/", [tokens[pk] for pk in fallback_readers]),
            # Not a target: the same post cards and serializer without ranking, to tell the two costs apart.
            ("Latest API (reference)", "/api/v1/feed/latest/", [tokens[pk] for pk in redis_readers]),
            # Last: the same fallback with a learned ranker active (ranking.learned) instead of the heuristic.
            ("For You fallback, learned ranker", "/api/v1/feed/for-you/", [tokens[pk] for pk in fallback_readers]),
        ]
        for _label, path, path_tokens in paths:
            status, body = server.get(path, path_tokens[0])
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}: {body[:500]!r}\n{server.log_tail()}")
        cores = psutil.cpu_count()
        print(
            f"\ngunicorn: {args.workers} threaded workers at {server.url}, DEBUG off; locust: {args.clients} clients "
            f"in one process on the same {cores}-core machine.\n"
            f"Each path: {args.warmup:g} s warm-up, then {args.duration:g} s timed. Milliseconds as the clients "
            f"see them (with {args.clients} clients and {args.workers} workers, a request mostly waits for a "
            "free core) and as the worker spends them (gunicorn's access log). CPU: milliseconds per request "
            "in gunicorn (web) and in this database's Postgres backends (db), which other work on the machine "
            "hardly moves; cores in use on average by those, by locust, and by the rest of the machine (the "
            "Redis server and anyone else's work), all taken from the same 2 cores."
        )
        results = []
        learned_version = None
        for label, path, path_tokens in paths:
            if "learned" in label:
                learned_version = install_learned_ranker(args.seed)
                status, body = server.get(path, path_tokens[0])
                if status != 200:
                    raise SystemExit(f"GET {path} with a learned ranker answered {status}: {body[:500]!r}")
            common = {"label": label, "path": path, "tokens": path_tokens, "clients": args.clients, "work": work}
            drive(server, seconds=args.warmup, **common)
            results.append(drive(server, seconds=args.duration, **common))
    finally:
        server.stop()
        if learned_version:
            remove_learned_ranker(learned_version)

    after = {"redis": lists_present(redis_readers), "fallback": lists_present(fallback_readers)}
    checks_after = {"redis": served_from(redis_readers[0])[0], "fallback": served_from(fallback_readers[0])[0]}
    print(f"\n{'':<30}{'clients see':^37}{'in the worker':^18}{'CPU ms per request':^18}   {'cores in use':^24}")
    print(
        f"{'path':<30}{'requests':>9}{'req/s':>7}{'median':>8}{'p99':>7}{'errors':>7}"
        f"{'median':>9}{'p99':>7}{'web':>9}{'db':>7}   {'web':>5}{'db':>6}{'locust':>7}{'rest':>6}"
    )
    print(line)
    for result in results:
        cpu, cpu_ms = result.cpu, result.cpu_ms
        print(
            f"{result.label:<30}{result.requests:>9,}{result.per_second:>7,.0f}{result.median_ms:>8.1f}"
            f"{result.p99_ms:>7.1f}{result.errors:>7,}{result.server_median_ms:>9.1f}{result.server_p99_ms:>7.1f}"
            f"{cpu_ms['web']:>9.2f}{cpu_ms['db']:>7.2f}   "
            f"{cpu['web']:>5.2f}{cpu['db']:>6.2f}{cpu['locust']:>7.2f}{cpu['rest']:>6.2f}"
        )
    print(line)
    print(
        f"After the load: {after['redis']:,} of {len(redis_readers):,} Redis-path readers have a list, "
        f"{after['fallback']:,} of {len(fallback_readers):,} fallback readers have one (no worker builds them); "
        f"for_you_page serves reader {redis_readers[0]} from {checks_after['redis']} and reader "
        f"{fallback_readers[0]} from {checks_after['fallback']}."
    )
    if after["redis"] < len(redis_readers) or after["fallback"]:
        print("WARNING: lists changed during the load; some requests were not served the way their row says.")

    bare, from_redis, fallback, _latest, learned_fallback = results
    ratio = from_redis.per_second / bare.per_second if bare.per_second else 0.0
    learned_ratio = learned_fallback.server_p99_ms / fallback.server_p99_ms if fallback.server_p99_ms else 0.0
    targets = [
        (f"For You (Redis) throughput / bare: {ratio:.2f}", "at least 0.50", ratio >= 0.5),
        (f"For You (Redis) p99: {from_redis.p99_ms:.1f} ms", "under 50 ms", from_redis.p99_ms < 50),
        (f"For You fallback p99: {fallback.p99_ms:.1f} ms", "under 300 ms", fallback.p99_ms < 300),
        (
            f"Learned / heuristic fallback p99 in the worker: {learned_ratio:.2f}",
            "at most 1.5",
            learned_ratio <= 1.5,
        ),
    ]
    print("\nTargets")
    for figure, target, met in targets:
        print(f"  {figure:<46} target {target:<14} {'PASS' if met else 'MISS'}")
    print(
        f"  (in the worker, p99: For You from Redis {from_redis.server_p99_ms:.1f} ms, fallback "
        f"{fallback.server_p99_ms:.1f} ms, bare {bare.server_p99_ms:.1f} ms; fallback throughput / bare: "
        f"{fallback.per_second / bare.per_second if bare.per_second else 0:.2f}; "
        f"errors: {sum(result.errors for result in results):,})"
    )
    print()


if __name__ == "__main__":
    main()
