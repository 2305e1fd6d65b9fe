"""Trending: a time-decayed sum of the last two days' engagement per post.

Each event counts by kind and halves every TRENDING_HALF_LIFE_HOURS, so a post that was hot
yesterday fades even if nobody stops engaging with it. Creators' own engagement never counts.
Signed-out events weigh ANONYMOUS_WEIGHT of a signed-in reader's, and one network (the fingerprint
feed.services.network_fingerprint writes) adds at most one event of each kind to a post.

See docs/ranking.md#serving.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from feed.models import Engagement

Kind = Engagement.Kind

TRENDING_WINDOW_HOURS = 48
TRENDING_HALF_LIFE_HOURS = 6.0
TRENDING_EVENT_WEIGHTS = {
    Kind.VIEW: 1.0,
    Kind.DWELL: 0.5,
    Kind.LIKE: 3.0,
    Kind.COMMENT: 4.0,
    Kind.SHARE: 5.0,
    Kind.SHARE_OPEN: 1.0,
    Kind.TRADE_CLICK: 4.0,
}

# Anyone can send signed-out beacons from rented addresses; a signed-in reader is an account with a
# history. Twenty networks of anonymous readers weigh as much as one signed-in reader.
ANONYMOUS_WEIGHT = 0.05

_WEIGHT_CASE = " ".join(f"WHEN {int(kind)} THEN {weight}" for kind, weight in TRENDING_EVENT_WEIGHTS.items())
_WINDOW = f"""
    e.occurred_at > %(now)s - interval '{TRENDING_WINDOW_HOURS} hours' AND e.occurred_at <= %(now)s
      AND e.post_id IS NOT NULL AND e.kind IN ({", ".join(str(int(kind)) for kind in TRENDING_EVENT_WEIGHTS)})
"""
_SCORES = f"""
    WITH counted AS (
        SELECT e.post_id, e.kind, e.occurred_at, 1.0 AS weight
        FROM feed_engagement e
        WHERE {_WINDOW} AND e.actor_id IS NOT NULL AND e.actor_id <> e.creator_id
      UNION ALL (
        -- Signed out: the latest event per network, kind and post in the window.
        SELECT DISTINCT ON (e.post_id, e.kind, e.fingerprint) e.post_id, e.kind, e.occurred_at, {ANONYMOUS_WEIGHT}
        FROM feed_engagement e
        WHERE {_WINDOW} AND e.actor_id IS NULL
        ORDER BY e.post_id, e.kind, e.fingerprint, e.occurred_at DESC
      )
    )
    SELECT c.post_id, SUM(c.weight * (CASE c.kind {_WEIGHT_CASE} ELSE 0 END)
               * power(0.5, EXTRACT(EPOCH FROM (%(now)s - c.occurred_at)) / {TRENDING_HALF_LIFE_HOURS * 3600})) AS score
    FROM counted c
    GROUP BY c.post_id
"""


def refresh_trending(*, now: datetime | None = None) -> int:
    """Store every tagged post's trending score; posts that went quiet go back to 0. Returns rows set."""
    params = {"now": now or timezone.now()}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE trending_now ON COMMIT DROP AS {_SCORES}", params)
        # Indexed and analyzed: the planner's figure for "trending > 0" comes from the last ANALYZE of
        # the tags and can be far too low; with a plain scan of this table per row, the anti-join
        # below ran for minutes at a million posts (bench/feed.py), with the index in seconds.
        cursor.execute("CREATE UNIQUE INDEX ON trending_now (post_id)")
        cursor.execute("ANALYZE trending_now")
        cursor.execute(
            "UPDATE ranking_posttags t SET trending = 0 WHERE t.trending > 0 "
            "AND NOT EXISTS (SELECT 1 FROM trending_now n WHERE n.post_id = t.post_id)"
        )
        cursor.execute(
            "UPDATE ranking_posttags t SET trending = n.score FROM trending_now n "
            "WHERE t.post_id = n.post_id AND t.trending IS DISTINCT FROM n.score"
        )
        return cursor.rowcount


def trending_as_of(moment: datetime, *, limit: int) -> dict[int, float]:
    """The top `limit` trending posts as they stood at `moment` (offline evaluation)."""
    with connection.cursor() as cursor:
        # Ties broken by id, so the same data gives the same top whatever plan Postgres picks.
        cursor.execute(f"{_SCORES} ORDER BY score DESC, post_id DESC LIMIT %(limit)s", {"now": moment, "limit": limit})
        return {post_id: float(score) for post_id, score in cursor.fetchall()}
