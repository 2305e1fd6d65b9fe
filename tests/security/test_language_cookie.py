"""Cookies in production: the language cookie is Secure, SameSite=Lax and HttpOnly whoever sets it,
and the session and CSRF cookies are Secure."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

from .helpers import PASSWORD, client_from_new_ip, run_in_production

LANGUAGE_COOKIE_SETTINGS = [
    "LANGUAGE_COOKIE_SECURE",
    "LANGUAGE_COOKIE_SAMESITE",
    "LANGUAGE_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
]
SETTINGS_PROBE = f"""
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({{name: getattr(settings, name) for name in {LANGUAGE_COOKIE_SETTINGS!r}}}))
"""


@pytest.fixture(scope="module")
def production_cookie_settings():
    """The cookie settings as orbit.settings reads them in production (DEBUG off)."""
    return run_in_production(SETTINGS_PROBE)


@pytest.fixture
def in_production(settings, production_cookie_settings):
    for name, value in production_cookie_settings.items():
        setattr(settings, name, value)


def assert_production_language_cookie(response, language: str) -> None:
    cookie = response.cookies["django_language"]
    assert cookie.value == language
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True


@pytest.mark.django_db
def test_the_language_switch_sets_a_secure_lax_httponly_cookie_in_production(in_production):
    response = client_from_new_ip().post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, secure=True)

    assert response.status_code == 302
    assert_production_language_cookie(response, "zh-hans")


@pytest.mark.django_db
def test_saving_profile_settings_sets_a_secure_lax_httponly_language_cookie_in_production(in_production):
    client = client_from_new_ip()
    client.force_login(UserFactory())

    response = client.post(
        reverse("creators:edit_profile"), {"display_name": "Mei", "bio": "", "language": "zh-hans"}, secure=True
    )

    assert response.status_code == 302, response.content.decode()[:500]
    assert_production_language_cookie(response, "zh-hans")


@pytest.mark.django_db
def test_signing_in_sets_secure_session_and_csrf_cookies_in_production(in_production):
    user = UserFactory()
    client = client_from_new_ip()
    client.get(reverse("account_login"), secure=True)

    response = client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD}, secure=True)

    assert response.status_code == 302, response.content.decode()[:500]
    assert response.cookies["sessionid"]["secure"] is True
    assert client.cookies["csrftoken"]["secure"] is True
