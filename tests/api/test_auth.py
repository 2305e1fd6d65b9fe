import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from creators.models import ApiToken
from creators.tokens import issue_api_token
from feed.models import Post
from tests.factories import UserFactory

from .test_posts import error_of

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_a_token_from_username_and_password_lets_a_client_post(anon):
    UserFactory(username="carol")
    response = anon.post("/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    created = client.post("/api/v1/posts/", {"body": "gm", "content_type": "chat"}, format="json")
    assert created.status_code == 201
    assert Post.objects.get().author.username == "carol"


def test_each_login_gets_its_own_token_and_only_its_hash_is_stored(anon):
    UserFactory(username="carol")
    first = anon.post("/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json").json()
    second = anon.post("/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json").json()
    assert first["token"] != second["token"]
    assert first["token"].startswith(first["prefix"])
    stored = ApiToken.objects.values_list("key_hash", flat=True)
    assert ApiToken.objects.count() == 2
    assert not any(key in stored for key in (first["token"], second["token"]))


def test_a_wrong_password_gets_no_token(anon):
    UserFactory(username="carol")
    response = anon.post("/api/v1/auth/token/", {"username": "carol", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert "do not match" in error_of(response)["message"]
    assert not ApiToken.objects.exists()


def test_missing_fields_are_named(anon):
    response = anon.post("/api/v1/auth/token/", {"username": "carol"}, format="json")
    assert response.status_code == 400
    assert "password" in error_of(response)["errors"]


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_account_out_even_with_the_right_password(anon):
    UserFactory(username="carol")
    for _attempt in range(3):
        anon.post("/api/v1/auth/token/", {"username": "carol", "password": "guess"}, format="json")
    response = anon.post("/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert "Too many failed logins" in error_of(response)["message"]
    assert int(response["Retry-After"]) > 0
    assert not ApiToken.objects.exists()


def test_logging_out_revokes_the_token_in_use_only(alice):
    client = APIClient()
    token, key = issue_api_token(user=alice, name="phone")
    _other, other_key = issue_api_token(user=alice, name="laptop")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete("/api/v1/auth/token/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert "Invalid token" in error_of(response)["message"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {other_key}")
    assert client.get("/api/v1/me/").status_code == 200


def test_logging_out_needs_a_login(anon):
    response = anon.delete("/api/v1/auth/token/")
    assert response.status_code == 401
    error_of(response)


def test_a_browser_session_works_but_writes_need_the_csrf_token(alice):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get("/api/v1/me/").json()["username"] == "alice"
    response = browser.post("/api/v1/posts/", {"body": "gm", "content_type": "chat"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
    assert not Post.objects.exists()


def test_a_garbage_token_is_refused(anon):
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anon.get("/api/v1/posts/")
    assert response.status_code == 401
    error_of(response)


def test_token_logins_failures_and_logouts_are_in_the_security_log(anon, caplog):
    UserFactory(username="carol")
    with caplog.at_level("INFO", logger="orbit.security"):
        anon.post("/api/v1/auth/token/", {"username": "carol", "password": "nope"}, format="json")
        token = anon.post("/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json")
        anon.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
        anon.delete("/api/v1/auth/token/")
    lines = [record.getMessage() for record in caplog.records if record.name == "orbit.security"]
    assert [line.split()[0] for line in lines] == ["login_failed", "login", "logout"]
    assert all("carol" in line and "ip=127.0.0.1" in line for line in lines)
    assert not any("nope" in line or PASSWORD in line for line in lines)
