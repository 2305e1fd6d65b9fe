"""The simulated community: creators with a style, readers with trading and a hidden true taste,
and every post, planned from a seed; then the accounts written through Orbit's own paths.

`plan_community` draws everything and touches no database, so the same seed and sizes give the same
plan. `create_accounts` writes what exists before the first simulated day: accounts and profiles,
each reader's trading as the exchange reports it (account links and fills, the events of the
exchange's webhook, applied by `markets.exchange.apply_events`, what the webhook runs once the
signature is checked: it stores the fills and rebuilds the trading profiles), and the follows
readers start with (`creators.services.follow_user`). Creators who join during the
simulation get their account on their first day (`create_creator_account`, called by the loop).

Readers fall into groups, each reader's group known to the simulation (never to Orbit):

* aligned: their taste follows their trading (the assets they trade most, the content types and
  level their trading points to): For You's assumption;
* majors_read_defi: they trade BTC and ETH (sometimes SOL) and read about DeFi and new tokens;
* education_seekers: they want beginner-level education whatever they trade;
* creator_devoted: a few particular creators matter more to them than any topic;
* news_readers: they want news (macro, regulation, security) above any asset;
* novelty_hunters: they want new creators and new listings.

A quarter of the readers of every group read both English and Chinese. Creators have a style: the
sectors they write about, their usual content types and level, their language(s), the quality of
their posts (each post's true quality is drawn around their mean) and how often they post; a
quarter of them join during the simulated days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from creators.services import follow_user, update_profile
from feed.models import PostType
from feed.services import TradeCardInput
from markets import exchange
from markets.models import Asset, TradingProfile
from ranking.corpus.build_corpus import COINS, NEW_TOKENS
from ranking.profiles import trading_level
from ranking.tagging import TOPICS

from .clock import SimulatedClock
from .utility import (
    CONTENT_TYPES,
    DERIVATIVES,
    NEW_CREATOR_DAYS,
    PostCatalogue,
    PostTruth,
    Taste,
    suggested_types,
    true_utility,
)
from .writing import SECTORS, SkeletonLibrary

User = get_user_model()
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CommunitySize:
    readers: int
    creators: int
    posts: int  # published over the simulated days
    days: int


SIZES = {
    # Built, simulated and evaluated in under a minute (CI), and in about four minutes on two cores.
    "ci": CommunitySize(readers=90, creators=20, posts=420, days=5),
    "full": CommunitySize(readers=300, creators=40, posts=2000, days=8),
}

GROUP_SHARES = {
    "aligned": 0.40,
    "majors_read_defi": 0.14,
    "education_seekers": 0.12,
    "creator_devoted": 0.12,
    "news_readers": 0.11,
    "novelty_hunters": 0.11,
}
GROUPS = tuple(GROUP_SHARES)
BILINGUAL_SHARE = 0.25
CHINESE_SHARE = 0.45  # of readers whose first language is Chinese
NEW_CREATOR_SHARE = 0.25
TRADE_CARD_SHARE = 0.4  # of trade shares about a listed asset priced at a cent or more
# How each group's utility splits over its parts (see demo.simulation.utility): type, subject, creator, novelty.
GROUP_PARTS = {
    "aligned": (0.30, 0.50, 0.12, 0.08),
    "majors_read_defi": (0.30, 0.55, 0.07, 0.08),
    "education_seekers": (0.55, 0.30, 0.10, 0.05),
    "creator_devoted": (0.15, 0.15, 0.65, 0.05),
    "news_readers": (0.55, 0.35, 0.05, 0.05),
    "novelty_hunters": (0.15, 0.35, 0.05, 0.45),
}
# The typical exponent on true quality: education seekers mind quality most, devoted readers least.
GROUP_QUALITY_SENSITIVITY = {
    "aligned": 1.0,
    "majors_read_defi": 1.0,
    "education_seekers": 1.4,
    "creator_devoted": 0.5,
    "news_readers": 0.7,
    "novelty_hunters": 0.6,
}
# How well a level fits, by distance from the preferred one, for a choosy and for a tolerant reader.
STRICT_LEVEL_FIT = (1.0, 0.45, 0.1)
LEVEL_FIT = (1.0, 0.6, 0.25)
TOLERANT_LEVEL_FIT = (1.0, 0.75, 0.45)
SECOND_LANGUAGE_FIT = 0.85


@dataclass(frozen=True)
class TraderKind:
    volume: tuple[float, float]  # 30-day volume in US dollars
    instruments: tuple[str, ...]
    assets: tuple[int, int]  # how many assets, at least and at most


# Volumes fall inside markets.exchange.VOLUME_TIER_FLOORS: light, regular, active and whale traders.
TRADER_KINDS = {
    "beginner": TraderKind(volume=(300, 6_000), instruments=("spot",), assets=(1, 2)),
    "regular": TraderKind(volume=(15_000, 80_000), instruments=("spot",), assets=(2, 4)),
    "active": TraderKind(volume=(150_000, 800_000), instruments=("spot", "perpetual"), assets=(3, 5)),
    "whale": TraderKind(volume=(1_500_000, 6_000_000), instruments=("spot", "perpetual", "options"), assets=(3, 6)),
}
MIXED_TRADERS = {"beginner": 0.25, "regular": 0.35, "active": 0.28, "whale": 0.12}
GROUP_TRADERS = {
    "majors_read_defi": {"regular": 0.40, "active": 0.45, "whale": 0.15},
    "education_seekers": {"beginner": 0.35, "regular": 0.35, "active": 0.25, "whale": 0.05},
}
# The sector a reader mostly trades in.
MIXED_TRADING_SECTORS = {"majors": 0.6, "alts": 0.2, "memes": 0.1, "l2_ai": 0.1}
GROUP_TRADING_SECTORS = {
    "aligned": {"majors": 0.40, "alts": 0.20, "memes": 0.15, "defi": 0.10, "l2_ai": 0.10, "new": 0.05},
    "majors_read_defi": {"majors": 1.0},
    "novelty_hunters": {"majors": 0.4, "alts": 0.25, "memes": 0.25, "l2_ai": 0.1},
}
EARN_SHARE = 0.3  # of regular and larger traders who also use earn
# Topics each trading sector brings to an aligned reader's taste.
SECTOR_TOPICS = {
    "majors": {"technical_analysis": 0.6, "macro": 0.3},
    "alts": {"technical_analysis": 0.6, "layer2": 0.2},
    "memes": {"memecoins": 0.9},
    "defi": {"defi": 0.9, "staking": 0.5},
    "l2_ai": {"layer2": 0.7, "ai": 0.7},
    "new": {"airdrops": 0.8, "onchain": 0.6},
}
# A creator's main sector, and the content types writers in it mostly post.
CREATOR_SECTORS = {"majors": 0.3, "alts": 0.15, "memes": 0.12, "defi": 0.13, "l2_ai": 0.1, "new": 0.1, "macro": 0.1}
SECTOR_TYPES = {
    "majors": {"trade_share": 0.3, "analysis": 0.35, "education": 0.15, "news": 0.1, "chat": 0.1},
    "alts": {"trade_share": 0.3, "analysis": 0.35, "education": 0.15, "news": 0.1, "chat": 0.1},
    "memes": {"trade_share": 0.3, "chat": 0.35, "analysis": 0.15, "new_asset": 0.2},
    "defi": {"analysis": 0.3, "education": 0.25, "new_asset": 0.3, "news": 0.15},
    "l2_ai": {"analysis": 0.35, "new_asset": 0.3, "education": 0.2, "news": 0.15},
    "new": {"new_asset": 0.6, "news": 0.15, "chat": 0.15, "analysis": 0.1},
    "macro": {"news": 0.55, "analysis": 0.35, "education": 0.1},
}
# Hours (UTC) around which people read and post: morning, lunch, evening.
DAILY_PEAKS = (8.0, 13.0, 20.0)


# --- The plan ---------------------------------------------------------------------------------


@dataclass
class TradingPlan:
    """A reader's last 30 days on the exchange, as the fills will tell it."""

    volume_by_asset: dict[str, float]  # US dollars, most traded first
    instruments: tuple[str, ...]

    @property
    def traded_assets(self) -> list[str]:
        return list(self.volume_by_asset)

    @property
    def volume_tier(self) -> int:
        volume = Decimal(str(round(sum(self.volume_by_asset.values()), 2)))
        return next((int(tier) for tier, floor in exchange.VOLUME_TIER_FLOORS if volume >= floor), 0)

    @property
    def level(self) -> str:
        # Orbit's own reading of a trading profile's level.
        return trading_level(TradingProfile(volume_tier=self.volume_tier, instruments=list(self.instruments)))


