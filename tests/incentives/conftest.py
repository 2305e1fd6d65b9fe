"""An operator signed in to admin with TOTP, and a drafted week, for the admin and audit tests; the
fake exchange confirming by hand, and payout sends run in this process, for the money tests."""

from datetime import timedelta

import pytest

from feed.models import Engagement
from incentives import settlement, tasks, transfers
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


@pytest.fixture
def fake(exchange_server):
    """The fake exchange, confirming only when told (`fake.settle`)."""
    exchange_server.control(confirm="manual")
    return exchange_server


@pytest.fixture
def sends_in_process(monkeypatch):
    """Queued payout sends run at once in this process, as a settlement worker would run them."""
    monkeypatch.setattr(
        transfers,
        "queue_sends",
        lambda transfer_ids: [tasks.send_payout_transfer.apply(args=[transfer_id]) for transfer_id in transfer_ids],
    )
