"""Uploads are decoded and re-encoded, never trusted: hostile files built here go through the real
compose page, profile page and API, and come out as plain images under random names, served with
headers that keep them inert; decompression bombs are a clear 400; media work without DEBUG, from
the filesystem and from an S3 API (moto's server on localhost)."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from creators.models import Profile
from feed.models import PostImage
from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.hostile_images import (
    CAMERA,
    SCRIPT,
    gif_claiming,
    gif_js_polyglot,
    gif_with_html,
    jpeg_with_gps,
    png_bomb,
    png_bytes,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
RANDOM_NAME = r"[A-Za-z0-9_-]{22}"
MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "public, max-age=31536000, immutable",
}


@pytest.fixture(scope="module")
def bomb():
    return png_bomb()  # about 1.5 s to build: once for the module


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def _compose(client, *files: tuple[str, bytes], content_type: str = "image/png"):
    images = [SimpleUploadedFile(name, data, content_type=content_type) for name, data in files]
    return client.post(reverse("feed:compose"), {"body": "Chart of the day", "content_type": "chat", "images": images})


def _stored_bytes(field) -> bytes:
    with field.storage.open(field.name) as stored:
        return stored.read()


def _assert_served_inert(client, url: str, content_type: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == content_type
    for header, value in MEDIA_HEADERS.items():
        assert response[header] == value, header
    return b"".join(response.streaming_content)


# --- Script carriers come out as plain images under random names ------------------------------------


def test_a_gif_with_html_appended_named_evil_html_is_stored_as_a_re_encoded_gif_under_a_random_name(alice_client):
    response = _compose(alice_client, ("evil.html", gif_with_html()), content_type="text/html")
    assert response.status_code == 302, response.content.decode()[:500]
    image = PostImage.objects.get()
    assert re.fullmatch(rf"posts/\d{{4}}/\d{{2}}/{RANDOM_NAME}\.gif", image.image.name), image.image.name
    stored = _stored_bytes(image.image)
    assert b"<script" not in stored and b"<html" not in stored
    assert Image.open(io.BytesIO(stored)).format == "GIF"
    served = _assert_served_inert(alice_client, image.image.url, "image/gif")
    assert served == stored


def test_a_gif_js_polyglot_named_evil_js_through_the_api_comes_back_as_a_gif_without_the_script(alice):
    polyglot = gif_js_polyglot()
    assert Image.open(io.BytesIO(polyglot)).format == "GIF" and SCRIPT.encode() in polyglot
    response = client_for(alice).post(
        "/api/v1/posts/",
        {
            "body": "gif",
            "content_type": "chat",
            "images": [SimpleUploadedFile("evil.js", polyglot, content_type="text/javascript")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    image = PostImage.objects.get()
    for name in (image.image.name, image.thumbnail.name):
        assert re.fullmatch(rf"posts/(thumbs/)?\d{{4}}/\d{{2}}/{RANDOM_NAME}\.gif", name), name
    stored = _stored_bytes(image.image)
    assert not stored.startswith(b"GIF89a=") and b"document.title" not in stored and b"/*" not in stored[:16]
    details = response.json()["image_details"][0]
    assert details["url"] == f"http://testserver{image.image.url}"
    assert (details["width"], details["height"]) == (2048, 2038)  # 2365×2353, downscaled
    _assert_served_inert(client_for(alice), image.image.url, "image/gif")


def test_an_avatar_named_html_is_re_encoded_and_the_replaced_avatar_file_is_deleted(alice_client, alice):
    edit = reverse("creators:edit_profile")
    fields = {"display_name": "Alice", "bio": "", "language": "en"}
    first = alice_client.post(edit, {**fields, "avatar": SimpleUploadedFile("me.png", png_bytes(size=(900, 600)))})
    assert first.status_code == 302
    old_name = Profile.objects.get(user=alice).avatar.name
    second = alice_client.post(
        edit, {**fields, "avatar": SimpleUploadedFile("evil.html", gif_with_html(), content_type="text/html")}
    )
    assert second.status_code == 302, second.content.decode()[:500]
    avatar = Profile.objects.get(user=alice).avatar
    assert re.fullmatch(rf"avatars/\d{{4}}/\d{{2}}/{RANDOM_NAME}\.gif", avatar.name), avatar.name
    assert b"<script" not in _stored_bytes(avatar)
    assert not default_storage.exists(old_name)
    _assert_served_inert(alice_client, avatar.url, "image/gif")


# --- Decompression bombs are a clear 400 ------------------------------------------------------------


def test_a_48_kb_png_of_20000_by_20000_pixels_is_a_clear_400_on_the_compose_page_and_in_the_api(
    alice_client, alice, bomb
):
    assert len(bomb) < 60_000
    response = _compose(alice_client, ("bomb.png", bomb))
    assert response.status_code == 400
    assert "bomb.png is too large an image: Orbit takes at most 10000 pixels a side" in response.content.decode()

    response = client_for(alice).post(
        "/api/v1/posts/",
        {"body": "x", "content_type": "chat", "images": [SimpleUploadedFile("bomb.png", bomb)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["images"] == [
        "bomb.png is too large an image: Orbit takes at most 10000 pixels a side and 40 megapixels in all. "
        "Make it smaller and try again."
    ]
    assert not PostImage.objects.exists()


def test_a_gif_claiming_65535_by_65535_pixels_as_an_avatar_is_a_clear_400_on_the_page_and_in_the_api(
    alice_client, alice
):
    claimed = gif_claiming(65_535, 65_535)
    assert len(claimed) < 200
    response = alice_client.post(
        reverse("creators:edit_profile"),
        {"display_name": "Alice", "bio": "", "language": "en", "avatar": SimpleUploadedFile("huge.gif", claimed)},
    )
    assert response.status_code == 400
    assert "That file is too large an image" in response.content.decode()

    response = client_for(alice).patch(
        "/api/v1/me/", {"avatar": SimpleUploadedFile("huge.gif", claimed)}, format="multipart"
    )
    assert response.status_code == 400
    assert "too large an image" in response.json()["message"]
    assert not Profile.objects.get(user=alice).avatar


def test_a_canvas_over_the_side_limit_is_refused_before_it_is_decoded(alice_client):
    # 12000×10 is only 120,000 pixels: Pillow's own pixel check would let it through.
    response = _compose(alice_client, ("strip.gif", gif_claiming(12_000, 10)), content_type="image/gif")
    assert response.status_code == 400
    assert "strip.gif is too large an image" in response.content.decode()


# --- What is kept: pixels only, downscaled, with a thumbnail ------------------------------------------


def test_a_photo_loses_its_exif_and_gps_and_is_turned_upright(alice):
    photo = jpeg_with_gps(size=(240, 160))
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the upload does carry GPS
    holiday = SimpleUploadedFile("holiday.jpg", photo, content_type="image/jpeg")
    response = client_for(alice).patch("/api/v1/me/", {"avatar": holiday}, format="multipart")
    assert response.status_code == 200, response.json()
    avatar = Profile.objects.get(user=alice).avatar
    assert avatar.name.endswith(".jpg")
    stored = _stored_bytes(avatar)
    assert CAMERA.encode() not in stored and b"Exif" not in stored
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif()
    assert image.size == (160, 240)  # orientation 6 applied to the pixels, as the camera meant


def test_a_large_image_is_stored_at_display_size_with_a_thumbnail_that_lists_show(alice_client):
    response = _compose(alice_client, ("wide.png", png_bytes(size=(4000, 1000))))
    assert response.status_code == 302
    image = PostImage.objects.get()
    assert (image.width, image.height) == (2048, 512)
    assert Image.open(io.BytesIO(_stored_bytes(image.image))).size == (2048, 512)
    assert Image.open(io.BytesIO(_stored_bytes(image.thumbnail))).size == (640, 160)

    latest = alice_client.get(reverse("feed:latest")).content.decode()
    assert f'src="{image.thumbnail.url}" width="2048" height="512"' in latest
    assert image.image.url not in latest
    post_page = alice_client.get(response["Location"]).content.decode()
    assert f'src="{image.image.url}" width="2048" height="512"' in post_page


# --- Serving ---------------------------------------------------------------------------------------


def test_media_are_served_without_debug_but_only_images_inside_the_media_root(client, settings):
    assert settings.DEBUG is False  # as in production: pytest-django turns DEBUG off
    name = default_storage.save("posts/served.png", ContentFile(png_bytes()))
    _assert_served_inert(client, f"/media/{name}", "image/png")

    default_storage.save("posts/page.html", ContentFile(b"<script>alert(1)</script>"))
    outside = Path(settings.MEDIA_ROOT).parent / "outside-media.png"
    outside.write_bytes(png_bytes())
    try:
        for path in ("posts/page.html", "..%2Foutside-media.png", "posts/..%2F..%2Foutside-media.png", "posts/no.png"):
            response = client.get(f"/media/{path}")
            assert response.status_code == 404, path
            assert response.get("Content-Type", "").startswith("text/html")  # Orbit's 404 page, not the file
    finally:
        outside.unlink()


@pytest.fixture
def s3_media(settings):
    """Media in a real S3 API: moto's server on a free localhost port, a fresh bucket."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "orbit-test", "aws_secret_access_key": "orbit-test-secret"}
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    s3.create_bucket(Bucket="orbit-media")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "orbit.media_storage.S3MediaStorage",
            "OPTIONS": {
                "bucket_name": "orbit-media",
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": credentials["aws_access_key_id"],
                "secret_key": credentials["aws_secret_access_key"],
                "addressing_style": "path",
                "default_acl": None,
                "querystring_auth": False,
                "file_overwrite": False,
            },
        },
    }
    yield s3
    server.stop()


