"""API tokens: no password-only token for an account with two-factor, none at all for staff
without it; tokens expire, are listed and revocable, and die with a password or two-factor change."""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from creators.models import ApiToken
from creators.tokens import issue_api_token
from tests.factories import UserFactory

from .helpers import PASSWORD, activate_totp, client_from_new_ip, new_ip, sign_in, sign_in_with_code, totp_code

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
TOKENS = "/api/v1/auth/tokens/"


def _api() -> APIClient:
    return APIClient(REMOTE_ADDR=new_ip())


def _log_in(client, username, **extra):
    return client.post(TOKEN, {"username": username, "password": PASSWORD, **extra}, format="json")


def _as(key: str) -> APIClient:
    client = _api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_staff_account_with_totp_gets_no_token_with_the_password_alone():
    staff = UserFactory(is_staff=True)
    activate_totp(staff)

    response = _log_in(_api(), staff.username)

    assert response.status_code == 400
    assert "two-factor" in response.json()["message"]
    assert "code" in response.json()["errors"]
    assert not ApiToken.objects.exists()


def test_a_staff_account_with_totp_gets_a_token_with_its_current_code():
    staff = UserFactory(is_staff=True)
    secret = activate_totp(staff)

    response = _log_in(_api(), staff.username, code=totp_code(secret), name="ops laptop")

    assert response.status_code == 200
    assert response.json()["name"] == "ops laptop"
    assert _as(response.json()["token"]).get("/api/v1/me/").json()["username"] == staff.username


def test_a_staff_account_without_totp_is_told_to_set_up_two_factor_first():
    staff = UserFactory(is_staff=True)

    response = _log_in(_api(), staff.username)

    assert response.status_code == 403
    assert "activate an authenticator app" in response.json()["message"]
    assert not ApiToken.objects.exists()


def test_anyone_with_totp_needs_a_code_and_a_recovery_code_works_once():
    member = UserFactory()
    activate_totp(member)
    recovery = RecoveryCodes.activate(member).get_unused_codes()[0]

    assert _log_in(_api(), member.username).status_code == 400
    assert _log_in(_api(), member.username, code=recovery).status_code == 200
    again = _log_in(_api(), member.username, code=recovery)
    assert again.status_code == 400
    assert ApiToken.objects.count() == 1


@override_settings(AXES_FAILURE_LIMIT=3)
def test_wrong_codes_count_as_failed_logins_and_lock_the_account_out(caplog):
    staff = UserFactory(is_staff=True)
    secret = activate_totp(staff)
    client = _api()

    with caplog.at_level("INFO", logger="orbit.security"):
        for _attempt in range(3):
            assert _log_in(client, staff.username, code="000000").status_code == 400
    response = _log_in(client, staff.username, code=totp_code(secret))

    assert response.status_code == 429
    assert not ApiToken.objects.exists()
    events = [record.getMessage().split()[0] for record in caplog.records if record.name == "orbit.security"]
    assert events.count("mfa_failed") == 3
    assert "lockout" in events


