"""Unbiased offline evaluation of a ranker from the impression log.

Clicks that follow a ranked list reward what the list already showed: scored against them, the
ranker that made the log always looks best, and a chronological feed can look better than a good
ranker. The exploration places of For You (ranking.scoring.add_exploration) are what makes an
unbiased estimate possible: their posts were drawn at random, with a known probability, from every
candidate good enough, whatever the ranker thought of them.

The model of a reader (position-based): the reward of a post shown in place k is the chance that
the reader looks at place k, times what the post is worth to them. So the value of a ranker's list
is Σ_k look(k) * worth(post in place k), the engagement a page of it gets, which an A/B test would
measure. From one exploration draw (post a in place k0, drawn with probability p from a list whose
exploration share was s, reward r):

    estimate = look(rank of a in the target list) / look(k0) * r * s / p

`s / p` is how large the pool was in draws of a's weight, so the draw stands for the whole pool
(inverse propensity); `r / look(k0)` undoes the place it happened to be shown in. Its expectation
over the draw is exactly the value above for the posts of the pool. `look` is estimated from the
same draws (`examination`): they land in every place at random, so the mean reward of the draws in
place k is proportional to look(k), and a common scale cancels out of the ratio.

The doubly robust estimate adds a model of worth (`worth`): its prediction for the target's whole
list, plus the inverse-propensity correction of its error on the draw. It is unbiased whatever the
model, and tighter the better the model is.

A list's draws are combined weighted by the look at the place each was shown in. Every draw's
estimate is unbiased on its own (which places explore does not depend on what is drawn), but one
shown where readers seldom look stands for its reward divided by that small look: its variance goes
as 1 / look, so weighting by the look is the combination with the least variance. The rare rewarded
draws of deep places would otherwise dominate the estimate and leave its interval too narrow.

Contexts are (reader, moment the logged list was ranked): the target ranks as of the same moment,
from what was known then. Standard errors are over contexts.

See docs/ranking.md#unbiased-offline-evaluation.
"""

from __future__ import annotations

import functools
import math
import random
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from django.db import connection
from sklearn.isotonic import IsotonicRegression

from . import evaluation
from .evaluation import GRADE_SQL
from .impressions import FOLLOWING_ENGAGEMENT_SQL, window_seconds
from .models import Impression

# Places of the target list that count: a page and a half of For You.
DEPTH = 30
Z_95 = 1.96


@dataclass(frozen=True)
class Draw:
    """One exploration place that a reader was shown, and what they did with its post."""

    context: Hashable  # (reader id, when the list was ranked)
    post_id: int
    position: int
    propensity: float
    share: float
    reward: float


@dataclass(frozen=True)
class Estimate:
    value: float
    stderr: float
    contexts: int
    draws: int

    @property
    def low(self) -> float:
        return self.value - Z_95 * self.stderr

    @property
    def high(self) -> float:
        return self.value + Z_95 * self.stderr

    def __str__(self) -> str:
        return f"{self.value:.4f} ± {Z_95 * self.stderr:.4f}"


# The target ranker's list for a context, best first.
Policy = Callable[[Hashable], Sequence[int]]
# A model's worth of a post for a context, in the units of reward / look (see `Examination`).
Worth = Callable[[Hashable, Sequence[int]], Sequence[float]]


class Examination:
    """How likely a reader is to look at each place, up to a common scale: the mean reward of the
    exploration draws shown in each place, made non-increasing (isotonic regression weighted by the
    draws in each place) and floored, so that a place with no reward seen yet never divides by 0."""

    def __init__(self, draws: Iterable[Draw], *, floor_share: float = 0.02):
        by_place: dict[int, list[float]] = defaultdict(list)
        for draw in draws:
            by_place[draw.position].append(draw.reward)
        if not by_place:
            raise ValueError("no exploration draws: nothing to estimate from")
        places = np.array(sorted(by_place), dtype=float)
        means = np.array([np.mean(by_place[int(place)]) for place in places])
        counts = np.array([len(by_place[int(place)]) for place in places], dtype=float)
        fit = IsotonicRegression(increasing=False, out_of_bounds="clip").fit(places, means, sample_weight=counts)
        self._fit = fit
        top = float(fit.predict([places[0]])[0])
        self.floor = max(top * floor_share, 1e-9)

    def look(self, places: Sequence[int] | np.ndarray) -> np.ndarray:
        return np.maximum(self._fit.predict(np.asarray(places, dtype=float)), self.floor)


