"""An operator signed in to admin with TOTP, and a drafted week, for the admin and audit tests."""

from datetime import timedelta

import pytest

from feed.models import Engagement
from incentives import settlement
from incentives.weeks import Week
from tests.factories import EngagementFactory, PostFactory, UserFactory
from tests.security.helpers import staff_client

from .world import real_trader

WEEK = Week.parse("2026-W47", "UTC")
AFTER = WEEK.ends_at + timedelta(hours=1)


@pytest.fixture
def operator():
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(operator):
    return staff_client(operator)


@pytest.fixture
def drafted():
    """The draft of WEEK: one post liked by three readers who trade (so the post's author is paid)."""
    post = PostFactory(created_at=WEEK.starts_at + timedelta(hours=1))
    for i, reader in enumerate(real_trader() for _ in range(3)):
        EngagementFactory(
            actor=reader,
            post=post,
            kind=Engagement.Kind.LIKE,
            occurred_at=post.created_at + timedelta(minutes=5 + i * 30),
        )
    return settlement.draft_settlement(week=WEEK, now=AFTER).settlement
