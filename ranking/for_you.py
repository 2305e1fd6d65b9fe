"""Serving For You pages: read the user's ready list from Redis (ranking/feeds.py builds it), or rank
a page from Postgres when Redis is down or the list is missing, queueing a build meanwhile.

A page is a ZREVRANGEBYSCORE below the cursor's score; the fallback ranks the bounded candidate set
with the stored interest profile and never fails.

See docs/ranking.md#serving.
"""

from __future__ import annotations

import base64
import binascii
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from orbit.resilience import cache_outage, enqueue

from . import cards, content_mix, feeds, impressions, scoring, tasks, weights
from .feeds import FALLBACK_CANDIDATE_SHARE, OVERFETCH
from .scoring import Reason

logger = logging.getLogger(__name__)


@dataclass
class Cursor:
    """Where the next page starts: below `score` in a Redis list, or after `offset` items."""

    score: float | None
    offset: int

    def encode(self) -> str:
        raw = f"{'' if self.score is None else repr(self.score)}|{self.offset}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str | None) -> Cursor:
        if not cursor:
            return cls(score=None, offset=0)
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            score, offset = raw.split("|")
            parsed = cls(score=float(score) if score else None, offset=int(offset))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            parsed = None
        if parsed is None or parsed.offset < 0 or parsed.offset > settings.ORBIT_FOR_YOU_LIST_LENGTH:
            raise ValidationError({"cursor": _("That page link is broken; start again from the first page.")})
        return parsed


@dataclass
class ForYouPage:
    items: list  # Post cards, each with .why (Reason)
    next_cursor: str | None
    source: str  # "redis" or "fallback": for logs and the benchmark, not shown to users


def for_you_page(*, user, cursor: str | None = None, size: int | None = None, renderer=None) -> ForYouPage:
    """A page of the user's For You list, each item with its reason. Items are Post rows for the
    browser, or the API's JSON cards with `renderer=cards.CachedCards(...)`."""
    size = size or settings.ORBIT_FOR_YOU_PAGE_SIZE
    renderer = renderer or cards.PostObjects(user=user)
    position = Cursor.decode(cursor)
    if cache_outage.skipping():
        return _page_from_postgres(user=user, position=position, size=size, renderer=renderer, client=None)
    try:
        page = _page_from_redis(user=user, position=position, size=size, renderer=renderer)
    except redis.RedisError as exc:
        cache_outage.failed(exc)  # logged once per outage, not per page
        return _page_from_postgres(user=user, position=position, size=size, renderer=renderer, client=None)
    if page is None:
        _queue_build(user.pk)
        return _page_from_postgres(
            user=user, position=position, size=size, renderer=renderer, client=feeds.redis_client()
        )
    return page


