"""The simulated days: creators publish, the daily job runs, readers visit, all in time order.

Each simulated day, in order of time:

* creators who join that day sign up at their moment;
* at 03:00 UTC the daily rebalance of content-type weights runs, as beat runs it
  (`ranking.content_mix.roll_up_content_mix`, then `ranking.weights.rebalance_content_type_weights`);
* readers visit: each comes on a given day with their own chance (their activity), once or, a
  third of the time, twice, around the morning, lunch and evening peaks. Before each visit every
  post due by then is published through `feed.services.publish_post` (with its trade card when it
  has one), moved to its own moment (`clock.backdate`: a post's time is the database's) and tagged by
  the real tagger (`ranking.services.tag_posts`, what the tagging task runs after publishing), so a
  ranker sees it as it would seconds after it was published, and no post exists before its moment;
* the ranker builds the reader's list at the visit's moment and the reader reads it
  (demo.simulation.reading);
* at the end of the day, the day's likes, comments and shares are moved to their moments.

Visits are simulated one after the other, each at its own moment, so the clock goes back a few
minutes when a visit starts before the previous one (another reader's) ended; every ranker and
Orbit's own queries read only what happened up to their moment. A reader's own visits never overlap:
one that would start before their previous one ended waits until it ends (or is dropped if that is
after midnight).

The set of established creators that For You caches for ten minutes of real time is forgotten
every simulated day, so it is never more than a day old in simulated time.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.core.cache import cache

from feed.models import Post
from feed.services import publish_post
from ranking.content_mix import roll_up_content_mix
from ranking.services import tag_posts
from ranking.weights import rebalance_content_type_weights

from .clock import SimulatedClock, backdate
from .community import DAY, Community, Creator, Reader, create_creator_account, hours_of_day
from .rankers import Ranker
from .reading import Reading, ReadingStats

User = get_user_model()

SECOND_VISIT_CHANCE = 1 / 3
REBALANCE_HOUR = 3
# ranking.scoring.established_creators caches under this key for ten minutes of real time.
ESTABLISHED_CREATORS_KEY = "ranking:established-creators"


@dataclass
class SimulationStats:
    days: int = 0
    posts: int = 0
    reading: ReadingStats = field(default_factory=ReadingStats)
    ranking_seconds: float = 0.0
    seconds: float = 0.0
    # When the last visit ended: one that starts before the last midnight ends after it.
    last_moment: datetime | None = None


class Publisher:
    """Publishes the planned posts when they are due, through the service, then tags them."""

    def __init__(self, community: Community, *, clock: SimulatedClock, reading: Reading):
        self.community = community
        self.clock = clock
        self.reading = reading
        self.due = deque(community.posts)
        self.authors: dict[int, User] = {}

    def publish_until(self, moment: datetime) -> int:
        published: list[tuple[int, datetime]] = []
        while self.due and self.due[0].at <= moment:
            planned = self.due.popleft()
            self.clock.set(planned.at)
            creator = self.community.creators[planned.truth.creator]
            author = self.authors.get(creator.index)
            if author is None:
                author = self.authors[creator.index] = User.objects.get(pk=creator.user_id)
            post = publish_post(
                author=author,
                body=planned.text,
                content_type=planned.truth.content_type,
                language=planned.truth.language,
                trade_card=planned.trade_card,
            )
            planned.post_id = post.pk
            self.community.row_of_post[post.pk] = planned.index
            post.created_at = planned.at
            self.reading.add_post(post)
            published.append((post.pk, planned.at))
        if published:
            backdate(Post, published)
            tag_posts(post_ids=[post_id for post_id, _at in published])
        return len(published)


def simulate(
    community: Community,
    *,
    ranker: Ranker,
    clock: SimulatedClock,
    progress: Callable[[str], None] | None = None,
    only_for_you: bool = False,
) -> SimulationStats:
    """Live through the community's days with `ranker` serving For You. Run under `clock.running()`,
    after `create_accounts`. `only_for_you`: readers read For You alone, not Following or Latest
    (demo.simulation.reading)."""
    began = time.perf_counter()
    rng = np.random.default_rng([community.seed, 5])
    reading = Reading(community, clock=clock, rng=rng, only_for_you=only_for_you)
    publisher = Publisher(community, clock=clock, reading=reading)
    stats = SimulationStats(reading=reading.stats)
    for day in range(community.size.days):
        day_start = community.start + day * DAY
        cache.delete(ESTABLISHED_CREATORS_KEY)
        timeline = _day_timeline(rng, community, day_start)
        while timeline:
            at, order, index, event = heapq.heappop(timeline)
            if isinstance(event, Reader) and reading.free_at(event, at) > at:
                # Still reading since an earlier visit: come back when done, if the day is not over.
                if reading.free_at(event, at) < day_start + DAY:
                    heapq.heappush(timeline, (reading.free_at(event, at), order, index, event))
                continue
            stats.posts += publisher.publish_until(at)
            clock.set(at)
            if isinstance(event, Creator):
                create_creator_account(event, clock=clock)
            elif isinstance(event, Reader):
                started = time.perf_counter()
                for_you = ranker(event.user_id, at)
                stats.ranking_seconds += time.perf_counter() - started
                reading.visit(event, for_you=for_you)
                stats.last_moment = max(stats.last_moment or clock.now(), clock.now())
            else:  # the daily job, as beat runs it
                roll_up_content_mix(now=at)
                rebalance_content_type_weights(now=at)
        stats.posts += publisher.publish_until(day_start + DAY - timedelta(microseconds=1))
        reading.move_to_simulated_time()
        stats.days += 1
        if progress is not None:
            actions = reading.stats.actions
            progress(
                f"  day {day + 1}/{community.size.days}: {stats.posts:,} posts, {reading.stats.visits:,} visits, "
                f"{actions['view']:,} views, {actions['like']:,} likes, {actions['follow']:,} follows "
                f"({time.perf_counter() - began:.0f} s)"
            )
    clock.set(community.end)
    stats.seconds = time.perf_counter() - began
    return stats


def _day_timeline(
    rng: np.random.Generator, community: Community, day_start: datetime
) -> list[tuple[datetime, int, int, Creator | Reader | None]]:
    """The day's joins, the daily job (None) and visits as a heap: (moment, kind, index, event)."""
    day_end = day_start + DAY
    events: list[tuple[datetime, int, int, Creator | Reader | None]] = [
        (creator.joined_at, 0, creator.index, creator)
        for creator in community.creators
        if day_start <= creator.joined_at < day_end
    ]
    events.append((day_start + timedelta(hours=REBALANCE_HOUR), 1, 0, None))
    for reader in community.readers:
        if rng.random() >= reader.activity:
            continue
        visits = 2 if rng.random() < SECOND_VISIT_CHANCE else 1
        for hour in np.sort(hours_of_day(rng, visits)).tolist():
            events.append((day_start + timedelta(hours=hour), 2, reader.index, reader))
    heapq.heapify(events)
    return events
