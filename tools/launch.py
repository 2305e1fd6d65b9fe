"""`make run` and `make test`: prepare the data stores, then run Orbit or its tests.

python -m tools.launch run     migrate, compile translations, seed on first
                               start, then web + worker + beat (honcho), and the
                               fake exchange when EXCHANGE_API_URL is its default
python -m tools.launch test    the test suite (extra arguments go to pytest)
python -m tools.launch manage ARGS
                               any manage.py command against the same data stores
python -m tools.launch bench SCRIPT [ARGS]
                               a bench/ script against the same data stores
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from decimal import Decimal

from tools import fake_exchange
from tools.embedded import ROOT, free_port, log, services

PYTHON = sys.executable
# The Procfile's worker processes, one per group of queues (orbit.queues.WORKER_GROUPS).
WORKERS = ("worker_health", "worker_settlement", "worker_folding", "worker_feeds", "worker_work")
# What `make run` starts from the Procfile: web, the health listener beside it, a worker per queue group, beat.
PROCESSES = ("web", "health", *WORKERS, "beat")
# The demo community's published password (README); seed_demo never runs in production.
DEMO_PASSWORD = "orbit-demo-2026"  # noqa: S105


def manage(*args: str, environ: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=environ, check=True)


class StepFailed(Exception):
    pass


def last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "done"


def migrate_line(output: str) -> str:
    applied = output.count("  Applying ")
    return f"Database schema up to date ({applied} migrations applied)" if applied else "Database schema up to date"


def settlement_line(summary: dict) -> str:
    """settle_week's JSON summary as one line: week, money paid, to how many creators, what was held."""
    paid, held = Decimal(summary["total_paid"]), Decimal(summary["total_held"])
    creators = sum(1 for creator in summary["creators"] if creator["status"] == "paid")
    line = f"Settled {summary['week']}: {paid:,.2f} {summary['currency']} paid to {creators:,} creators"
    if held:
        line += f", {held:,.2f} held for review"
    return line if summary["changed"] else f"{line} (earlier; nothing changed)"


def step(*args: str, environ: dict[str, str], summary=last_line) -> None:
    """One manage.py command with its output kept back: one line when it works, all of it when it fails."""
    on_terminal = sys.stderr.isatty()
    if on_terminal:  # what runs now, replaced by its summary line when it is done
        print(f"[orbit] manage.py {args[0]} ...", end="", file=sys.stderr, flush=True)
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True)
    if on_terminal:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise StepFailed(f"manage.py {' '.join(args)} failed (exit code {done.returncode}); its output is above.")
    log(summary(done.stdout))


def banner(url: str, health_url: str) -> str:
    rule = "=" * 72
    return "\n".join(
        [
            rule,
            f"  Orbit is up: {url}",
            f"    demo reader:  demo / {DEMO_PASSWORD}",
            f"    operator:     operator / {DEMO_PASSWORD}  ({url}admin/)",
            f"    health:       {health_url}healthz (the health listener; {url}healthz answers too)",
            "  Press Ctrl-C to stop web, workers, beat and the embedded data stores.",
            rule,
        ]
    )


class Output:
    """honcho's output, relayed line by line, so that the banner can wait until the processes have
    printed their own start-up banners (a line that lands in the middle of those is easily missed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_line_at = time.monotonic()

    def relay(self, stream) -> None:
        for line in stream:
            with self.lock:
                sys.stdout.write(line)
                sys.stdout.flush()
                self.last_line_at = time.monotonic()

    def print_when_quiet(self, text: str, *, quiet: float = 2.0, limit: float = 20.0) -> None:
        deadline = time.monotonic() + limit
        while True:
            with self.lock:
                if time.monotonic() - self.last_line_at >= quiet or time.monotonic() > deadline:
                    print(text, flush=True)
                    return
            time.sleep(0.2)


def _announce_when_healthy(url: str, health_url: str, output: Output) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}healthz", timeout=2) as response:  # noqa: S310 (http URL built here)
                if response.status == 200:
                    break
        except OSError:
            pass
        time.sleep(1)
    else:
        log(f"{url}healthz is still not green after 5 minutes; see the output above")
        return
    output.print_when_quiet(banner(url, health_url))


def demo_environment(environ: dict[str, str]) -> dict[str, str]:
    """`make run`'s settings: the demo behaves like production (DEBUG off) on plain-HTTP localhost."""
    environ.setdefault("DEBUG", "0")
    environ.setdefault("ORBIT_DEMO", "1")
    return environ


