"""The ground truth: what each reader truly wants, and how much a post gives them.

A reader's true taste (`Taste`) weighs what a post can offer them in four parts, whose shares of
the whole (`Taste.parts`) sum to 1:

* type: their liking of the post's content type (0 to 1);
* subject: what the post is about: the best of its assets (the first named counts fully, the
  others half) and its topics (at 0.8), each liked 0 to 1;
* creator: their affinity for its author (0 to 1; creator-devoted readers have a few at about 1);
* novelty: half for a creator who joined within the last 30 days, half for naming a new listing.

That sum is then multiplied by how well the post's level fits them (1 at their level, less further
away), whether they read its language (1, a little less for a bilingual reader's second language,
0.04 otherwise), its true quality to the power of their quality sensitivity and, read at a given
moment, how timely it still is:

    utility = (sum of share * match) * level fit * language fit * quality ** sensitivity * timeliness

The quality is the post's hidden true quality, not the tagger's estimate of it. Timeliness halves
every SHELF_LIFE_HOURS after publishing, by content type: news after 12 hours, trade shares and chat
after a day, analysis after three days, new assets and strategies after five; education keeps.
Asked without a moment (a creator's style, a reader's favourite posts), utility is timeless.

`what_trading_suggests` says what a reader's trading points to (assets, content types, level), and
`differs_from_trading` compares a true taste with it: the measured check that many readers want
something else than what they trade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np

from demo.parameters import POST_TYPES
from ranking.tagging import LEVELS, TOPICS

from .writing import NEW_ASSETS, SECTORS

CONTENT_TYPES: tuple[str, ...] = tuple(POST_TYPES)
LANGUAGES: tuple[str, ...] = ("en", "zh")
# Every asset a taste or a post can name: the sectors' and the stablecoins posts mention.
ASSETS: tuple[str, ...] = (*sorted({symbol for symbols in SECTORS.values() for symbol in symbols}), "USDC", "USDT")
ASSET_INDEX = {symbol: position for position, symbol in enumerate(ASSETS)}
TOPIC_INDEX = {topic: position for position, topic in enumerate(TOPICS)}
TYPE_INDEX = {slug: position for position, slug in enumerate(CONTENT_TYPES)}
LEVEL_INDEX = {level: position for position, level in enumerate(LEVELS)}
LANGUAGE_INDEX = {language: position for position, language in enumerate(LANGUAGES)}
PARTS: tuple[str, ...] = ("type", "subject", "creator", "novelty")
# A post's other assets count half as much as the one it is mainly about; a topic 0.8 of an asset.
SECOND_ASSET_WEIGHT = 0.5
TOPIC_WEIGHT = 0.8
# A creator is new for 30 days after joining, as Orbit's exploration counts them.
NEW_CREATOR_DAYS = 30
UNREAD_LANGUAGE_FIT = 0.04
# How many hours after publishing a post of each type is worth half as much (None: it keeps).
SHELF_LIFE_HOURS: dict[str, float | None] = {
    "news": 12.0,
    "trade_share": 24.0,
    "chat": 24.0,
    "analysis": 72.0,
    "new_asset": 120.0,
    "education": None,
}
DERIVATIVES = frozenset({"perpetual", "options"})


@dataclass
class Taste:
    """A reader's true taste. Every weight is 0 to 1; names missing from a map weigh 0."""

    assets: dict[str, float]
    topics: dict[str, float]
    types: dict[str, float]
    levels: dict[str, float]  # how well each level fits them
    languages: dict[str, float]  # how well they read each language
    creators: dict[int, float]  # creator index → affinity
    parts: dict[str, float]  # share of each of PARTS in the utility, summing to 1
    quality_sensitivity: float  # the exponent on true quality

    @cached_property
    def vectors(self) -> dict[str, np.ndarray]:
        """The maps as arrays over the vocabularies above, for vectorised utility."""
        return {
            "assets": _vector(self.assets, ASSET_INDEX),
            "topics": _vector(self.topics, TOPIC_INDEX),
            "types": _vector(self.types, TYPE_INDEX),
            "levels": _vector(self.levels, LEVEL_INDEX),
            "languages": np.array([self.languages.get(language, UNREAD_LANGUAGE_FIT) for language in LANGUAGES]),
        }

    def creator_vector(self, creators: int) -> np.ndarray:
        vector = np.zeros(creators)
        for index, affinity in self.creators.items():
            vector[index] = affinity
        return vector

    def top(self, part: str) -> str | None:
        """The name this taste likes most in `assets`, `topics` or `types` (None when it likes none)."""
        weights: dict[str, float] = getattr(self, part)
        return max(sorted(weights), key=weights.__getitem__) if any(weights.values()) else None


def _vector(weights: dict[str, float], index: dict[str, int]) -> np.ndarray:
    vector = np.zeros(len(index))
    for name, weight in weights.items():
        if name in index:
            vector[index[name]] = weight
    return vector


@dataclass(frozen=True)
class PostTruth:
    """What a post truly is, as the simulation wrote it."""

    content_type: str
    level: str
    topics: tuple[str, ...]
    assets: tuple[str, ...]  # in order of first mention
    language: str
    creator: int  # creator index
    quality: float  # the hidden true quality, 0 to 1
    by_new_creator: bool  # its author joined within NEW_CREATOR_DAYS before it
    published_at: datetime


