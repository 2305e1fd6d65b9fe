import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from markets.models import Asset
from tests.factories import UserFactory


@pytest.fixture
def btc(db):
    return Asset.objects.create(symbol="BTC", name="Bitcoin")


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def png_upload(name="chart.png", size=(8, 8)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (240, 185, 11)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


HTMX = {"HX-Request": "true"}