@dataclass
class Creator:
    index: int
    username: str
    joined_at: datetime
    languages: dict[str, float]  # share of their posts in each language
    sectors: dict[str, float]  # what they write about
    types: dict[str, float]  # how often they post each content type
    levels: dict[str, float]
    quality: float  # the mean true quality of their posts
    user_id: int | None = None


@dataclass
class Reader:
    index: int
    username: str
    group: str
    language: str  # the language their profile is set to ("en" or "zh")
    joined_at: datetime
    trading: TradingPlan
    taste: Taste
    activity: float  # the chance they come on a given day
    follows: list[tuple[int, datetime]] = field(default_factory=list)  # creators followed before the start
    user_id: int | None = None


@dataclass
class PlannedPost:
    index: int  # its row in the community's catalogue
    at: datetime
    text: str
    truth: PostTruth
    trade_card: TradeCardInput | None
    post_id: int | None = None  # set when published


@dataclass
class Community:
    size: CommunitySize
    seed: int
    start: datetime  # midnight UTC of the first simulated day
    creators: list[Creator]
    readers: list[Reader]
    posts: list[PlannedPost]  # in publishing order
    catalogue: PostCatalogue
    row_of_post: dict[int, int] = field(default_factory=dict)  # post id → catalogue row, once published

    @property
    def end(self) -> datetime:
        """The moment after the last simulated day: when rankers are evaluated."""
        return self.start + self.size.days * DAY

    def utility(self, reader: Reader, post_ids: list[int], *, at: datetime) -> np.ndarray:
        """True utility of these published posts for this reader at `at`, in the order given."""
        rows = np.array([self.row_of_post[post_id] for post_id in post_ids], dtype=np.int64)
        return true_utility(reader.taste, self.catalogue, rows, at=at)

    def readers_by_user_id(self) -> dict[int, Reader]:
        return {reader.user_id: reader for reader in self.readers if reader.user_id is not None}