def test_a_token_stops_working_when_the_password_changes_on_the_settings_page():
    member = UserFactory()
    _token, key = issue_api_token(user=member, name="phone")
    browser = client_from_new_ip()
    sign_in(browser, member.username)

    changed = browser.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "a new long passphrase", "password2": "a new long passphrase"},
    )

    assert changed.status_code == 302
    response = _as(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert "password or two-factor setup changed" in response.json()["message"]


def test_a_token_stops_working_when_an_operator_sets_a_new_password_in_admin():
    member = UserFactory()
    _token, key = issue_api_token(user=member)
    new_password = "operator chose this one"
    form = AdminPasswordChangeForm(member, {"password1": new_password, "password2": new_password})
    assert form.is_valid(), form.errors
    form.save()

    assert _as(key).get("/api/v1/me/").status_code == 401


def test_a_new_login_after_the_password_change_works():
    member = UserFactory()
    member.set_password(PASSWORD)
    member.save()

    response = _log_in(_api(), member.username)

    assert _as(response.json()["token"]).get("/api/v1/me/").status_code == 200


def test_a_token_stops_working_when_two_factor_is_reset():
    staff = UserFactory(is_staff=True)
    secret = activate_totp(staff)
    key = _log_in(_api(), staff.username, code=totp_code(secret)).json()["token"]
    assert _as(key).get("/api/v1/me/").status_code == 200

    # What an operator's "delete authenticator" in admin does: no allauth signal, only the row goes.
    Authenticator.objects.filter(user=staff).delete()

    assert _as(key).get("/api/v1/me/").status_code == 401


def test_a_token_stops_working_when_two_factor_is_turned_on():
    member = UserFactory()
    _token, key = issue_api_token(user=member)

    activate_totp(member)

    assert _as(key).get("/api/v1/me/").status_code == 401


@override_settings(ORBIT_API_TOKEN_DAYS=30)
def test_a_token_expires_after_the_configured_days():
    member = UserFactory()
    fresh_token, fresh = issue_api_token(user=member, now=timezone.now() - timedelta(days=29))
    _old_token, old = issue_api_token(user=member, now=timezone.now() - timedelta(days=30, minutes=1))

    assert fresh_token.expires_at - fresh_token.created_at == timedelta(days=30)
    assert _as(fresh).get("/api/v1/me/").status_code == 200
    response = _as(old).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_tokens_are_listed_without_their_keys_and_revoked_one_by_one():
    member, stranger = UserFactory(), UserFactory()
    _phone, phone_key = issue_api_token(user=member, name="phone")
    laptop, laptop_key = issue_api_token(user=member, name="laptop")
    strangers, _key = issue_api_token(user=stranger)
    client = _as(phone_key)

    listed = client.get(TOKENS).json()
    assert [token["name"] for token in listed] == ["laptop", "phone"]
    assert {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"} == set(listed[0])
    assert laptop_key not in str(listed) and phone_key not in str(listed)

    assert client.delete(f"{TOKENS}{strangers.pk}/").status_code == 404
    assert client.delete(f"{TOKENS}{laptop.pk}/").status_code == 204
    assert _as(laptop_key).get("/api/v1/me/").status_code == 401
    assert [token["name"] for token in client.get(TOKENS).json()] == ["phone"]
    assert _as(_key).get("/api/v1/me/").status_code == 200  # the stranger's still works


def test_last_used_is_written_at_most_once_a_minute():
    member = UserFactory()
    token, key = issue_api_token(user=member)
    client = _as(key)

    client.get("/api/v1/me/")
    token.refresh_from_db()
    first_use = token.last_used_at
    client.get("/api/v1/me/")
    token.refresh_from_db()

    assert first_use is not None
    assert token.last_used_at == first_use
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at > first_use


# --- The settings page ---------------------------------------------------------------------


def _reauthenticate(browser):
    response = browser.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response


def test_the_settings_page_lists_tokens_and_revokes_one_with_a_post():
    member = UserFactory()
    token, key = issue_api_token(user=member, name="trading bot")
    browser = client_from_new_ip(enforce_csrf_checks=False)
    browser.force_login(member)

    page = browser.get(reverse("creators:api_tokens")).content.decode()
    assert "trading bot" in page and token.prefix in page and key not in page

    revoke = reverse("creators:revoke_api_token", args=[token.pk])
    assert browser.get(revoke).status_code == 405  # a GET changes nothing
    assert browser.post(revoke).status_code == 302
    assert _as(key).get("/api/v1/me/").status_code == 401


def test_creating_a_token_in_the_browser_asks_for_the_password_again_and_shows_the_key_once():
    member = UserFactory()
    browser = client_from_new_ip()
    sign_in(browser, member.username)

    asked = browser.post(reverse("creators:create_api_token"), {"name": "script"})
    assert asked.status_code == 302 and asked.url.startswith(reverse("account_reauthenticate"))
    assert not ApiToken.objects.exists()

    _reauthenticate(browser)
    created = browser.post(reverse("creators:create_api_token"), {"name": "script"})

    assert created.status_code == 200
    key = created.context["new_key"]
    assert key in created.content.decode()
    assert _as(key).get("/api/v1/me/").json()["username"] == member.username
    assert key not in browser.get(reverse("creators:api_tokens")).content.decode()


def test_staff_without_totp_cannot_create_a_token_in_the_browser_either():
    staff = UserFactory(is_staff=True)
    browser = client_from_new_ip()
    sign_in(browser, staff.username)
    _reauthenticate(browser)

    page = browser.get(reverse("creators:api_tokens")).content.decode()
    assert "activate an authenticator app" in page
    assert browser.post(reverse("creators:create_api_token"), {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_an_operator_revokes_a_leaked_token_in_admin_and_never_sees_a_key():
    operator = UserFactory(is_staff=True, is_superuser=True)
    secret = activate_totp(operator)
    admin = client_from_new_ip()
    sign_in_with_code(admin, operator.username, secret)
    member = UserFactory()
    leaked, key = issue_api_token(user=member, name="leaked")
    _kept, kept_key = issue_api_token(user=member, name="kept")

    listing = admin.get("/admin/creators/apitoken/").content.decode()
    assert "leaked" in listing and key not in listing and leaked.key_hash not in listing
    admin.post("/admin/creators/apitoken/", {"action": "revoke", "_selected_action": [str(leaked.pk)]}, follow=True)

    assert _as(key).get("/api/v1/me/").status_code == 401
    assert _as(kept_key).get("/api/v1/me/").status_code == 200


def test_a_members_token_stops_working_when_the_member_becomes_staff_without_totp():
    member = UserFactory()
    _token, key = issue_api_token(user=member)
    member.is_staff = True
    member.save(update_fields=["is_staff"])

    response = _as(key).get("/api/v1/me/")

    assert response.status_code == 401
    assert "staff accounts need two-factor" in response.json()["message"]
