"""Celery queues by workload (DESIGN.md, "Celery queues"): each group of queues has its own worker
process, so no workload can delay another; health and settlement never wait behind feeds.

Every queue name carries CELERY_QUEUE_PREFIX, so that a test run (or a bench) and a running Orbit
on the same Redis never consume each other's tasks.

See docs/architecture.md#celery-queues.
"""

from __future__ import annotations

HEALTH = "health"
SETTLEMENT = "settlement"
# The engagement fold (incentives/folding.py), every 30 s: never behind a long draft or payouts.
FOLDING = "folding"
FEEDS = "feeds"
TAGGING = "tagging"
MARKET = "market"
DEFAULT = "default"
QUEUES = (HEALTH, SETTLEMENT, FOLDING, FEEDS, TAGGING, MARKET, DEFAULT)

# How long a message may wait in each queue before /healthz calls the queue down (seconds;
# ORBIT_QUEUE_MAX_WAIT overrides). Bursty queues (feeds, tagging) may lag; health may not.
MAX_WAIT_SECONDS = {HEALTH: 60, SETTLEMENT: 300, FOLDING: 120, FEEDS: 900, TAGGING: 600, MARKET: 300, DEFAULT: 600}

# Pipelines that must keep up with what users write: how far behind each may fall before /healthz
# calls it down (seconds; ORBIT_PIPELINE_MAX_LAG overrides). The fold runs every 30 s: six
# missed runs is an outage, not a slow minute.
ENGAGEMENT_FOLDING = "engagement_folding"
PIPELINE_MAX_LAG_SECONDS = {ENGAGEMENT_FOLDING: 180}

# Task name -> queue. A task not named here goes to DEFAULT; tests/test_queues.py insists every task is named.
TASK_QUEUES = {
    "orbit.tasks.record_worker_heartbeat": HEALTH,
    "incentives.tasks.draft_finished_week": SETTLEMENT,
    "incentives.tasks.draft_week": SETTLEMENT,
    "incentives.tasks.pay_settlement": SETTLEMENT,
    "incentives.tasks.estimate_current_week": SETTLEMENT,
    "incentives.tasks.send_payout_transfer": SETTLEMENT,
    "incentives.tasks.sweep_payout_transfers": SETTLEMENT,
    "incentives.tasks.reconcile_transfers": SETTLEMENT,
    "incentives.tasks.send_tip": SETTLEMENT,
    "incentives.tasks.fold_engagement": FOLDING,
    "ranking.tasks.build_for_you": FEEDS,
    "ranking.tasks.build_for_you_batch": FEEDS,
    "ranking.tasks.refresh_active_feeds": FEEDS,
    "ranking.tasks.rebuild_active_feeds": FEEDS,
    "ranking.tasks.refresh_trending": FEEDS,
    "ranking.tasks.roll_up_content_mix": FEEDS,
    "ranking.tasks.tag_post": TAGGING,
    "ranking.tasks.tag_untagged": TAGGING,
    "ranking.tasks.retrain_tagger": TAGGING,
    "ranking.tasks.retrain_ranker": TAGGING,
    "feed.tasks.poll_market_data": MARKET,
    "feed.tasks.grade_due_calls": MARKET,
    "feed.tasks.ensure_engagement_partitions": DEFAULT,
    "ranking.tasks.rebalance_content_type_weights": DEFAULT,
    "ranking.tasks.store_impressions": DEFAULT,
    "ranking.tasks.purge_impressions": DEFAULT,
    "creators.tasks.refresh_creator_titles": DEFAULT,
    "markets.tasks.refresh_trading_profiles": DEFAULT,
}

# The worker processes (Procfile, docker-compose.yml): each consumes one group, so a backlog in one
# group never delays another. Tagging, market and default share one worker: each is light or rare.
WORKER_GROUPS = {
    "health": (HEALTH,),
    "settlement": (SETTLEMENT,),
    "folding": (FOLDING,),
    "feeds": (FEEDS,),
    "work": (TAGGING, MARKET, DEFAULT),
}


def queue_name(queue: str, *, prefix: str) -> str:
    """The broker's name of `queue` for this deployment or test run."""
    return f"{prefix}{queue}"


def task_routes(*, prefix: str) -> dict[str, dict[str, str]]:
    """CELERY_TASK_ROUTES for this prefix."""
    return {task: {"queue": queue_name(queue, prefix=prefix)} for task, queue in TASK_QUEUES.items()}
