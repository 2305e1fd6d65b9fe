"""Training the learned ranker (ranking.learned) from the impression log, and the gate that decides
whether it replaces the active ranker.

`retrain` splits the log by time. The TRAINING_DAYS before the held-out days teach the model: every
For You impression, labelled with what its reader then did with the post (ACTIONS, within the
attribution window and before the post was shown to them again), with features as of when the list
was ranked, never later. The HELD_OUT_DAYS, which ended an attribution window ago so their engagement
is all in, judge it: the candidate and the active ranker (the active learned model, or the heuristic)
each rank the held-out lists' readers as of the same moments, and ranking.offline estimates from the
exploration places what a page of each would bring, paired by list. The candidate is activated only
when the lower end of the difference's 95% interval is above 0; otherwise it is stored, refused,
with the reason.

See docs/ranking.md#the-learned-ranker.
"""

from __future__ import annotations

import logging
import math
import random
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from creators.models import Profile
from feed.models import Engagement, PostType
from orbit import locks
from orbit.locks import Namespace

from . import learned, offline, scoring, trending
from .impressions import ATTRIBUTION_WINDOW, FOLLOWING_ENGAGEMENT_SQL, window_seconds
from .models import Impression, RankingModel

logger = logging.getLogger(__name__)
Kind = Engagement.Kind

TRAINING_DAYS = 14
HELD_OUT_DAYS = 2
# Lists (reader, moment) whose features are computed: each costs a profile as of its moment.
MAX_TRAINING_LISTS = 4000
MAX_HELD_OUT_LISTS = 1500
# An action needs this many positives to be learned; with fewer its (smoothed) base rate stands.
MIN_POSITIVES = 10
# The share of lists, the latest, whose impressions measure the trained model's AUC.
VALIDATION_SHARE = 0.2

_LABELS_SQL = f"""
    SELECT i.reader_id, i.list_built_at, i.post_id, i.position,
           coalesce(bool_or(e.kind = {int(Kind.DWELL)} AND e.dwell_ms >= {learned.READ_MS}), false),
           {", ".join(f"coalesce(bool_or(e.kind = {int(kind)}), false)" for kind in learned.ACTION_KINDS.values())}
    FROM ranking_impression i
    {FOLLOWING_ENGAGEMENT_SQL}
    WHERE i.surface = %(surface)s AND i.served_at >= %(since)s AND i.served_at < %(until)s
    GROUP BY i.id
"""
LABEL_ORDER = ("read", *learned.ACTION_KINDS)


@dataclass
class Examples:
    rows: np.ndarray  # features (learned.FEATURES)
    types: list[str]
    positions: np.ndarray
    labels: dict[str, np.ndarray]
    built_at: np.ndarray  # seconds, for the time split


