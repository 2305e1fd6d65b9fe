"""Password rules on sign-up, and sessions: new on sign-in, gone on sign-out and on a password change elsewhere."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.test import Client
from django.urls import reverse

from creators.models import User
from tests.factories import UserFactory

from .helpers import PASSWORD, new_ip, sign_in, signed_in_user_id

pytestmark = pytest.mark.django_db


def _sign_up(client, username, password):
    return client.post(
        reverse("account_signup"),
        {"username": username, "email": f"{username}@example.com", "password1": password, "password2": password},
    )


@pytest.mark.parametrize(
    "passphrase",
    [
        "correct horse battery staple",  # long, all lower case, no digit or symbol: no composition rules
        "mon chat aime le bitcoin et le thé",
        "比特币价格今天又涨了好多呀",
    ],
)
def test_sign_up_accepts_a_long_passphrase(passphrase):
    client = Client(REMOTE_ADDR=new_ip())

    response = _sign_up(client, "newcomer", passphrase)

    assert response.status_code == 302, response.context["form"].errors
    user = User.objects.get(username="newcomer")
    assert user.check_password(passphrase)
    assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("password123", "This password is too common."),
        ("qwertyuiop", "This password is too common."),
        ("1234567890", "This password is entirely numeric."),
        ("Tr0ub4d&3", "This password is too short. It must contain at least 10 characters."),
        ("newcomer2026", "The password is too similar to the username."),
    ],
)
def test_sign_up_refuses_weak_passwords_with_the_reason(password, complaint):
    client = Client(REMOTE_ADDR=new_ip())

    response = _sign_up(client, "newcomer2026", password)

    assert response.status_code == 200
    assert complaint in response.content.decode()
    assert not User.objects.filter(username="newcomer2026").exists()


def test_signing_in_replaces_the_session_so_a_planted_session_id_is_useless():
    user = UserFactory()
    planted = SessionStore()
    planted["planted"] = True
    planted.create()
    client = Client(REMOTE_ADDR=new_ip())
    client.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key

    assert sign_in(client, user.username).status_code == 302

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != planted.session_key
    assert not SessionStore().exists(planted.session_key)
    assert signed_in_user_id(client) == str(user.pk)


def test_signing_out_ends_the_session_and_a_get_does_not_sign_out():
    user = UserFactory()
    client = Client(REMOTE_ADDR=new_ip())
    sign_in(client, user.username)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value

    confirm = client.get(reverse("account_logout"))
    assert confirm.status_code == 200  # a confirmation form
    assert signed_in_user_id(client) == str(user.pk)

    assert client.post(reverse("account_logout")).status_code == 302
    assert not SessionStore().exists(session_key)
    assert client.get(reverse("account_change_password")).status_code == 302  # to the sign-in page


def test_a_password_change_ends_every_other_session_and_keeps_this_one():
    user = UserFactory()
    here, elsewhere = Client(REMOTE_ADDR=new_ip()), Client(REMOTE_ADDR=new_ip())
    sign_in(here, user.username)
    sign_in(elsewhere, user.username)
    assert elsewhere.get(reverse("account_change_password")).status_code == 200

    response = here.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a brand new long passphrase",
            "password2": "a brand new long passphrase",
        },
    )

    assert response.status_code == 302
    assert here.get(reverse("account_change_password")).status_code == 200
    assert signed_in_user_id(here) == str(user.pk)
    response = elsewhere.get(reverse("account_change_password"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert signed_in_user_id(elsewhere) is None


def test_a_password_reset_by_email_ends_every_session():
    user = UserFactory()
    signed_in = Client(REMOTE_ADDR=new_ip())
    sign_in(signed_in, user.username)
    forgetful = Client(REMOTE_ADDR=new_ip())

    assert forgetful.post(reverse("account_reset_password"), {"email": user.email}).status_code == 302
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)[1]
    form_page = forgetful.get(link, follow=True)
    assert form_page.status_code == 200
    response = forgetful.post(
        form_page.redirect_chain[-1][0],
        {"password1": "a brand new long passphrase", "password2": "a brand new long passphrase"},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a brand new long passphrase")
    assert signed_in.get(reverse("account_change_password")).status_code == 302
    assert signed_in_user_id(signed_in) is None
