"""Factories for feed: content types, posts and everything people do with them."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.db.models import F
from factory.django import DjangoModelFactory

from feed import services
from feed.models import (
    AssetVote,
    Bookmark,
    Call,
    Comment,
    CommentLike,
    Engagement,
    Hashtag,
    Like,
    ModerationAction,
    Notification,
    Post,
    PostImage,
    PostRevision,
    PostType,
    Report,
    Share,
    TradeCard,
)

from .base import MOMENT
from .creators import UserFactory
from .markets import AssetFactory


class PostTypeFactory(DjangoModelFactory):
    """A content type an operator added; the six built-in ones exist already (migration 0002)."""

    class Meta:
        model = PostType
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"type-{n}")
    name_en = factory.Sequence(lambda n: f"Type {n}")
    name_zh = factory.Sequence(lambda n: f"类型 {n}")
    position = factory.Sequence(lambda n: 100 + n)


class HashtagFactory(DjangoModelFactory):
    class Meta:
        model = Hashtag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"topic{n}")


# Fields publish_post does not take: written over the published row, in one UPDATE.
_POST_FIELDS_SET_AFTER = ("status", "created_at", "edited_at", "deleted_at", "like_count", "comment_count")


class PostFactory(DjangoModelFactory):
    """A post made through feed.services.publish_post (in `_create`), so that it is what a person
    would have published: body rendered to `body_html`, cashtags and hashtags linked, the language
    guessed unless given, mentions notified, a trade card or call attached when passed as
    `trade_card=services.TradeCardInput(...)` or `call=calls.CallInput(...)`.

    The author must be able to act (not suspended) and the content type active, as for a person.
    `status`, `created_at`, `edited_at`, `deleted_at`, `like_count` and `comment_count` are written
    over the published row. `created_at` defaults to the database's now(), not to MOMENT: feeds pick
    recent posts, and a test that depends on the time passes it."""

    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    content_type_id = "analysis"
    # No cashtag, hashtag or mention: a test that wants links to an asset or a tag names them.
    body = factory.Sequence(lambda n: f"Spot held the weekly open while funding cooled, note {n}.")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        later = {name: kwargs.pop(name) for name in _POST_FIELDS_SET_AFTER if name in kwargs}
        content_type = kwargs.pop("content_type", None)
        post = services.publish_post(
            author=kwargs.pop("author"),
            body=kwargs.pop("body"),
            content_type=getattr(content_type, "pk", content_type) or kwargs.pop("content_type_id"),
            **{name: value for name, value in kwargs.items() if name != "content_type_id"},
        )
        if later.get("status") == Post.Status.DELETED and "deleted_at" not in later:
            later["deleted_at"] = later.get("created_at") or MOMENT
        if later:
            model_class.objects.filter(pk=post.pk).update(**later)
            post.refresh_from_db()
        return post


class CommentFactory(DjangoModelFactory):
    """The comment row, with the post's comment counter moved as comment_on_post moves it; no
    engagement row and no notification (comment_on_post writes those)."""

    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Where is your stop? ({n})")
    created_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        comment = super()._create(model_class, *args, **kwargs)
        if comment.deleted_at is None:
            Post.objects.filter(pk=comment.post_id).update(comment_count=F("comment_count") + 1)
        return comment


class LikeFactory(DjangoModelFactory):
    """The like row, with the post's like counter moved as like_post moves it; no engagement row
    and no notification (like_post writes those)."""

    class Meta:
        model = Like

    user = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)
    created_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        like = super()._create(model_class, *args, **kwargs)
        Post.objects.filter(pk=like.post_id).update(like_count=F("like_count") + 1)
        return like


class ShareFactory(DjangoModelFactory):
    class Meta:
        model = Share

    user = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)
    code = factory.Sequence(lambda n: f"share{n:07d}")
    channel = "telegram"
    created_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))


class ReportFactory(DjangoModelFactory):
    """An open report, without the engagement row report_post also writes."""

    class Meta:
        model = Report

    reporter = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)
    reason = Report.Reason.SPAM
    details = "Links to a giveaway site."
    created_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))


class EngagementFactory(DjangoModelFactory):
    """One row of the append-only log (inserts are allowed; updates and deletes are refused by a
    trigger). A view of a post by default, credited to the post's author; for a follow or unfollow
    pass `kind`, `post=None` and `creator`. `occurred_at` defaults to MOMENT plus a minute per row."""

    class Meta:
        model = Engagement

    actor = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)
    creator = factory.LazyAttribute(lambda row: row.post.author)
    kind = Engagement.Kind.VIEW
    dwell_ms = factory.LazyAttribute(lambda row: 30_000 if row.kind == Engagement.Kind.DWELL else 0)
    occurred_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))
    fingerprint = factory.Sequence(lambda n: f"device-{n}")


class PostRevisionFactory(DjangoModelFactory):
    class Meta:
        model = PostRevision

    post = factory.SubFactory(PostFactory)
    body = factory.Sequence(lambda n: f"First version of the take, draft {n}.")
    content_type_id = factory.LazyAttribute(lambda revision: revision.post.content_type_id)
    replaced_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))


class PostImageFactory(DjangoModelFactory):
    """The row only: it names files no test writes. A test about images uploads them through
    publish_post (orbit.images re-encodes them)."""

    class Meta:
        model = PostImage

    post = factory.SubFactory(PostFactory)
    position = 0
    image = factory.Sequence(lambda n: f"posts/2026/11/chart-{n}.webp")
    thumbnail = factory.Sequence(lambda n: f"posts/thumbs/2026/11/chart-{n}.webp")
    width = 1600
    height = 900


class TradeCardFactory(DjangoModelFactory):
    """A self-reported card (not verified) on a trade_share post."""

    class Meta:
        model = TradeCard

    post = factory.SubFactory(PostFactory, content_type_id="trade_share", body="Long $BTC from here")
    instrument = "BTC-USDT"
    side = TradeCard.Side.LONG
    entry_price = Decimal("64000")
    leverage = Decimal(1)


class CallFactory(DjangoModelFactory):
    """An open call: $BTC up to 70,000 within a week of MOMENT."""

    class Meta:
        model = Call

    post = factory.SubFactory(PostFactory, body="$BTC to 70k this week")
    author = factory.LazyAttribute(lambda call: call.post.author)
    asset = factory.SubFactory(AssetFactory, symbol="BTC")
    direction = Call.Direction.UP
    target_price = Decimal("70000")
    entry_price = Decimal("64000")
    made_at = MOMENT
    horizon_at = factory.LazyAttribute(lambda call: call.made_at + timedelta(days=7))


class NotificationFactory(DjangoModelFactory):
    """An unread "followed you" notification."""

    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    actor = factory.SubFactory(UserFactory)
    verb = Notification.Verb.FOLLOW
    created_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))


class ModerationActionFactory(DjangoModelFactory):
    """A warning from a staff moderator, as feed.moderation records it."""

    class Meta:
        model = ModerationAction

    moderator = factory.SubFactory(UserFactory, is_staff=True)
    action = ModerationAction.Action.WARN
    target_user = factory.SubFactory(UserFactory)
    note = "Keep calls to assets you hold disclosed."
    created_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))


class BookmarkFactory(DjangoModelFactory):
    class Meta:
        model = Bookmark

    user = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)


class CommentLikeFactory(DjangoModelFactory):
    """The like row only; the comment's counter is moved by the service, not here."""

    class Meta:
        model = CommentLike

    user = factory.SubFactory(UserFactory)
    comment = factory.SubFactory(CommentFactory)


class AssetVoteFactory(DjangoModelFactory):
    class Meta:
        model = AssetVote

    user = factory.SubFactory(UserFactory)
    asset = factory.SubFactory(AssetFactory)
    day = factory.LazyFunction(lambda: MOMENT.date())
    direction = AssetVote.Direction.BULLISH