def labelled_impressions(*, since: datetime, until: datetime) -> dict[tuple[int, datetime], list[tuple]]:
    """(reader, when the list was ranked) → [(post, place, {action: did it})] for [since, until)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _LABELS_SQL,
            {"since": since, "until": until, "surface": Impression.Surface.FOR_YOU, "window": window_seconds()},
        )
        lists: dict[tuple[int, datetime], list[tuple]] = defaultdict(list)
        for reader_id, built_at, post_id, position, *flags in cursor.fetchall():
            lists[reader_id, built_at].append((post_id, position, dict(zip(LABEL_ORDER, flags, strict=True))))
    return lists


def examples_from(lists: dict[tuple[int, datetime], list[tuple]]) -> Examples:
    """Features as of each list's moment for its impressions: the reader's profile from engagement
    before it, follows made before it, trending and the established creators as they stood (computed
    once per hour)."""
    rows, types, positions, built = [], [], [], []
    labels: dict[str, list[bool]] = {action: [] for action in LABEL_ORDER}
    readers = {reader for reader, _at in lists}
    languages = dict(Profile.objects.filter(user_id__in=readers).values_list("user_id", "language"))
    trending_by_hour: dict[datetime, dict[int, float]] = {}
    established_by_hour: dict[datetime, set[int]] = {}
    for (reader_id, moment), shown in sorted(lists.items(), key=lambda item: item[0][1]):
        hour = moment.replace(minute=0, second=0, microsecond=0)
        if hour not in trending_by_hour:
            trending_by_hour[hour] = trending.trending_as_of(moment, limit=scoring.TRENDING_LIMIT * 4)
            established_by_hour[hour] = scoring.established_creators(as_of=moment)
        scores = trending_by_hour[hour]
        established = established_by_hour[hour]
        language = "zh" if (languages.get(reader_id) or "").startswith("zh") else "en"
        reader = learned.reader_as_of(reader_id, moment=moment, language=language)
        posts = {
            post.post_id: post
            for post in scoring.load_features(
                [post_id for post_id, _place, _labels in shown], hidden=set(), user_id=reader_id, now=moment
            )
        }
        kept = [(posts[post_id], place, flags) for post_id, place, flags in shown if post_id in posts]
        if not kept:
            continue
        features = [replace(post, trending=scores.get(post.post_id, 0.0)) for post, _place, _flags in kept]
        new_voices = {post.post_id for post in features if post.author_id not in established | reader.followed}
        rows.append(
            learned.feature_rows(
                reader, features, now=moment, trending_top=max(scores.values(), default=0.0), new_voices=new_voices
            )
        )
        for post, place, flags in kept:
            types.append(post.content_type)
            positions.append(place)
            built.append(moment.timestamp())
            for action in LABEL_ORDER:
                labels[action].append(flags[action])
    return Examples(
        rows=np.vstack(rows) if rows else np.zeros((0, len(learned.FEATURES))),
        types=types,
        positions=np.array(positions, dtype=int),
        labels={action: np.array(values, dtype=bool) for action, values in labels.items()},
        built_at=np.array(built),
    )


def fit(examples: Examples, *, version: str, seed: int = 0) -> tuple[learned.Model, dict]:
    """One logistic regression per action over standardized features, content types and places;
    AUC on the latest VALIDATION_SHARE of lists (the model trained on the others)."""
    if len(examples.types) == 0:
        raise ValueError("no impressions to learn from")
    mean = examples.rows.mean(axis=0)
    scale = examples.rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    type_names = sorted(set(PostType.objects.values_list("slug", flat=True)) | set(examples.types))
    model = learned.Model(
        version=version,
        features=list(learned.FEATURES),
        types=type_names,
        mean=mean,
        scale=scale,
        intercepts={},
        coefficients={},
    )
    design = model.design(examples.rows, examples.types, examples.positions)
    cut = np.quantile(examples.built_at, 1 - VALIDATION_SHARE) if len(examples.built_at) > 1 else math.inf
    train, validate = examples.built_at < cut, examples.built_at >= cut
    if not train.any():
        train = np.ones(len(examples.types), dtype=bool)
    metrics: dict[str, Any] = {}
    for action in learned.ACTIONS:
        labels = examples.labels[action]
        positives = int(labels[train].sum())
        entry = {"positives": int(labels.sum()), "base_rate": round(float(labels.mean()), 5)}
        if positives < MIN_POSITIVES or positives == int(train.sum()):
            # Too little to learn from: the smoothed base rate, the same for every post.
            rate = (labels.sum() + 1) / (len(labels) + 2)
            model.intercepts[action] = float(math.log(rate / (1 - rate)))
            model.coefficients[action] = np.zeros(design.shape[1])
            entry["learned"] = False
        else:
            regression = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
            regression.fit(design[train], labels[train])
            model.intercepts[action] = float(regression.intercept_[0])
            model.coefficients[action] = regression.coef_[0].copy()
            entry["learned"] = True
            held = labels[validate]
            if validate.any() and 0 < held.sum() < len(held):
                entry["auc"] = round(float(roc_auc_score(held, regression.predict_proba(design[validate])[:, 1])), 4)
        metrics[action] = entry
    metrics["impressions"] = len(examples.types)
    return model, metrics


# --- The gate ----------------------------------------------------------------------------------


def policy(model: learned.Model | None, *, depth: int = offline.DEPTH) -> offline.Policy:
    """A ranker for ranking.offline: `model` (None: the heuristic) ranking a reader as of a moment,
    without exploration."""

    def rank(context: Hashable) -> list[int]:
        reader_id, moment = cast(tuple[int, datetime], context)
        ranked = scoring.rank_for_user(
            reader_id, context=scoring.Context.as_of(moment), limit=depth, explore_share=0.0, model=model
        )
        return [item.post_id for item in ranked]

    return rank


@dataclass
class Retraining:
    model: RankingModel
    promoted: bool
    reason: str


def held_out_window(now: datetime) -> tuple[datetime, datetime]:
    """The HELD_OUT_DAYS that ended an attribution window before `now`: their engagement is all in."""
    until = now - ATTRIBUTION_WINDOW
    return until - timedelta(days=HELD_OUT_DAYS), until


def retrain(*, now: datetime | None = None, seed: int = 0) -> Retraining:
    """Train a candidate on the TRAINING_DAYS of the log before the held-out days, then `gate` it."""
    now = now or timezone.now()
    held_out_since, _until = held_out_window(now)
    lists = labelled_impressions(since=held_out_since - timedelta(days=TRAINING_DAYS), until=held_out_since)
    if len(lists) > MAX_TRAINING_LISTS:
        lists = {key: lists[key] for key in random.Random(seed).sample(sorted(lists), MAX_TRAINING_LISTS)}
    candidate, metrics = fit(examples_from(lists), version=f"ranker-{now:%Y%m%d-%H%M%S}-{seed}", seed=seed)
    return gate(candidate, metrics=metrics, now=now, seed=seed)


def gate(candidate: learned.Model, *, metrics: dict, now: datetime, seed: int = 0) -> Retraining:
    """Judge a candidate against the active ranker on the held-out days' exploration places, store
    it with the figures, and activate it only when it is better (see the module's docstring)."""
    version = candidate.version
    rng = random.Random(seed)
    held_out_since, held_out_until = held_out_window(now)
    active_row = RankingModel.objects.filter(is_active=True).first()
    active = learned.Model.from_artifact(active_row.version, active_row.artifact) if active_row else None
    compared_with = active_row.version if active_row else scoring.MODEL_VERSION
    draws = offline.draws_from_log(since=held_out_since, until=held_out_until)
    contexts = sorted({draw.context for draw in draws}, key=str)
    if len(contexts) > MAX_HELD_OUT_LISTS:
        chosen = set(rng.sample(contexts, MAX_HELD_OUT_LISTS))
        draws = [draw for draw in draws if draw.context in chosen]
    evaluation: dict = {"since": held_out_since.isoformat(), "until": held_out_until.isoformat(), "draws": len(draws)}
    if len({draw.context for draw in draws}) < 2:
        promoted, reason = False, "too few exploration places were shown in the held-out days to judge it"
    else:
        ours, theirs, difference = offline.compare(draws, policy(candidate), policy(active))
        evaluation.update(
            candidate=_figures(ours), active=_figures(theirs), difference=_figures(difference), lists=ours.contexts
        )
        promoted = difference.low > 0
        reason = (
            ""
            if promoted
            else f"not better than {compared_with}: difference {difference.value:+.4f}, "
            f"95% interval [{difference.low:+.4f}, {difference.high:+.4f}]"
        )
    with transaction.atomic():
        row = RankingModel.objects.create(
            version=version,
            artifact=candidate.artifact(),
            metrics=metrics,
            evaluation=evaluation,
            compared_with=compared_with,
            promoted=promoted,
            refused_reason=reason,
        )
        if promoted:
            activate(version=version)
    learned.forget_cached_model()
    logger.info("Ranker %s %s", version, "promoted" if promoted else f"refused: {reason}")
    return Retraining(model=row, promoted=promoted, reason=reason)


def activate(*, version: str) -> RankingModel:
    """Make one stored ranker the active one, in one transaction (as the tagger's activation)."""
    with transaction.atomic():
        locks.lock(Namespace.RANKER_ACTIVATION)
        row = RankingModel.objects.get(version=version)
        RankingModel.objects.filter(is_active=True).exclude(pk=row.pk).update(is_active=False)
        if not row.is_active:
            row.is_active = True
            row.save(update_fields=["is_active"])
    transaction.on_commit(learned.forget_cached_model)
    return row


def deactivate_all() -> int:
    """Back to the heuristic ranker."""
    with transaction.atomic():
        locks.lock(Namespace.RANKER_ACTIVATION)
        changed = RankingModel.objects.filter(is_active=True).update(is_active=False)
    learned.forget_cached_model()
    return changed


def _figures(estimate: offline.Estimate) -> dict:
    return {"value": round(estimate.value, 5), "low": round(estimate.low, 5), "high": round(estimate.high, 5)}
