"""Random streams and vectorised sampling: what every part of the generator draws with.

GeneratorBase holds the sizes, the anchor and the per-part random streams (one independent stream
per part, so a change in one part leaves the others' rows alone); the functions draw many weighted
choices at once with numpy.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass

import numpy as np

from demo.copy_writer import epoch_ms
from demo.parameters import DAY, ENGAGEMENT_DAYS
from demo.tables import ASSETS


class GeneratorBase:
    """Sizes, anchor, ids and random streams shared by every part of the generator (see DemoGenerator)."""

    def __init__(
        self, *, users, posts, events, seed, anchor, password_hash, asset_ids, hashtag_ids, next_ids, report, say
    ):
        self.n_users = users
        self.n_posts = posts
        self.n_events = events
        self.seed = seed
        self.anchor_ms = epoch_ms(anchor)
        self.window_start_ms = self.anchor_ms - ENGAGEMENT_DAYS * DAY
        self.password_hash = password_hash
        self.asset_ids = asset_ids
        self.hashtag_ids = hashtag_ids
        self.next_ids = next_ids
        self.report = report
        self.say = say

        # The planted patterns and the follow events get fixed shares of the event budget.
        self.n_burst = min(40, users // 5, events // 100)
        self.budget_self = round(0.005 * events)
        # Enough for each ring member to engage once with each other member (6 * 5 pairs, 3-4 rows each).
        self.budget_ring = max(round(0.015 * events), 120 if events >= 2_000 else 0)
        self.budget_burst = max(round(0.012 * events), 3 * self.n_burst) if self.n_burst else 0
        self.budget_follow_events = round(0.02 * events)

        self.asset_symbols = [symbol for symbol, *_ in ASSETS]
        self.asset_prices = np.array([price for _s, _n, price, _w in ASSETS])
        self.asset_weights = np.array([weight for *_, weight in ASSETS])

    def _rng(self, part: str) -> np.random.Generator:
        # One independent stream per part, so a change in one part leaves the others' rows alone.
        part_key = int.from_bytes(hashlib.blake2b(part.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng([self.seed, part_key])

    def _rand(self, part: str) -> random.Random:
        return random.Random(f"orbit-demo:{self.seed}:{part}")

    def _stage(self, name: str, began: float) -> None:
        seconds = time.perf_counter() - began
        self.report.stages.append((name, seconds))
        self.say(f"  generated {name} in {seconds:.2f} s")


# numpy's exp and log take CPU-specific SIMD paths (AVX-512 has its own), whose last bits differ
# from the C library's; a price rounded to its tick, or a volume to the cent, then differs between
# machines. The C library's functions give the same bits everywhere, so the same seed writes the
# same rows on any machine. (A few hundred thousand values per seed: fast enough.)
_exact_exp = np.vectorize(math.exp, otypes=[np.float64])
_exact_log = np.vectorize(math.log, otypes=[np.float64])
_exact_log10 = np.vectorize(math.log10, otypes=[np.float64])


def exp(values: np.ndarray) -> np.ndarray:
    return _exact_exp(values)


def log(values: np.ndarray) -> np.ndarray:
    return _exact_log(values)


def log10(values: np.ndarray) -> np.ndarray:
    return _exact_log10(values)


def weighted_draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with replacement, proportional to weights."""
    if size == 0:
        return np.empty(0, dtype=np.int64)
    cdf = np.cumsum(weights, dtype=np.float64)
    picks = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return np.minimum(picks, len(weights) - 1)


def weighted_distinct(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """size distinct indices, drawn without replacement proportionally to weights, in index order."""
    size = min(size, int(np.count_nonzero(weights > 0)))
    if size <= 0:
        return np.empty(0, dtype=np.int64)
    with np.errstate(divide="ignore"):
        keys = rng.exponential(size=len(weights)) / weights  # Efraimidis-Spirakis: smallest keys win
    return np.sort(np.argpartition(keys, size - 1)[:size])


def contains_sorted(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of values occur in the sorted array sorted_values."""
    if not len(sorted_values):
        return np.zeros(len(values), bool)
    positions = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[positions] == values


@dataclass
class WeightedGroups:
    """Items bucketed by group (posts by author, followees by follower…) to draw one item of a given
    group in proportion to the items' weights, for many groups at once.

    One running sum over all items, ordered by group, serves every group: a group's items are the
    slice starts[g]:ends[g], and a uniform number between the running sums at its two ends lands on
    an item with probability proportional to its weight.
    """

    items: np.ndarray
    cumulative: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    totals: np.ndarray  # summed weight of each group; 0 for a group without items

    @classmethod
    def build(cls, *, groups: np.ndarray, items: np.ndarray, weights: np.ndarray, n_groups: int) -> WeightedGroups:
        order = np.argsort(groups, kind="stable")
        sorted_groups = groups[order]
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
        starts = np.searchsorted(sorted_groups, np.arange(n_groups), side="left")
        ends = np.searchsorted(sorted_groups, np.arange(n_groups), side="right")
        padded = np.r_[0.0, cumulative]
        return cls(np.asarray(items)[order], cumulative, starts, ends, padded[ends] - padded[starts])

    def draw(self, rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
        """One item from each of groups (each must have a positive total)."""
        if not len(groups):
            return np.empty(0, dtype=self.items.dtype)
        starts, ends = self.starts[groups], self.ends[groups]
        before = np.r_[0.0, self.cumulative][starts]
        picks = np.searchsorted(self.cumulative, before + rng.random(len(groups)) * self.totals[groups], side="right")
        # Rounding can land one past the group's end; items of zero weight are never picked.
        return self.items[np.clip(picks, starts, ends - 1)]


def zipf_weights(size: int, exponent: float) -> np.ndarray:
    return 1.0 / (np.arange(size) + 1.0) ** exponent


def random_delays(rng: np.random.Generator, size: int, low_ms: int, high_ms: int) -> np.ndarray:
    return rng.integers(low_ms, high_ms, size=size, dtype=np.int64)


def device_fingerprint(seed: int, label: str) -> str:
    return hashlib.blake2b(f"orbit-demo:{seed}:{label}".encode(), digest_size=16).hexdigest()