def estimate(
    draws: Sequence[Draw],
    policy: Policy,
    *,
    examination: Examination | None = None,
    worth: Worth | None = None,
    depth: int = DEPTH,
) -> Estimate:
    """The engagement a page of `policy`'s lists would get, estimated from the draws: inverse
    propensity, or doubly robust with a model of `worth`."""
    values = _per_context(draws, policy, examination or Examination(draws), worth, depth)
    return _summary(values, len(draws))


def compare(
    draws: Sequence[Draw],
    candidate: Policy,
    baseline: Policy,
    *,
    examination: Examination | None = None,
    worth: Worth | None = None,
    depth: int = DEPTH,
) -> tuple[Estimate, Estimate, Estimate]:
    """Both rankers' estimates and their difference (candidate - baseline), paired by context, so
    the difference's error is far smaller than either estimate's."""
    examination = examination or Examination(draws)
    ours = _per_context(draws, candidate, examination, worth, depth)
    theirs = _per_context(draws, baseline, examination, worth, depth)
    difference = {context: ours[context] - theirs[context] for context in ours}
    return _summary(ours, len(draws)), _summary(theirs, len(draws)), _summary(difference, len(draws))


def _per_context(
    draws: Sequence[Draw], policy: Policy, examination: Examination, worth: Worth | None, depth: int
) -> dict[Hashable, float]:
    """Each context's estimate: the mean over its draws weighted by the look at their places (see the
    module's docstring). A list's later draws come from the pool less its earlier draws, so each
    draw's estimate adds the earlier draws back, from their own rewards."""
    by_context: dict[Hashable, list[Draw]] = defaultdict(list)
    for draw in draws:
        by_context[draw.context].append(draw)
    values = {}
    for context, its_draws in by_context.items():
        its_draws.sort(key=lambda draw: draw.position)
        ranking = list(policy(context))[:depth]
        place_of = {post_id: place for place, post_id in enumerate(ranking)}
        looks = examination.look(range(len(ranking))) if ranking else np.array([])
        shown_looks = examination.look([draw.position for draw in its_draws])
        direct = 0.0
        predicted: dict[int, float] = {}
        if worth is not None:
            wanted = list(dict.fromkeys([*ranking, *(draw.post_id for draw in its_draws)]))
            predicted = dict(zip(wanted, worth(context, wanted), strict=True))
            direct = float(sum(looks[place] * predicted[post_id] for post_id, place in place_of.items()))
        # What each draw adds to the target's page: its place's look times the model's error on it.
        added = []
        for draw, shown_look in zip(its_draws, shown_looks, strict=True):
            place = place_of.get(draw.post_id)
            error = draw.reward / float(shown_look) - predicted.get(draw.post_id, 0.0)
            added.append(0.0 if place is None else float(looks[place]) * error)
        corrections = []
        earlier = 0.0
        for draw, adds in zip(its_draws, added, strict=True):
            corrections.append(adds * draw.share / draw.propensity + earlier)
            earlier += adds
        values[context] = direct + float(np.average(corrections, weights=shown_looks))
    return values


def _summary(values: Mapping[Hashable, float], draws: int) -> Estimate:
    array = np.array(list(values.values()), dtype=float)
    if len(array) == 0:
        return Estimate(value=math.nan, stderr=math.nan, contexts=0, draws=draws)
    stderr = float(array.std(ddof=1) / math.sqrt(len(array))) if len(array) > 1 else math.inf
    return Estimate(value=float(array.mean()), stderr=stderr, contexts=len(array), draws=draws)


# --- From the log ------------------------------------------------------------------------------

# The reward of an exploration impression: the best grade of what its reader did with its post
# after it (FOLLOWING_ENGAGEMENT_SQL); grades as the offline evaluation's (ranking.evaluation).
_DRAWS_SQL = f"""
    SELECT i.reader_id, i.list_built_at, i.post_id, i.position, i.propensity, i.explore_share,
           coalesce(max({GRADE_SQL}), 0) AS reward
    FROM ranking_impression i
    {FOLLOWING_ENGAGEMENT_SQL}
    WHERE i.source = 'explore' AND i.surface = %(surface)s
      AND i.served_at >= %(since)s AND i.served_at < %(until)s
      AND (%(readers)s::bigint[] IS NULL OR i.reader_id = ANY(%(readers)s::bigint[]))
    GROUP BY i.id
    ORDER BY i.id
"""


