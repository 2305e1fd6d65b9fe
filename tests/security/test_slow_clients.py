"""Slow clients cannot stall the site: the web server `make run` starts (the Procfile's web line,
with gunicorn.conf.py) answers a normal request within a second while 20 clients trickle their
request bodies at a byte a second. With two sync workers, three such clients stalled it for 36 s."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SLOW_CLIENTS = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _web_command() -> str:
    """The Procfile's web line, as honcho runs it for `make run`."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("web:"))


def _get(port: int, path: str = "/healthz", timeout: float = 5) -> float:
    """Seconds until the response's status line arrived."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        assert client.recv(64).startswith(b"HTTP/1.1 ")
    return time.monotonic() - started


@pytest.fixture
def web_server(db):
    """The Procfile's web line on a free port, against this run's test database."""
    port = _free_port()
    database = connection.settings_dict
    environ = {
        **os.environ,
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
        "ORBIT_BIND": f"127.0.0.1:{port}",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "CACHE_KEY_PREFIX": f"orbit-test-slow-{uuid.uuid4().hex[:8]}",
        "DEBUG": "0",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DJANGO_SETTINGS_MODULE": "orbit.settings",
    }
    server = subprocess.Popen(
        ["sh", "-c", f"exec {_web_command()}"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                _get(port)
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.2)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.slow
def test_twenty_clients_trickling_their_bodies_do_not_delay_a_normal_request(web_server):
    # Warm every worker, so the timing below is not a first request's.
    for _ in range(4):
        _get(web_server)
    # The exchange webhook reads its whole body before anything else (the signature covers it).
    header = (
        b"POST /api/v1/exchange/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    slow = [socket.create_connection(("127.0.0.1", web_server), timeout=5) for _ in range(SLOW_CLIENTS)]
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            for client in slow:
                with contextlib.suppress(OSError):  # a connection the server closed
                    client.send(b"a")
            stop.wait(1)

    for client in slow:
        client.sendall(header)
    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(2)  # every slow client is accepted and inside a request by now
        timings = [_get(web_server, timeout=3) for _ in range(5)]
    finally:
        stop.set()
        trickler.join()
        for client in slow:
            client.close()
    assert max(timings) < 1, timings


def test_docker_and_compose_leave_the_workers_to_gunicorn_conf():
    # One configuration for every starter: a --workers or --worker-class on a command line would
    # override gunicorn.conf.py for that starter only.
    commands = [
        (ROOT / "Dockerfile").read_text().split("\nCMD ", 1)[1].splitlines()[0],
        re.search(r"^  web:\n(?:    .*\n)*?    command: (.*)$", (ROOT / "docker-compose.yml").read_text(), re.M)[1],
        _web_command(),
    ]
    for command in commands:
        words = shlex.split(command.replace('"', "").replace(",", " ").strip("[]"))
        assert "gunicorn" in words, command
        assert not {"-w", "--workers", "-k", "--worker-class", "--threads"} & set(words), command
