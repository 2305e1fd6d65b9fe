"""Fixtures for the markets tests; the feed tests import them too (cards and calls need assets and prices)."""

import pytest

from markets.models import Asset
from tests.markets.okx_fake import okx_server  # noqa: F401


@pytest.fixture
def btc(db):
    return Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})[0]


@pytest.fixture
def eth(db):
    return Asset.objects.get_or_create(symbol="ETH", defaults={"name": "Ether"})[0]
