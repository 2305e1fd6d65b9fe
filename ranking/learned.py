"""The learned For You ranker: what each reader is likely to do with each post, learned from what
readers did with what they were shown.

For every candidate it predicts the probability of each action (ACTIONS: reading at least ten
seconds, liking, commenting, sharing, clicking through to trade, and the negative ones, hiding and
reporting) with one logistic regression per action, and scores the post as the weighted sum of those
probabilities, weights set in admin (Ranking, Action values), as X's ranker does.

Features (FEATURES) are the reader's affinities with the post's assets, topics, content type,
creator, level and language, learned from engagement (decayed), kept apart from those implied by
their trading, each also multiplied by how much evidence the reader's engagement gives (`evidence`,
n / (n + EVIDENCE_HALF)): so the model learns how far to trust reading over trading, and leans on
trading while a reader's engagement is thin. Beside them: follow, the post's quality, freshness,
trending, new voice and content type. The place the post was shown in is a feature while training
(readers click near the top whatever it is) and the first place when scoring, so the model learns
worth, not position.

Training reads the impression log (ranking.impressions) and the engagement that followed each
impression, with the features as of when the list was ranked. A trained model is stored with its
figures (`RankingModel`) and activated only if it beats the active ranker on the exploration places
of the days held out (ranking.offline, paired by context, the lower end of the 95% interval above 0).

The model is a few hundred numbers, stored as JSON (never a pickle): scoring is a matrix product
over the candidates in the request path.

See docs/ranking.md#the-learned-ranker.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.core.cache import cache

from creators.models import Follow
from feed.models import Engagement
from orbit.caching import cached

from . import profiles
from .models import ActionValue, RankingModel

Kind = Engagement.Kind

# Actions predicted, and how each is read from the engagement log after an impression.
ACTIONS = ("read", "like", "comment", "share", "trade", "hide", "report")
ACTION_KINDS = {
    "like": Kind.LIKE,
    "comment": Kind.COMMENT,
    "share": Kind.SHARE,
    "trade": Kind.TRADE_CLICK,
    "hide": Kind.HIDE,
    "report": Kind.REPORT,
}
READ_MS = 10_000  # as the offline evaluation's "read" (ranking.evaluation.LONG_DWELL_MS)
# What each action is worth in the final score, until operators set their own in admin.
DEFAULT_ACTION_VALUES = {
    "read": 1.0,
    "like": 2.0,
    "comment": 3.0,
    "share": 4.0,
    "trade": 5.0,
    "hide": -8.0,
    "report": -20.0,
}
# A reader with this much decayed engagement is trusted half on reading, half on trading.
EVIDENCE_HALF = 5.0
# A creator who holds this share of a reader's reading gets more places on their pages than the cap.
DEVOTED_SHARE = 1 / 3
FRESHNESS_HALF_LIFE_HOURS = 36.0
LEVELS = ("beginner", "intermediate", "advanced")
# Places a post was shown in, as training features (the first bucket is the reference).
POSITION_BUCKETS = (1, 3, 6, 11, 21)

AFFINITIES = ("asset", "topic", "type", "creator", "level", "language")
FEATURES = (
    *(f"reads_{name}" for name in AFFINITIES),
    "trades_asset",
    "trades_topic",
    "trades_type",
    "trading_level_near",
    *(f"reads_{name}_x_evidence" for name in ("asset", "topic", "type", "level")),
    *(f"trades_{name}_x_thin" for name in ("asset", "topic", "type")),
    "evidence",
    "follows",
    # The creator's share of the reader's reading, and the same for a creator they follow: how much
    # a follow is worth differs from reader to reader (a few devoted follows, or many idle ones).
    "creator_share",
    "follow_strength",
    "same_language",
    "quality",
    "freshness",
    "trending",
    "new_voice",
)
# Which feature a reason names (the others are not reasons a reader can act on).
REASON_OF_FEATURE = {
    "reads_asset": "asset",
    "reads_asset_x_evidence": "asset",
    "trades_asset": "trade",
    "trades_asset_x_thin": "trade",
    "reads_topic": "topic",
    "reads_topic_x_evidence": "topic",
    "trades_topic": "topic",
    "trades_topic_x_thin": "topic",
    "reads_type": "type",
    "reads_type_x_evidence": "type",
    "trades_type": "type",
    "trades_type_x_thin": "type",
    "reads_creator": "creator",
    "creator_share": "creator",
    "follow_strength": "follow",
    "follows": "follow",
    "trending": "trending",
    "new_voice": "explore",
}


# --- Readers and features --------------------------------------------------------------------


@dataclass
class Reader:
    """What the model knows about a reader at a moment."""

    parts: profiles.InterestParts
    followed: set[int]
    language: str
    _shares: dict[str, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def reading_top(self) -> float:
        return max(
            (abs(value) for key, value in self.parts.engagement.items() if not key.startswith("reads_")), default=0.0
        )

    @functools.cached_property
    def trading_top(self) -> float:
        return max((value for key, value in self.parts.trading.items() if not key.startswith("level:")), default=0.0)

    @functools.cached_property
    def evidence(self) -> float:
        # Every event lands once on its creator's key: their sum is the reader's decayed engagement.
        amount = sum(value for key, value in self.parts.engagement.items() if key.startswith("creator:") and value > 0)
        return amount / (amount + EVIDENCE_HALF)

    @functools.cached_property
    def trading_level(self) -> int:
        for index, level in enumerate(LEVELS):
            if self.parts.trading.get(f"level:{level}"):
                return index
        return 0

    def reads(self, key: str) -> float:
        return self.parts.engagement.get(key, 0.0) / self.reading_top if self.reading_top else 0.0

    def reading_shares(self, prefix: str) -> dict[str, float]:
        """Key of `prefix` → the share of the reader's reading that went to it (computed once)."""
        if prefix not in self._shares:
            positive = {
                name[len(prefix) :]: value
                for name, value in self.parts.engagement.items()
                if name.startswith(prefix) and value > 0
            }
            total = sum(positive.values())
            self._shares[prefix] = {name: value / total for name, value in positive.items()} if total else {}
        return self._shares[prefix]

    def reads_share(self, prefix: str, key: str) -> float:
        """The share of the reader's reading that went to `key` among the keys of `prefix`."""
        return self.reading_shares(prefix).get(key, 0.0)

    def author_slots(self, *, page_size: int, per_author: int) -> dict[int, int]:
        """Places per page for the creators who hold at least DEVOTED_SHARE of this reader's reading,
        beyond the usual `per_author`: their share of a page, up to half of it, once the reader has
        read enough to tell (evidence at least ½). A reader who spends three quarters of their
        reading on one creator is not held to three of their posts a page."""
        if self.evidence < 0.5:
            return {}
        slots = {}
        for creator, share in self.reading_shares("creator:").items():
            wanted = min(page_size // 2, round(share * page_size))
            if share >= DEVOTED_SHARE and wanted > per_author and creator.isdigit():
                slots[int(creator)] = wanted
        return slots

    def trades(self, key: str) -> float:
        return self.parts.trading.get(key, 0.0) / self.trading_top if self.trading_top else 0.0


def reader_as_of(user_id: int, *, moment: datetime | None, refresh: bool = False, language: str = "en") -> Reader:
    if moment is not None:
        parts = profiles.parts_as_of(user_id, as_of=moment)
    elif refresh:
        parts = profiles.refreshed_parts(user_id)
    else:
        parts = profiles.stored_parts(user_id)
    follows = Follow.objects.filter(follower_id=user_id)
    if moment is not None:
        follows = follows.filter(created_at__lte=moment)
    return Reader(parts=parts, followed=set(follows.values_list("followee_id", flat=True)), language=language)


def feature_rows(
    reader: Reader, posts: Sequence, *, now: datetime, trending_top: float, new_voices: set[int]
) -> np.ndarray:
    """One row of FEATURES per post (scoring.Features), in order."""
    rows = np.zeros((len(posts), len(FEATURES)))
    evidence, thin = reader.evidence, 1.0 - reader.evidence
    for row, post in zip(rows, posts, strict=True):
        reads_asset = max((reader.reads(f"asset:{asset}") for asset in post.assets), default=0.0)
        trades_asset = max((reader.trades(f"asset:{asset}") for asset in post.assets), default=0.0)
        reads_topic = max((reader.reads(f"topic:{topic}") for topic in post.topics), default=0.0)
        trades_topic = max((reader.trades(f"topic:{topic}") for topic in post.topics), default=0.0)
        reads_type = reader.reads(f"type:{post.content_type}")
        trades_type = reader.trades(f"type:{post.content_type}")
        reads_level = reader.reads_share("reads_level:", post.level)
        level_index = LEVELS.index(post.level) if post.level in LEVELS else 1
        age_hours = max(0.0, (now - post.created_at).total_seconds() / 3600.0)
        followed = post.author_id in reader.followed
        creator_share = reader.reads_share("creator:", str(post.author_id))
        row[:] = (
            reads_asset,
            reads_topic,
            reads_type,
            reader.reads(f"creator:{post.author_id}"),
            reads_level,
            reader.reads_share("reads_language:", post.language),
            trades_asset,
            trades_topic,
            trades_type,
            1.0 - abs(level_index - reader.trading_level) / 2.0,
            reads_asset * evidence,
            reads_topic * evidence,
            reads_type * evidence,
            reads_level * evidence,
            trades_asset * thin,
            trades_topic * thin,
            trades_type * thin,
            evidence,
            1.0 if followed else 0.0,
            creator_share,
            creator_share if followed else 0.0,
            1.0 if post.language == reader.language else 0.0,
            post.quality,
            math.pow(0.5, age_hours / FRESHNESS_HALF_LIFE_HOURS),
            math.log1p(post.trending) / math.log1p(trending_top) if trending_top > 0 else 0.0,
            1.0 if post.post_id in new_voices else 0.0,
        )
    return rows


def position_columns(positions: Sequence[int] | np.ndarray) -> np.ndarray:
    """One-hot place buckets beyond the first (all zeros: the first place, as scoring assumes)."""
    places = np.asarray(positions)
    return np.stack([(places >= start).astype(float) for start in POSITION_BUCKETS], axis=1)


# --- The model ---------------------------------------------------------------------------------


@dataclass
class Model:
    """A trained ranker as stored: feature scaling, and per action an intercept and weights."""

    version: str
    features: list[str]
    types: list[str]
    mean: np.ndarray
    scale: np.ndarray
    intercepts: dict[str, float]
    coefficients: dict[str, np.ndarray]  # per action: one per feature, then types, then places

    @classmethod
    def from_artifact(cls, version: str, artifact: dict) -> Model:
        return cls(
            version=version,
            features=list(artifact["features"]),
            types=list(artifact["types"]),
            mean=np.array(artifact["mean"]),
            scale=np.array(artifact["scale"]),
            intercepts={action: float(value) for action, value in artifact["intercepts"].items()},
            coefficients={action: np.array(values) for action, values in artifact["coefficients"].items()},
        )

    def artifact(self) -> dict:
        return {
            "features": self.features,
            "types": self.types,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "intercepts": self.intercepts,
            "coefficients": {action: values.tolist() for action, values in self.coefficients.items()},
        }

    def design(
        self, rows: np.ndarray, types: Sequence[str], positions: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """Standardized features (this model's, picked by name from FEATURES' rows), content-type
        one-hots and place buckets (the first place by default)."""
        if self.features != list(FEATURES):
            rows = rows[:, [FEATURES.index(name) for name in self.features]]
        one_hot = np.array([[1.0 if kind == name else 0.0 for name in self.types] for kind in types]).reshape(
            len(types), len(self.types)
        )
        places = position_columns(positions if positions is not None else [0] * len(types))
        return np.hstack([(rows - self.mean) / self.scale, one_hot, places])

    def probabilities(self, design: np.ndarray) -> dict[str, np.ndarray]:
        return {
            action: 1.0 / (1.0 + np.exp(-(design @ self.coefficients[action] + self.intercepts[action])))
            for action in self.coefficients
        }


@dataclass
class Scored:
    values: np.ndarray  # Σ action value × probability, per post
    reasons: list[tuple[str, float]]  # per post: the feature that added most, and how much


def score(model: Model, rows: np.ndarray, types: Sequence[str], values: dict[str, float]) -> Scored:
    """Each post's value, and the feature that added most to it: for each feature, the change in
    value its deviation from the average post makes (sum of value * p(1 - p) * weight * deviation)."""
    design = model.design(rows, types)
    probabilities = model.probabilities(design)
    total = np.zeros(len(rows))
    gradient = np.zeros((len(rows), len(model.features)))
    for action, p in probabilities.items():
        worth = values.get(action, 0.0)
        total += worth * p
        gradient += (worth * p * (1 - p))[:, None] * model.coefficients[action][None, : len(model.features)]
    contributions = gradient * design[:, : len(model.features)]
    named = np.array([name in REASON_OF_FEATURE for name in model.features])
    if not named.any():
        return Scored(values=total, reasons=[("", 0.0)] * len(rows))
    contributions[:, ~named] = -np.inf
    best = contributions.argmax(axis=1)
    added = contributions[np.arange(len(rows)), best]
    return Scored(
        values=total, reasons=[(model.features[index], float(value)) for index, value in zip(best, added, strict=True)]
    )


def action_values() -> dict[str, float]:
    """Operators' values per action (admin), cached for a minute."""

    def load() -> dict[str, float]:
        stored = {row.action: float(row.value) for row in ActionValue.objects.all()}
        return {action: stored.get(action, default) for action, default in DEFAULT_ACTION_VALUES.items()}

    return cached("ranking:action-values", load, timeout=60)


def active_model() -> Model | None:
    """The active learned ranker, cached for a minute in each process; None: the heuristic ranks."""
    return _active_model(_active_version())


def _active_version() -> str:
    return cached(
        "ranking:active-ranker",
        lambda: RankingModel.objects.filter(is_active=True).values_list("version", flat=True).first() or "",
        timeout=60,
    )


@functools.lru_cache(maxsize=4)
def _active_model(version: str) -> Model | None:
    if not version:
        return None
    row = RankingModel.objects.filter(version=version).first()
    return Model.from_artifact(row.version, row.artifact) if row else None


def forget_cached_model() -> None:

    cache.delete_many(["ranking:active-ranker", "ranking:action-values"])
    _active_model.cache_clear()
