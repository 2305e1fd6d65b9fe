"""200 people at once against the stack as `make run` starts it: errors, per-endpoint times, soak.

    python -m tools.launch bench bench/load.py [--users 200] [--spawn-rate 20] [--duration 60]
        [--size modest|small] [--soak 1800] [--think 1-4] [--reseed] [--keep | --drop] [--logs DIR]
    make bench-load ARGS="--users 200 --duration 60"

Data. The scratch database orbit_bench_load (--size modest: 2,000 users, 20,000 posts, 200,000
engagement rows) or orbit_bench_load_small (--size small: 300 / 2,000 / 10,000), on the server of
DATABASE_URL, seeded by demo.seeding and tagged from the posts' own data exactly as bench/feed.py
does (its helpers are imported), reused by later runs while its data is less than a day old. The
modest database is kept for the next run unless --drop; the small one (make bench-smoke) is dropped
at the end unless --keep. Redis: logical database 12 of the REDIS_URL server, emptied at the start
and at the end; Celery queues and cache keys carry the database's name as prefix.

The stack. As tools/launch.py's `make run`: migrate, collectstatic, train_tagger --if-missing,
refresh_trending, then honcho with the Procfile's web line (gunicorn, gunicorn.conf.py, WEB_WORKERS),
a Celery worker per queue group and beat, with ORBIT_DEMO=1 and DEBUG off. Differences, all said
in the output: the web process serves bench.feed_settings (Orbit's URLs plus the bare endpoint) on
a free port; settle_week, estimate_week and the fake exchange are not started (nothing pays during
a load); the throttles of posting, commenting and reacting are raised (THROTTLE_POST,
THROTTLE_COMMENT, THROTTLE_REACT) because a few hundred accounts act far more often in a minute
than real people do, and a 429 would count as an error.

The people. --users locust users (bench/locustfile_load.py) with an account each: signed-in
browsers (a session made for the account, CSRF through HTMX's header) reading For You, Latest,
Following and post pages, sending the time-spent beacon with the page's render token, liking,
unliking and commenting; app users (API tokens) doing the same through the API, and rarely
publishing; and clients of the bare DRF endpoint (bench/feed_urls.py), the floor, in the same run.
Each waits --think seconds (a range) between requests.

Figures. Per endpoint: requests, failures, the exact median and 99th percentile as the clients see
them, and requests per second, counted from the moment every user runs; the median and 99th
percentile inside gunicorn (its access log with the request's microseconds, %(D)s, added through
GUNICORN_CMD_ARGS); the bare endpoint on the last line; the cores used by web, Celery, this
database's Postgres backends, locust and the rest of the machine. Every 10 s during the load,
/healthz as a load balancer probes it (on the health listener, orbit/health_listener.py, 5 s
timeout; the same probe on the web port is counted beside it, as a measure of how long requests
wait there) and the fold lag (incentives.folding.fold_lag_seconds: the age of the fold watermark;
skipped with a note if the fold is absent); the seeded log is folded once before the stack starts,
as a running Orbit would long have done. Verdicts: "0 errors", "/healthz green" and "fold lag under
a minute"; --soak SECONDS (the issue's 30 minutes: --soak 1800) replaces --duration. The exit code
is 0 unless the stack could not start; --logs DIR keeps the stack's and locust's logs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
LOCUSTFILE = ROOT / "bench" / "locustfile_load.py"

# bench.feed sets REDIS_URL to its own logical database when imported; ours is set after it.
from bench import database  # noqa: E402
from bench import feed as feed_bench  # noqa: E402
from tools import launch  # noqa: E402

BENCH_REDIS_DB = 12
os.environ["REDIS_URL"] = (
    urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")._replace(path=f"/{BENCH_REDIS_DB}").geturl()
)

import django  # noqa: E402
import psutil  # noqa: E402

SIZES = {
    "modest": {"users": 2_000, "posts": 20_000, "events": 200_000},
    "small": {"users": 300, "posts": 2_000, "events": 10_000},
}
BENCH_DATABASE = "orbit_bench_load"
# The Procfile's processes, as tools/launch.py starts them for `make run`.
PROCESSES = launch.PROCESSES
# Raised for the bench (see the docstring); the rest of the throttles stay as they are.
THROTTLES = {"THROTTLE_POST": "100000/hour", "THROTTLE_COMMENT": "100000/hour", "THROTTLE_REACT": "100000/hour"}
HEALTH_POLL_SECONDS = 10
FOLD_LAG_LIMIT_SECONDS = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200, help="concurrent locust users (200)")
    parser.add_argument("--spawn-rate", type=float, default=20, help="users started per second (20)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load after all users run (60)")
    parser.add_argument("--soak", type=int, default=0, help="a soak of this many seconds instead (1800 for 30 min)")
    parser.add_argument("--size", "--posts", choices=sorted(SIZES), default="modest", help="data size (modest)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--think", default="1-4", help="seconds between a user's requests, low-high (1-4)")
    parser.add_argument("--max-age-hours", type=float, default=24, help="reseed when the data is older (24)")
    parser.add_argument("--reseed", action="store_true", help="seed the database again even if it fits")
    parser.add_argument("--keep", action="store_true", help="keep the small database at the end")
    parser.add_argument("--drop", action="store_true", help="drop the modest database at the end")
    parser.add_argument("--logs", type=Path, help="keep the stack's and locust's logs in this folder")
    args = parser.parse_args()
    args.users_seeded, args.posts, args.events = (SIZES[args.size][name] for name in ("users", "posts", "events"))
    return args


# --- Data and accounts ------------------------------------------------------------------------


def prepare_database(args: argparse.Namespace) -> None:
    """Seeded (or reused) and migrated, with bench/feed.py's seeding and tags."""
    from django.core.management import call_command

    sized = argparse.Namespace(
        users=args.users_seeded, posts=args.posts, events=args.events, seed=args.seed, max_age_hours=args.max_age_hours
    )
    record = feed_bench.read_seed_record()
    reason = "--reseed" if args.reseed else feed_bench.why_not_reuse(record, sized)
    if reason:
        print(f"Seeding {BENCH_DATABASE}: {reason}")
        database.recreate_database(BENCH_DATABASE)
        record = feed_bench.seed(sized)
    else:
        call_command("migrate", verbosity=0)
        print(f"Reusing {BENCH_DATABASE} (seeded in {record.seed_seconds:.1f} s; --reseed to seed it again)")


