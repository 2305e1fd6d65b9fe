"""Writes of the ranking app: tags on posts. (Weights live in weights.py, profiles in profiles.py.)"""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction
from django.db.models import OuterRef, Subquery

from feed.models import Post

from .models import PostTags, TagCorrection

TAG_FIELDS = [
    "content_type",
    "level",
    "topics",
    "assets",
    "language",
    "quality",
    "model_version",
    "confidence",
    "corrected",
]


def tag_posts(*, post_ids: list[int]) -> int:
    """Tag these posts with the active model (insert or replace their tags); returns posts tagged."""
    # Imported here: scikit-learn is for workers and commands; web processes never load it.
    from .tagging import active_tagger

    tagger = active_tagger()
    # In post order: the upsert locks tag rows in this order, as teaching.correct does, so the two never deadlock.
    posts = list(
        Post.objects.filter(pk__in=post_ids)
        .exclude(status=Post.Status.DELETED)
        .order_by("pk")
        .values_list("pk", "body")
    )
    if not posts:
        return 0
    tags = tagger.tag([body for _pk, body in posts])
    rows = [
        PostTags(
            post_id=pk,
            content_type=tag.content_type,
            level=tag.level,
            topics=list(tag.topics),
            assets=list(tag.assets),
            language=tag.language,
            quality=tag.quality,
            model_version=tagger.version,
            # Tags.confidence is the calibrated probability of the content type; taggers trained
            # before it existed have none, and their answers count as sure.
            confidence=min(max(float(getattr(tag, "confidence", 1.0)), 0.0), 1.0),
            corrected=False,
        )
        for (pk, _body), tag in zip(posts, tags, strict=True)
    ]
    with transaction.atomic():
        # One statement per batch; re-tagging keeps the trending score, which is not the tagger's.
        PostTags.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["post"], update_fields=[*TAG_FIELDS, "tagged_at"]
        )
        # Then the operators' corrections go back on top, in the same transaction. The upsert above
        # holds these rows' locks, so a correction committed while it ran is seen by this later
        # statement, and one still running waits for this commit and applies itself after it.
        apply_corrections(post_ids=[pk for pk, _body in posts])
    return len(rows)


def apply_corrections(*, post_ids: Collection[int]) -> int:
    """Put each of these posts' TagCorrection (content type and assets) on its tags, marked as
    corrected and sure; returns the tag rows changed. Posts without tags or a correction are left."""
    correction = TagCorrection.objects.filter(post_id=OuterRef("post_id"))
    return PostTags.objects.filter(post_id__in=post_ids, post__tag_correction__isnull=False).update(
        content_type=Subquery(correction.values("content_type")[:1]),
        assets=Subquery(correction.values("assets")[:1]),
        confidence=1.0,
        corrected=True,
    )


def tag_untagged(*, batch: int = 500, only_missing: bool = True, limit: int | None = None) -> int:
    """Tag posts without tags (or, after retraining, every post not tagged by the active model)."""
    from .tagging import active_tagger

    version = active_tagger().version
    done = 0
    last_id = 0
    while limit is None or done < limit:
        candidates = Post.objects.exclude(status=Post.Status.DELETED).filter(pk__gt=last_id)
        if only_missing:
            candidates = candidates.filter(tags__isnull=True)
        else:
            candidates = candidates.exclude(tags__model_version=version)
        size = batch if limit is None else min(batch, limit - done)
        ids = list(candidates.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        done += tag_posts(post_ids=ids)
        last_id = ids[-1]
    return done