def plan_community(size: CommunitySize, *, seed: int, start: datetime) -> Community:
    """Everything the simulation will write, drawn from the seed; the database is not touched."""
    library = SkeletonLibrary()
    creators = _plan_creators(np.random.default_rng([seed, 1]), size, start)
    posts = _plan_posts(np.random.default_rng([seed, 2]), size, start, creators, library)
    catalogue = PostCatalogue([post.truth for post in posts], creators=len(creators))
    readers = _plan_readers(np.random.default_rng([seed, 3]), size, start, creators, posts, catalogue)
    return Community(
        size=size, seed=seed, start=start, creators=creators, readers=readers, posts=posts, catalogue=catalogue
    )


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    shares = np.array([weights[name] for name in names], dtype=float)
    return names[int(rng.choice(len(names), p=shares / shares.sum()))]


def hours_of_day(rng: np.random.Generator, count: int) -> np.ndarray:
    """Times of day in hours (UTC), around the daily peaks."""
    peaks = np.array(DAILY_PEAKS)[rng.integers(len(DAILY_PEAKS), size=count)]
    return np.clip(peaks + rng.normal(0.0, 2.5, size=count), 0.0, 23.99)


def _plan_creators(rng: np.random.Generator, size: CommunitySize, start: datetime) -> list[Creator]:
    creators = []
    new = set(rng.choice(size.creators, size=round(size.creators * NEW_CREATOR_SHARE), replace=False).tolist())
    for index in range(size.creators):
        if index in new:
            # They join on one of the simulated days, early enough to post a few times.
            joined_at = (
                start
                + int(rng.integers(0, max(1, size.days - 1))) * DAY
                + timedelta(hours=float(hours_of_day(rng, 1)[0]))
            )
        else:
            joined_at = start - timedelta(days=float(rng.uniform(60, 900)))
        sector = _pick(rng, CREATOR_SECTORS)
        second = _pick(rng, {name: share for name, share in CREATOR_SECTORS.items() if name != sector})
        main_type = _pick(rng, SECTOR_TYPES[sector])
        spread = rng.dirichlet(np.ones(len(CONTENT_TYPES)))
        types = {slug: 0.35 * float(spread[position]) for position, slug in enumerate(CONTENT_TYPES)}
        types[main_type] += 0.65
        main_level = _pick(rng, {"beginner": 0.35, "intermediate": 0.45, "advanced": 0.2})
        language = _pick(rng, {"en": 0.5, "zh": 0.35, "both": 0.15})
        creators.append(
            Creator(
                index=index,
                username=f"creator{index:03d}",
                joined_at=joined_at,
                languages={"en": 0.5, "zh": 0.5} if language == "both" else {language: 1.0},
                sectors={sector: 1.0, second: 0.3},
                types=types,
                levels={
                    level: 1.0 if level == main_level else 0.25 for level in ("beginner", "intermediate", "advanced")
                },
                quality=float(0.2 + 0.72 * rng.beta(2.2, 1.8)),
            )
        )
    return creators


