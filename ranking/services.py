"""Writes of the ranking app: tags on posts. (Weights live in weights.py, profiles in profiles.py.)"""

from __future__ import annotations

from django.db import transaction

from feed.models import Post

from .models import PostTags

TAG_FIELDS = ["content_type", "level", "topics", "assets", "language", "quality", "model_version"]


def tag_posts(*, post_ids: list[int]) -> int:
    """Tag these posts with the active model (insert or replace their tags); returns posts tagged."""
    # Imported here: scikit-learn is for workers and commands; web processes never load it.
    from .tagging import active_tagger

    tagger = active_tagger()
    posts = list(Post.objects.filter(pk__in=post_ids).exclude(status=Post.Status.DELETED).values_list("pk", "body"))
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
        )
        for (pk, _body), tag in zip(posts, tags, strict=True)
    ]
    with transaction.atomic():
        # One statement per batch; re-tagging keeps the trending score, which is not the tagger's.
        PostTags.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["post"], update_fields=[*TAG_FIELDS, "tagged_at"]
        )
    return len(rows)


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
