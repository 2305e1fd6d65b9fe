import pytest

from creators.models import Follow
from feed.models import Comment, Like, Post
from tests.factories import PostFactory, UserFactory

from .conftest import client_for
from .test_posts import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"post": "2/hour", "comment": "2/hour", "react": "3/hour", "follow": "2/hour"},
    }


def test_an_unknown_address_is_a_json_404(anon):
    response = anon.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert "/api/v1/docs/" in error_of(response)["message"]


def test_a_missing_trailing_slash_is_named_and_nothing_is_posted(as_alice):
    response = as_alice.post("/api/v1/posts", {"body": "gm", "content_type": "chat"}, format="json")
    assert response.status_code == 404
    assert "/api/v1/posts/" in error_of(response)["message"]
    assert not Post.objects.exists()


def test_a_wrong_method_is_a_json_405(as_alice):
    response = as_alice.put("/api/v1/posts/", {}, format="json")
    assert response.status_code == 405
    assert "PUT" in error_of(response)["message"]


def test_a_body_that_is_not_json_is_a_400(as_alice):
    response = as_alice.post("/api/v1/posts/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in error_of(response)["message"]


def test_an_unsupported_body_type_is_a_415(as_alice):
    response = as_alice.post("/api/v1/posts/", "body=x", content_type="text/plain")
    assert response.status_code == 415
    error_of(response)


@pytest.mark.parametrize(
    "path", ["/api/v1/users/al%00ice/", "/api/v1/assets/BT%00C/posts/", "/api/v1/search/?q=bit%00coin"]
)
def test_a_nul_character_in_the_address_is_refused(anon, path):
    response = anon.get(path)
    assert response.status_code == 400
    assert "NUL" in error_of(response)["message"]


def test_a_nul_character_in_a_body_is_refused(as_alice):
    response = as_alice.post("/api/v1/posts/", {"body": "a\x00b", "content_type": "chat"}, format="json")
    assert response.status_code == 400
    error_of(response)
    assert not Post.objects.exists()


def test_posting_too_fast_is_a_429_saying_when_to_retry(as_alice, low_rates):
    for n in range(2):
        response = as_alice.post("/api/v1/posts/", {"body": f"take {n}", "content_type": "chat"}, format="json")
        assert response.status_code == 201
    response = as_alice.post("/api/v1/posts/", {"body": "one more", "content_type": "chat"}, format="json")
    assert response.status_code == 429
    body = error_of(response)
    assert "try again in" in body["message"]
    assert 0 < body["retry_after"] <= 3600
    assert response["Retry-After"] == str(body["retry_after"])
    assert Post.objects.count() == 2
    # Reading is never throttled.
    assert as_alice.get("/api/v1/posts/").status_code == 200


def test_budgets_are_per_user_and_per_kind(as_alice, bob, low_rates):
    for n in range(2):
        as_alice.post("/api/v1/posts/", {"body": f"take {n}", "content_type": "chat"}, format="json")
    assert (
        client_for(bob).post("/api/v1/posts/", {"body": "mine", "content_type": "chat"}, format="json").status_code
        == 201
    )
    post = Post.objects.first()
    assert as_alice.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "hi"}, format="json").status_code == 201


def test_commenting_reacting_and_following_are_throttled(as_alice, low_rates):
    post = PostFactory()
    comments = [as_alice.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "hi"}, format="json") for _ in range(3)]
    assert [r.status_code for r in comments] == [201, 201, 429]
    assert Comment.objects.count() == 2
    # like, unlike, like: the fourth reaction is one too many
    reactions = [as_alice.post(f"/api/v1/posts/{post.pk}/like/") for _ in range(3)]
    reactions.append(as_alice.delete(f"/api/v1/posts/{post.pk}/like/"))
    assert [r.status_code for r in reactions] == [200, 200, 200, 429]
    assert Like.objects.count() == 1
    people = UserFactory.create_batch(3)
    follows = [as_alice.post(f"/api/v1/users/{person.username}/follow/") for person in people]
    assert [r.status_code for r in follows] == [200, 200, 429]
    assert Follow.objects.count() == 2


def test_the_schema_is_openapi_and_names_every_endpoint(anon):
    response = anon.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/posts/", "/api/v1/posts/{post_id}/like/", "/api/v1/users/{username}/follow/"):
        assert path in schema["paths"]
    refused = schema["paths"]["/api/v1/posts/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "429"} <= set(refused)


def test_the_docs_page_serves_swagger_from_our_static_files_under_the_site_policy(anon, client):
    docs = anon.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert docs["Content-Security-Policy"] == client.get("/api/v1/posts/")["Content-Security-Policy"]
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content.decode()
    assert "<script>" not in docs.content.decode()  # the init script is a file of our own origin
    script = anon.get("/api/v1/docs/", {"script": ""})
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.urls("tests.api.crashing_urls")
def test_a_bug_is_answered_in_json_and_logged(anon, caplog):
    with caplog.at_level("ERROR", logger="orbit.api"):
        response = anon.get("/api/v1/crash/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in error_of(response)["message"]
    assert "a bug" not in response.content.decode()  # no internals leak to the client
    assert any(record.exc_info and "a bug" in str(record.exc_info[1]) for record in caplog.records)
