"""Fixtures for the feed tests; the fake OKX server is importable from other folders too."""

from tests.feed.okx_fake import okx_server  # noqa: F401
