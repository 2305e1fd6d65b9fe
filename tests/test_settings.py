import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **environ):
    env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "DEBUG"}}
    env.update(environ)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_the_deployment_checklist_without_warnings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="a-long-random-production-secret-" + "x7Qp2" * 10,
        ALLOWED_HOSTS="orbit.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="orbit.example.com")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_a_task_time_limit_above_the_visibility_timeout_is_refused():
    result = _manage("check", DEBUG="1", CELERY_TASK_TIME_LIMIT="7200", CELERY_VISIBILITY_TIMEOUT="3600")
    assert result.returncode != 0
    assert "must be below CELERY_VISIBILITY_TIMEOUT" in result.stderr


def test_an_unknown_settlement_time_zone_is_refused():
    result = _manage("check", DEBUG="1", ORBIT_SETTLEMENT_TZ="Mars/Olympus_Mons")
    assert result.returncode != 0
    assert "ORBIT_SETTLEMENT_TZ='Mars/Olympus_Mons' is not an IANA time zone" in result.stderr


def test_a_trade_url_without_the_instrument_placeholder_is_refused():
    result = _manage("check", DEBUG="1", EXCHANGE_TRADE_URL="https://exchange.example/trade")
    assert result.returncode != 0
    assert "must be an https:// URL containing {instrument}" in result.stderr


def test_a_market_data_url_that_is_not_http_is_refused():
    result = _manage("check", DEBUG="1", ORBIT_MARKET_DATA_URL="okx.com")
    assert result.returncode != 0
    assert "ORBIT_MARKET_DATA_URL must be an http(s):// base URL" in result.stderr


def test_a_trade_card_tolerance_that_is_not_a_fraction_is_refused():
    for bad in ("5", "0", "half"):
        result = _manage("check", DEBUG="1", ORBIT_TRADE_CARD_PRICE_TOLERANCE=bad)
        assert result.returncode != 0
        assert "ORBIT_TRADE_CARD_PRICE_TOLERANCE a fraction between 0 and 1" in result.stderr


def test_production_leaves_the_exchange_webhook_off_without_a_secret():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(repr(settings.EXCHANGE_WEBHOOK_SECRET))",
        DEBUG="0",
        SECRET_KEY="x" * 60,
        EXCHANGE_WEBHOOK_SECRET="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "''"


def test_a_queue_wait_limit_for_an_unknown_queue_or_without_seconds_is_refused():
    for value in ("feed=900", "feeds=soon", "feeds=0"):
        result = _manage("check", DEBUG="1", ORBIT_QUEUE_MAX_WAIT=value)
        assert result.returncode != 0, value
        assert "ORBIT_QUEUE_MAX_WAIT give positive seconds" in result.stderr, value
