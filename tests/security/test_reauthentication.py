"""A session that has not given the password (or an authenticator code) in the last few minutes
cannot change the account's e-mail addresses, password or two-factor; e-mail and password changes
are announced to the account's address (the old one, for an e-mail change)."""

import time

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse

from creators.models import User
from tests.factories import UserFactory

from .helpers import PASSWORD, activate_totp, client_from_new_ip, sign_in, sign_in_with_code

pytestmark = pytest.mark.django_db

OLD = "owner@example.com"
ATTACKER = "attacker@evil.example"


@pytest.fixture
def owner():
    user = UserFactory(username="owner", email=OLD)
    EmailAddress.objects.create(user=user, email=OLD, verified=True, primary=True)
    return user


def _age_authentication(client, *, minutes: float, reauthenticated: bool = False) -> None:
    """Move the session's record of how and when it authenticated `minutes` into the past."""
    session = client.session
    records = session[AUTHENTICATION_METHODS_SESSION_KEY]
    for record in records:
        record["at"] = time.time() - minutes * 60
        if reauthenticated:
            record["reauthenticated"] = True
    session[AUTHENTICATION_METHODS_SESSION_KEY] = records
    session.save()


def _signed_in(user, *, minutes_ago: float):
    client = client_from_new_ip()
    assert sign_in(client, user.username).status_code == 302
    _age_authentication(client, minutes=minutes_ago)
    return client


def _make_primary(client, email):
    return client.post(reverse("account_email"), {"email": email, "action_primary": ""})


def test_a_seven_minute_old_session_cannot_make_another_address_primary(owner):
    EmailAddress.objects.create(user=owner, email=ATTACKER, verified=True, primary=False)
    client = _signed_in(owner, minutes_ago=7)

    response = _make_primary(client, ATTACKER)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert EmailAddress.objects.get(primary=True).email == OLD
    assert User.objects.get(pk=owner.pk).email == OLD


def test_a_stale_session_cannot_add_an_address(owner):
    client = _signed_in(owner, minutes_ago=7)

    response = client.post(reverse("account_email"), {"email": ATTACKER, "action_add": ""})

    assert response.url.startswith(reverse("account_reauthenticate"))
    assert not EmailAddress.objects.filter(email=ATTACKER).exists()


def test_after_the_password_again_the_change_goes_through_and_the_old_address_is_told(owner):
    EmailAddress.objects.create(user=owner, email=ATTACKER, verified=True, primary=False)
    client = _signed_in(owner, minutes_ago=7)
    asked = _make_primary(client, ATTACKER)
    mail.outbox.clear()

    # allauth replays the suspended request once the password is given again.
    client.post(asked.url, {"password": PASSWORD})

    assert EmailAddress.objects.get(primary=True).email == ATTACKER
    notices = [message for message in mail.outbox if OLD in message.to]
    assert len(notices) == 1
    assert ATTACKER in notices[0].body


def test_a_recent_reauthentication_is_enough_for_a_few_minutes_only(owner, settings):
    EmailAddress.objects.create(user=owner, email=ATTACKER, verified=True, primary=False)
    client = _signed_in(owner, minutes_ago=0)
    _age_authentication(client, minutes=2, reauthenticated=True)
    assert _make_primary(client, ATTACKER).url == reverse("account_email")
    assert EmailAddress.objects.get(primary=True).email == ATTACKER

    _age_authentication(client, minutes=settings.ACCOUNT_REAUTHENTICATION_TIMEOUT / 60 + 1, reauthenticated=True)
    assert _make_primary(client, OLD).url.startswith(reverse("account_reauthenticate"))
    assert EmailAddress.objects.get(primary=True).email == ATTACKER


def test_changing_the_password_needs_the_current_one_and_tells_the_account_address(owner):
    client = _signed_in(owner, minutes_ago=7)
    new = {"password1": "a fresh long passphrase", "password2": "a fresh long passphrase"}

    refused = client.post(reverse("account_change_password"), {"oldpassword": "not it", **new})
    assert refused.status_code == 200
    assert User.objects.get(pk=owner.pk).check_password(PASSWORD)

    mail.outbox.clear()
    changed = client.post(reverse("account_change_password"), {"oldpassword": PASSWORD, **new})
    assert changed.status_code == 302
    assert [message.to for message in mail.outbox] == [[OLD]]


def test_a_stale_session_cannot_turn_two_factor_off(owner):
    secret = activate_totp(owner)
    client = client_from_new_ip()
    sign_in_with_code(client, owner.username, secret)
    _age_authentication(client, minutes=7)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.url.startswith(reverse("account_reauthenticate"))
    assert Authenticator.objects.filter(user=owner, type=Authenticator.Type.TOTP).exists()