def _page_from_redis(*, user, position: Cursor, size: int, renderer) -> ForYouPage | None:
    client = feeds.redis_client()
    key = feeds.list_key(user.pk)
    below = f"({position.score!r}" if position.score is not None else "+inf"
    pipe = client.pipeline(transaction=False)
    pipe.zrevrangebyscore(key, below, "-inf", start=0, num=size + OVERFETCH, withscores=True)
    pipe.hmget(feeds.list_key(user.pk, ":meta"), ["weights", "model", "explore_share", "built_at"])
    entries, (built_with, model_version, explore_share, built_at) = pipe.execute()
    if not entries and position.score is None:
        return None  # no list yet (or it expired)
    if built_with is not None and int(built_with) != weights.weights_version():
        _queue_build(user.pk)  # built before the operators' latest change; serve it meanwhile
    ids = [int(member) for member, _score in entries]
    logged = impressions.is_sampled(user.pk)
    reasons, log = [], []
    if ids:
        pipe = client.pipeline(transaction=False)
        pipe.hmget(feeds.list_key(user.pk, ":why"), ids)
        if logged:
            pipe.hmget(feeds.list_key(user.pk, ":log"), ids)
        reasons, *log = pipe.execute()
    why = {pk: Reason.decode(raw.decode()) for pk, raw in zip(ids, reasons, strict=True) if raw}
    visible = renderer.visible(ids, client)
    items, last_score = [], None
    for pk, score in zip(ids, (score for _member, score in entries), strict=True):
        last_score = score
        if pk in visible:
            items.append(renderer.with_reason(visible[pk], why.get(pk, Reason("latest"))))
            if len(items) == size:
                break
    # More follows when entries remain after the last one used, or the read came back full.
    more = entries and (last_score != entries[-1][1] or len(entries) == size + OVERFETCH)
    next_cursor = Cursor(score=last_score, offset=position.offset + len(items)).encode() if more else None
    # The items are the first len(items) visible ids, in order: what the dashboard counts as served.
    served = [pk for pk in ids if pk in visible][: len(items)]
    content_mix.record_exposure(post_ids=served, client=client)
    # A list built before lists carried a model version has no sources or propensities: not logged.
    if logged and served and model_version is not None:
        described = dict(zip(ids, log[0], strict=True))
        impressions.record_served(
            reader_id=user.pk,
            items=[impressions.Served(pk, *feeds.decode_log(described[pk])) for pk in served],
            first_place=position.offset,
            model_version=model_version.decode(),
            explore_share=float(explore_share or 0),
            built_at=datetime.fromtimestamp(float(built_at), tz=UTC) if built_at else None,
            client=client,
        )
    return ForYouPage(items=items, next_cursor=next_cursor, source="redis")


def _page_from_postgres(*, user, position: Cursor, size: int, renderer, client) -> ForYouPage:
    """Rank from a smaller bounded candidate set with the stored profile; the request writes nothing."""
    context = scoring.Context.live(candidate_share=FALLBACK_CANDIDATE_SHARE)
    ranked = scoring.rank_for_user(
        user.pk,
        context=context,
        limit=position.offset + size + OVERFETCH,
        refresh_interest=False,
        # The same draws for every page of the hour: the next page continues this page's list.
        rng=random.Random(f"{user.pk}:{int(time.time() // 3600)}"),
    )
    window = ranked[position.offset :]
    if not window and position.offset == 0:
        window = scoring.latest_fill(user.pk, exclude=set(), limit=size + OVERFETCH, allow_seen=True)
    ids = [item.post_id for item in window]
    visible = renderer.visible(ids, client)
    items, consumed = [], 0
    for position_in_window, item in enumerate(window):
        if item.post_id in visible:
            items.append(renderer.with_reason(visible[item.post_id], item.reason))
            consumed = position_in_window + 1
            if len(items) == size:
                break
    more = position.offset + consumed < len(ranked)
    next_cursor = Cursor(score=None, offset=position.offset + consumed).encode() if more else None
    # Served from Postgres, counted and logged all the same (skipped while Redis is known to be down).
    served = [item for item in window[:consumed] if item.post_id in visible]
    content_mix.record_exposure(post_ids=[item.post_id for item in served], client=client)
    if impressions.is_sampled(user.pk):
        impressions.record_served(
            reader_id=user.pk,
            items=[impressions.Served(item.post_id, item.source, item.score, item.propensity) for item in served],
            first_place=position.offset,
            model_version=context.model_version or scoring.MODEL_VERSION,
            explore_share=settings.ORBIT_FOR_YOU_EXPLORE_SHARE,
            client=client,
        )
    return ForYouPage(items=items, next_cursor=next_cursor, source="fallback")


def _queue_build(user_id: int) -> None:
    """Queue a build unless one is queued; silently skipped when Redis is unreachable."""
    try:
        # The broker is Redis too: a page must not fail for it, nor leave the user marked unqueued.
        if feeds.mark_queued(user_ids=[user_id]) and not enqueue(tasks.build_for_you, user_id):
            feeds.redis_client().delete(feeds.list_key(user_id, ":queued"))
    except redis.RedisError as exc:
        cache_outage.failed(exc)
