"""Post texts for the simulated community, grown from the tagger corpus's hand-written skeletons.

The corpus (ranking/corpus/, see build_corpus.py) grows every training post from a skeleton written
by hand and labelled with its content type, level, topics and a base quality; expanding one fills
its asset slots, prices and numbers and adds what real posts carry (openers, asides, hashtags,
links, typos). A simulated post is a new expansion of such a skeleton (variants from FIRST_VARIANT
on, where the corpus uses 0 to 2): a text the tagger never saw, of the kinds it learned from. Its
true content type, level and topics are the skeleton's labels and its true assets are the ones the
expansion wrote, whatever the tagger later makes of the text.

A creator's style steers the choice: the skeleton must be of the wanted content type and language;
its level, what it is about (its sectors) and how good it reads (its base quality, near the post's
true quality) weigh the draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ranking.corpus.build_corpus import (
    NEW_TOKENS,
    SKELETON_FILES,
    SLOT,
    STREAM_LONG,
    STREAM_SHORT,
    STREAM_SHORT_CHARS,
    STREAM_SKELETON_FILES,
    WRITTEN,
    Skeleton,
    Style,
    expand,
    read_skeletons,
)

# The corpus expands each skeleton as variants 0, 1 and 2; simulated posts never reuse those.
FIRST_VARIANT = 1_000
# Expansions tried to land on an asset of the creator's own sectors before taking the last one.
EXPANSION_TRIES = 6
# How close a skeleton's base quality must be to the post's true quality to be likely (a Gaussian width).
QUALITY_WIDTH = 0.15

# What posts are about: groups of assets people follow together. "new" holds the corpus's fictional
# new listings; "macro" has no assets of its own (macro, regulation and security posts).
SECTORS: dict[str, tuple[str, ...]] = {
    "majors": ("BTC", "ETH", "SOL", "BNB", "XRP"),
    "alts": ("LINK", "SUI", "TON", "ADA", "AVAX", "APT", "TRX", "DOT", "LTC", "NEAR", "INJ", "TIA", "SEI", "ATOM"),
    "memes": ("DOGE", "PEPE", "SHIB", "WIF", "BONK"),
    "defi": ("UNI", "AAVE", "LDO", "ENA", "ONDO"),
    "l2_ai": ("ARB", "OP", "STRK", "FET", "RENDER", "TAO"),
    "new": tuple(sorted(NEW_TOKENS)),
    "macro": (),
}
SECTOR_OF_ASSET = {symbol: sector for sector, symbols in SECTORS.items() for symbol in symbols}
NEW_ASSETS = frozenset(SECTORS["new"])
# The skeleton files' asset pools and topics, read as sectors.
POOL_SECTORS = {
    "major": "majors",
    "btc": "majors",
    "eth": "majors",
    "sol": "majors",
    "launch": "majors",
    "alt": "alts",
    "meme": "memes",
    "defi": "defi",
    "stable": "defi",
    "stakeable": "defi",
    "l2": "l2_ai",
    "ai": "l2_ai",
    "new": "new",
    "fresh": "new",
}
TOPIC_SECTORS = {
    "memecoins": "memes",
    "defi": "defi",
    "staking": "defi",
    "stablecoins": "defi",
    "layer2": "l2_ai",
    "ai": "l2_ai",
    "airdrops": "new",
    "onchain": "new",
    "nfts": "new",
    "macro": "macro",
    "regulation": "macro",
    "security": "macro",
}


@dataclass(frozen=True)
class Draft:
    """A post's text and what it truly is."""

    text: str
    content_type: str
    level: str
    topics: tuple[str, ...]
    assets: tuple[str, ...]  # in order of first mention: the first is what the post is mainly about
    language: str
    sectors: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    skeleton: Skeleton
    style: Style
    sectors: tuple[str, ...]


def skeleton_sectors(skeleton: Skeleton) -> tuple[str, ...]:
    """What a skeleton is about: its asset pools and topics read as sectors (none for "gm"), in a
    fixed order, so that weights summed over them are the same in every process."""
    pools = {POOL_SECTORS[slot["pool"]] for slot in SLOT.finditer(skeleton.text) if slot["pool"] in POOL_SECTORS}
    return tuple(sorted(pools | {TOPIC_SECTORS[topic] for topic in skeleton.topics if topic in TOPIC_SECTORS}))


class SkeletonLibrary:
    """Every corpus skeleton, by language and content type."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], list[_Entry]] = {}
        for language, path in SKELETON_FILES.items():
            for skeleton in read_skeletons(path, language):
                self._add(language, skeleton, WRITTEN)
        for language, path in STREAM_SKELETON_FILES.items():
            if not path.exists():
                continue
            for skeleton in read_skeletons(path, language, group_prefix=f"stream-{language}-"):
                style = STREAM_SHORT if len(skeleton.text) <= STREAM_SHORT_CHARS else STREAM_LONG
                self._add(language, skeleton, style)

    def _add(self, language: str, skeleton: Skeleton, style: Style) -> None:
        entry = _Entry(skeleton=skeleton, style=style, sectors=skeleton_sectors(skeleton))
        self.entries.setdefault((language, skeleton.content_type), []).append(entry)

    def levels(self, language: str, content_type: str) -> set[str]:
        return {entry.skeleton.level for entry in self.entries[language, content_type]}

    def draft(
        self,
        rng: np.random.Generator,
        *,
        language: str,
        content_type: str,
        levels: dict[str, float],
        sectors: dict[str, float],
        quality: float,
    ) -> Draft:
        """A new post of this type and language whose level, sectors and written quality follow the
        weights given (`levels` and `sectors` map names to weights; unknown names weigh nothing)."""
        entries = self.entries[language, content_type]
        weights = np.array(
            [
                (levels.get(entry.skeleton.level, 0.0) + 1e-3)
                # A skeleton about nothing in particular ("gm", a generic question) suits anyone a little.
                * (0.15 + (sum(sectors.get(sector, 0.0) for sector in entry.sectors) if entry.sectors else 0.3))
                * math.exp(-(((entry.skeleton.quality - quality) / QUALITY_WIDTH) ** 2))
                for entry in entries
            ]
        )
        entry = entries[int(rng.choice(len(entries), p=weights / weights.sum()))]
        post: dict = {}
        for _try in range(EXPANSION_TRIES):
            variant = FIRST_VARIANT + int(rng.integers(1_000_000_000))
            post = expand(entry.skeleton, language=language, variant=variant, style=entry.style)
            main = post["assets"][0] if post["assets"] else None
            if main is None or sectors.get(SECTOR_OF_ASSET.get(main, ""), 0.0) > 0:
                break
        return Draft(
            text=post["text"],
            content_type=content_type,
            level=entry.skeleton.level,
            topics=tuple(post["topics"]),
            assets=tuple(post["assets"]),
            language=language,
            sectors=entry.sectors,
        )
