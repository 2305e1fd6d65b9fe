"""The health listener (orbit/health_listener.py): /healthz on a port of its own, with `web`, whether
the web server accepts connections; nothing else answers there."""

from __future__ import annotations

import io
import json
import socket
import sys
import urllib.error
import urllib.request

import pytest
import yaml
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from orbit import health_listener
from tests import procfile
from tools import launch


def _listening_socket() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def _call(path: str) -> tuple[int, bytes]:
    """The listener's WSGI application, called as gunicorn calls it."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    started: list[str] = []
    # As Django's test client does: the request must not close the test's own database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(health_listener.application(environ, lambda status, headers: started.append(status)))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(started[0].split()[0]), body


@pytest.mark.parametrize("path", ["/", "/latest/", "/admin/", "/healthz/", "/api/v1/posts/"])
def test_the_listener_answers_healthz_and_nothing_else(path):
    status, body = _call(path)
    assert (status, body) == (404, b"This port answers /healthz only.\n")


@pytest.mark.django_db
def test_on_the_listener_healthz_says_whether_the_web_server_accepts_connections(settings):
    web = _listening_socket()
    settings.ORBIT_WEB_ADDRESS = f"127.0.0.1:{web.getsockname()[1]}"
    status, body = _call("/healthz")
    answer = json.loads(body)
    assert answer["web"] == "ok" and "web" not in answer["down"]
    assert answer["database"] == "ok"

    web.close()  # the web server stopped: the listener must say so, whatever else is fine
    status, body = _call("/healthz")
    answer = json.loads(body)
    assert status == 503
    assert answer["web"].startswith("down: nothing accepts connections at 127.0.0.1:")
    assert "web" in answer["down"] and answer["status"] == "down"


@pytest.mark.django_db
def test_a_wildcard_bind_is_checked_on_the_loopback(settings):
    web = _listening_socket()
    try:
        settings.ORBIT_WEB_ADDRESS = f"0.0.0.0:{web.getsockname()[1]}"
        assert json.loads(_call("/healthz")[1])["web"] == "ok"
    finally:
        web.close()


@pytest.mark.django_db
def test_on_the_web_port_healthz_needs_no_web_check(client, settings):
    settings.ORBIT_WEB_ADDRESS = f"127.0.0.1:{procfile.free_port()}"  # nothing there: not asked on this port
    answer = client.get("/healthz").json()
    assert "web" not in answer and "web" not in answer["down"]


def test_make_run_and_docker_compose_start_the_health_listener_beside_web():
    assert procfile.command("health") == "gunicorn -c gunicorn_health.conf.py"
    assert "web" in launch.PROCESSES and "health" in launch.PROCESSES
    taken = _listening_socket()  # the port after the web server's is in use: make run picks another
    web_port = taken.getsockname()[1] - 1
    try:
        host, _, port = launch.next_port(f"127.0.0.1:{web_port}").rpartition(":")
        assert host == "127.0.0.1" and int(port) != web_port + 1
    finally:
        taken.close()
    service = yaml.safe_load((procfile.ROOT / "docker-compose.yml").read_text())["services"]["web-health"]
    assert service["command"] == ["gunicorn", "-c", "gunicorn_health.conf.py"]
    assert service["environment"]["ORBIT_BIND"] == "web:8000"
    assert "8001/healthz" in service["healthcheck"]["test"][-1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_procfiles_health_line_serves_the_listener_beside_a_web_server():
    port, web = procfile.free_port(), _listening_socket()
    environ = {"ORBIT_HEALTH_BIND": f"127.0.0.1:{port}", "ORBIT_BIND": f"0.0.0.0:{web.getsockname()[1]}"}
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:
        with procfile.running("health", environ=environ, ready=lambda: _get(healthz)):
            assert json.loads(_get(healthz)[1])["web"] == "ok"
            assert _get(f"http://127.0.0.1:{port}/")[0] == 404
            web.close()
            status, body = _get(healthz)
            assert status == 503 and "web" in json.loads(body)["down"]
    finally:
        web.close()
