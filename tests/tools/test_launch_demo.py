"""`make run` starts the demo as production runs (DEBUG off) on plain-HTTP localhost, and the demo's
conveniences (published secrets, simulated prices, the demo trade ticket) stay out of production."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tools.launch import demo_environment

ROOT = Path(__file__).resolve().parent.parent.parent
# Settings a developer or the test run may have exported that would hide what `make run` chooses.
CHOSEN_BY_LAUNCH = {
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "ORBIT_DEMO",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "ORBIT_MARKET_DATA_URL",
    "EXCHANGE_TRADE_URL",
    "ORBIT_DEMO_TRADE_TICKET",
    "EMAIL_URL",
}
PROBE = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ORBIT_DEMO": settings.ORBIT_DEMO,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "EMAIL_BACKEND": settings.EMAIL_BACKEND,
    "EXCHANGE_WEBHOOK_SECRET": bool(settings.EXCHANGE_WEBHOOK_SECRET),
    "ORBIT_MARKET_DATA_URL": settings.ORBIT_MARKET_DATA_URL,
    "ORBIT_DEMO_TRADE_TICKET": settings.ORBIT_DEMO_TRADE_TICKET,
}))
"""


def _settings(environ: dict[str, str]) -> subprocess.CompletedProcess:
    environ = {**environ, "DJANGO_SETTINGS_MODULE": "orbit.settings"}
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def _clean_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in CHOSEN_BY_LAUNCH}


def test_make_run_starts_the_demo_with_debug_off_on_plain_http_localhost():
    result = _settings(demo_environment(_clean_environment()))
    assert result.returncode == 0, result.stderr
    demo = json.loads(result.stdout.strip().splitlines()[-1])
    assert demo["DEBUG"] is False
    assert demo["ORBIT_DEMO"] is True
    assert "127.0.0.1" in demo["ALLOWED_HOSTS"] and "localhost" in demo["ALLOWED_HOSTS"]
    # Plain HTTP on localhost: no redirect to HTTPS, no HSTS, cookies sent over HTTP.
    assert demo["SECURE_SSL_REDIRECT"] is False and demo["SECURE_HSTS_SECONDS"] == 0
    assert demo["SESSION_COOKIE_SECURE"] is False
    assert demo["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert demo["EXCHANGE_WEBHOOK_SECRET"] is True
    assert demo["ORBIT_MARKET_DATA_URL"] == "simulated"
    assert demo["ORBIT_DEMO_TRADE_TICKET"] is True


def test_the_demo_trade_ticket_gives_way_to_a_configured_exchange():
    result = _settings(
        demo_environment({**_clean_environment(), "EXCHANGE_TRADE_URL": "https://exchange.example/trade/{instrument}"})
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["ORBIT_DEMO_TRADE_TICKET"] is False


def test_production_refuses_to_start_with_the_demo_key_simulated_prices_or_the_demo_ticket():
    production = {
        **_clean_environment(),
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-" + "x7Qp2" * 10,
        "ALLOWED_HOSTS": "orbit.example.com",
    }
    no_key = _settings({key: value for key, value in production.items() if key != "SECRET_KEY"})
    assert no_key.returncode != 0 and "Set SECRET_KEY" in no_key.stderr
    simulated = _settings({**production, "ORBIT_MARKET_DATA_URL": "simulated"})
    assert simulated.returncode != 0 and "ORBIT_MARKET_DATA_URL=simulated" in simulated.stderr
    ticket = _settings({**production, "ORBIT_DEMO_TRADE_TICKET": "1"})
    assert ticket.returncode != 0 and "ORBIT_DEMO_TRADE_TICKET" in ticket.stderr
    fine = _settings(production)
    assert fine.returncode == 0, fine.stderr
    assert json.loads(fine.stdout.strip().splitlines()[-1])["ORBIT_MARKET_DATA_URL"] == "https://www.okx.com"
