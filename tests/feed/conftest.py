"""Fixtures for the feed tests: assets and the fake OKX server come from the markets tests."""

from tests.markets.conftest import btc, eth, okx_server  # noqa: F401
