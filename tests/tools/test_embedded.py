"""The embedded data stores behind `make run` and `make test` keep their data across restarts."""

import contextlib
from urllib.parse import parse_qs, urlparse

import psycopg2
import redis

from tools.embedded import EmbeddedPostgres, EmbeddedRedis, free_port


def _connect(database_url):
    url = urlparse(database_url)
    options = parse_qs(url.query)
    return psycopg2.connect(
        dbname=url.path.lstrip("/"), user=url.username, host=options["host"][0], port=options["port"][0]
    )


def test_embedded_postgres_keeps_its_data_across_a_restart(tmp_path):
    server = EmbeddedPostgres(tmp_path / "pgdata")
    try:
        with contextlib.closing(_connect(server.start())) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE survivor (name text)")
            cursor.execute("INSERT INTO survivor VALUES ('still here')")
            connection.commit()
        server.stop()
        assert not server.is_running()

        with contextlib.closing(_connect(server.start())) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT name FROM survivor")
            assert cursor.fetchall() == [("still here",)]
    finally:
        server.stop()
    assert not server.is_running()


def test_embedded_redis_keeps_its_data_across_a_restart(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", preferred_port=free_port())
    try:
        redis.Redis.from_url(server.start()).set("survivor", "still here")
        server.stop()
        assert not server.is_running()

        assert redis.Redis.from_url(server.start()).get("survivor") == b"still here"
    finally:
        server.stop()
    assert not server.is_running()


def test_starting_a_running_embedded_redis_reuses_it(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", preferred_port=free_port())
    try:
        first_url = server.start()
        first_pid = server.pid()
        assert server.start() == first_url
        assert server.pid() == first_pid
    finally:
        server.stop()
