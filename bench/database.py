"""The scratch databases the benches run on, next to the database DATABASE_URL names.

Every bench makes, checks, locks and drops its database through these functions, before Django
reads its settings: `use_database(name)` points DATABASE_URL (and so Django, and any gunicorn or
Celery process started with this environment) at the scratch database. CREATE and DROP DATABASE
run on the server's "postgres" database, in autocommit, as they must.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import psycopg2

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/orbit"
# Read once, when the first bench module imports this one and before any of them points
# DATABASE_URL at its scratch database.
SOURCE_DATABASE_URL = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def url_of(name: str) -> str:
    """The URL of database `name` on the server of DATABASE_URL (user, host and options kept)."""
    return urlsplit(SOURCE_DATABASE_URL)._replace(path=f"/{name}").geturl()


def source_name() -> str:
    """The name of the database DATABASE_URL named before a bench replaced it."""
    return urlsplit(SOURCE_DATABASE_URL).path.lstrip("/")


def use_database(name: str) -> None:
    """Point DATABASE_URL at `name`: call before Django reads its settings (django.setup)."""
    os.environ["DATABASE_URL"] = url_of(name)


def server_connection():
    """A psycopg2 connection to the server's "postgres" database, in autocommit (CREATE and DROP
    DATABASE refuse to run in a transaction). The caller closes it."""
    connection = psycopg2.connect(url_of("postgres"))
    connection.autocommit = True
    return connection


def database_exists(name: str) -> bool:
    connection = server_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    finally:
        connection.close()


def drop_database(name: str) -> None:
    """Drop `name` if it exists, cutting its connections (WITH FORCE); Django's own first."""
    _close_django_connections()
    connection = server_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


def recreate_database(name: str) -> None:
    """An empty database `name`: a leftover one is dropped first."""
    drop_database(name)
    connection = server_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def hold_lock(name: str, *, bench: str):
    """A session-level advisory lock for database `name` on the server's "postgres" database, held
    until the returned connection closes (keep it referenced for the whole run), or SystemExit if
    another run holds it: two runs on one database would undo each other's set-up (a reseed drops
    the database under the other), and on two cores spoil each other's figures anyway."""
    from orbit import locks

    connection = server_connection()
    with connection.cursor() as cursor:
        if not locks.try_session_lock(cursor, locks.Namespace.BENCH_DATABASE, name):
            connection.close()
            raise SystemExit(f"Another {bench} is using {name}; run again when it has finished.")
    return connection


def _close_django_connections() -> None:
    """Close this process's Django connections, if Django is set up: a DROP ... WITH (FORCE) would
    cut them anyway, and the next query would fail on a dead connection instead of reconnecting."""
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()