def draws_from_log(
    *, since: datetime, until: datetime, surface: str = Impression.Surface.FOR_YOU, readers: Iterable[int] | None = None
) -> list[Draw]:
    """The exploration impressions served in [since, until) with their rewards. Engagement up to
    ATTRIBUTION_WINDOW after `until` still counts for the last ones: evaluate a window that ended
    at least that long ago."""
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "surface": surface,
        "window": window_seconds(),
        "readers": None if readers is None else list(readers),
    }
    with connection.cursor() as cursor:
        cursor.execute(_DRAWS_SQL, params)
        return [
            Draw(
                context=(reader_id, built_at),
                post_id=post_id,
                position=position,
                propensity=propensity,
                share=share,
                reward=float(reward),
            )
            for reader_id, built_at, post_id, position, propensity, share, reward in cursor.fetchall()
        ]


# --- Every ranker from the log -----------------------------------------------------------------


@dataclass
class LogEvaluation:
    since: datetime
    until: datetime
    draws: int
    contexts: int
    # How likely a reader is to look at each place of the first page, relative to the first place.
    looks: list[float]
    estimates: dict[str, Estimate]
    # Each ranker against Orbit's, paired by context (positive: better than Orbit's).
    against_orbit: dict[str, Estimate]

    def as_dict(self) -> dict:
        def figures(estimate: Estimate) -> dict:
            return {"value": estimate.value, "low": estimate.low, "high": estimate.high, "contexts": estimate.contexts}

        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "draws": self.draws,
            "contexts": self.contexts,
            "looks": self.looks,
            "estimates": {name: figures(estimate) for name, estimate in self.estimates.items()},
            "against_orbit": {name: figures(estimate) for name, estimate in self.against_orbit.items()},
        }


def policy_of(ranker: evaluation.Ranker, *, depth: int = DEPTH) -> Policy:
    """An offline-evaluation ranker (ranking.evaluation) asked for one reader as of a context's moment."""

    def rank(context: Hashable) -> list[int]:
        reader_id, moment = cast(tuple[int, datetime], context)
        audience = evaluation.Audience(user_ids=[reader_id], cutoff=moment, horizon=timedelta(0), list_length=depth)
        return ranker(audience)[reader_id]

    return functools.cache(rank)


def evaluate_log(
    *,
    since: datetime,
    until: datetime,
    contexts: int,
    seed: int,
    rankers: Mapping[str, evaluation.Ranker] | None = None,
) -> LogEvaluation:
    """Each ranker's estimated engagement per page, from the exploration draws of [since, until): the
    looks are fitted on every draw, the rankers asked for a sample of `contexts` lists (seeded)."""
    rankers = rankers or evaluation.RANKERS
    draws = draws_from_log(since=since, until=until)
    if not draws:
        raise ValueError(
            f"no exploration impressions were logged between {since:%Y-%m-%d %H:%M} and {until:%Y-%m-%d %H:%M}"
        )
    examination = Examination(draws)
    every_context = sorted({draw.context for draw in draws}, key=str)
    chosen = set(random.Random(seed).sample(every_context, min(contexts, len(every_context))))
    sampled = [draw for draw in draws if draw.context in chosen]
    policies = {name: policy_of(ranker) for name, ranker in rankers.items()}
    estimates, against_orbit = {}, {}
    for name, policy in policies.items():
        if name == "orbit" or "orbit" not in policies:
            estimates[name] = estimate(sampled, policy, examination=examination)
            continue
        estimates[name], _orbit, against_orbit[name] = compare(
            sampled, policy, policies["orbit"], examination=examination
        )
    first_page = examination.look(range(20))
    return LogEvaluation(
        since=since,
        until=until,
        draws=len(sampled),
        contexts=len(chosen),
        looks=[round(float(look / first_page[0]), 4) for look in first_page],
        estimates=estimates,
        against_orbit=against_orbit,
    )


def format_log_report(result: LogEvaluation) -> str:
    lines = [
        f"From the impression log, {result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M}: "
        f"{result.draws} exploration draws in {result.contexts} lists.",
        "Estimated engagement per page (grades summed over the places a reader looks at), 95% interval:",
        f"{'ranker':<15}{'estimate':>12}{'interval':>22}{'vs orbit':>24}",
    ]
    for name, figures in result.estimates.items():
        versus = result.against_orbit.get(name)
        versus_text = f"{versus.value:+.4f} [{versus.low:+.4f}, {versus.high:+.4f}]" if versus else ""
        lines.append(
            f"{name:<15}{figures.value:>12.4f}{f'[{figures.low:.4f}, {figures.high:.4f}]':>22}{versus_text:>24}"
        )
    looks = ", ".join(f"{look:.2f}" for look in result.looks[:10:3])
    lines.append(f"Looks at places 1, 4, 7, 10 relative to the first: {looks}")
    return "\n".join(lines)