def start_fake_exchange(environ: dict[str, str], *, bind: str, output: Output) -> subprocess.Popen | None:
    """The fake exchange (tools/fake_exchange.py) beside web and workers, when payouts and tips go to
    the local default address; a real EXCHANGE_API_URL starts nothing. Its confirmations go to this
    run's webhook. If it cannot start (its port is taken), Orbit runs on and its transfers fail."""
    if environ.get("EXCHANGE_API_URL", fake_exchange.DEFAULT_URL).rstrip("/") != fake_exchange.DEFAULT_URL:
        return None
    exchange = subprocess.Popen(
        [
            *(PYTHON, "-m", "tools.fake_exchange", "--exit-on-stdin-eof"),
            *("--webhook-url", f"http://{bind}/api/v1/exchange/events/"),
        ],
        cwd=ROOT,
        env=environ,
        # Its stdin is a pipe from us: if this launcher dies, even by SIGKILL, the fake stops too.
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    lines = (f"{time.strftime('%H:%M:%S')} fake_exchange    | {line}" for line in exchange.stdout or ())
    threading.Thread(target=output.relay, args=(lines,), daemon=True).start()
    return exchange


def run(environ: dict[str, str]) -> int:
    demo_environment(environ)
    bind = environ.setdefault("ORBIT_BIND", "127.0.0.1:8000")
    environ.setdefault("ORBIT_HEALTH_BIND", next_port(bind))
    # Until honcho runs, a supervisor's SIGTERM stops the way Ctrl-C does: through `services`' cleanup.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with services(environ):
            return _prepare_and_serve(environ, bind=bind)
    except KeyboardInterrupt:
        # The step running then got the same Ctrl-C and stopped; nothing is half-started.
        log("stopped before Orbit was up")
        return 0
    except StepFailed as failure:
        log(str(failure))
        return 1


def next_port(bind: str) -> str:
    """The health listener's address beside the web server's: the same host, the next port, or one
    the kernel picks when that one is taken (the banner prints it)."""
    host, _, port = bind.rpartition(":")
    return f"{host}:{free_port(int(port) + 1)}"


def _prepare_and_serve(environ: dict[str, str], *, bind: str) -> int:
    step("migrate", "--noinput", environ=environ, summary=migrate_line)
    step("compile_translations", environ=environ)
    step("collectstatic", "--noinput", environ=environ)
    step("seed_demo", "--if-empty", "--demo-password", DEMO_PASSWORD, environ=environ)
    # The tagger is trained from the shipped corpus once (seconds); seeded posts arrive by COPY,
    # so nothing queued their tagging: retag catches up, then trending gets its first scores.
    step("train_tagger", "--if-missing", "--brief", environ=environ)
    step("retag", environ=environ)
    step("refresh_trending", environ=environ)
    # The demo's last finished week is settled, so creators see a payout on their statement;
    # on later starts it is already paid and nothing changes.
    step("settle_week", "--last", environ=environ, summary=lambda out: settlement_line(json.loads(out)))
    # Beat refreshes the running week's estimate every 15 minutes; the first one is made now, so no
    # creator's statement says "not ready yet" for the first quarter of an hour.
    step("estimate_week", environ=environ)
    url = f"http://{bind}/"
    output = Output()
    health_url = f"http://{environ['ORBIT_HEALTH_BIND']}/"
    threading.Thread(target=_announce_when_healthy, args=(url, health_url, output), daemon=True).start()
    stopping = threading.Event()
    honcho = None

    def stop(*_) -> None:
        stopping.set()
        if honcho is not None:
            honcho.send_signal(signal.SIGINT)

    # Ctrl-C and a supervisor's SIGTERM both become one SIGINT to honcho, which stops every process.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    honcho = subprocess.Popen(
        [PYTHON, "-m", "honcho", "start", "-f", "Procfile", *PROCESSES],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        text=True,
        errors="replace",
        # Its own session, so the terminal's Ctrl-C reaches honcho only through stop(), once.
        start_new_session=True,
    )
    if stopping.is_set():
        honcho.send_signal(signal.SIGINT)
    relay = threading.Thread(target=output.relay, args=(honcho.stdout,))
    relay.start()
    exchange = start_fake_exchange(environ, bind=bind, output=output)
    try:
        returncode = honcho.wait()
    finally:
        if exchange is not None:
            exchange.terminate()
            exchange.wait(timeout=10)
    relay.join()
    # A stop we asked for is a success (make then prints no "Error 130"); a process that died is not.
    return 0 if stopping.is_set() else returncode


def translations_compiled() -> bool:
    """Every catalogue's .mo is at least as new as its .po: compile_translations would do nothing, and
    starting Django to find that out costs a second or two of every test run."""
    return all(
        po.with_suffix(".mo").exists() and po.with_suffix(".mo").stat().st_mtime >= po.stat().st_mtime
        for po in (ROOT / "locale").glob("*/LC_MESSAGES/*.po")
    )


def test(environ: dict[str, str], pytest_args: list[str]) -> int:
    environ.setdefault("DEBUG", "1")
    # pytest rewrites the asserts of every test module and plugin (hundreds of modules) and keeps the
    # result as bytecode; without it (Docker images often set this) each run spends seconds redoing it.
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with services(environ):
        if not translations_compiled():
            manage("compile_translations", environ=environ)
        return subprocess.run([PYTHON, "-m", "pytest", *pytest_args], cwd=ROOT, env=environ).returncode


def run_python(environ: dict[str, str], args: list[str]) -> int:
    environ.setdefault("DEBUG", "1")
    with services(environ):
        return subprocess.run([PYTHON, *args], cwd=ROOT, env=environ).returncode


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command not in {"run", "test", "manage", "bench"} or (command in {"manage", "bench"} and not args):
        print(__doc__, file=sys.stderr)
        return 2
    environ = dict(os.environ)
    # Procfile commands (gunicorn, celery) come from this virtualenv.
    environ["PATH"] = os.pathsep.join([os.path.dirname(PYTHON), environ.get("PATH", "")])
    if command == "run":
        return run(environ)
    if command == "test":
        return test(environ, args)
    if command == "manage":
        return run_python(environ, ["manage.py", *args])
    return run_python(environ, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
