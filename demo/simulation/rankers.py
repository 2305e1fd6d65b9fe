"""Rankers the simulation can serve readers with and score: each is a callable that takes a reader's
user id and a moment and returns post ids, best first.

* `OrbitForYou`: Orbit's For You as a Celery build makes it (`ranking.scoring.rank_for_user`, then
  the newest unseen posts when it finds fewer than a page, as `ranking.feeds.build_for_you` does),
  with a `Context` as of the moment: the interest profile is built from the engagement before it
  and trending is scored at it. Serving readers, it gives its usual share of places to exploration
  (ORBIT_FOR_YOU_EXPLORE_SHARE), drawn with a generator seeded by the run's seed, the reader and
  the moment, so a run repeats; scored, it is its own list without exploration, as
  `manage.py evaluate_ranking` scores it;
  While serving, it logs each visit's list as For You impressions (`ranking.impressions`, the
  places a reader can scroll to, with their sources and propensities), as the page does, so a
  ranker can be trained on what the simulated readers did (`ranking.training`);
* `orbit_no_boost`: the same ranker with every content type's weight at 1 (no operator weights, no
  scarcity multipliers), to tell how well For You matches tastes from what the weights trade for;
* `learned`: For You scored by a ranker trained on the simulated days' impressions
  (`ranking.learned`), given as `model`;
* `Chronological`: the newest posts of the last week;
* `Popularity`: the posts with the most positive engagement in the three days before the moment
  (the baseline of `manage.py evaluate_ranking`, same kinds and grades);
* `Oracle`: the posts of the last week by true utility, the ceiling no ranker can pass.

Every ranker leaves out the reader's own posts and those they engaged with before the moment (seen),
as For You does. A learned ranker plugs in the same way.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Count, F, Max, Q

from feed.models import Engagement, Post
from ranking import content_mix, feeds, impressions, learned, scoring
from ranking.evaluation import GRADES, LONG_DWELL_MS, POPULARITY_DAYS

from .community import Community
from .reading import DEEPEST

Kind = Engagement.Kind
# A reader's user id and a moment → post ids, best first.
Ranker = Callable[[int, datetime], list[int]]

RECENT_DAYS = scoring.CANDIDATE_DAYS
LIST_LENGTH = 100
# The deepest a reader scrolls For You on a visit.
SCROLLED = DEEPEST["for_you"]
# Positive engagement, as `manage.py evaluate_ranking` grades it: a view alone is not.
POSITIVE = Q(kind__in=[kind for kind in GRADES if kind != Kind.DWELL]) | Q(kind=Kind.DWELL, dwell_ms__gte=LONG_DWELL_MS)


def engaged_posts(reader_id: int, moment: datetime) -> set[int]:
    """Posts the reader did anything with up to the moment: what every ranker treats as seen."""
    return set(
        Engagement.objects.filter(actor_id=reader_id, occurred_at__lte=moment, post_id__isnull=False).values_list(
            "post_id", flat=True
        )
    )


def _published_by(moment: datetime):
    return Post.objects.filter(status=Post.Status.PUBLISHED, repost_of__isnull=True, created_at__lte=moment)


class OrbitForYou:
    """Orbit's For You list as of the moment (one Context per moment, shared by every reader)."""

    def __init__(
        self,
        community: Community,
        *,
        exploring: bool,
        type_weights: bool = True,
        limit: int = LIST_LENGTH,
        model: learned.Model | object | None = scoring.ACTIVE,
    ):
        self.limit = limit
        self.exploring = exploring
        self.model = model
        self.type_weights = type_weights
        self.seed = community.seed
        self.reader_index = {reader.user_id: reader.index for reader in community.readers}
        self._context: scoring.Context | None = None

    def __call__(self, reader_id: int, moment: datetime) -> list[int]:
        if self._context is None or self._context.moment != moment:
            self._context = scoring.Context.as_of(moment)
            if not self.type_weights:
                self._context = dataclasses.replace(self._context, weights={})  # every type weighs 1
        # Seeded by the reader's place in the community, not their id: ids differ between databases.
        draws = random.Random(f"{self.seed}/{self.reader_index[reader_id]}/{moment.isoformat()}")
        ranked = scoring.rank_for_user(
            reader_id,
            context=self._context,
            limit=self.limit,
            explore_share=None if self.exploring else 0.0,
            rng=draws,
            model=self.model,
        )
        if len(ranked) < settings.ORBIT_FOR_YOU_PAGE_SIZE:
            ranked += scoring.latest_fill(
                reader_id,
                exclude={item.post_id for item in ranked},
                limit=settings.ORBIT_FOR_YOU_PAGE_SIZE - len(ranked),
                allow_seen=not ranked,
            )
        if self.exploring:
            # What a reader can scroll to on this visit, counted and logged as the page does.
            content_mix.record_exposure(
                post_ids=[item.post_id for item in ranked[:SCROLLED]], client=feeds.redis_client(), now=moment
            )
            impressions.record_served(
                reader_id=reader_id,
                items=[
                    impressions.Served(item.post_id, item.source, item.score, item.propensity)
                    for item in ranked[:SCROLLED]
                ],
                first_place=0,
                model_version=self._context.model_version or scoring.MODEL_VERSION,
                explore_share=settings.ORBIT_FOR_YOU_EXPLORE_SHARE,
                built_at=moment,
                client=feeds.redis_client(),
                now=moment,
            )
        return [item.post_id for item in ranked]


