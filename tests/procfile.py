"""A line of the Procfile run for real, as honcho runs it for `make run`, against this test run's
database, until the block ends."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(name: str) -> str:
    """The Procfile's line for process `name`."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return next(line.split(":", 1)[1].strip() for line in lines if line.startswith(f"{name}:"))


@contextlib.contextmanager
def running(name: str, *, environ: dict[str, str], ready: Callable[[], object]) -> Iterator[None]:
    """Process `name` of the Procfile with `environ` over production-like settings, once `ready()`
    stops raising OSError (within 60 s); stopped with SIGTERM (then SIGKILL) on the way out."""
    server = subprocess.Popen(
        ["sh", "-c", f"exec {command(name)}"],
        cwd=ROOT,
        env=environment(name, environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"{name} exited"
            try:
                ready()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{name} did not answer within 60 s"
                time.sleep(0.2)
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def environment(name: str, environ: dict[str, str]) -> dict[str, str]:
    """What process `name` runs with: this test run's database and Redis, production-like settings,
    then `environ`."""
    database = connection.settings_dict
    return {
        **os.environ,
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "CACHE_KEY_PREFIX": f"orbit-test-{name}-{uuid.uuid4().hex[:8]}",
        "DEBUG": "0",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DJANGO_SETTINGS_MODULE": "orbit.settings",
        **environ,
    }