def make_accounts(count: int) -> dict[str, list]:
    """`count` accounts (active readers first), half with an API token, half with a browser session."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from creators.models import User
    from feed.models import Post

    chosen = feed_bench.active_readers(count)
    if len(chosen) < count:
        others = User.objects.filter(is_active=True, is_staff=False, suspended_at__isnull=True).exclude(pk__in=chosen)
        chosen += list(others.order_by("pk").values_list("pk", flat=True)[: count - len(chosen)])
    users = {user.pk: user for user in User.objects.filter(pk__in=chosen)}
    api_ids, web_ids = chosen[::2], chosen[1::2]
    tokens = feed_bench.issue_tokens(api_ids)
    sessions = []
    alphabet = string.ascii_letters + string.digits
    for pk in web_ids:
        # What django.contrib.auth.login stores, without a password check per account.
        store = SessionStore()
        store[SESSION_KEY] = str(pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = users[pk].get_session_auth_hash()
        store.create()
        # A CSRF secret as the csrftoken cookie holds it; Django accepts it unmasked in the header too.
        sessions.append([store.session_key, "".join(secrets.choice(alphabet) for _ in range(32))])
    posts = list(
        Post.objects.filter(status=Post.Status.PUBLISHED).order_by("-created_at").values_list("pk", flat=True)[:2000]
    )
    return {"api": list(tokens.values()), "web": sessions, "posts": posts}


def catch_up_fold() -> None:
    """Fold the seeded log once, as a running Orbit would have long done: the load then watches the
    periodic fold keep up, not its first catch-up of the whole seed."""
    try:
        from incentives import folding
    except ImportError:
        print("incentives.folding is absent: no fold, and no fold lag below")
        return
    began, folded = time.perf_counter(), 0
    while True:
        result = folding.fold_new_engagement(limit=folding.FOLD_BATCH)
        folded += result.events
        if not result.more:
            break
    print(f"Folded the seeded engagement log once: {folded:,} events in {time.perf_counter() - began:.1f} s")


def flush_redis() -> None:
    from ranking import feeds

    feeds.redis_client().flushdb()


# --- The stack --------------------------------------------------------------------------------


def manage(*command: str, environ: dict[str, str]) -> None:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    print(f"manage.py {' '.join(command)}: {time.perf_counter() - began:.1f} s")


class Stack:
    """honcho with the Procfile's web, workers and beat, as tools/launch.py starts them."""

    def __init__(self, *, environ: dict[str, str], log: Path):
        self.port = feed_bench.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The health listener (orbit/health_listener.py), where a load balancer would probe.
        self.health_url = f"http://127.0.0.1:{feed_bench.free_port()}"
        self.log_path = log
        self.log = log.open("w")
        environ = dict(
            environ, ORBIT_BIND=f"127.0.0.1:{self.port}", ORBIT_HEALTH_BIND=self.health_url.removeprefix("http://")
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "honcho", "start", "-f", "Procfile", *PROCESSES],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, whatever happens here
        )

    def health(self, *, on_web_port: bool = False) -> tuple[int, dict]:
        """/healthz as a load balancer probes it: on the health listener, 5 s timeout (`on_web_port`: the
        same on the web server's port, where it waits in line with the page requests)."""
        url = self.url if on_web_port else self.health_url
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:  # noqa: S310 - our loopback
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read())
            except ValueError:
                return error.code, {}
        except (OSError, ValueError) as exc:
            return 0, {"error": str(exc)}

    def wait_until_green(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"honcho exited with {self.process.returncode}:\n{self.log_tail()}")
            status, _body = self.health()
            if status == 200:
                return True
            time.sleep(1)
        return False

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.closed:  # after stop() the file is closed and complete
            self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            # As tools/launch.py stops `make run`: one SIGINT to honcho, which stops every process it started.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class HealthWatch(threading.Thread):
    """/healthz and the fold lag every HEALTH_POLL_SECONDS while the load runs."""

    def __init__(self, stack: Stack):
        super().__init__(daemon=True)
        self.stack = stack
        self.stopping = threading.Event()
        self.checks = 0
        self.red: list[str] = []
        self.web_port_slow = 0  # the same probe on the web port, over 5 s or red: how busy web was
        self.lags: list[float | None] = []
        try:
            from incentives import folding

            self.fold_lag = folding.fold_lag_seconds
        except (ImportError, AttributeError):
            self.fold_lag = None

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stopping.wait(HEALTH_POLL_SECONDS):
                status, body = self.stack.health()
                self.checks += 1
                if status != 200:
                    self.red.append(f"{datetime.now(UTC):%H:%M:%S} {status} {body.get('down') or body}")
                if self.stack.health(on_web_port=True)[0] != 200:
                    self.web_port_slow += 1
                if self.fold_lag is not None:
                    self.lags.append(self.fold_lag(now=datetime.now(UTC)))
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join()


