"""The operators' content-type weights as a goal under the learned ranker, not a flat multiplier.

The heuristic ranker multiplies every post's score by its type's weight (ranking.weights): a reader
who never reads education gets the same education boost as a beginner who wants nothing else, so
boosted posts take places where they are worth little. Under the learned ranker the same weight is
spread by how much each reader is likely to value the type:

    fit(reader, type) = r / (1 + r),  r = the reader's mean predicted value of their candidates of
                                          the type / the mean of all their candidates
    lift = weight ^ (confidence * 2 fit)          for a boost (weight above 1)
    lift = weight ^ (confidence * 2 (1 - fit))    for a penalty (weight below 1)

A reader for whom the type is worth as much as their average candidate (fit ½) gets the weight as
before; a beginner whose lessons are predicted at three times their average gets weight^1.5; a
trader who would skip them (a third of their average) gets weight^0.5. A penalty spares those who
value the type and falls hardest on those who do not. So the boost moves to where it is wanted.

What it must not move is the operators' goal: the type's share of everything For You serves
(`ContentTypeWeight.target_share`). While a learned ranker is active the daily rebalance works on
that result directly (ranking.weights: the multiplier follows yesterday's measured exposure share
against the target, within the operators' bounds), so the platform-wide share holds whatever the
spreading does to it.

See docs/ranking.md#operator-weights-under-the-learned-ranker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def reader_fit(values: np.ndarray, types: Sequence[str]) -> dict[str, float]:
    """Content type → how likely this reader is to value it (0 to 1, ½ for a type whose candidates
    are predicted at the reader's average), from the learned values of their candidates. Negative
    values (a likely hide or report) count as worthless."""
    worth = np.maximum(np.asarray(values, dtype=float), 0.0)
    overall = float(worth.mean()) if len(worth) else 0.0
    if overall <= 0:
        return dict.fromkeys(types, 0.5)  # nothing predicted worth anything: nobody stands out
    kinds = np.asarray(types)
    fit = {}
    for kind in set(types):
        ratio = float(worth[kinds == kind].mean()) / overall
        fit[kind] = ratio / (1.0 + ratio)
    return fit


def lift(weight: float, confidence: float, fit: float) -> float:
    """The multiplier a post gets from its type's effective weight, for a reader of this fit, as far
    as the tagger is sure of the type (see the module docstring). A weight of 0 still takes the type
    out of For You."""
    if weight <= 0:
        return 0.0
    sure = min(1.0, max(0.0, confidence))
    spread = 2.0 * fit if weight >= 1.0 else 2.0 * (1.0 - fit)
    return math.pow(weight, sure * spread)
