"""Small, explicit worlds for ranking tests: readers with trading profiles, posts with tags."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from feed.models import Post
from tests.factories import PostFactory, PostTagsFactory, TradingProfileFactory, UserFactory


def reader(username: str, *, trades=(), instruments=("spot",), volume_tier=2, language="en"):
    user = UserFactory(username=username, profile__language=language)
    TradingProfileFactory(
        user=user, traded_assets=list(trades), instruments=list(instruments), volume_tier=volume_tier, kyc_level=2
    )
    return user


def creator(username: str, *, joined_days_ago: int = 400):
    return UserFactory(username=username, date_joined=timezone.now() - timedelta(days=joined_days_ago))


def tagged_post(
    author,
    *,
    content_type="analysis",
    assets=(),
    topics=(),
    level="intermediate",
    quality=0.7,
    language="en",
    hours_ago: float = 2.0,
    body: str | None = None,
    trending: float = 0.0,
) -> Post:
    """A published post with tags, as the tagger would have left them."""
    post = PostFactory(
        author=author,
        content_type_id=content_type,
        language=language,
        body=body or f"{content_type} about {' '.join('$' + a for a in assets) or 'markets'}",
        created_at=timezone.now() - timedelta(hours=hours_ago),
    )
    PostTagsFactory(
        post=post,
        content_type=content_type,
        level=level,
        topics=list(topics),
        assets=list(assets),
        language=language,
        quality=quality,
        model_version="test",
        trending=trending,
    )
    return post
