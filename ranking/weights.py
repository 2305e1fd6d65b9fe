"""Content-type weights: what operators set, what the daily rebalance adjusts, what scoring reads.

effective weight of a type = base weight (operators) * multiplier (the daily rebalance), or 1 when the
type is inactive or has no weight row. Every change goes through `update_content_type_weight`, which
keeps one audit row per changed field, and then rebuilds the For You lists after commit.

Scoring reads the weights on every ranking run, so they are cached. The cache key carries a version
number (`weights_version`), which also stamps each For You list: a list whose version is older than
the current one was built with old weights. Bumping the version after commit (rather than deleting a
key) means a reader that loaded the old rows just before the commit can only fill an old key that
nobody reads any more. When the cache is unreachable, everything falls back to Postgres.

See docs/ranking.md#content-type-weights-operators.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import DecimalField, F, Field, Max, QuerySet, Sum
from django.db.models.functions import NullIf
from django.dispatch import Signal
from django.utils import timezone

from feed.models import Post, PostType

from .models import ContentMixDay, ContentTypeWeight, ContentTypeWeightChange, PostTags, RankingModel

if TYPE_CHECKING:
    from creators.models import User

# Sent on commit of any change of the weights (an operator's edit, the daily rebalance).
weights_changed = Signal()

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60
_VERSION_KEY = "ranking:content-type-weights:version"

# What operators (and the daily rebalance, for `multiplier`) may change through the audited path.
EDITABLE_FIELDS = ("base_weight", "target_share", "min_multiplier", "max_multiplier", "multiplier", "is_active")
_MAX_REASON_CHARS = ContentTypeWeightChange._meta.get_field("reason").max_length

# A type nobody posted in gets no more than this share in the formula, so scarcity alone gives a
# large but finite boost before the bounds clamp it.
MIN_SUPPLY_SHARE = 0.005
# A type's average quality counts as if it had this many extra posts of the overall average quality:
# a handful of lucky posts in a small type cannot push it to a bound, while at real volumes
# (hundreds of posts a week) the prior barely moves the average.
QUALITY_PRIOR_POSTS = 5
# Under the learned ranker the rebalance follows the exposure For You served the day before; a day
# with fewer impressions than this says too little, and the multipliers stay as they are.
STEERING_MIN_IMPRESSIONS = 200
# Rows for content types operators add later; the same values migration 0002 gives unknown types.
NEUTRAL_ROW = {
    "base_weight": Decimal("1.00"),
    "target_share": Decimal("0.100"),
    "min_multiplier": Decimal("0.80"),
    "max_multiplier": Decimal("1.25"),
    "multiplier": Decimal("1.00"),
}


# --- Reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightsSnapshot:
    """The weights and the version they belong to, read together (see `current_weights`)."""

    version: int
    weights: dict[str, float]


def effective_weights() -> dict[str, float]:
    """slug → effective weight for every content type (1.0 for inactive types or types without a row)."""
    return current_weights().weights


def weights_version() -> int:
    """A number that changes whenever any weight changes."""
    if _cache_usable():
        try:
            version = cache.get(_VERSION_KEY)
            if version is None:
                # Gone (first use, eviction, a Redis restart): start again from the last change time in
                # microseconds, which is above any number handed out since the counter last started,
                # so an old list never looks current.
                cache.add(_VERSION_KEY, _version_from_database(), timeout=None)
                version = cache.get(_VERSION_KEY)
            if version is not None:
                return int(version)
        except Exception:
            _cache_failed()
    return _version_from_database()


def current_weights() -> WeightsSnapshot:
    """Weights with their version. Whoever stores something built from the weights (a For You list)
    takes both from one call: reading the version after the weights could stamp old weights with
    a newer version, and the list would never be recognised as stale."""
    version = weights_version()
    if _cache_usable():
        key = f"ranking:content-type-weights:{version}"
        try:
            weights = cache.get(key)
            if weights is None:
                weights = _weights_from_database()
                cache.set(key, weights, CACHE_SECONDS)
            return WeightsSnapshot(version=version, weights=weights)
        except Exception:
            _cache_failed()
    return WeightsSnapshot(version=version, weights=_weights_from_database())


def clear_weights_cache() -> None:
    """Move every reader to a new version, whose key is still empty, so the next read loads Postgres."""
    global _cache_skipped_until
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:  # no counter yet: the next reader starts one from the database
        pass
    except Exception:
        # Cached weights expire within CACHE_SECONDS anyway; a change must not fail for the cache.
        _cache_failed()
        return
    _cache_skipped_until = 0.0  # the cache answered: readers may use it again


# After a cache failure this process reads Postgres directly for a few seconds: a Redis that times
# out would otherwise cost every ranking run (and every fallback page) the connect timeout, twice.
CACHE_RETRY_SECONDS = 10
_cache_skipped_until = 0.0  # time.monotonic() value


def _cache_usable() -> bool:
    return time.monotonic() >= _cache_skipped_until


def _cache_failed() -> None:
    global _cache_skipped_until
    _cache_skipped_until = time.monotonic() + CACHE_RETRY_SECONDS
    logger.warning(
        "Cache unreachable; content-type weights come from Postgres for the next %d s",
        CACHE_RETRY_SECONDS,
        exc_info=True,
    )


def _weights_from_database() -> dict[str, float]:
    rows = PostType.objects.values_list(
        "slug", "ranking_weight__base_weight", "ranking_weight__multiplier", "ranking_weight__is_active"
    )
    return {
        slug: float(base_weight * multiplier) if base_weight is not None and is_active else 1.0
        for slug, base_weight, multiplier, is_active in rows
    }


def _version_from_database() -> int:
    last_change = ContentTypeWeight.objects.aggregate(last=Max("updated_at"))["last"]
    return int(last_change.timestamp() * 1_000_000) if last_change else 0


# --- Changing --------------------------------------------------------------------------


def validate_weight_changes(*, weight: ContentTypeWeight, changes: dict[str, Any]) -> dict[str, Any]:
    """Check `changes` against `weight`'s current values; return every field's value after the change.

    The multiplier always ends within [min, max]: when new bounds leave the current multiplier
    outside, it is clamped into them (and that is a change of its own). Raises ValidationError
    with messages keyed by field, which admin shows next to the fields.
    """
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        errors[NON_FIELD_ERRORS] = [
            f"{', '.join(unknown)} cannot be changed here; editable: {', '.join(EDITABLE_FIELDS)}."
        ]
    values = {name: getattr(weight, name) for name in EDITABLE_FIELDS}
    for name in set(changes) & set(EDITABLE_FIELDS):
        value = changes[name]
        if isinstance(value, float):  # 0.15 rather than 0.1499999999999999944488848768742172978818416595458984375
            value = Decimal(repr(value))
        field = ContentTypeWeight._meta.get_field(name)
        assert isinstance(field, Field)  # EDITABLE_FIELDS are columns, never relations
        try:
            values[name] = field.clean(value, weight)
        except ValidationError as error:
            errors[name] = error.messages
            continue
        if isinstance(field, DecimalField):  # "1.5" is stored, audited and quoted back as 1.50
            values[name] = values[name].quantize(Decimal(1).scaleb(-field.decimal_places))
    if errors:
        raise ValidationError(errors)

    base, share = values["base_weight"], values["target_share"]
    low, high = values["min_multiplier"], values["max_multiplier"]
    if base < 0:
        errors["base_weight"] = ["Base weight cannot be negative (1 is neutral, 0 takes the type out of For You)."]
    if not 0 <= share <= 1:
        errors["target_share"] = [f"Target share is a percentage of the feed from 0% to 100% (got {share:.1%})."]
    if low <= 0:
        errors["min_multiplier"] = ["The minimum multiplier must be above 0."]
    elif low > high:
        errors["min_multiplier"] = [f"The minimum multiplier ({low}) cannot be above the maximum ({high})."]
    if errors:
        raise ValidationError(errors)

    if "multiplier" in changes:
        if not low <= values["multiplier"] <= high:
            raise ValidationError(
                {"multiplier": [f"The multiplier must be between the minimum ({low}) and the maximum ({high})."]}
            )
    else:
        values["multiplier"] = min(max(values["multiplier"], low), high)
    return values


def update_content_type_weight(
    *, weight: ContentTypeWeight, changes: dict[str, Any], by: User | None, reason: str = ""
) -> list[ContentTypeWeightChange]:
    """Change a content type's weight settings, keep one audit row per changed field, and rebuild the
    For You lists after commit. `by` is the operator, or None for the daily rebalance.

    Returns the audit rows; none (and nothing saved or rebuilt) when nothing actually changed.
    `weight` is updated in place with the stored values.
    """
    with transaction.atomic():
        audit_rows = _apply_weight_changes(weight=weight, changes=changes, by=by, reason=reason)
        if audit_rows:
            _rebuild_feeds_on_commit()
    return audit_rows


def _apply_weight_changes(
    *, weight: ContentTypeWeight, changes: dict[str, Any], by: User | None, reason: str
) -> list[ContentTypeWeightChange]:
    """The audited write, without the feed rebuild (the rebalance enqueues one for all types)."""
    if _MAX_REASON_CHARS is not None and len(reason) > _MAX_REASON_CHARS:
        raise ValidationError({"reason": [f"Keep the reason within {_MAX_REASON_CHARS} characters."]})
    # Lock, then validate against the stored row: another operator (or the daily job) may have
    # changed it since `weight` was loaded, and bounds checked against stale values could let the
    # multiplier leave them.
    locked = ContentTypeWeight.objects.select_for_update().get(pk=weight.pk)
    new_values = validate_weight_changes(weight=locked, changes=changes)

    audit_rows = []
    for name in EDITABLE_FIELDS:
        old, new = getattr(locked, name), new_values[name]
        if old == new:  # Decimal("1.5") == Decimal("1.50"): a re-typed value is no change
            continue
        row_reason = reason
        if name == "multiplier" and "multiplier" not in changes:
            row_reason = f"{reason}; kept within the new bounds" if reason else "kept within the new bounds"
        audit_rows.append(
            ContentTypeWeightChange(
                weight=locked,
                field=name,
                old_value=str(old),
                new_value=str(new),
                changed_by=by,
                reason=row_reason[:_MAX_REASON_CHARS],
            )
        )
        setattr(locked, name, new)

    if audit_rows:
        locked.save(update_fields=[row.field for row in audit_rows] + ["updated_at"])
        ContentTypeWeightChange.objects.bulk_create(audit_rows)
        # Now for readers in this transaction, and again after commit for everyone else: a reader
        # in between may have cached the old rows under the version bumped now.
        clear_weights_cache()
        transaction.on_commit(clear_weights_cache)

    for name in (*EDITABLE_FIELDS, "updated_at", "rebalanced_at"):
        setattr(weight, name, getattr(locked, name))
    return audit_rows


def announce_weights_changed() -> None:
    """Tell the app a change of weights is committed (ranking.receivers queues the For You rebuild)."""
    weights_changed.send(sender=ContentTypeWeight)


def _rebuild_feeds_on_commit() -> None:
    transaction.on_commit(announce_weights_changed)


def ensure_weight_rows() -> int:
    """Give content types that have no weight row (added by operators later) a neutral one.
    Returns how many were created."""
    created = 0
    for post_type in PostType.objects.filter(ranking_weight__isnull=True):
        _row, was_created = ContentTypeWeight.objects.get_or_create(post_type=post_type, defaults=NEUTRAL_ROW)
        created += was_created
    return created


# --- The daily rebalance ------------------------------------------------------------------


@dataclass(frozen=True)
class RebalanceResult:
    content_type: str
    posts: float  # each post counted as much as the tagger is sure of its type
    supply_share: float
    quality: float | None  # average quality of the type's posts; None when there were none
    overall_quality: float | None
    old_multiplier: Decimal
    new_multiplier: Decimal
    reason: str
    # The type's share of For You's impressions the day before, when the rebalance steered by it
    # (a learned ranker active); None when it steered by supply.
    exposure_share: float | None = None

    @property
    def changed(self) -> bool:
        return self.old_multiplier != self.new_multiplier


def rebalance_content_type_weights(*, now: datetime | None = None, window_days: int = 7) -> list[RebalanceResult]:
    """The daily job: steer each active type's multiplier towards its target share of the feed.

    multiplier = clamp(sqrt(target / max(supply, ε)) * quality / overall quality, min, max), to 2 places,

    where supply is the type's share of the posts published in the window and quality the average
    quality the tagger gave them. Scarce types of good quality rise, plentiful weak ones fall; the
    square root keeps one day's swing moderate. A type without any post in the window goes back to
    neutral (1, within its bounds): scarcity alone would push it to its maximum, but with no posts
    there is no quality to reward, and the boost would go to whatever first appears.

    While a learned ranker is active, the goal is the result rather than the supply: the weights are
    spread over readers by how much each is likely to value the type (ranking.steering), so how
    much exposure a multiplier buys is not known in advance. Each day the multiplier then moves by
    the square root of target share / the type's share of yesterday's For You impressions (from
    ContentMixDay: roll the content mix up first), within its bounds, and settles where the
    exposure meets the target. A day with fewer than STEERING_MIN_IMPRESSIONS impressions in all
    changes no multiplier; a type without posts goes back to neutral as above.

    Changes go through the audited path (changed_by empty). Running it again on the same data
    changes nothing and writes no audit rows; `rebalanced_at` records each run.
    """
    now = now or timezone.now()
    ensure_weight_rows()
    supply = supply_by_type(since=now - timedelta(days=window_days), until=now)
    total_posts = sum(posts for posts, _quality in supply.values())
    overall_quality = sum(posts * quality for posts, quality in supply.values()) / total_posts if total_posts else None
    yesterday = now.astimezone(UTC).date() - timedelta(days=1)
    steering = RankingModel.objects.filter(is_active=True).exists()
    exposure = _exposure_shares(yesterday) if steering else None

    results = []
    # The aggregate above may take seconds on a large table; the locks below last milliseconds.
    with transaction.atomic():
        active_weights = ContentTypeWeight.objects.select_for_update().filter(is_active=True)
        for weight in active_weights.order_by("pk"):
            posts, quality = supply.get(weight.post_type_id, (0, None))
            share = posts / total_posts if total_posts else 0.0
            exposure_share = exposure.get(weight.post_type_id, 0.0) if exposure is not None and posts else None
            if exposure_share is not None:
                multiplier, reason = _exposure_multiplier(weight=weight, exposure_share=exposure_share, day=yesterday)
            elif steering and posts:  # too few impressions yesterday to steer by: leave it
                multiplier = weight.multiplier
                reason = f"daily rebalance: too few For You impressions on {yesterday.isoformat()} to steer by"
            else:
                multiplier, reason = _target_multiplier(
                    weight=weight,
                    posts=posts,
                    share=share,
                    quality=quality,
                    overall_quality=overall_quality,
                    window_days=window_days,
                )
            old_multiplier = weight.multiplier
            _apply_weight_changes(weight=weight, changes={"multiplier": multiplier}, by=None, reason=reason)
            results.append(
                RebalanceResult(
                    content_type=weight.post_type_id,
                    posts=posts,
                    supply_share=share,
                    quality=quality,
                    overall_quality=overall_quality,
                    old_multiplier=old_multiplier,
                    new_multiplier=weight.multiplier,
                    reason=reason,
                    exposure_share=exposure_share,
                )
            )
        # A plain UPDATE: it leaves updated_at (and so the weights version) alone when nothing changed.
        ContentTypeWeight.objects.filter(pk__in=[result.content_type for result in results]).update(rebalanced_at=now)
        if any(result.changed for result in results):
            _rebuild_feeds_on_commit()
    return results


def published_post_tags() -> QuerySet[PostTags]:
    """Tags of published posts: the supply the rebalance and the content-mix rollup
    (ranking.content_mix) both count."""
    return PostTags.objects.filter(post__status=Post.Status.PUBLISHED)


def supply_count() -> Sum:
    """How many posts a group of tags is worth: each as much as the tagger is sure of its type."""
    return Sum("confidence")


def supply_by_type(*, since: datetime, until: datetime) -> dict[str, tuple[float, float]]:
    """slug → (published posts in the window, their average quality), in one GROUP BY.

    Grouped by the tagger's content type, not the one the author picked (`Post.content_type`):
    authors could otherwise label chat as education to ride its boost. Each post counts as much as
    the tagger is sure of its type (`confidence`, 1 for a corrected post): two posts it gives even
    odds count as one, and the average quality is weighted the same way."""
    sure = supply_count()
    rows = (
        published_post_tags()
        .filter(post__created_at__gte=since, post__created_at__lte=until)
        .values("content_type")
        .annotate(posts=sure, quality=Sum(F("quality") * F("confidence")) / NullIf(sure, 0.0))
        .order_by()
    )
    return {row["content_type"]: (row["posts"], row["quality"]) for row in rows}


def _exposure_shares(day: date) -> dict[str, float] | None:
    """slug → share of the day's For You impressions (ContentMixDay); None when the day had fewer
    than STEERING_MIN_IMPRESSIONS in all."""
    served = dict(ContentMixDay.objects.filter(day=day).values_list("post_type_id", "impressions"))
    total = sum(served.values())
    if total < STEERING_MIN_IMPRESSIONS:
        return None
    return {slug: impressions / total for slug, impressions in served.items()}


def _exposure_multiplier(*, weight: ContentTypeWeight, exposure_share: float, day: date) -> tuple[Decimal, str]:
    """The learned ranker's rule (see rebalance_content_type_weights): today's multiplier times
    sqrt(target / exposure), within the bounds."""
    target = float(weight.target_share)
    raw = float(weight.multiplier) * math.sqrt(target / max(exposure_share, MIN_SUPPLY_SHARE))
    reason = f"daily rebalance: For You exposure {exposure_share:.1%} on {day.isoformat()} vs target {target:.1%}"
    return _bounded(raw, weight), reason


def _bounded(raw: float, weight: ContentTypeWeight) -> Decimal:
    rounded = Decimal(repr(raw)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return min(max(rounded, weight.min_multiplier), weight.max_multiplier)


def _target_multiplier(
    *,
    weight: ContentTypeWeight,
    posts: float,
    share: float,
    quality: float | None,
    overall_quality: float | None,
    window_days: int,
) -> tuple[Decimal, str]:
    target = float(weight.target_share)
    if not posts:
        raw = 1.0
        reason = f"daily rebalance: no posts in {window_days} days vs target {target:.1%}, back to neutral"
    else:
        scarcity = math.sqrt(target / max(share, MIN_SUPPLY_SHARE))
        quality_factor = 1.0
        if overall_quality and quality is not None:  # quality is known whenever there are posts
            judged_quality = (posts * quality + QUALITY_PRIOR_POSTS * overall_quality) / (posts + QUALITY_PRIOR_POSTS)
            quality_factor = judged_quality / overall_quality
        raw = scarcity * quality_factor
        reason = (
            f"daily rebalance: supply {share:.1%} vs target {target:.1%}, "
            f"quality {quality:.2f} vs {overall_quality:.2f}"
        )
    return _bounded(raw, weight), reason


# --- Actual shares next to the targets (admin's list of weights) -------------------------------

SHARE_WINDOW_DAYS = 7


@dataclass(frozen=True)
class ActualShares:
    """What each content type really got over the window, as fractions of 1 like `target_share`."""

    supply: dict[str, float] | None  # slug → share of published posts; None when nothing was published
    exposure: dict[str, float] | None  # slug → share of For You impressions; None when none were recorded


def actual_shares(*, now: datetime | None = None, window_days: int = SHARE_WINDOW_DAYS) -> ActualShares:
    """Supply and For You exposure per content type over the last `window_days`, in two grouped
    queries for every type at once.

    Supply is counted as the daily rebalance counts it (`supply_by_type`: the tagger's type, each
    post weighted by its confidence) over the same rolling window. Exposure sums ContentMixDay's
    impressions over the last `window_days` UTC days, today included. Shares are of the total over
    every type, so a type without a weight row still takes its part."""
    now = now or timezone.now()
    supply = {
        slug: posts
        for slug, (posts, _quality) in supply_by_type(since=now - timedelta(days=window_days), until=now).items()
    }
    today = now.astimezone(UTC).date()
    impressions = dict(
        ContentMixDay.objects.filter(day__gt=today - timedelta(days=window_days), day__lte=today)
        .values("post_type_id")
        .annotate(impressions=Sum("impressions"))
        .order_by()
        .values_list("post_type_id", "impressions")
    )
    return ActualShares(supply=_shares(supply), exposure=_shares(impressions))


def _shares(amounts: Mapping[str, float]) -> dict[str, float] | None:
    total = sum(amounts.values())
    if not total:
        return None
    return {slug: amount / total for slug, amount in amounts.items()}
