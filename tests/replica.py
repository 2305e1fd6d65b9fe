"""A throwaway PostgreSQL primary with a streaming standby, from Debian's PostgreSQL 15 binaries.

`streaming_pair(source=...)` starts a primary cluster in a temporary directory on a free port, copies
the test database's schema and rows into it (pg_dump, so migrations need not run again), takes a base
backup of it for a hot standby (`pg_basebackup -R`), starts the standby on another free port and waits
until it streams. `databases_pointed_at(...)` then makes Django's `default` the throwaway primary and
`replica_1` its standby for the duration of a test, and puts the test database back afterwards.

PostgreSQL refuses to run as root; tests run as root here and in CI, so every server command runs as
the `postgres` system user (`runuser -u postgres --`), in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from django.db import connections

PG_BIN = Path(os.environ.get("ORBIT_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
DATABASE = "orbit_replica_test"
_TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "psql", "postgres")


def why_unavailable() -> str | None:
    """The reason a streaming pair cannot be started on this machine, or None when it can."""
    missing = [tool for tool in _TOOLS if not (PG_BIN / tool).exists()]
    if missing:
        return f"PostgreSQL server binaries missing in {PG_BIN}: {', '.join(missing)} (apt install postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} system user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start PostgreSQL as another user"
    return None


def _address(port: int) -> tuple[str, ...]:
    return ("-h", "127.0.0.1", "-p", str(port), "-U", SERVER_USER)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(*command: str | Path) -> list[str]:
    args = [str(part) for part in command]
    return ["runuser", "-u", SERVER_USER, "--", *args] if os.geteuid() == 0 else args


def _run(*command: str | Path, **kwargs: Any) -> subprocess.CompletedProcess:
    result = subprocess.run(_as_server_user(*command), capture_output=True, text=True, timeout=60, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class StreamingPair:
    """A running primary and its hot standby; `sql_*` run one statement and return the first value."""

    root: Path
    primary_port: int
    standby_port: int

    def database_settings(self, base: dict[str, Any], *, port: int) -> dict[str, Any]:
        """Django connection settings for one of the two servers, otherwise like `base`."""
        return {
            **base,
            "HOST": "127.0.0.1",
            "PORT": port,
            "NAME": DATABASE,
            "USER": SERVER_USER,
            "PASSWORD": "",
            "OPTIONS": {"connect_timeout": 2},
            "TEST": {**base.get("TEST", {}), "NAME": DATABASE, "MIRROR": None},
        }

    def _sql(self, port: int, statement: str) -> Any:
        connection = psycopg2.connect(host="127.0.0.1", port=port, user=SERVER_USER, dbname=DATABASE, connect_timeout=2)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
                row = cursor.fetchone()
            return row[0] if row else None
        finally:
            connection.close()

    def sql_primary(self, statement: str) -> Any:
        return self._sql(self.primary_port, statement)

    def sql_standby(self, statement: str) -> Any:
        return self._sql(self.standby_port, statement)

    def wait_until_replayed(self, *, seconds: float = 10.0) -> None:
        """Until the standby has replayed everything the primary wrote so far. The insert position,
        not the write position: with synchronous_commit off (above) a commit returns before its record
        is written out, so the write position can still be short of the last commit."""
        target = self.sql_primary("SELECT pg_current_wal_insert_lsn()::text")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.sql_standby(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
                return
            time.sleep(0.05)
        raise TimeoutError(f"the standby did not replay up to {target} within {seconds} s")

    def pause_replay(self) -> None:
        self.sql_standby("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql_standby("SELECT pg_wal_replay_resume()")

    def stop_standby(self) -> None:
        _run(PG_BIN / "pg_ctl", "-D", self.root / "standby", "-m", "immediate", "-w", "stop")


def _configure(data: Path, *, port: int, socket_dir: Path) -> None:
    # Appended, so that these lines win over initdb's (and, on the standby, over the copied primary's).
    settings = f"""
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
wal_level = replica
max_wal_senders = 4
hot_standby = on
wal_receiver_status_interval = 1s
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
"""
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(settings)


def _wait_for(condition: Any, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except psycopg2.Error as exc:
            last_error = exc
        time.sleep(0.05)
    raise TimeoutError(f"{what} within {seconds} s (last error: {last_error})")


@contextlib.contextmanager
def streaming_pair(*, source: dict[str, Any]) -> Iterator[StreamingPair]:
    """A primary holding a copy of the database `source` (Django settings) and a standby streaming from it."""
    root = Path(tempfile.mkdtemp(prefix="orbit-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_USER, SERVER_USER)
    pair = StreamingPair(root=root, primary_port=_free_port(), standby_port=_free_port())
    started: list[Path] = []
    try:
        primary = root / "primary"
        _run(PG_BIN / "initdb", "-D", primary, "-U", SERVER_USER, "-A", "trust", "-E", "UTF8", "--no-sync")
        _configure(primary, port=pair.primary_port, socket_dir=root)
        _run(PG_BIN / "pg_ctl", "-D", primary, "-l", root / "primary.log", "-w", "start")
        started.append(primary)
        create = f"CREATE DATABASE {DATABASE} TEMPLATE template0 ENCODING 'UTF8'"
        _run(PG_BIN / "psql", *_address(pair.primary_port), "-d", "postgres", "-c", create)
        _copy_database(source, port=pair.primary_port)

        standby = root / "standby"
        # -R: the copy starts as a standby of the primary; -X stream: with the WAL written meanwhile.
        base_backup = ("-D", standby, "-R", "-X", "stream", "-c", "fast", "--no-sync")
        _run(PG_BIN / "pg_basebackup", *_address(pair.primary_port), *base_backup)
        _configure(standby, port=pair.standby_port, socket_dir=root)
        _run(PG_BIN / "pg_ctl", "-D", standby, "-l", root / "standby.log", "-w", "start")
        started.append(standby)
        streaming = (
            "SELECT pg_is_in_recovery() AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')"
        )
        _wait_for(lambda: pair.sql_standby(streaming), seconds=15, what="the standby did not start streaming")
        yield pair
    finally:
        for data in reversed(started):
            subprocess.run(
                _as_server_user(PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def _copy_database(source: dict[str, Any], *, port: int) -> None:
    """Schema and rows of the (migrated) test database into the throwaway primary: seconds, not a migrate."""
    environment = {**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""}
    source_address = ("-h", source["HOST"] or "127.0.0.1", "-p", str(source["PORT"] or 5432))
    source_user = ("-U", source["USER"] or SERVER_USER)
    with tempfile.TemporaryFile() as dump_errors:
        dump = subprocess.Popen(
            [PG_BIN / "pg_dump", "--no-owner", "--no-privileges", *source_address, *source_user, "-d", source["NAME"]],
            stdout=subprocess.PIPE,
            stderr=dump_errors,
            env=environment,
        )
        restore = subprocess.run(
            [PG_BIN / "psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", *_address(port), "-d", DATABASE],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert dump.stdout is not None
        dump.stdout.close()
        if dump.wait(timeout=120) != 0 or restore.returncode != 0:
            dump_errors.seek(0)
            raise RuntimeError(f"copying {source['NAME']} failed:\n{dump_errors.read().decode()}\n{restore.stderr}")


@contextlib.contextmanager
def databases_pointed_at(databases: dict[str, dict[str, Any]]) -> Iterator[None]:
    """Django's connections use `databases` (aliases to settings) inside the block, and the test
    database again after it. Connections opened inside are closed on the way out."""
    saved_settings = connections.settings
    saved = {alias: getattr(connections._connections, alias, None) for alias in {*saved_settings, *databases}}
    for alias in saved:
        with contextlib.suppress(AttributeError):
            del connections[alias]
    connections.settings = connections.configure_settings(databases)
    try:
        yield
    finally:
        for alias in databases:
            connection = getattr(connections._connections, alias, None)
            if connection is not None:
                connection.close()
                del connections[alias]
        connections.settings = saved_settings
        for alias, connection in saved.items():
            if connection is not None:
                connections[alias] = connection
