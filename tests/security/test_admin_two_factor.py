"""Staff reach admin only after their TOTP code; everyone else never."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

from .helpers import activate_totp, client_from_new_ip, sign_in, sign_in_with_code, totp_code

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
POSTS = "/admin/feed/post/"


def test_staff_without_an_authenticator_app_are_sent_to_activate_one():
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = client_from_new_ip()
    assert sign_in(client, staff.username).status_code == 302

    response = client.get(POSTS, follow=True)

    # Activation asks for the password again first (allauth), then shows the QR code.
    assert [url for url, _status in response.redirect_chain][-2:] == [
        reverse("mfa_activate_totp"),
        f"{reverse('account_reauthenticate')}?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F",
    ]
    assert response.status_code == 200
    assert "Staff need an authenticator app to use admin" in response.content.decode()
    assert client.get(ADMIN).status_code == 302  # still no admin


def test_staff_with_an_authenticator_app_get_in_only_after_the_code():
    staff = UserFactory(is_staff=True, is_superuser=True)
    secret = activate_totp(staff)
    client = client_from_new_ip()

    # Admin's login is allauth's: first the password...
    response = client.get(POSTS, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    response = sign_in(client, staff.username, next_url=POSTS)
    assert response.url.startswith(reverse("mfa_authenticate"))
    assert client.get(ADMIN).status_code == 302  # a password alone opens nothing

    # ...then the code.
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302 and response.url == POSTS
    assert client.get(POSTS).status_code == 200
    assert client.get(ADMIN).status_code == 200


def test_a_wrong_code_keeps_staff_out():
    staff = UserFactory(is_staff=True, is_superuser=True)
    activate_totp(staff)
    client = client_from_new_ip()
    sign_in(client, staff.username, next_url=ADMIN)

    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})

    assert response.status_code == 200  # the form again, with its error
    assert client.get(ADMIN).status_code == 302


def test_staff_whose_session_began_with_a_password_only_are_asked_for_the_code():
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = client_from_new_ip()
    sign_in(client, staff.username)  # no authenticator yet: a password-only session
    secret = activate_totp(staff)

    response = client.get(ADMIN, follow=True)

    assert response.redirect_chain[-1][0] == f"{reverse('mfa_reauthenticate')}?next=%2Fadmin%2F"
    assert "Enter the code from your authenticator app to open admin." in response.content.decode()
    response = client.post(f"{reverse('mfa_reauthenticate')}?next=%2Fadmin%2F", {"code": totp_code(secret)})
    assert response.status_code == 302 and response.url == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_people_who_are_not_staff_never_reach_admin_even_with_two_factor():
    member = UserFactory()
    secret = activate_totp(member)
    client = client_from_new_ip()
    assert sign_in_with_code(client, member.username, secret).status_code == 302

    assert client.get(ADMIN).status_code == 302
    assert client.get(reverse("admin:login")).status_code == 403
    assert client.get(POSTS).status_code == 302


def test_an_inactive_staff_account_cannot_sign_in_to_admin():
    staff = UserFactory(is_staff=True, is_superuser=True, is_active=False)
    activate_totp(staff)
    client = client_from_new_ip()

    response = sign_in(client, staff.username, next_url=ADMIN)

    assert not (response.status_code == 302 and response.url.startswith(reverse("mfa_authenticate")))
    assert client.get(ADMIN).status_code == 302


def test_admins_own_password_form_is_gone():
    staff = UserFactory(is_staff=True, is_superuser=True)
    activate_totp(staff)
    client = client_from_new_ip()

    response = client.post(
        reverse("admin:login"), {"username": staff.username, "password": "correct horse battery staple"}
    )

    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
