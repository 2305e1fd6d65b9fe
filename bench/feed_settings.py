"""Orbit's own settings, served with the bench's URLs (bench/feed_urls.py); nothing else changes."""

from orbit.settings import *  # noqa: F403

ROOT_URLCONF = "bench.feed_urls"
