"""Rankers scored against readers' true taste at one moment after the simulated days.

Candidates. For each reader, the posts published in the WINDOW_DAYS before the moment that are not
theirs and that they did not engage with before it (no view or anything else: unseen). Every ranker
gives its list for the reader at the moment; the list is cut to the candidates, and the candidates
it did not list follow, newest first, so each ranker is scored on an ordering of the same set.

Gains. A post's true utility u for the reader at the moment is graded on the scale
`manage.py evaluate_ranking` grades engagement on, 0 to 3: grade = floor(4u), capped at 3 (u below
0.25 is 0, 0.25 to 0.5 is 1, 0.5 to 0.75 is 2, 0.75 and above is 3), and the gain is 2 ** grade - 1
(0, 1, 3, 7). A post worth less than a quarter of a perfect one counts as nothing, as a view alone
does there.

NDCG@k is the discounted gain of the first k posts (gain / log2(position + 2), position from 0)
over that of the best possible order. Readers with no candidate of grade 1 or more have nothing to
find and are left out of the means (the report counts them). The oracle orders by true utility, so
it scores 1 wherever it is scored: the ceiling.

`taste_divergence` is the measured check that readers' tastes differ from their trading: it reads
each reader's trading profile as Orbit stored it (from the exchange's events) and compares it with
the true taste (demo.simulation.utility.differs_from_trading).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from feed.models import Engagement
from markets.models import TradingProfile
from ranking.models import PostTags

from .community import GROUPS, Community
from .rankers import Ranker
from .utility import ASSET_INDEX, differs_from_trading, true_utility, what_trading_suggests

WINDOW_DAYS = 3
K = 10
TOP_POSTS = 10  # how many of each reader's best posts the divergence report looks at


def grade(utility: np.ndarray) -> np.ndarray:
    """True utility (0 to 1) graded 0 to 3: floor(4u), capped at 3."""
    return np.minimum(np.floor(np.asarray(utility) * 4), 3).astype(int)


def graded_gain(utility: np.ndarray) -> np.ndarray:
    """The NDCG gain of each utility: 2 ** grade - 1 (0, 1, 3 or 7)."""
    return (2.0 ** grade(utility)) - 1.0


def ndcg_at_k(ranked_ids: Sequence[int], gains: Mapping[int, float], k: int = K) -> float:
    """Normalised discounted cumulative gain of the first k of `ranked_ids`, with `gains` per post id
    (posts not in `gains` gain 0); 0 when no post has a gain."""
    ideal = sorted(gains.values(), reverse=True)[:k]
    ideal_dcg = sum(gain / math.log2(position + 2) for position, gain in enumerate(ideal))
    if ideal_dcg <= 0:
        return 0.0
    dcg = sum(gains.get(post_id, 0.0) / math.log2(position + 2) for position, post_id in enumerate(ranked_ids[:k]))
    return dcg / ideal_dcg


@dataclass
class RankerScore:
    name: str
    ndcg: float
    by_group: dict[str, float]
    seconds: float


@dataclass
class Evaluation:
    moment: datetime
    window_days: int
    k: int
    readers: int  # scored: with something to find
    readers_by_group: dict[str, int]
    readers_without_relevant: int
    candidates_per_reader: float
    relevant_per_reader: float  # candidates of grade 1 or more
    scores: list[RankerScore] = field(default_factory=list)
    seconds: float = 0.0

    def score(self, name: str) -> RankerScore:
        return next(score for score in self.scores if score.name == name)


def candidates(community: Community, *, moment: datetime, window_days: int = WINDOW_DAYS) -> dict[int, list[int]]:
    """Per reader (user id): the unseen posts published in the window, newest first."""
    since = moment - timedelta(days=window_days)
    recent = sorted(
        (post for post in community.posts if post.post_id is not None and since < post.at <= moment),
        key=lambda post: post.at,
        reverse=True,
    )
    readers = [reader.user_id for reader in community.readers]
    seen: dict[int, set[int]] = {user_id: set() for user_id in readers}
    for actor_id, post_id in (
        Engagement.objects.filter(actor_id__in=readers, occurred_at__lte=moment, post_id__isnull=False)
        .values_list("actor_id", "post_id")
        .distinct()
    ):
        seen[actor_id].add(post_id)
    return {user_id: [post.post_id for post in recent if post.post_id not in seen[user_id]] for user_id in readers}


def evaluate(
    community: Community,
    rankers: Mapping[str, Ranker],
    *,
    moment: datetime,
    window_days: int = WINDOW_DAYS,
    k: int = K,
) -> Evaluation:
    """Score each ranker's list for every reader at `moment` against true taste (see the module docstring).
    Run under the simulated clock set to `moment`."""
    began = time.perf_counter()
    pools = candidates(community, moment=moment, window_days=window_days)
    readers = community.readers_by_user_id()
    gains: dict[int, dict[int, float]] = {}
    for user_id, pool in pools.items():
        if pool:
            values = graded_gain(community.utility(readers[user_id], pool, at=moment))
            gains[user_id] = dict(zip(pool, values.tolist(), strict=True))
    scored = [user_id for user_id, reader_gains in gains.items() if any(reader_gains.values())]
    evaluation = Evaluation(
        moment=moment,
        window_days=window_days,
        k=k,
        readers=len(scored),
        readers_by_group=dict(Counter(readers[user_id].group for user_id in scored)),
        readers_without_relevant=len(pools) - len(scored),
        candidates_per_reader=float(np.mean([len(pools[user_id]) for user_id in scored])) if scored else 0.0,
        relevant_per_reader=(
            float(np.mean([sum(gain > 0 for gain in gains[user_id].values()) for user_id in scored])) if scored else 0.0
        ),
    )
    for name, ranker in rankers.items():
        started = time.perf_counter()
        values: dict[int, float] = {}
        for user_id in scored:
            pool = pools[user_id]
            listed = [post_id for post_id in dict.fromkeys(ranker(user_id, moment)) if post_id in gains[user_id]]
            unlisted = set(pool) - set(listed)
            rest = [post_id for post_id in pool if post_id in unlisted]
            values[user_id] = ndcg_at_k(listed + rest, gains[user_id], k)
        by_group = {
            group: float(np.mean([values[user_id] for user_id in scored if readers[user_id].group == group]))
            for group in GROUPS
            if evaluation.readers_by_group.get(group)
        }
        evaluation.scores.append(
            RankerScore(
                name=name,
                ndcg=float(np.mean(list(values.values()))) if values else 0.0,
                by_group=by_group,
                seconds=time.perf_counter() - started,
            )
        )
    evaluation.seconds = time.perf_counter() - began
    return evaluation


# --- Tastes against trading ----------------------------------------------------------------------


@dataclass
class Divergence:
    readers: int
    differing: int
    by_group: dict[str, tuple[int, int]]  # group → (differing, readers)
    reasons: Counter  # how many differ in their favourite asset, content type, or by reading for creators
    # Per group: of each reader's TOP_POSTS best posts (true utility), the mean share that names an
    # asset they trade.
    traded_share_of_best: dict[str, float]

    @property
    def share(self) -> float:
        return self.differing / self.readers if self.readers else 0.0


def taste_divergence(community: Community) -> Divergence:
    """How many readers truly want something else than their trading suggests, from the trading
    profiles Orbit stored (see demo.simulation.utility.differs_from_trading)."""
    profiles = {
        profile.user_id: profile
        for profile in TradingProfile.objects.filter(user_id__in=[reader.user_id for reader in community.readers])
    }
    by_group: dict[str, list[int]] = {group: [0, 0] for group in GROUPS}
    reasons: Counter = Counter()
    traded_share: dict[str, list[float]] = {group: [] for group in GROUPS}
    catalogue = community.catalogue
    for reader in community.readers:
        profile = profiles.get(reader.user_id)
        traded = list(profile.traded_assets) if profile else []
        suggestion = what_trading_suggests(
            traded_assets=traded,
            volume_tier=profile.volume_tier if profile else 0,
            instruments=list(profile.instruments) if profile else [],
            level=reader.trading.level,
        )
        why = differs_from_trading(reader.taste, suggestion)
        by_group[reader.group][1] += 1
        if why:
            by_group[reader.group][0] += 1
            reasons.update(why)
        best = np.argsort(-true_utility(reader.taste, catalogue), kind="stable")[:TOP_POSTS]
        columns = [ASSET_INDEX[symbol] for symbol in traded if symbol in ASSET_INDEX]
        names_traded = (catalogue.asset_weights[best][:, columns] > 0).any(axis=1) if columns else np.zeros(len(best))
        traded_share[reader.group].append(float(np.mean(names_traded)))
    differing = sum(counts[0] for counts in by_group.values())
    return Divergence(
        readers=len(community.readers),
        differing=differing,
        by_group={group: (counts[0], counts[1]) for group, counts in by_group.items() if counts[1]},
        reasons=reasons,
        traded_share_of_best={group: float(np.mean(shares)) for group, shares in traded_share.items() if shares},
    )


# --- What the tagger saw -------------------------------------------------------------------------


@dataclass
class TaggerAgreement:
    """How far the tags Orbit ranks with agree with what the posts truly are."""

    posts: int
    content_type: float  # share of posts tagged with their true content type
    level: float  # share tagged with their true level
    main_asset: float  # of posts that name an asset: share whose tags include the one they are mainly about
    quality_correlation: float  # Pearson's r between the tagger's quality and the true quality


def tagger_agreement(community: Community) -> TaggerAgreement:
    published = {post.post_id: post.truth for post in community.posts if post.post_id is not None}
    types, levels, main_assets, true_quality, tagged_quality = [], [], [], [], []
    for post_id, content_type, level, assets, quality in PostTags.objects.filter(post_id__in=published).values_list(
        "post_id", "content_type", "level", "assets", "quality"
    ):
        truth = published[post_id]
        types.append(content_type == truth.content_type)
        levels.append(level == truth.level)
        if truth.assets:
            main_assets.append(truth.assets[0] in assets)
        true_quality.append(truth.quality)
        tagged_quality.append(quality)
    return TaggerAgreement(
        posts=len(types),
        content_type=float(np.mean(types)) if types else 0.0,
        level=float(np.mean(levels)) if levels else 0.0,
        main_asset=float(np.mean(main_assets)) if main_assets else 0.0,
        quality_correlation=float(np.corrcoef(true_quality, tagged_quality)[0, 1]) if len(types) > 1 else 0.0,
    )
