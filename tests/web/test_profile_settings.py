"""Profile settings: what the owner may change, the avatar check, and the language that follows the choice."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from creators.models import Profile
from tests.factories import PostFactory, UserFactory

from .conftest import png_upload

pytestmark = pytest.mark.django_db


def test_profile_settings_save_name_bio_and_avatar(alice_client, alice):
    response = alice_client.post(
        reverse("creators:edit_profile"),
        {"display_name": "Alice the Analyst", "bio": "Macro and majors", "language": "en", "avatar": png_upload()},
    )
    assert response.status_code == 302 and response["Location"] == reverse("feed:profile", args=["alice"])
    profile = Profile.objects.get(user=alice)
    assert (profile.display_name, profile.bio) == ("Alice the Analyst", "Macro and majors")
    assert profile.avatar.name.startswith("avatars/")
    page = alice_client.get(response["Location"]).content.decode()
    assert "Alice the Analyst" in page and profile.avatar.url in page


def test_a_user_without_a_profile_row_can_open_and_save_settings(client):
    newcomer = UserFactory(username="newcomer", profile=None)
    client.force_login(newcomer)
    assert client.get(reverse("creators:edit_profile")).status_code == 200
    assert client.get(reverse("feed:profile", args=["newcomer"])).status_code == 200
    client.post(reverse("creators:edit_profile"), {"display_name": "New", "bio": "", "language": "en"})
    assert Profile.objects.get(user=newcomer).display_name == "New"


def test_a_non_image_avatar_is_a_400_and_changes_nothing(alice_client, alice):
    fake = SimpleUploadedFile("me.jpg", b"<svg onload=alert(1)>", content_type="image/jpeg")
    response = alice_client.post(
        reverse("creators:edit_profile"), {"display_name": "Changed", "bio": "", "language": "en", "avatar": fake}
    )
    assert response.status_code == 400
    assert "That file is not an image" in response.content.decode()
    profile = Profile.objects.get(user=alice)
    assert profile.display_name == "Alice" and not profile.avatar


def test_staff_flags_cannot_be_set_through_the_form(alice_client, alice):
    alice_client.post(
        reverse("creators:edit_profile"),
        {"display_name": "A", "bio": "", "language": "en", "is_staff": "on", "is_superuser": "on"},
    )
    alice.refresh_from_db()
    assert not alice.is_staff and not alice.is_superuser


def test_choosing_chinese_switches_the_interface(alice_client, alice):
    response = alice_client.post(
        reverse("creators:edit_profile"), {"display_name": "Alice", "bio": "", "language": "zh-hans"}
    )
    assert response.cookies["django_language"].value == "zh-hans"
    page = alice_client.get(response["Location"]).content.decode()
    assert "个人资料已保存。" in page  # the confirmation is already in the new language
    assert 'lang="zh-hans"' in page and "粉丝" in page
    assert Profile.objects.get(user=alice).language == "zh-hans"


def test_names_and_bios_are_shown_as_text(client, alice):
    alice.profile.display_name = '<script>alert("n")</script>'
    alice.profile.bio = "<img src=x onerror=alert(1)>"
    alice.profile.save()
    PostFactory(author=alice)
    for url in (reverse("feed:profile", args=["alice"]), reverse("feed:latest")):
        page = client.get(url).content.decode()
        assert '<script>alert("n")</script>' not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;" in page
