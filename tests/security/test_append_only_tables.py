"""The engagement log and the ledger are evidence for payouts: TRUNCATE is refused like UPDATE and
DELETE, for the app's own (non-superuser) role and for a superuser that does not turn triggers off."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from feed.models import Engagement
from incentives import ledger
from incentives.models import LedgerEntry
from tests.factories import PostFactory

APPEND_ONLY = ["feed_engagement", "incentives_ledgerentry"]
APP_ROLE = "orbit_app_probe"  # stands for production's orbit_app: owns nothing, no superuser

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    post = PostFactory()
    Engagement.objects.create(kind=Engagement.Kind.VIEW, post=post, creator=post.author)
    ledger.transfer(source="treasury", destination="carryover", amount=Decimal("5.00"), currency="USDT", memo="t")
    # Run the deferred checks now, as a commit would: TRUNCATE refuses a table with pending ones.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _as_app_role(cursor) -> None:
    """Inside the test's transaction: a role with the rights the app has (and TRUNCATE on top, so
    that only the trigger can stop it), rolled back with the test."""
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
    if cursor.fetchone() is None:
        cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER")
    cursor.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_app_role_cannot_truncate_an_append_only_table(rows, table):
    with transaction.atomic():
        with connection.cursor() as cursor:
            _as_app_role(cursor)
            with pytest.raises(DatabaseError, match="append-only: TRUNCATE is not allowed"), transaction.atomic():
                cursor.execute(f"TRUNCATE {table} CASCADE")
        transaction.set_rollback(True)
    assert Engagement.objects.count() == 1
    assert LedgerEntry.objects.count() == 2


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_a_plain_truncate_is_refused_even_for_a_superuser(rows, table):
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE is not allowed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert Engagement.objects.count() == 1
    assert LedgerEntry.objects.count() == 2


def test_truncating_posts_cannot_empty_the_engagement_log_by_cascade(rows):
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE is not allowed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE feed_post CASCADE")
    assert Engagement.objects.count() == 1
