"""GET /api/v1/me/export/ and DELETE /api/v1/me/: your data, and leaving for good."""

import pytest

from creators.models import User
from feed.models import Post
from tests.factories import PostFactory, UserFactory
from tests.security.helpers import PASSWORD, activate_totp

from .conftest import client_for

pytestmark = pytest.mark.django_db


def test_export_is_json_with_your_account_and_posts(alice, as_alice):
    PostFactory(author=alice, body="my only post")
    response = as_alice.get("/api/v1/me/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="orbit-alice-')
    body = response.json()
    assert body["account"]["username"] == "alice" and [p["body"] for p in body["posts"]] == ["my only post"]


def test_export_and_delete_need_an_account(anon):
    assert anon.get("/api/v1/me/export/").status_code == 401
    assert anon.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "password: This field is required."),
        ({"password": ""}, "password: This field may not be blank."),
        ({"password": "guess"}, "That is not your current password."),
    ],
)
def test_delete_without_the_right_password_is_a_400_and_deletes_nothing(alice, as_alice, payload, message):
    response = as_alice.delete("/api/v1/me/", payload, format="json")
    assert response.status_code == 400 and response.json()["message"] == message
    assert User.objects.get(pk=alice.pk).deleted_at is None


def test_delete_with_the_password_erases_and_the_token_stops_working(alice, as_alice):
    PostFactory(author=alice, body="gone soon")
    response = as_alice.delete("/api/v1/me/", {"password": PASSWORD}, format="json")
    assert response.status_code == 204
    tombstone = User.objects.get(pk=alice.pk)
    assert tombstone.deleted_at is not None and tombstone.username.startswith("deleted-")
    assert Post.objects.get(author=alice).body == ""
    assert as_alice.get("/api/v1/me/").status_code == 401
    assert as_alice.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 401


def test_staff_cannot_delete_themselves_through_the_api():
    staff = UserFactory(is_staff=True)
    activate_totp(staff)  # staff tokens need two factors
    response = client_for(staff).delete("/api/v1/me/", {"password": PASSWORD}, format="json")
    assert response.status_code == 403 and "Ask another operator" in response.json()["message"]


def test_the_schema_documents_export_and_delete():
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/v1/schema/?format=json").json()
    delete = schema["paths"]["/api/v1/me/"]["delete"]
    assert "requestBody" in delete and {"204", "400", "403", "429"} <= set(delete["responses"])
    assert "get" in schema["paths"]["/api/v1/me/export/"]
