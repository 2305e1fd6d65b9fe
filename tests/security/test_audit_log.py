"""Sign-ins, sign-outs, failures, lockouts and refusals are logged with user, IP and time; never a password."""

import logging
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

from .helpers import PASSWORD, new_ip, sign_in

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "Wr0ng-but-secret-passphrase"
STAMP = re.compile(r" at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def _security_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "orbit.security"]


def _every_logged_text(caplog) -> str:
    texts = []
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        texts.append(repr(record.__dict__))
    return "\n".join(texts)


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_sign_in_failure_and_sign_out_are_logged_with_user_ip_and_time(logs):
    user = UserFactory(username="audited")
    ip = new_ip()
    client = Client(REMOTE_ADDR=ip)

    sign_in(client, "audited", WRONG_PASSWORD)
    sign_in(client, "audited", PASSWORD)
    client.post(reverse("account_logout"))

    lines = _security_lines(logs)
    failed = [line for line in lines if line.startswith("login_failed ")]
    login = [line for line in lines if line.startswith("login ")]
    logout = [line for line in lines if line.startswith("logout ")]
    assert len(failed) == len(login) == len(logout) == 1
    assert failed[0].startswith(f"login_failed user='audited' ip={ip} at=")
    assert login[0].startswith(f"login user='audited'#{user.pk} ip={ip} at=")
    assert logout[0].startswith(f"logout user='audited'#{user.pk} ip={ip} at=")
    assert all(STAMP.search(line) for line in failed + login + logout)


def test_no_log_record_ever_holds_a_password(logs):
    user = UserFactory()
    client = Client(REMOTE_ADDR=new_ip())

    for _attempt in range(settings.AXES_FAILURE_LIMIT):  # failures up to and including the lockout
        sign_in(client, user.username, WRONG_PASSWORD)
    sign_in(client, user.username, PASSWORD)  # refused while locked out
    other = Client(REMOTE_ADDR=new_ip())
    sign_in(other, user.username, PASSWORD)
    other.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a brand new long passphrase",
            "password2": "a brand new long passphrase",
        },
    )

    everything = _every_logged_text(logs)
    assert "lockout user=" in everything  # the lockout itself was logged
    assert "password_changed user=" in everything
    for secret in (WRONG_PASSWORD, PASSWORD, "a brand new long passphrase"):
        assert secret not in everything


def test_a_refused_request_is_logged(logs):
    member = UserFactory(username="curious")
    ip = new_ip()
    client = Client(REMOTE_ADDR=ip)
    client.force_login(member)

    assert client.get(reverse("admin:login")).status_code == 403

    refusals = [line for line in _security_lines(logs) if line.startswith("permission_denied ")]
    assert len(refusals) == 1
    assert refusals[0].startswith(f"permission_denied user='curious'#{member.pk} ip={ip} at=")
    assert "path='/admin/login/'" in refusals[0]


def test_a_request_refused_for_its_missing_csrf_token_is_logged(logs):
    member = UserFactory()
    client = Client(REMOTE_ADDR=new_ip(), enforce_csrf_checks=True)
    client.force_login(member)

    assert client.post(reverse("account_logout")).status_code == 403

    assert any(
        line.startswith("permission_denied ") and "path='/accounts/logout/'" in line for line in _security_lines(logs)
    )


def test_a_crafted_name_cannot_forge_a_log_line(logs):
    client = Client(REMOTE_ADDR=new_ip())

    sign_in(client, "nobody\nlogin user='admin'#1 ip=1.2.3.4", WRONG_PASSWORD)

    failed = [line for line in _security_lines(logs) if line.startswith("login_failed ")]
    assert len(failed) == 1
    assert "\n" not in failed[0]
    assert "\\n" in failed[0]
