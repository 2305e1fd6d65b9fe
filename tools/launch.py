"""`make run` and `make test`: prepare the data stores, then run Orbit or its tests.

python -m tools.launch run     migrate, compile translations, seed on first
                               start, then web + worker + beat (honcho)
python -m tools.launch test    the test suite (extra arguments go to pytest)
python -m tools.launch manage ARGS
                               any manage.py command against the same data stores
python -m tools.launch bench SCRIPT [ARGS]
                               a bench/ script against the same data stores
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from tools.embedded import ROOT, log, services

PYTHON = sys.executable
# The demo community's published password (README); seed_demo never runs in production.
DEMO_PASSWORD = "orbit-demo-2026"  # noqa: S105


def manage(*args: str, environ: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=environ, check=True)


def _announce_when_healthy(url: str) -> None:
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
    log("")
    log(f"Orbit is up: {url}")
    log(f"  demo reader:   demo / {DEMO_PASSWORD}")
    log(f"  operator:      operator / {DEMO_PASSWORD}  ({url}admin/)")
    log("  health:        " + f"{url}healthz")
    log("Press Ctrl-C to stop web, worker, beat and the embedded data stores.")


def run(environ: dict[str, str]) -> int:
    environ.setdefault("DEBUG", "1")
    bind = environ.setdefault("ORBIT_BIND", "127.0.0.1:8000")
    with services(environ):
        manage("migrate", "--noinput", environ=environ)
        manage("compile_translations", environ=environ)
        manage("collectstatic", "--noinput", "--verbosity", "0", environ=environ)
        manage("seed_demo", "--if-empty", "--demo-password", DEMO_PASSWORD, environ=environ)
        # The tagger is trained from the shipped corpus once (seconds); seeded posts arrive by COPY,
        # so nothing queued their tagging: retag catches up, then trending gets its first scores.
        manage("train_tagger", "--if-missing", environ=environ)
        manage("retag", environ=environ)
        manage("refresh_trending", environ=environ)
        # The demo's last finished week is settled, so creators see a payout on their statement;
        # on later starts it is already paid and nothing changes.
        manage("settle_week", "--last", "--brief", environ=environ)
        url = f"http://{bind}/"
        threading.Thread(target=_announce_when_healthy, args=(url,), daemon=True).start()
        honcho = subprocess.Popen(
            [PYTHON, "-m", "honcho", "start", "-f", "Procfile", "web", "worker", "beat"], cwd=ROOT, env=environ
        )
        # SIGTERM (from a supervisor) stops the stack like Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: honcho.send_signal(signal.SIGINT))
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # The terminal sent SIGINT to honcho too; give it time to stop its processes.
            try:
                return honcho.wait(timeout=30)
            except subprocess.TimeoutExpired:
                honcho.kill()
                return 1


def test(environ: dict[str, str], pytest_args: list[str]) -> int:
    environ.setdefault("DEBUG", "1")
    with services(environ):
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
