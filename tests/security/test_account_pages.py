"""The account and two-factor pages: in Orbit's layout, in English and Chinese, and the whole
authenticator-app journey (activate, sign in with the code, recovery codes, deactivate)."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

from .helpers import PASSWORD, new_ip, sign_in, sign_in_with_code, signed_in_user_id, totp_code

pytestmark = pytest.mark.django_db

LAYOUT = 'class="topbar"'  # base.html's header


def _is_our_page(response) -> str:
    page = response.content.decode()
    assert response.status_code == 200, response.request["PATH_INFO"]
    assert LAYOUT in page and 'class="account ' in page, response.request["PATH_INFO"]
    return page


def test_sign_in_sign_up_and_reset_pages_use_the_site_layout():
    client = Client(REMOTE_ADDR=new_ip())
    for name in ["account_login", "account_signup", "account_reset_password", "account_reset_password_done"]:
        _is_our_page(client.get(reverse(name)))
    # A broken reset link says so in the same layout.
    page = _is_our_page(client.get("/accounts/password/reset/key/1-not-a-key/", follow=True))
    assert "Bad Token" in page


def test_sign_up_form_keeps_its_field_ids():
    page = _is_our_page(Client(REMOTE_ADDR=new_ip()).get(reverse("account_signup")))

    for field_id in ["id_username", "id_email", "id_password1", "id_password2"]:
        assert f'id="{field_id}"' in page


def test_settings_pages_use_the_site_layout_with_the_account_menu():
    client = Client(REMOTE_ADDR=new_ip())
    client.force_login(UserFactory())
    for name in ["account_change_password", "account_email", "account_logout", "mfa_index"]:
        page = _is_our_page(client.get(reverse(name)))
        if name != "account_logout":
            assert 'class="account-nav"' in page


def test_account_pages_speak_chinese():
    client = Client(REMOTE_ADDR=new_ip(), headers={"accept-language": "zh-hans"})
    assert "登录" in _is_our_page(client.get(reverse("account_login")))
    assert "注册" in _is_our_page(client.get(reverse("account_signup")))
    assert "密码重置" in _is_our_page(client.get(reverse("account_reset_password")))
    client.force_login(UserFactory())
    assert "修改密码" in _is_our_page(client.get(reverse("account_change_password")))
    assert "双重验证" in _is_our_page(client.get(reverse("mfa_index")))  # Orbit's word, as in its API messages


def test_the_authenticator_app_journey():
    user = UserFactory()
    client = Client(REMOTE_ADDR=new_ip())
    sign_in(client, user.username)

    # Activation asks for the password again, then shows the QR code and the secret.
    response = client.get(reverse("mfa_activate_totp"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    _is_our_page(response)
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    page = _is_our_page(response)
    assert 'src="data:image/svg+xml;base64,' in page
    secret = client.session[SECRET_SESSION_KEY]
    assert secret in page

    # A wrong code is refused; the right one activates the app and shows recovery codes.
    assert client.post(reverse("mfa_activate_totp"), {"code": "000000"}).status_code == 200
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("mfa_view_recovery_codes")
    page = _is_our_page(response)
    assert 'id="recovery_codes"' in page
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    # From now on signing in takes the code.
    client.post(reverse("account_logout"))
    fresh = Client(REMOTE_ADDR=new_ip())
    response = sign_in(fresh, user.username)
    assert response.url.startswith(reverse("mfa_authenticate"))
    assert signed_in_user_id(fresh) is None
    _is_our_page(fresh.get(reverse("mfa_authenticate")))
    client = Client(REMOTE_ADDR=new_ip())
    assert sign_in_with_code(client, user.username, secret).status_code == 302
    assert signed_in_user_id(client) == str(user.pk)

    # Deactivation asks for the password again, then takes a confirmed POST.
    response = client.get(reverse("mfa_deactivate_totp"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert "Deactivate Authenticator App" in _is_our_page(response)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    client.post(reverse("mfa_deactivate_totp"))
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