# --- Load -------------------------------------------------------------------------------------


class CpuMeter:
    """Cores in use on average while the load runs: web (gunicorn), Celery (workers and beat), this
    database's Postgres backends, locust, and the rest of the machine (anyone else's work)."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.before = self._groups()
        self.busy = feed_bench._machine_busy_seconds()
        self.began = time.monotonic()

    def _groups(self) -> dict[str, dict[int, float]]:
        groups: dict[str, dict[int, float]] = {"web": {}, "celery": {}, "db": {}}
        try:
            children = psutil.Process(self.stack.process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        for process in children:
            try:
                command = " ".join(process.cmdline())
            except psutil.Error:
                continue
            group = "web" if "gunicorn" in command else "celery" if "celery" in command else None
            if group:
                groups[group][process.pid] = feed_bench._cpu_seconds(process)
        for process in psutil.process_iter(["cmdline"]):
            # Postgres names each backend "postgres: <user> <database> ..." in its process title.
            if any(f" {BENCH_DATABASE} " in f" {part} " for part in process.info["cmdline"] or []):
                groups["db"][process.pid] = feed_bench._cpu_seconds(process)
        return groups

    def cores(self, *, locust_seconds: float) -> dict[str, float]:
        wall = time.monotonic() - self.began
        after = self._groups()
        # A process started during the load counts from zero.
        used = {
            group: sum(seconds - self.before[group].get(pid, 0.0) for pid, seconds in processes.items())
            for group, processes in after.items()
        }
        used["locust"] = locust_seconds
        busy = feed_bench._machine_busy_seconds() - self.busy
        used["rest"] = max(0.0, busy - sum(used.values()))
        return {group: seconds / wall for group, seconds in used.items()}


def run_locust(
    args: argparse.Namespace, *, url: str, config: Path, work: Path, seconds: int
) -> tuple[dict, dict, float]:
    samples, failures = work / "samples.tsv", work / "failures.json"
    environ = dict(os.environ, BENCH_LOAD_CONFIG=str(config), BENCH_LOAD_THINK=args.think)
    environ.update(BENCH_LOAD_SAMPLES=str(samples), BENCH_LOAD_FAILURES=str(failures))
    ramp = args.users / args.spawn_rate
    command = [
        *(str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", url),
        *("--users", str(args.users), "--spawn-rate", str(args.spawn_rate)),
        *("--run-time", f"{int(ramp + seconds + 1)}s", "--stop-timeout", "10"),
        *("--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"),
    ]
    log = work / "locust.log"
    with log.open("w") as out:
        locust = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(locust.pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    if returncode != 0 or not samples.exists():
        raise SystemExit(f"locust failed ({returncode}):\n{log.read_text(errors='replace')[-3000:]}")
    lines = samples.read_text().splitlines()
    all_running = float(lines[0])
    per_name: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for line in lines[1:]:
        name, ended, ms, failed = line.split("\t")
        if float(ended) >= all_running:  # no ramp-up
            per_name[name].append((float(ended), float(ms), int(failed)))
    last = max((ended for rows in per_name.values() for ended, _ms, _failed in rows), default=all_running)
    per_name["_seconds"] = last - all_running  # type: ignore[assignment]
    return per_name, json.loads(failures.read_text()), usage.ru_utime + usage.ru_stime


# gunicorn's default access-log format plus %(D)s, the microseconds the worker spent on the request,
# given through GUNICORN_CMD_ARGS so that the Procfile's web line stays as it is.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'
ACCESS_LINE = re.compile(r'"([A-Z]+) ([^ ?"]+)[^"]*" \d{3} \S+ "[^"]*" "[^"]*" (\d+)$')


ID_SEGMENT = re.compile(r"/\d+/")


def endpoint_key(method: str, path: str) -> str:
    """One key for a locust name and an access-log line: method and path with ids as [id]."""
    return f"{method} {ID_SEGMENT.sub('/[id]/', path)}"


def worker_milliseconds(stack_log: Path) -> dict[str, list[float]]:
    """Per endpoint key, the time each request spent in a gunicorn worker (no wait for a free one)."""
    found: dict[str, list[float]] = defaultdict(list)
    for line in stack_log.read_text(errors="replace").splitlines():
        matched = ACCESS_LINE.search(line)
        if matched:
            method, path, microseconds = matched.groups()
            found[endpoint_key(method, path)].append(int(microseconds) / 1000)
    return found


def print_table(per_name: dict, in_worker: dict[str, list[float]]) -> int:
    seconds = per_name.pop("_seconds") or 1.0
    bare = [name for name in per_name if "bare DRF" in name]
    names = sorted((name for name in per_name if name not in bare), key=lambda name: -len(per_name[name])) + bare
    width = max(len(name) for name in names) + 2
    line = "-" * (width + 62)
    print(f"\n{'':<{width}}{'':>18}{'clients see':^26}{'in the worker':^18}")
    print(
        f"{'endpoint':<{width}}{'requests':>9}{'failures':>9}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    print(line)
    total = failures = 0
    for name in names:
        rows = per_name[name]
        times = sorted(ms for _ended, ms, _failed in rows)
        failed = sum(failed for *_rest, failed in rows)
        total, failures = total + len(rows), failures + failed
        if name in bare:
            print(line)
        method, path = name.split(" (")[0].split(" ", 1)
        served = sorted(in_worker.get(endpoint_key(method, path), []))
        print(
            f"{name:<{width}}{len(rows):>9,}{failed:>9,}{statistics.median(times):>9.1f}"
            f"{feed_bench.percentile(times, 0.99):>9.1f}{len(rows) / seconds:>8.1f}"
            + (f"{statistics.median(served):>9.1f}{feed_bench.percentile(served, 0.99):>9.1f}" if served else "")
        )
    print(line)
    print(f"{'all':<{width}}{total:>9,}{failures:>9,}{'':>18}{total / seconds:>8.1f}")
    print(
        f"(clients see: over {seconds:.0f} s from the moment every user ran, all waiting included. In the "
        "worker: gunicorn's access log, from reading the request to the response, every request of the run "
        "(ramp-up too; like and unlike together); with WEB_THREADS threads a worker, that includes waiting for "
        "the GIL and the cores behind the other requests in progress, so it is not the CPU a request costs: "
        "bench/pages.py measures that, one request at a time)"
    )
    return failures


def main() -> None:
    global BENCH_DATABASE
    args = parse_args()
    if args.size != "modest":
        BENCH_DATABASE = f"{BENCH_DATABASE}_{args.size}"
    drop = args.drop if args.size == "modest" else not args.keep
    database.use_database(BENCH_DATABASE)
    prefix = BENCH_DATABASE
    os.environ.update(CACHE_KEY_PREFIX=prefix, CELERY_QUEUE_PREFIX=f"{prefix}-", **THROTTLES)
    # make run's environment (tools/launch.demo_environment), with one key for web, workers and this
    # process: the sessions made here must be valid in gunicorn.
    os.environ.update(DEBUG="0", ORBIT_DEMO="1", SECRET_KEY=secrets.token_urlsafe(50))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.feed_settings"
    os.environ["GUNICORN_CMD_ARGS"] = f"--access-logformat '{ACCESS_LOG_FORMAT}'"
    os.environ["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    lock = database.hold_lock(BENCH_DATABASE, bench="bench/load.py")  # noqa: F841 - held for the whole run
    if not database.database_exists(BENCH_DATABASE):
        database.recreate_database(BENCH_DATABASE)
    django.setup()
    began = time.perf_counter()
    stack = None
    try:
        prepare_database(args)
        from ranking import trending

        flush_redis()
        environ = dict(os.environ)
        manage("collectstatic", "--noinput", environ=environ)
        manage("train_tagger", "--if-missing", "--brief", environ=environ)
        rows = trending.refresh_trending()
        print(f"refresh_trending(): {rows:,} posts")
        catch_up_fold()
        accounts = make_accounts(args.users)
        print(
            f"Accounts: {len(accounts['api']):,} with API tokens, {len(accounts['web']):,} with browser sessions; "
            f"{len(accounts['posts']):,} posts to open, like and comment on"
        )
        print(f"Raised for the bench: {', '.join(f'{key}={value}' for key, value in THROTTLES.items())}")
        with tempfile.TemporaryDirectory(prefix="bench-load-") as work_dir:
            work = Path(work_dir)
            config = work / "config.json"
            config.write_text(json.dumps(accounts))
            stack = Stack(environ=environ, log=work / "stack.log")
            started = time.perf_counter()
            green = stack.wait_until_green(timeout=120)
            print(
                f"Stack ({', '.join(PROCESSES)}) at {stack.url} (health listener {stack.health_url}): /healthz "
                f"{'green' if green else 'NOT green'} after {time.perf_counter() - started:.0f} s "
                f"(prepared in {started - began:.0f} s)"
            )
            if not green:
                print(f"  /healthz says {stack.health()}")
            watch = HealthWatch(stack)
            seconds = args.soak or args.duration
            print(
                f"\nlocust: {args.users} users ({args.spawn_rate:g} a second), {seconds} s after all run, "
                f"{args.think} s between a user's requests; web with {os.environ.get('WEB_WORKERS', '2')} "
                f"gunicorn workers. A shared 2-core machine: the load generator, web, workers, Postgres and "
                f"anyone else's work share the cores."
            )
            watch.start()
            meter = CpuMeter(stack)
            try:
                per_name, failure_messages, locust_seconds = run_locust(
                    args, url=stack.url, config=config, work=work, seconds=seconds
                )
            finally:
                watch.stop()
            cores = meter.cores(locust_seconds=locust_seconds)
            stack.log.flush()
            errors = print_table(per_name, worker_milliseconds(stack.log_path))
            print(
                f"Cores in use on average ({psutil.cpu_count()} in the machine): "
                + ", ".join(f"{group} {used:.2f}" for group, used in cores.items())
                + " (rest: Redis and anyone else's work)"
            )
            if failure_messages:
                print("\nFailures:")
                for message, times in failure_messages.items():
                    print(f"  {times:>6,} x {message}")
            report(args, errors=errors, watch=watch)
            stack.stop()
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                for name in ("stack.log", "locust.log"):
                    shutil.copy(work / name, args.logs / name)
                print(f"Logs of web, workers, beat and locust kept in {args.logs}")
            if errors and "Traceback" in (work / "stack.log").read_text(errors="replace"):
                print("\nThe stack logged tracebacks; the last lines:\n" + stack.log_tail(60))
    finally:
        if stack is not None:
            stack.stop()
        from django.db import connections

        try:
            flush_redis()
        except Exception as exc:  # the database must still be dropped
            print(f"Could not empty Redis database {BENCH_REDIS_DB}: {exc}")
        connections.close_all()
        if drop:
            database.drop_database(BENCH_DATABASE)
            print(f"Dropped {BENCH_DATABASE}")
        print(f"Whole run: {time.perf_counter() - began:.0f} s")


def report(args: argparse.Namespace, *, errors: int, watch: HealthWatch) -> None:
    print("\nVerdicts")
    print(f"  0 errors: {'PASS' if errors == 0 else 'MISS'} ({errors:,} failed requests)")
    green = not watch.red
    print(
        f"  /healthz green at every check: {'PASS' if green else 'MISS'} ({watch.checks} checks, {len(watch.red)} red)"
    )
    for line in watch.red[:10]:
        print(f"    {line}")
    print(
        f"  (on the web port, where probes wait in line with the pages: {watch.web_port_slow} of {watch.checks} "
        "took over 5 s or were red)"
    )
    if watch.fold_lag is None:
        print("  fold lag: skipped (incentives.folding.fold_lag_seconds is absent)")
    else:
        known = [lag for lag in watch.lags if lag is not None]
        if not known:
            print("  fold lag: no fold has run yet (beat runs it every 30 s)")
        else:
            worst = max(known)
            verdict = "PASS" if worst < FOLD_LAG_LIMIT_SECONDS and len(known) == len(watch.lags) else "MISS"
            print(
                f"  fold lag under a minute: {verdict} (max {worst:.0f} s over {len(known)} readings"
                f"{'' if len(known) == len(watch.lags) else f', {len(watch.lags) - len(known)} before any fold'})"
            )
    if not args.soak:
        print("  (the issue's 30-minute soak: --soak 1800)")
    print()


if __name__ == "__main__":
    main()