def _plan_posts(
    rng: np.random.Generator,
    size: CommunitySize,
    start: datetime,
    creators: list[Creator],
    library: SkeletonLibrary,
) -> list[PlannedPost]:
    end = start + size.days * DAY
    rates = rng.lognormal(0.0, 0.6, size=len(creators))
    # A creator posts in proportion to their rate and to how much of the simulated time they are here.
    present = np.array([(end - max(creator.joined_at, start)) / (end - start) for creator in creators])
    authors = rng.choice(len(creators), size=size.posts, p=rates * present / (rates * present).sum())
    drafts = []
    for author in authors.tolist():
        creator = creators[author]
        # On one of the days they are here, around the daily peaks; never before they joined.
        first_day = max(0, (creator.joined_at - start).days)
        day = start + int(rng.integers(first_day, size.days)) * DAY
        at = max(day + timedelta(hours=float(hours_of_day(rng, 1)[0])), creator.joined_at + timedelta(minutes=5))
        drafts.append((min(at, end - timedelta(minutes=1)), creator))
    drafts.sort(key=lambda pair: (pair[0], pair[1].index))
    posts = []
    for index, (at, creator) in enumerate(drafts):
        language = _pick(rng, creator.languages)
        content_type = _pick(rng, creator.types)
        levels = {level: creator.levels[level] for level in library.levels(language, content_type)}
        mean = creator.quality
        quality = float(rng.beta(mean * 14, (1 - mean) * 14))
        draft = library.draft(
            rng, language=language, content_type=content_type, levels=levels, sectors=creator.sectors, quality=quality
        )
        truth = PostTruth(
            content_type=draft.content_type,
            level=draft.level,
            topics=draft.topics,
            assets=draft.assets,
            language=draft.language,
            creator=creator.index,
            quality=quality,
            by_new_creator=at - creator.joined_at < timedelta(days=NEW_CREATOR_DAYS),
            published_at=at,
        )
        posts.append(PlannedPost(index=index, at=at, text=draft.text, truth=truth, trade_card=_trade_card(rng, truth)))
    return posts


def _trade_card(rng: np.random.Generator, truth: PostTruth) -> TradeCardInput | None:
    """About 40% of trade shares on a listed coin show the trade as a card (the Trade button)."""
    main = truth.assets[0] if truth.assets else None
    if truth.content_type != "trade_share" or main not in COINS or main in ("USDT", "USDC"):
        return None
    price = COINS[main].price * float(rng.uniform(0.97, 1.03))
    if price < 0.01 or rng.random() >= TRADE_CARD_SHARE:
        return None
    side = ("long", "short", "buy")[int(rng.integers(3))]
    return TradeCardInput(instrument=f"{main}-USDT", side=side, entry_price=f"{price:.6g}")


