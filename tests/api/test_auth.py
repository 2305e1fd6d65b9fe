import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

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


def test_asking_twice_gives_the_same_token(anon):
    UserFactory(username="carol")
    first = anon.post("/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json")
    second = anon.post("/api/v1/auth/token/", {"username": "carol", "password": PASSWORD}, format="json")
    assert first.json()["token"] == second.json()["token"]


def test_a_wrong_password_gets_no_token(anon):
    UserFactory(username="carol")
    response = anon.post("/api/v1/auth/token/", {"username": "carol", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert "do not match" in error_of(response)["message"]
    assert not Token.objects.exists()


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
    assert not Token.objects.exists()


def test_logging_out_deletes_the_token(alice):
    client = APIClient()
    token = Token.objects.create(user=alice)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert not Token.objects.exists()
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert "Invalid token" in error_of(response)["message"]


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
