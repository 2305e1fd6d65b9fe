"""Fixtures for the feed tests; the fake OKX server is importable from other folders too."""

import pytest

from feed.models import Asset
from tests.feed.okx_fake import okx_server  # noqa: F401


@pytest.fixture
def btc(db):
    return Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})[0]


@pytest.fixture
def eth(db):
    return Asset.objects.get_or_create(symbol="ETH", defaults={"name": "Ether"})[0]
