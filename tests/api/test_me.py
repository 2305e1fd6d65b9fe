import pytest

from creators.models import Profile, User

from .conftest import png_bytes, upload
from .test_posts import error_of

pytestmark = pytest.mark.django_db


def test_reading_your_account(as_alice):
    body = as_alice.get("/api/v1/me/").json()
    assert body["username"] == "alice"
    assert body["is_staff"] is False
    assert body["is_suspended"] is False


def test_anonymous_has_no_account(anon):
    assert anon.get("/api/v1/me/").status_code == 401
    assert anon.patch("/api/v1/me/", {"bio": "x"}, format="json").status_code == 401


def test_changing_name_bio_and_language(alice, as_alice):
    response = as_alice.patch(
        "/api/v1/me/", {"display_name": "Alice 🚀", "bio": "Swing trader.", "language": "zh-hans"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Alice 🚀"
    profile = Profile.objects.get(user=alice)
    assert (profile.display_name, profile.bio, profile.language) == ("Alice 🚀", "Swing trader.", "zh-hans")


@pytest.mark.parametrize(
    "payload",
    [
        {"is_staff": True},
        {"is_superuser": True},
        {"suspended_at": None},
        {"username": "admin"},
        {"bio": "sneaky", "is_staff": True},
    ],
)
def test_protected_fields_are_refused_and_nothing_changes(alice, as_alice, payload):
    response = as_alice.patch("/api/v1/me/", payload, format="json")
    assert response.status_code == 400
    body = error_of(response)
    assert "cannot be changed" in body["message"]
    alice.refresh_from_db()
    assert (alice.username, alice.is_staff, alice.is_superuser) == ("alice", False, False)
    assert Profile.objects.get(user=alice).bio == ""


def test_a_suspended_user_cannot_be_unsuspended_through_the_api(alice, as_alice):
    User.objects.filter(pk=alice.pk).update(suspended_at="2026-01-01T00:00:00Z")
    response = as_alice.patch("/api/v1/me/", {"suspended_at": None}, format="json")
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.suspended_at is not None


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"display_name": "x" * 51}, "display_name"), ({"bio": "x" * 501}, "bio"), ({"language": "fr"}, "language")],
)
def test_bad_profile_values_are_refused(alice, as_alice, payload, field):
    response = as_alice.patch("/api/v1/me/", payload, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["errors"]
    assert Profile.objects.get(user=alice).display_name == "Alice"


def test_uploading_an_avatar(alice, as_alice):
    response = as_alice.patch("/api/v1/me/", {"avatar": upload("me.png", png_bytes())}, format="multipart")
    assert response.status_code == 200
    assert response.json()["avatar_url"].startswith("http://testserver/media/avatars/")
    assert Profile.objects.get(user=alice).avatar


def test_an_avatar_that_is_not_an_image_is_refused(alice, as_alice):
    response = as_alice.patch("/api/v1/me/", {"avatar": upload("me.png", b"GIF89a but not really")}, format="multipart")
    assert response.status_code == 400
    assert "not an image" in error_of(response)["message"]
    assert not Profile.objects.get(user=alice).avatar


def test_an_oversized_avatar_is_refused(alice, as_alice, settings):
    settings.ORBIT_MAX_IMAGE_BYTES = 1024 * 1024
    big = upload("big.png", png_bytes() + b"\0" * (1024 * 1024 + 1))
    response = as_alice.patch("/api/v1/me/", {"avatar": big}, format="multipart")
    assert response.status_code == 400
    assert "larger than" in error_of(response)["message"]
    assert not Profile.objects.get(user=alice).avatar


def test_markup_in_names_and_bios_comes_back_as_inert_json_text(alice, as_alice, anon):
    payload = {"display_name": "<script>alert(1)</script>", "bio": '<img src=x onerror="alert(1)">'}
    assert as_alice.patch("/api/v1/me/", payload, format="json").status_code == 200
    response = anon.get("/api/v1/users/alice/")
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    # JSON carries the text as written; the client escapes it, and no API field is HTML but body_html.
    assert response.json()["display_name"] == "<script>alert(1)</script>"
