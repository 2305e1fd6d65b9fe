"""Signing in the way a person does (allauth's forms, TOTP codes), for the security tests."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.test import Client
from django.urls import reverse

PASSWORD = "correct horse battery staple"  # the factories' password
ROOT = Path(__file__).resolve().parents[2]

_addresses = itertools.count(1)


def new_ip() -> str:
    """A client address of its own, so that per-address limits of one test never touch another's."""
    number = next(_addresses)
    return f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"


def client_from_new_ip(**kwargs) -> Client:
    return Client(REMOTE_ADDR=new_ip(), **kwargs)


def activate_totp(user) -> str:
    """Give `user` an authenticator app, as the activation page would; returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code the app shows now; waits for the next period when this one is about to end."""
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 2:
        time.sleep(period - time.time() % period + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def sign_in(client: Client, username: str, password: str = PASSWORD, *, next_url: str | None = None):
    data = {"login": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("account_login"), data)


def sign_in_with_code(client: Client, username: str, secret: str, *, next_url: str | None = None):
    """Password, then the TOTP code on allauth's second step; returns the last response."""
    response = sign_in(client, username, next_url=next_url)
    assert response.status_code == 302 and response.url.startswith(reverse("mfa_authenticate")), response
    return client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})


def signed_in_user_id(client: Client):
    session_key = client.cookies.get(settings.SESSION_COOKIE_NAME)
    if session_key is None or not session_key.value:
        return None
    return client.session.get("_auth_user_id")


def run_in_production(probe: str, **variables: str) -> dict:
    """Run `probe` under orbit.settings as production reads them (DEBUG off); returns its JSON."""
    environ = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    environ.update(
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="orbit.settings",
        SECRET_KEY="a-long-random-production-secret-" + "x7Qp2" * 10,
        ALLOWED_HOSTS="orbit.example.com",
        **variables,
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def staff_client(user) -> Client:
    """A client signed in to admin as `user` the way staff are: password, then a TOTP code."""
    client = client_from_new_ip()
    sign_in_with_code(client, user.username, activate_totp(user))
    return client