def test_with_s3_storage_uploads_land_in_the_bucket_typed_and_are_served_through_media(alice, s3_media):
    response = client_for(alice).post(
        "/api/v1/posts/",
        {"body": "x", "content_type": "chat", "images": [SimpleUploadedFile("evil.js", gif_js_polyglot())]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    image = PostImage.objects.get()
    for name in (image.image.name, image.thumbnail.name):
        stored = s3_media.get_object(Bucket="orbit-media", Key=name)
        assert stored["ContentType"] == "image/gif"
        assert stored["CacheControl"] == MEDIA_HEADERS["Cache-Control"]
        assert SCRIPT.encode() not in stored["Body"].read()
    assert response.json()["images"] == [f"http://testserver/media/{image.image.name}"]
    served = _assert_served_inert(client_for(alice), image.image.url, "image/gif")
    assert Image.open(io.BytesIO(served)).format == "GIF"
    assert client_for(alice).get("/media/posts/missing.gif").status_code == 404


def _manage(*args, **environ):
    env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "DEBUG"}}
    env.update(environ, DEBUG="1")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_media_storage_s3_selects_the_object_store_and_an_unknown_storage_is_refused():
    show = "from django.core.files.storage import default_storage as s; print(s.bucket_name, type(s._wrapped).__name__)"
    result = _manage("shell", "-c", show, MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="orbit-media")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["orbit-media", "S3MediaStorage"]

    result = _manage("check", MEDIA_STORAGE="ftp")
    assert result.returncode != 0
    assert "MEDIA_STORAGE must be 'filesystem' or 's3', not 'ftp'" in result.stderr
