"""Celery tasks of ranking: thin, idempotent, ids in and counts out; the work is in the modules."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.core.cache import cache

from creators.models import Follow
from feed.models import Post
from orbit.singleflight import SingleFlightTask

from . import content_mix, feeds, impressions, services, teaching, trending
from . import weights as content_weights

logger = logging.getLogger(__name__)

# A list build takes 2-2.4 s per user on production's data (100-user batches ran 200-240 s) and
# 60-75 ms (p99 about 210 ms) on bench/feed.py's smoke data: ten users finish well inside a
# minute there, and the time box holds a batch to about BATCH_SECONDS should builds grow slower.
BUILD_CHUNK = 10
BATCH_SECONDS = 20
WATERMARK_KEY = "ranking:engagement-watermark"


@shared_task(name="ranking.tasks.tag_post")
def tag_post(post_id: int) -> int:
    """Tag a new or edited post, then put it at the top of its author's followers' ready lists."""
    from .tagging import TaggerUnavailable

    try:
        tagged = services.tag_posts(post_ids=[post_id])
    except TaggerUnavailable as exc:
        # Not a retryable failure: until an operator trains a tagger, posts rank untagged
        # (with their author's content type) and `retag` catches up later.
        logger.warning("Post %s left untagged: %s", post_id, exc)
        return 0
    post = Post.objects.filter(pk=post_id, status=Post.Status.PUBLISHED).select_related("author").first()
    if tagged and post is not None:
        followers = list(Follow.objects.filter(followee_id=post.author_id).values_list("follower_id", flat=True))
        feeds.push_to_followers(
            post_id=post.pk, author_id=post.author_id, username=post.author.username, follower_ids=followers
        )
    return tagged


@shared_task(name="ranking.tasks.tag_untagged", base=SingleFlightTask)
def tag_untagged() -> int:
    """Sweep for posts whose tagging was never queued (broker down at publish time)."""
    from .tagging import TaggerUnavailable

    try:
        return services.tag_untagged(limit=5_000)
    except TaggerUnavailable as exc:
        logger.warning("Untagged posts wait: %s", exc)
        return 0


@shared_task(name="ranking.tasks.build_for_you")
def build_for_you(user_id: int) -> int:
    return feeds.build_for_you(user_id=user_id)


@shared_task(name="ranking.tasks.build_for_you_batch")
def build_for_you_batch(user_ids: list[int]) -> int:
    """Builds lists until BATCH_SECONDS have passed, then queues the rest behind the feeds queue's
    other work: a batch never holds a feeds worker for minutes, whatever a build costs today."""
    deadline = time.monotonic() + BATCH_SECONDS
    for built, user_id in enumerate(user_ids):
        if built and time.monotonic() > deadline:  # at least one per batch, or no batch makes progress
            build_for_you_batch.delay(user_ids[built:])
            return built
        feeds.build_for_you(user_id=user_id)
    return len(user_ids)


def _fan_out(user_ids: list[int]) -> int:
    """Queue builds for those of these users not already queued; returns how many were queued."""
    queued = feeds.mark_queued(user_ids=user_ids)
    for start in range(0, len(queued), BUILD_CHUNK):
        build_for_you_batch.delay(queued[start : start + BUILD_CHUNK])
    return len(queued)


@shared_task(name="ranking.tasks.refresh_active_feeds", base=SingleFlightTask)
def refresh_active_feeds() -> int:
    """Rebuild the lists of active users that are stale or whose owners engaged since last time."""
    watermark = cache.get(WATERMARK_KEY)  # None on the first run: only age decides then
    due, newest = feeds.users_due_for_rebuild(user_ids=feeds.active_user_ids(), engaged_since_id=watermark)
    cache.set(WATERMARK_KEY, newest, None)
    return _fan_out(due)


@shared_task(name="ranking.tasks.rebuild_active_feeds", base=SingleFlightTask)
def rebuild_active_feeds() -> int:
    """Every active user's list, now: operators changed the weights."""
    return _fan_out(feeds.active_user_ids())


@shared_task(name="ranking.tasks.refresh_trending", base=SingleFlightTask)
def refresh_trending() -> int:
    return trending.refresh_trending()


@shared_task(name="ranking.tasks.roll_up_content_mix", base=SingleFlightTask)
def roll_up_content_mix() -> int:
    """Today's and yesterday's supply and For You exposure per content type (the dashboard's mix)."""
    return content_mix.roll_up_content_mix()


@shared_task(name="ranking.tasks.store_impressions", base=SingleFlightTask)
def store_impressions() -> int:
    """For You impressions queued in Redis by the pages, into Postgres."""
    return impressions.store_queued(client=feeds.redis_client())


@shared_task(name="ranking.tasks.purge_impressions", base=SingleFlightTask)
def purge_impressions() -> int:
    return impressions.purge_old()


@shared_task(name="ranking.tasks.retrain_ranker", base=SingleFlightTask)
def retrain_ranker(seed: int = 0) -> dict:
    """Train a For You ranker on the impression log; activated only if it beats the active one."""
    from . import training  # scikit-learn: loaded by the worker that trains, never by web processes

    retraining = training.retrain(seed=seed)
    return {"version": retraining.model.version, "promoted": retraining.promoted, "reason": retraining.reason}


@shared_task(name="ranking.tasks.rebalance_content_type_weights", base=SingleFlightTask)
def rebalance_content_type_weights() -> int:
    # Yesterday's exposure complete first: under the learned ranker the rebalance steers by it.
    content_mix.roll_up_content_mix()
    return len(content_weights.rebalance_content_type_weights())


@shared_task(name="ranking.tasks.retrain_tagger", base=SingleFlightTask)
def retrain_tagger(seed: int = 0) -> dict:
    """Retrain from operators' corrections and authors' choices, behind the promotion gate. Started
    from admin; single-flight, so a second click while one runs queues nothing."""
    retraining = teaching.retrain(seed=seed)
    return {
        "version": retraining.model.version,
        "promoted": retraining.promoted,
        "reasons": retraining.reasons,
        "corrections": retraining.corrections,
        "author_choices": retraining.author_choices,
    }
