import io

import pytest
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from creators.models import ApiToken
from creators.tokens import issue_api_token
from markets.models import Asset
from tests.factories import UserFactory


def client_for(user) -> APIClient:
    """An API client that authenticates as `user` with a token, as a mobile app would."""
    client = APIClient()
    token, key = issue_api_token(user=user, name="tests")
    # Marked as just used, so that the first request does not write last_used_at: query-count
    # tests count the queries of one ordinary request.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def alice():
    return UserFactory(username="alice")


@pytest.fixture
def bob():
    return UserFactory(username="bob")


@pytest.fixture
def as_alice(alice):
    return client_for(alice)


@pytest.fixture
def as_bob(bob):
    return client_for(bob)


@pytest.fixture
def btc():
    return Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})[0]


def png_bytes(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "orange").save(buffer, format="PNG")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)
