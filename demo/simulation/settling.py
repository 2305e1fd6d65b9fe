"""The daily rebalance working on the learned ranker's result, before the learned ranker is scored.

Under a learned ranker the operators' target shares are a goal: each day the rebalance moves every
type's multiplier by the square root of target / yesterday's measured For You exposure
(ranking.weights). Scored with the multipliers the heuristic left behind, the learned ranker would
be judged with weights tuned for another ranker's exposure. So, with the trained ranker active,
`settle_weights` lives through a few days as production would, compressed: every reader is served
their first page as of the moment after the last day (ranked by the trained ranker, no
exploration), the pages are counted as served (`content_mix.record_exposure`), the content mix is
rolled up and the daily rebalance runs, as beat runs them. No one reads these pages: only the
weights move. What each round served, against the targets, is kept for the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import CharField, F
from django.db.models.functions import Coalesce

from feed.models import Post
from ranking import content_mix, feeds, learned, training
from ranking.models import ContentTypeWeight, RankingModel
from ranking.weights import clear_weights_cache, rebalance_content_type_weights

from .community import DAY, Community
from .rankers import OrbitForYou, Ranker

ROUNDS = 3


@dataclass
class Settling:
    targets: dict[str, float]
    # The share of each content type in the first pages served: by today's For You at today's
    # weights, then by the learned ranker at today's weights and after each rebalance.
    today: dict[str, float]
    rounds: list[dict[str, float]] = field(default_factory=list)
    multipliers: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # type → (before, after)


def first_page_shares(
    community: Community, ranker: Ranker, post_types: dict[int, str], *, served_on: datetime | None = None
) -> dict[str, float]:
    """Each content type's share of every reader's first page, as of the moment after the last day;
    with `served_on`, the pages are also counted as served that day (content_mix.record_exposure)."""
    counts: Counter = Counter()
    for reader in community.readers:
        page = ranker(reader.user_id, community.end)[: settings.ORBIT_FOR_YOU_PAGE_SIZE]
        if served_on is not None:
            content_mix.record_exposure(post_ids=page, client=feeds.redis_client(), now=served_on)
        counts.update(post_types[post_id] for post_id in page)
    total = sum(counts.values())
    return {slug: count / total for slug, count in sorted(counts.items())} if total else {}


def settle_weights(community: Community, model: learned.Model, *, today: Ranker, rounds: int = ROUNDS) -> Settling:
    """Serve first pages with `model` and run the daily rebalance on them `rounds` times (see the
    module docstring); `today` (For You as it ranks today) is counted once first, for the report.
    The model is active while it runs (the rebalance steers by exposure only under a learned
    ranker), and the active rankers are as before at the end."""
    post_types = dict(
        Post.objects.annotate(
            kind=Coalesce(F("tags__content_type"), F("content_type_id"), output_field=CharField())
        ).values_list("pk", "kind")
    )
    weights = {row.post_type_id: row for row in ContentTypeWeight.objects.all()}
    settling = Settling(
        targets={slug: float(row.target_share) for slug, row in weights.items()},
        today=first_page_shares(community, today, post_types),
    )
    active_before = RankingModel.objects.filter(is_active=True).values_list("version", flat=True).first()
    RankingModel.objects.get_or_create(version=model.version, defaults={"artifact": model.artifact()})
    training.activate(version=model.version)
    try:
        for day_number in range(rounds + 1):
            clear_weights_cache()  # the last rebalance's weights, also inside a test's transaction
            day = community.end + day_number * DAY
            ranker = OrbitForYou(community, exploring=False, model=model)
            settling.rounds.append(first_page_shares(community, ranker, post_types, served_on=day))
            if day_number == rounds:
                break  # the last pages show where the rebalances left the mix
            content_mix.roll_up_content_mix(now=day + timedelta(hours=1))
            rebalance_content_type_weights(now=day + DAY + timedelta(hours=3))
    finally:
        if active_before:
            training.activate(version=active_before)
        else:
            training.deactivate_all()
        learned.forget_cached_model()
        clear_weights_cache()
    after = {row.post_type_id: row.multiplier for row in ContentTypeWeight.objects.all()}
    settling.multipliers = {slug: (row.multiplier, after[slug]) for slug, row in weights.items()}
    return settling
