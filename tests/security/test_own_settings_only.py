"""The profile form changes a profile's own fields and nothing else: no staff flag, suspension,
name or password arrives through it, whatever the request carries."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from creators.models import Profile, User
from tests.factories import UserFactory

from .helpers import new_ip

pytestmark = pytest.mark.django_db

SMUGGLED = {
    "is_staff": "on",
    "is_superuser": "on",
    "is_active": "on",
    "suspended_at": "",
    "username": "operator",
    "email": "attacker@example.com",
    "password": "pbkdf2_sha256$1$x$y",
    "user": "1",
    "user_id": "1",
    "title": "Top analyst",
    "titles": "Top analyst",
    "balance": "1000000",
    "date_joined": "2000-01-01T00:00:00Z",
}
USER_FIELDS = ["username", "email", "password", "is_staff", "is_superuser", "is_active", "suspended_at", "date_joined"]


def _user_row(user):
    return User.objects.filter(pk=user.pk).values(*USER_FIELDS).get()


def test_extra_fields_posted_to_the_profile_form_change_nothing_but_the_profile():
    user = UserFactory()
    before = _user_row(user)
    client = Client(REMOTE_ADDR=new_ip())
    client.force_login(user)

    response = client.post(
        reverse("creators:edit_profile"),
        {"display_name": "New name", "bio": "New bio", "language": "en", **SMUGGLED},
    )

    assert response.status_code == 302
    assert _user_row(user) == before
    profile = Profile.objects.get(user=user)
    assert (profile.display_name, profile.bio) == ("New name", "New bio")


def test_a_suspended_user_cannot_lift_their_suspension_through_the_profile_form():
    suspended_at = timezone.now()
    user = UserFactory(suspended_at=suspended_at)
    client = Client(REMOTE_ADDR=new_ip())
    client.force_login(user)

    response = client.post(
        reverse("creators:edit_profile"),
        {"display_name": "Free again", "bio": "", "language": "en", "suspended_at": ""},
    )

    assert response.status_code == 403
    user.refresh_from_db()
    assert user.suspended_at == suspended_at
    assert Profile.objects.get(user=user).display_name != "Free again"


def test_the_profile_form_edits_only_the_signed_in_users_profile():
    victim, user = UserFactory(), UserFactory()
    client = Client(REMOTE_ADDR=new_ip())
    client.force_login(user)

    client.post(
        reverse("creators:edit_profile"),
        {"display_name": "Hijacked", "bio": "", "language": "en", "user": victim.pk, "user_id": victim.pk},
    )

    assert Profile.objects.get(user=victim).display_name != "Hijacked"
    assert Profile.objects.get(user=user).display_name == "Hijacked"


def test_signed_out_visitors_are_sent_to_sign_in_and_change_nothing():
    response = Client(REMOTE_ADDR=new_ip()).post(
        reverse("creators:edit_profile"), {"display_name": "Anyone", "bio": "", "language": "en"}
    )

    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert not Profile.objects.filter(display_name="Anyone").exists()


def test_the_api_refuses_fields_beyond_the_profile_and_changes_nothing():
    user = UserFactory()
    before = _user_row(user)
    client = Client(REMOTE_ADDR=new_ip())
    client.force_login(user)

    response = client.patch(reverse("api:me"), {"display_name": "Via API", **SMUGGLED}, content_type="application/json")

    assert response.status_code == 400
    assert "is_staff" in response.json()["message"] or "is_staff" in str(response.json().get("errors"))
    assert _user_row(user) == before
    assert Profile.objects.get(user=user).display_name != "Via API"