def _plan_readers(
    rng: np.random.Generator,
    size: CommunitySize,
    start: datetime,
    creators: list[Creator],
    posts: list[PlannedPost],
    catalogue: PostCatalogue,
) -> list[Reader]:
    counts = _group_counts(size.readers)
    groups = rng.permutation([group for group, count in counts.items() for _ in range(count)]).tolist()
    posts_by = np.bincount(catalogue.creator_index, minlength=len(creators))
    readers = []
    for index, group in enumerate(groups):
        language = "zh" if rng.random() < CHINESE_SHARE else "en"
        bilingual = rng.random() < BILINGUAL_SHARE
        trading = _plan_trading(rng, group)
        taste = _taste(rng, group, trading, language, bilingual, creators, posts_by)
        reader = Reader(
            index=index,
            username=f"reader{index:04d}",
            group=group,
            language=language,
            joined_at=start - timedelta(days=float(rng.uniform(30, 900))),
            trading=trading,
            taste=taste,
            activity=float(rng.beta(3.0, 1.5)),
        )
        reader.follows = _first_follows(rng, reader, start, creators, catalogue)
        readers.append(reader)
    return readers


def _group_counts(readers: int) -> dict[str, int]:
    """Readers per group, by the largest remainder so they add up exactly."""
    exact = {group: readers * share for group, share in GROUP_SHARES.items()}
    counts = {group: int(value) for group, value in exact.items()}
    for group in sorted(exact, key=lambda group: counts[group] - exact[group])[: readers - sum(counts.values())]:
        counts[group] += 1
    return counts


def _plan_trading(rng: np.random.Generator, group: str) -> TradingPlan:
    kind = TRADER_KINDS[_pick(rng, GROUP_TRADERS.get(group, MIXED_TRADERS))]
    if group == "majors_read_defi":
        symbols = ["BTC", "ETH"] + (["SOL"] if rng.random() < 0.5 else [])
    else:
        sector = _pick(rng, GROUP_TRADING_SECTORS.get(group, MIXED_TRADING_SECTORS))
        count = int(rng.integers(kind.assets[0], kind.assets[1] + 1))
        pool = list(SECTORS[sector])
        symbols = [str(symbol) for symbol in rng.choice(pool, size=min(count, len(pool)), replace=False)]
        # Most people who trade anything also hold bitcoin or ether.
        if sector != "majors" and rng.random() < 0.6:
            symbols.append("BTC" if rng.random() < 0.6 else "ETH")
    shares = np.sort(rng.dirichlet(np.full(len(symbols), 0.8)))[::-1]
    volume = float(rng.uniform(*kind.volume))
    instruments = kind.instruments
    if kind.volume[0] >= 15_000 and rng.random() < EARN_SHARE:
        instruments = (*instruments, "earn")
    return TradingPlan(
        volume_by_asset={symbol: volume * float(share) for symbol, share in zip(symbols, shares, strict=True)},
        instruments=instruments,
    )


def _fits(preferred: str, fits: tuple[float, float, float]) -> dict[str, float]:
    order = ("beginner", "intermediate", "advanced")
    return {level: fits[abs(order.index(level) - order.index(preferred))] for level in order}


