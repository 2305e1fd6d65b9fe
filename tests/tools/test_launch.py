"""`make run` tells a newcomer what it does in a few lines, prints its banner last, and stops cleanly on Ctrl-C."""

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from urllib.parse import urlparse

import psycopg2
import pytest
import redis

from ranking.management.commands.train_tagger import brief_line
from tools.embedded import ROOT, free_port
from tools.launch import WORKERS, StepFailed, migrate_line, settlement_line, step
from tools.pip_install import count_requirements, status


def _summary(**overrides):
    summary = {
        "week": "2026-W48",
        "changed": True,
        "currency": "USDT",
        "total_paid": "8863.78",
        "total_held": "1136.22",
        "creators": [
            {"creator": "alice", "status": "paid"},
            {"creator": "bob", "status": "paid"},
            {"creator": "farmnotes", "status": "held"},
            {"creator": "quiet", "status": "below_threshold"},
        ],
    }
    return summary | overrides


def test_settlement_line_names_the_week_the_money_and_the_creators_paid():
    assert settlement_line(_summary()) == (
        "Settled 2026-W48: 8,863.78 USDT paid to 2 creators, 1,136.22 held for review"
    )


def test_settlement_line_says_when_the_week_was_already_settled():
    line = settlement_line(_summary(changed=False, total_held="0.00"))
    assert line == "Settled 2026-W48: 8,863.78 USDT paid to 2 creators (earlier; nothing changed)"


def test_tagger_brief_line_gives_the_metrics_that_gate_storing_a_model():
    metrics = {"content_type": {"macro_f1": 0.9071}, "assets": {"f1": 0.9991}}
    assert brief_line(version="2026.11.25-b0ecbaac", metrics=metrics, seconds=12.4) == (
        "Tagger 2026.11.25-b0ecbaac trained in 12 s: held-out content-type macro-F1 0.91, asset F1 1.00"
    )


def test_migrate_line_counts_the_migrations_applied():
    output = "Running migrations:\n  Applying feed.0001_initial... OK\n  Applying feed.0002_seed... OK\n"
    assert migrate_line(output) == "Database schema up to date (2 migrations applied)"
    assert migrate_line("Running migrations:\n  No migrations to apply.\n") == "Database schema up to date"


def test_a_failing_step_shows_everything_the_command_printed(capfd):
    with pytest.raises(StepFailed, match="settle_week --week not-a-week failed"):
        step("settle_week", "--week", "not-a-week", environ=dict(os.environ))
    assert "not-a-week" in capfd.readouterr().err


def test_pip_progress_counts_included_requirement_files(tmp_path):
    (tmp_path / "base.txt").write_text("# pinned\ndjango==5.2.1\ncelery[redis]==5.7.0  # broker\n\n")
    (tmp_path / "dev.txt").write_text("-r base.txt\npytest==9.2.0\n")
    assert count_requirements(tmp_path / "dev.txt") == 3
    assert status("Collecting celery[redis]==5.7.0 (from -r base.txt (line 3))", collected=2, total=3) == (
        "[2/3] celery"
    )
    assert status("  Downloading celery-5.7.0-py3-none-any.whl (438 kB)", collected=2, total=3) is None


@contextlib.contextmanager
def _scratch_database():
    """A database of its own on the suite's PostgreSQL server, dropped afterwards."""
    url = urlparse(os.environ["DATABASE_URL"])
    name = f"orbit_launch_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(url._replace(path="/postgres").geturl())
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield url._replace(path=f"/{name}").geturl()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.slow
def test_make_run_prints_its_banner_after_the_workers_and_stops_cleanly_on_ctrl_c(tmp_path):
    run_id = uuid.uuid4().hex[:8]
    bind = f"127.0.0.1:{free_port()}"
    lines: list[str] = []
    with _scratch_database() as database_url:
        environ = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="orbit.settings",
            DATABASE_URL=database_url,
            ORBIT_BIND=bind,
            CELERY_QUEUE_PREFIX=f"orbit-launch-{run_id}-",
            CACHE_KEY_PREFIX=f"orbit-launch-{run_id}",
            MEDIA_ROOT=str(tmp_path / "media"),
            # Plain static storage: hashing every file would double the test's time and prove nothing here.
            DEBUG="1",
        )
        # Its own process group, which gets SIGINT as a terminal's foreground group does on Ctrl-C.
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        reader = threading.Thread(target=lambda: lines.extend(make.stdout), daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 300
            while not any("Orbit is up" in line for line in lines):
                assert make.poll() is None, "make run exited early:\n" + "".join(lines[-40:])
                assert time.monotonic() < deadline, "no banner after 300 s:\n" + "".join(lines[-40:])
                time.sleep(1)
            banner_at = next(i for i, line in enumerate(lines) if "Orbit is up" in line)
            ready = [line for line in lines[:banner_at] if re.search(r"@\S+ ready\.", line)]
            assert len(ready) == len(WORKERS), "".join(lines)
            assert any("beat: Starting" in line for line in lines[:banner_at])
            assert any("Settled " in line for line in lines[:banner_at])

            os.killpg(make.pid, signal.SIGINT)
            make.wait(timeout=60)
            reader.join(timeout=10)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(make.pid, signal.SIGKILL)
            # The run's queues, bindings and heartbeats all carry its prefix.
            broker = redis.Redis.from_url(os.environ["REDIS_URL"])
            for key in broker.scan_iter(f"*orbit-launch-{run_id}*"):
                broker.delete(key)
    output = "".join(lines)
    assert "Traceback" not in output, output
    assert "Error 130" not in output, output
    assert "stopped (rc=" in output
    # make itself died of the SIGINT (as it should); its child, the launcher, reported a clean stop.
    assert make.returncode in (0, -signal.SIGINT), output
