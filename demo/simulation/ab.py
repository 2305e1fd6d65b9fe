"""What an A/B test of a ranker would measure on the simulated community, exactly.

An A/B test serves a ranker's lists to readers and counts what they then do. Here how a reader
behaves is known (demo.simulation.reading), so the engagement a list brings needs no traffic to be
known: for each place, the chance the reader looks at it (`examine_probability`), times the chance
they open its post (`open_probability`), times the grade they give an opened post on average
(`expected_grade`: the best of what they do with it, graded as ranking.evaluation.GRADES), all at
the post's true utility for the reader at that moment. That is what an A/B test with unlimited
traffic on the same readers at the same moments would measure; it is computed exactly from the
reader model's probabilities, with no sampling.

It measures what ranking.offline estimates from the impression log, so that the two can be compared:

* a context is a reader and the moment a For You list was built for them (`offline.Draw.context`);
* a page is the target ranker's list for the context, to `offline.DEPTH` places (For You's readers
  go no deeper);
* only the posts of the exploration pool the served list drew from count: exploration can speak
  for those alone;
* in the units of the logged reward, the best grade of what the reader did with a post.

The reader model is position-based, as the estimator assumes, only when readers read For You alone
(`simulate(..., only_for_you=True)`): otherwise the Following and Latest lists lead to engagement
with posts For You showed, and the log credits it to the For You impression.

`ExploringForYou` serves readers For You as the simulation does (rankers.OrbitForYou, exploring and
logging impressions) and notes the pool of each list it serves, with the weight each post was drawn
with, so that the propensities in the log can be checked against it. Finding the pool ranks each
list a second time, which makes a visit about a third slower.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from typing import cast

from ranking import scoring
from ranking.offline import DEPTH, Policy

from .community import Community
from .rankers import OrbitForYou
from .reading import DEEPEST, examine_probability, expected_grade, open_probability

# Places asked for when the pool is wanted: more than a simulated reader ever has candidates.
POOL_PLACES = 10_000


class ExploringForYou:
    """Orbit's For You serving the simulated readers with exploration, noting each list's pool: the
    posts For You draws from when asked to explore every place (ranking.scoring.add_exploration
    draws the whole pool before any ranked post then), from the same candidates at the same moment."""

    def __init__(self, community: Community):
        self.serving = OrbitForYou(community, exploring=True, model=None)
        # Per list: each post of its pool and the weight it was drawn with.
        self.pools: dict[tuple[int, datetime], dict[int, float]] = {}

    def __call__(self, reader_id: int, moment: datetime) -> list[int]:
        served = self.serving(reader_id, moment)
        every_place_explored = scoring.rank_for_user(
            reader_id,
            context=scoring.Context.as_of(moment),
            limit=POOL_PLACES,
            explore_share=1.0,
            rng=random.Random(0),  # which posts are drawn, not their order, is wanted
            model=None,
        )
        self.pools[reader_id, moment] = {
            item.post_id: item.draw_weight for item in every_place_explored if item.source == "explore"
        }
        return served

    def pool(self, context: Hashable) -> dict[int, float]:
        """The exploration pool of the list served in this context (reader id, moment): each post and
        the weight it was drawn with."""
        return self.pools[cast(tuple[int, datetime], context)]


def worth(community: Community, reader_id: int, post_ids: Sequence[int], *, moment: datetime) -> list[float]:
    """The engagement each post brings, in expectation, when the reader looks at it at the moment:
    the chance they open it times the grade they give it on average once opened."""
    if not post_ids:
        return []
    reader = community.readers_by_user_id()[reader_id]
    values = []
    for post_id, utility in zip(post_ids, community.utility(reader, list(post_ids), at=moment).tolist(), strict=True):
        planned = community.posts[community.row_of_post[post_id]]
        grade = expected_grade(
            utility, content_type=planned.truth.content_type, trade_card=planned.trade_card is not None
        )
        values.append(open_probability(utility) * grade)
    return values


def page_value(
    community: Community,
    reader_id: int,
    ranking: Sequence[int],
    *,
    moment: datetime,
    pool: Iterable[int],
    depth: int = DEPTH,
) -> float:
    """The engagement a page of `ranking` brings the reader at the moment, in expectation, from the
    posts of `pool`: Σ over its first `depth` places of the chance of looking at the place (none past
    the deepest a reader goes in For You) times the worth of its post."""
    in_pool = set(pool)
    places = [
        (place, post_id)
        for place, post_id in enumerate(ranking[: min(depth, DEEPEST["for_you"])])
        if post_id in in_pool
    ]
    values = worth(community, reader_id, [post_id for _place, post_id in places], moment=moment)
    return sum(
        examine_probability(place, "for_you") * value for (place, _post_id), value in zip(places, values, strict=True)
    )


def ab_values(
    community: Community, serving: ExploringForYou, policy: Policy, contexts: Iterable[Hashable], *, depth: int = DEPTH
) -> dict[Hashable, float]:
    """Context by context, the engagement a page of `policy` (an offline estimator's target) brings
    from the pool of the list For You served there: what an A/B test of `policy` on the same readers
    at the same moments would measure."""
    values = {}
    for context in contexts:
        reader_id, moment = cast(tuple[int, datetime], context)
        values[context] = page_value(
            community, reader_id, policy(context), moment=moment, pool=serving.pool(context), depth=depth
        )
    return values