def _taste(
    rng: np.random.Generator,
    group: str,
    trading: TradingPlan,
    language: str,
    bilingual: bool,
    creators: list[Creator],
    posts_by: np.ndarray,
) -> Taste:
    """A reader's true taste, shaped by their group (see the module docstring)."""
    traded = trading.traded_assets
    top_volume = max(trading.volume_by_asset.values())
    # Weight by the square root of each asset's share of the top one, as Orbit reads trading.
    by_trading = {symbol: (volume / top_volume) ** 0.5 for symbol, volume in trading.volume_by_asset.items()}
    derivatives = bool(DERIVATIVES & set(trading.instruments))
    noise = {slug: float(rng.uniform(0.0, 0.2)) for slug in CONTENT_TYPES}
    topics = {topic: float(rng.uniform(0.0, 0.15)) for topic in TOPICS}
    assets: dict[str, float] = {}
    types = dict(noise)
    level = trading.level if rng.random() < 0.5 else _pick(rng, {"beginner": 1, "intermediate": 1, "advanced": 1})
    levels = _fits(level, TOLERANT_LEVEL_FIT)

    if group in ("aligned", "creator_devoted"):
        damping = 1.0 if group == "aligned" else 0.7
        assets = {symbol: damping * weight for symbol, weight in by_trading.items()}
        for sector in [sector for sector, symbols in SECTORS.items() if set(symbols) & set(traded)]:
            for symbol in SECTORS[sector]:
                assets.setdefault(symbol, float(rng.uniform(0.1, 0.25)))
            for topic, weight in SECTOR_TOPICS.get(sector, {}).items():
                topics[topic] = max(topics[topic], damping * weight)
        if derivatives:
            for topic, weight in {"derivatives": 0.9, "technical_analysis": 0.6, "risk_management": 0.5}.items():
                topics[topic] = max(topics[topic], damping * weight)
        if "earn" in trading.instruments:
            topics["staking"], topics["defi"] = max(topics["staking"], 0.7), max(topics["defi"], 0.5)
        for slug in suggested_types(volume_tier=trading.volume_tier, instruments=frozenset(trading.instruments)):
            types[slug] = float(rng.uniform(0.75, 1.0)) if group == "aligned" else float(rng.uniform(0.45, 0.65))
        if group == "aligned":
            level, levels = trading.level, _fits(trading.level, LEVEL_FIT)
    elif group == "majors_read_defi":
        assets = {symbol: float(rng.uniform(0.6, 1.0)) for symbol in SECTORS["defi"]}
        assets |= {symbol: float(rng.uniform(0.35, 0.75)) for symbol in SECTORS["new"]}
        assets |= {symbol: float(rng.uniform(0.1, 0.25)) for symbol in traded}
        topics |= {"defi": 1.0, "airdrops": 0.8, "onchain": 0.7, "staking": 0.7, "stablecoins": 0.5, "layer2": 0.4}
        types |= {"new_asset": 1.0, "analysis": 0.6, "education": 0.45}
    elif group == "education_seekers":
        assets = {symbol: float(rng.uniform(0.3, 0.5)) for symbol in traded}
        assets |= {symbol: max(assets.get(symbol, 0.0), 0.3) for symbol in ("BTC", "ETH")}
        topics |= {"risk_management": 0.8, "security": 0.8, "staking": 0.4, "defi": 0.3}
        types = {slug: weight * 1.25 for slug, weight in noise.items()} | {"education": 1.0}
        levels = _fits("beginner", STRICT_LEVEL_FIT)
    elif group == "news_readers":
        assets = {"BTC": 0.7, "ETH": 0.6} | {symbol: 0.4 for symbol in ("SOL", "BNB", "XRP")}
        assets |= {symbol: max(assets.get(symbol, 0.0), 0.3) for symbol in traded}
        topics |= {"macro": 1.0, "regulation": 0.9, "security": 0.7, "stablecoins": 0.4}
        types |= {"news": 1.0, "analysis": 0.4}
    elif group == "novelty_hunters":
        assets = {symbol: float(rng.uniform(0.7, 1.0)) for symbol in SECTORS["new"]}
        assets |= {symbol: float(rng.uniform(0.4, 0.6)) for symbol in SECTORS["memes"]}
        assets |= {symbol: max(assets.get(symbol, 0.0), 0.2) for symbol in traded}
        topics |= {"airdrops": 1.0, "onchain": 0.8, "memecoins": 0.7, "nfts": 0.5, "ai": 0.4}
        types |= {"new_asset": 1.0, "chat": 0.35, "news": 0.35}

    languages = {language: 1.0} | ({_other(language): SECOND_LANGUAGE_FIT} if bilingual else {})
    parts = rng.dirichlet(np.array(GROUP_PARTS[group]) * 60)
    return Taste(
        assets=assets,
        topics=topics,
        types=types,
        levels=levels,
        languages=languages,
        creators=_creator_affinities(rng, group, languages, creators, posts_by),
        parts=dict(zip(("type", "subject", "creator", "novelty"), parts.tolist(), strict=True)),
        quality_sensitivity=float(GROUP_QUALITY_SENSITIVITY[group] * rng.lognormal(0.0, 0.25)),
    )


