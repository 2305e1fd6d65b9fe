"""Slow clients cannot stall the site: the web server `make run` starts (the Procfile's web line,
with gunicorn.conf.py) answers a normal request within a second while 20 clients trickle their
request bodies at a byte a second. With two sync workers, three such clients stalled it for 36 s."""

from __future__ import annotations

import contextlib
import re
import shlex
import socket
import threading
import time

import pytest

from tests import procfile
from tests.procfile import ROOT

SLOW_CLIENTS = 20


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
    port = procfile.free_port()
    with procfile.running("web", environ={"ORBIT_BIND": f"127.0.0.1:{port}"}, ready=lambda: _get(port)):
        yield port


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
        procfile.command("web"),
    ]
    for command in commands:
        words = shlex.split(command.replace('"', "").replace(",", " ").strip("[]"))
        assert "gunicorn" in words, command
        assert not {"-w", "--workers", "-k", "--worker-class", "--threads"} & set(words), command