@dataclass
class PostCatalogue:
    """Every post's truth as arrays, one row per post, in the order the posts were given."""

    truths: list[PostTruth]
    creators: int
    type_index: np.ndarray = field(init=False)
    level_index: np.ndarray = field(init=False)
    language_index: np.ndarray = field(init=False)
    creator_index: np.ndarray = field(init=False)
    quality: np.ndarray = field(init=False)
    novelty: np.ndarray = field(init=False)
    published: np.ndarray = field(init=False)  # seconds since the epoch
    shelf_life: np.ndarray = field(init=False)  # hours (infinite for posts that keep)
    asset_weights: np.ndarray = field(init=False)  # posts × ASSETS
    topic_weights: np.ndarray = field(init=False)  # posts × TOPICS

    def __post_init__(self) -> None:
        truths = self.truths
        self.type_index = np.array([TYPE_INDEX[truth.content_type] for truth in truths], dtype=np.int64)
        self.level_index = np.array([LEVEL_INDEX[truth.level] for truth in truths], dtype=np.int64)
        self.language_index = np.array([LANGUAGE_INDEX[truth.language] for truth in truths], dtype=np.int64)
        self.creator_index = np.array([truth.creator for truth in truths], dtype=np.int64)
        self.quality = np.array([truth.quality for truth in truths])
        self.published = np.array([truth.published_at.timestamp() for truth in truths])
        self.shelf_life = np.array([SHELF_LIFE_HOURS[truth.content_type] or np.inf for truth in truths])
        self.asset_weights = np.zeros((len(truths), len(ASSETS)))
        self.topic_weights = np.zeros((len(truths), len(TOPICS)))
        new_asset = np.zeros(len(truths))
        for row, truth in enumerate(truths):
            for position, symbol in enumerate(truth.assets):
                if symbol in ASSET_INDEX:
                    weight = 1.0 if position == 0 else SECOND_ASSET_WEIGHT
                    self.asset_weights[row, ASSET_INDEX[symbol]] = max(
                        self.asset_weights[row, ASSET_INDEX[symbol]], weight
                    )
            for topic in truth.topics:
                self.topic_weights[row, TOPIC_INDEX[topic]] = TOPIC_WEIGHT
            new_asset[row] = any(symbol in NEW_ASSETS for symbol in truth.assets)
        self.novelty = 0.5 * np.array([truth.by_new_creator for truth in truths], dtype=float) + 0.5 * new_asset

    def __len__(self) -> int:
        return len(self.truths)


def true_utility(
    taste: Taste, posts: PostCatalogue, which: np.ndarray | None = None, *, at: datetime | None = None
) -> np.ndarray:
    """How much each post gives the reader with this taste, in [0, 1] (see the module docstring).

    `which`: the catalogue rows to score (all of them when None); `at`: the moment they are read
    (None: timeless)."""
    rows = np.arange(len(posts)) if which is None else np.asarray(which, dtype=np.int64)
    vectors = taste.vectors
    subject = np.maximum(
        (posts.asset_weights[rows] * vectors["assets"]).max(axis=1, initial=0.0),
        (posts.topic_weights[rows] * vectors["topics"]).max(axis=1, initial=0.0),
    )
    matches = {
        "type": vectors["types"][posts.type_index[rows]],
        "subject": subject,
        "creator": taste.creator_vector(posts.creators)[posts.creator_index[rows]],
        "novelty": posts.novelty[rows],
    }
    interest = sum(taste.parts[part] * matches[part] for part in PARTS)
    fit = vectors["levels"][posts.level_index[rows]] * vectors["languages"][posts.language_index[rows]]
    utility = interest * fit * posts.quality[rows] ** taste.quality_sensitivity
    if at is not None:
        age_hours = np.maximum(0.0, at.timestamp() - posts.published[rows]) / 3600.0
        utility = utility * 0.5 ** (age_hours / posts.shelf_life[rows])
    return np.clip(utility, 0.0, 1.0)


# --- What trading suggests -------------------------------------------------------------------


@dataclass(frozen=True)
class TradingSuggestion:
    """What a reader's trading points to: the assets they trade most, content types, a level."""

    assets: tuple[str, ...]
    types: tuple[str, ...]
    level: str


# The most-traded assets a reader's trading is taken to point at.
SUGGESTED_ASSETS = 3


def suggested_types(*, volume_tier: int, instruments: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The content types trading points to, as Orbit's trading profile reads it
    (ranking.profiles.trading_interest: derivatives lean to analysis and trade shares, beginners to
    education); a regular spot trader is taken to read analysis and trade shares too."""
    if instruments & DERIVATIVES or volume_tier >= 3:
        return ("trade_share", "analysis")
    if volume_tier <= 1:
        return ("education",)
    return ("analysis", "trade_share")


def what_trading_suggests(
    *, traded_assets: list[str], volume_tier: int, instruments: list[str], level: str
) -> TradingSuggestion:
    """The suggestion from a trading profile's own fields (traded assets most traded first)."""
    return TradingSuggestion(
        assets=tuple(symbol.upper() for symbol in traded_assets[:SUGGESTED_ASSETS]),
        types=suggested_types(volume_tier=volume_tier, instruments=frozenset(instruments)),
        level=level,
    )


def differs_from_trading(taste: Taste, suggestion: TradingSuggestion) -> list[str]:
    """In what this taste is not what the trading suggests ("asset", "content type", "creators");
    empty when it is.

    A taste differs when its favourite asset is not among the assets traded most, when its favourite
    content type is not one the trading points to, or when it weighs its favourite creators above
    both content types and subjects (no trading points to a person)."""
    differences = []
    top_asset = taste.top("assets")
    if top_asset is not None and top_asset not in suggestion.assets:
        differences.append("asset")
    top_type = taste.top("types")
    if top_type is not None and top_type not in suggestion.types:
        differences.append("content type")
    if taste.parts["creator"] > max(taste.parts["type"], taste.parts["subject"]):
        differences.append("creators")
    return differences