def _other(language: str) -> str:
    return "zh" if language == "en" else "en"


def _creator_affinities(
    rng: np.random.Generator,
    group: str,
    languages: dict[str, float],
    creators: list[Creator],
    posts_by: np.ndarray,
) -> dict[int, float]:
    """Everyone likes a few voices a little; a devoted reader has two to four favourites among the
    creators writing in a language they read, the more prolific more likely."""
    affinities = {
        int(index): float(rng.uniform(0.1, 0.4))
        for index in rng.choice(len(creators), size=min(3, len(creators)), replace=False)
    }
    if group == "creator_devoted":
        readable = np.array(
            [
                posts_by[creator.index] * any(language in languages for language in creator.languages)
                for creator in creators
            ],
            dtype=float,
        )
        if readable.sum() > 0:
            count = min(int(rng.integers(2, 5)), int((readable > 0).sum()))
            for index in rng.choice(len(creators), size=count, replace=False, p=readable / readable.sum()).tolist():
                affinities[int(index)] = float(rng.uniform(0.85, 1.0))
    return affinities


def _first_follows(
    rng: np.random.Generator, reader: Reader, start: datetime, creators: list[Creator], catalogue: PostCatalogue
) -> list[tuple[int, datetime]]:
    """Creators the reader follows before the start: a few of those whose posts they like best
    (mean true utility of the creator's posts), already there before the start."""
    utility = true_utility(reader.taste, catalogue)
    posts = np.bincount(catalogue.creator_index, minlength=len(creators))
    mean_utility = np.bincount(catalogue.creator_index, weights=utility, minlength=len(creators)) / np.maximum(posts, 1)
    established = [creator for creator in creators if creator.joined_at < start]
    means = np.array([mean_utility[creator.index] for creator in established])
    count = min(len(established), 1 + int(rng.poisson(2.0)))
    weights = means**2 + 1e-4
    chosen = rng.choice(len(established), size=count, replace=False, p=weights / weights.sum()).tolist()
    favourites = [index for index, affinity in reader.taste.creators.items() if affinity >= 0.85]
    followed = {established[position].index for position in chosen}
    followed |= {index for index in favourites if creators[index].joined_at < start and rng.random() < 0.8}
    return sorted((index, start - timedelta(days=float(rng.uniform(1, 20)))) for index in sorted(followed))


# --- Writing the accounts ---------------------------------------------------------------------


def create_accounts(community: Community, *, clock: SimulatedClock) -> None:
    """Assets, the creators already here, the readers with their trading and first follows.

    Run under `clock.running()`; each account is created at its own moment before the start."""
    _check_content_types()
    if User.objects.filter(username=community.readers[0].username).exists():
        raise ImproperlyConfigured(
            f"@{community.readers[0].username} exists already: a simulated community needs a database of its own."
        )
    for symbol in sorted({*COINS, *NEW_TOKENS}):
        name = COINS[symbol].names[0] if symbol in COINS and COINS[symbol].names else NEW_TOKENS.get(symbol, symbol)
        Asset.objects.get_or_create(symbol=symbol, defaults={"name": name[:80]})
    for creator in community.creators:
        if creator.joined_at < community.start:
            create_creator_account(creator, clock=clock)
    for reader in sorted(community.readers, key=lambda reader: reader.joined_at):
        clock.set(reader.joined_at)
        user = User.objects.create_user(username=reader.username, email=f"{reader.username}@example.com")
        update_profile(user=user, display_name=reader.username.title(), language=_profile_language(reader.language))
        reader.user_id = user.pk
    clock.set(community.start - timedelta(minutes=1))
    _report_trading(community)
    by_index = {creator.index: creator for creator in community.creators}
    readers = {reader.index: reader for reader in community.readers}
    follows = sorted((at, reader.index, creator) for reader in community.readers for creator, at in reader.follows)
    users = User.objects.in_bulk([reader.user_id for reader in community.readers])
    for at, reader_index, creator_index in follows:
        clock.set(at)
        follow_user(follower=users[readers[reader_index].user_id], username=by_index[creator_index].username)
    clock.set(community.start)


