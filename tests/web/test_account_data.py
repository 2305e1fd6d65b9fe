"""Download my data and Delete my account, from profile settings and from admin."""

import json

import pytest
from django.urls import reverse

from creators.models import Profile, User
from feed.models import Post
from tests.factories import PostFactory, UserFactory
from tests.security.helpers import PASSWORD, activate_totp, client_from_new_ip, sign_in, sign_in_with_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol():
    user = UserFactory(username="carol", email="carol@example.org")
    Profile.objects.filter(user=user).update(bio="Options nerd in Taipei")
    PostFactory(author=user, body="Carol's first call: $BTC up")
    return user


@pytest.fixture
def carol_client(carol):
    client = client_from_new_ip()
    assert sign_in(client, "carol").status_code == 302
    return client


def test_profile_settings_offer_download_and_delete(carol_client):
    page = carol_client.get(reverse("creators:edit_profile")).content.decode()
    assert reverse("creators:export_data") in page and "Download my data" in page
    assert reverse("creators:delete_account") in page and "Delete my account" in page


def test_download_my_data_is_a_json_attachment_with_my_posts(carol_client):
    response = carol_client.get(reverse("creators:export_data"))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="orbit-carol-')
    data = json.loads(response.content)
    assert data["account"]["email"] == "carol@example.org" and data["profile"]["bio"] == "Options nerd in Taipei"
    assert [post["body"] for post in data["posts"]] == ["Carol's first call: $BTC up"]


def test_downloads_and_deletion_need_a_signed_in_person(client):
    for name in ("creators:export_data", "creators:delete_account"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_wrong_password_deletes_nothing(carol_client, carol):
    page = carol_client.get(reverse("creators:delete_account"))
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    response = carol_client.post(reverse("creators:delete_account"), {"password": "not it"})
    assert response.status_code == 400 and "That is not your current password." in response.content.decode()
    carol.refresh_from_db()
    assert carol.is_active and carol.deleted_at is None


def test_deleting_with_the_password_erases_signs_out_and_cannot_sign_in_again(carol_client, carol):
    response = carol_client.post(reverse("creators:delete_account"), {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("feed:latest")
    assert "Your account is deleted" in response.content.decode()
    assert not response.context["user"].is_authenticated
    carol.refresh_from_db()
    assert carol.deleted_at is not None and carol.username.startswith("deleted-") and carol.email == ""
    assert Post.objects.get(author=carol).body == ""
    assert sign_in(client_from_new_ip(), "carol").status_code != 302
    assert sign_in(client_from_new_ip(), "carol@example.org").status_code != 302


def test_staff_cannot_delete_themselves_and_are_told_whom_to_ask(client):
    staff = UserFactory(username="opsie", is_staff=True)
    client.force_login(staff)
    response = client.get(reverse("creators:delete_account"))
    assert response.status_code == 403 and "Ask another operator" in response.content.decode()
    assert client.post(reverse("creators:delete_account"), {"password": PASSWORD}).status_code == 403
    assert User.objects.get(pk=staff.pk).is_active


# --- Admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client():
    operator = UserFactory(username="ops", is_staff=True, is_superuser=True)
    client = client_from_new_ip()
    sign_in_with_code(client, operator.username, activate_totp(operator))
    return client


def _action(client, action, users, **extra):
    data = {"action": action, "_selected_action": [str(user.pk) for user in users], **extra}
    return client.post(reverse("admin:creators_user_changelist"), data)


def test_admin_exports_one_selected_user_as_json(admin_client, carol):
    response = _action(admin_client, "export_data", [carol])
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)["account"]["username"] == "carol"
    refused = _action(admin_client, "export_data", [carol, UserFactory()])
    assert refused.status_code == 302  # back to the list, with "Select exactly one user"


def test_admin_deletes_after_a_confirmation_page_and_never_deletes_the_row(admin_client, carol):
    confirmation = _action(admin_client, "erase_accounts", [carol])
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert "carol@example.org" in page and 'name="post" value="yes"' in page
    assert User.objects.get(pk=carol.pk).deleted_at is None

    done = _action(admin_client, "erase_accounts", [carol], post="yes")

    assert done.status_code == 302
    tombstone = User.objects.get(pk=carol.pk)
    assert tombstone.deleted_at is not None and not tombstone.is_active
    page = admin_client.get(reverse("admin:creators_user_changelist")).content.decode()
    assert "Deleted 1 account." in page
    assert 'value="delete_selected"' not in page  # the plain delete would hit the protected log


def test_admin_refuses_to_erase_a_staff_account_until_its_rights_are_removed(admin_client):
    other_operator = UserFactory(username="ops2", is_staff=True)
    _action(admin_client, "erase_accounts", [other_operator], post="yes")
    assert User.objects.get(pk=other_operator.pk).deleted_at is None
    User.objects.filter(pk=other_operator.pk).update(is_staff=False)
    _action(admin_client, "erase_accounts", [other_operator], post="yes")
    assert User.objects.get(pk=other_operator.pk).deleted_at is not None