class Chronological:
    """The newest posts of the last week."""

    def __init__(self, *, limit: int = LIST_LENGTH):
        self.limit = limit

    def __call__(self, reader_id: int, moment: datetime) -> list[int]:
        seen = engaged_posts(reader_id, moment)
        newest = (
            _published_by(moment)
            .filter(created_at__gt=moment - timedelta(days=RECENT_DAYS))
            .exclude(author_id=reader_id)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)[: self.limit + len(seen)]
        )
        return [post_id for post_id in newest if post_id not in seen][: self.limit]


class Popularity:
    """The most positively engaged-with posts of the POPULARITY_DAYS before the moment, creators'
    engagement with their own posts left out; ties go to the newer post."""

    def __init__(self, *, limit: int = LIST_LENGTH):
        self.limit = limit
        self._moment: datetime | None = None
        self._popular: list[tuple[int, int]] = []

    def __call__(self, reader_id: int, moment: datetime) -> list[int]:
        if moment != self._moment:
            self._moment, self._popular = moment, self._most_engaged(moment)
        seen = engaged_posts(reader_id, moment)
        return [post_id for post_id, author_id in self._popular if author_id != reader_id and post_id not in seen][
            : self.limit
        ]

    @staticmethod
    def _most_engaged(moment: datetime) -> list[tuple[int, int]]:
        rows = (
            Engagement.objects.filter(
                POSITIVE,
                occurred_at__gt=moment - timedelta(days=POPULARITY_DAYS),
                occurred_at__lte=moment,
                post__in=_published_by(moment),
            )
            .exclude(actor_id=F("creator_id"))
            .values("post_id", "post__author_id")
            .annotate(positives=Count("id"), published=Max("post__created_at"))
            .order_by("-positives", "-published", "-post_id")
        )
        return [(row["post_id"], row["post__author_id"]) for row in rows]


class Oracle:
    """The posts of the last week the reader has not seen, by their true utility for the reader."""

    def __init__(self, community: Community, *, limit: int = LIST_LENGTH):
        self.community = community
        self.limit = limit
        self.readers = community.readers_by_user_id()

    def __call__(self, reader_id: int, moment: datetime) -> list[int]:
        since = moment - timedelta(days=RECENT_DAYS)
        seen = engaged_posts(reader_id, moment)
        candidates = [
            post.post_id
            for post in self.community.posts
            if post.post_id is not None and since < post.at <= moment and post.post_id not in seen
        ]
        if not candidates:
            return []
        utility = self.community.utility(self.readers[reader_id], candidates, at=moment)
        # Best first; among equals, the newer post (later in the publishing order).
        order = np.lexsort((-np.arange(len(candidates)), -utility))
        return [candidates[position] for position in order[: self.limit]]


def make_ranker(
    name: str, community: Community, *, serving: bool = False, model: learned.Model | None = None
) -> Ranker:
    """A ranker by the name the bench and the report use; `serving`: for readers during the days
    (Orbit's For You then explores and logs impressions), else to be scored. "orbit" is For You with
    the heuristic; "learned" with `model`."""
    factories: dict[str, Callable[[], Ranker]] = {
        "orbit": lambda: OrbitForYou(community, exploring=serving, model=None),
        "learned": lambda: OrbitForYou(community, exploring=serving, model=model),
        "orbit_no_boost": lambda: OrbitForYou(community, exploring=serving, type_weights=False, model=None),
        "chronological": Chronological,
        "popularity": Popularity,
        "oracle": lambda: Oracle(community),
    }
    if name not in factories:
        raise ValueError(f"Unknown ranker {name!r}; choose one of {', '.join(factories)}.")
    return factories[name]()


RANKER_NAMES = ("oracle", "learned", "orbit", "orbit_no_boost", "popularity", "chronological")