def create_creator_account(creator: Creator, *, clock: SimulatedClock) -> None:
    clock.set(creator.joined_at)
    user = User.objects.create_user(username=creator.username, email=f"{creator.username}@example.com")
    main_language = max(creator.languages, key=creator.languages.__getitem__)
    update_profile(user=user, display_name=creator.username.title(), language=_profile_language(main_language))
    creator.user_id = user.pk


def _profile_language(language: str) -> str:
    return "zh-hans" if language == "zh" else "en"


def _check_content_types() -> None:
    active = set(PostType.objects.filter(is_active=True).values_list("slug", flat=True))
    missing = set(CONTENT_TYPES) - active
    if missing:
        raise ImproperlyConfigured(
            f"The simulation writes content types that are not active: {', '.join(sorted(missing))}."
        )


def _report_trading(community: Community) -> None:
    """Each reader's account link and fills, as the exchange's signed webhook delivers them, applied
    by the code the webhook runs (markets.exchange.apply_events), which rebuilds the trading profiles."""
    rng = np.random.default_rng([community.seed, 4])
    start = community.start
    prices = {
        symbol: COINS[symbol].price if symbol in COINS else float(rng.uniform(0.05, 2.0))
        for symbol in sorted({*COINS, *NEW_TOKENS})
    }
    events: list[dict] = []
    for reader in community.readers:
        uid = f"sim-{community.seed}-{reader.index:05d}"
        events.append(
            {
                "id": f"{uid}-link",
                "type": "account.linked",
                "occurred_at": _iso(reader.joined_at),
                "data": {"uid": uid, "user_id": reader.user_id, "kyc_level": 2, "opened_at": _iso(reader.joined_at)},
            }
        )
        for fill in _fills(rng, reader.trading, prices, start):
            fill_id = f"{uid}-fill-{len(events)}"
            swap = "-SWAP" if fill["kind"] == "perpetual" else ""
            declared = {"instrument_type": fill["kind"]} if fill["kind"] in ("options", "earn") else {}
            events.append(
                {
                    "id": fill_id,
                    "type": "trade.filled",
                    "occurred_at": _iso(fill["at"]),
                    "data": {
                        "uid": uid,
                        "fill_id": fill_id,
                        "instrument": f"{fill['symbol']}-USDT{swap}",
                        "side": fill["side"],
                        "quantity": fill["quantity"],
                        "price": fill["price"],
                        **declared,
                    },
                }
            )
    for first in range(0, len(events), 500):
        outcome = exchange.apply_events(events[first : first + 500])
        refused = [result for result in outcome.results if result.status == "refused"]
        if refused:
            raise RuntimeError(f"The exchange events of the simulation were refused: {refused[0]}")


def _fills(rng: np.random.Generator, trading: TradingPlan, prices: dict[str, float], start: datetime) -> list[dict]:
    """Fills over the 25 days before the start whose dollar volumes add up to the plan's (to a
    dollar), at least one for each instrument the plan uses (options and earn are declared with
    `instrument_type`, which the webhook contract allows, so they count in the same assets' volumes)."""
    fills = []
    for symbol, volume in trading.volume_by_asset.items():
        count = int(rng.integers(2, 6))
        for part in rng.dirichlet(np.ones(count)).tolist():
            price = Decimal(f"{prices[symbol] * float(rng.uniform(0.97, 1.03)):.6g}")
            quantity = (Decimal(str(volume * part)) / price).quantize(Decimal("0.00000001"))
            # The exchange reports no fill worth less than a cent; a dollar or less is left out.
            if volume * part >= 1 and quantity > 0:
                at = start - timedelta(hours=float(rng.uniform(1, 25 * 24)))
                fills.append({"symbol": symbol, "price": str(price), "quantity": str(quantity), "at": at})
    kinds = [kind for kind in trading.instruments if kind != "spot"] + ["spot"]
    for position, fill in enumerate(fills):
        if position < len(kinds):
            fill["kind"] = kinds[position]
        else:
            fill["kind"] = "perpetual" if "perpetual" in trading.instruments and rng.random() < 0.4 else "spot"
        fill["side"] = "buy" if rng.random() < 0.6 else "sell"
    return fills


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
