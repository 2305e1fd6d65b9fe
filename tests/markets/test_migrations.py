"""The exchange's models moved into markets with their tables kept: going back to before the move and
forward again changes no row, and the old state still finds the data under its old app."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import (
    AssetFactory,
    CandleFactory,
    ExchangeEventFactory,
    FillFactory,
    PositionFactory,
    TradingProfileFactory,
)

BEFORE_THE_MOVE = [
    ("creators", "0013_username_skeleton_unique"),
    ("feed", "0012_translatable_admin_labels"),
    ("markets", None),
]
MOVED_TABLES = [
    "feed_asset",
    "feed_candle",
    "creators_tradingprofile",
    "creators_exchangeevent",
    "creators_fill",
    "creators_position",
]
# Columns markets added after the move: going back drops them, so rows are compared without them.
ADDED_AFTER_THE_MOVE = {"creators_tradingprofile": ["kyc_identity", "kyc_identity_changed_at"]}


def _table_digests() -> dict[str, tuple[int, str]]:
    digests = {}
    with connection.cursor() as cursor:
        for table in MOVED_TABLES:
            cursor.execute(
                "SELECT count(*), md5(coalesce(string_agg(r.text, ',' ORDER BY r.text), '')) FROM "  # noqa: S608
                f"(SELECT (to_jsonb(row) - %s::text[])::text AS text FROM {table} row) r",
                [ADDED_AFTER_THE_MOVE.get(table, [])],
            )
            digests[table] = cursor.fetchone()
    return digests


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reversing_and_replaying_the_move_to_markets_keeps_every_row():
    profile = TradingProfileFactory()
    FillFactory(user=profile.user)
    PositionFactory(user=profile.user)
    ExchangeEventFactory()
    CandleFactory()
    AssetFactory()
    before = _table_digests()
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()

    try:
        executor = _migrate(BEFORE_THE_MOVE)
        old_state = executor.loader.project_state([node for node in BEFORE_THE_MOVE if node[1]]).apps
        # Before the move the same rows belong to creators and feed.
        assert old_state.get_model("creators", "Fill").objects.filter(user_id=profile.user_id).count() == 1
        assert old_state.get_model("creators", "TradingProfile").objects.filter(pk=profile.pk).exists()
        assert old_state.get_model("feed", "Candle").objects.count() == before["feed_candle"][0]
        assert _table_digests() == before
    finally:
        executor = _migrate(latest)

    assert _table_digests() == before
    new_state = executor.loader.project_state(latest).apps
    assert new_state.get_model("markets", "Fill").objects.filter(user_id=profile.user_id).count() == 1
    assert new_state.get_model("markets", "Asset").objects.count() == before["feed_asset"][0]
