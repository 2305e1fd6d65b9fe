"""feed's side of what happens in the apps below it: follows land in the engagement log and the
inbox; new exchange fills verify trade cards; an account's export and deletion include its posts,
comments and reactions."""

from django.db import transaction
from django.db.models import FileField, Q, Value
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.utils import timezone

from creators.privacy import account_erasing, account_exporting, scrub_identifiers
from creators.services import user_followed, user_unfollowed
from markets.signals import fills_stored

from . import verification
from .models import (
    Call,
    Comment,
    Engagement,
    Like,
    ModerationAction,
    Notification,
    Post,
    PostImage,
    PostRevision,
    Report,
    Share,
    TradeCard,
)
from .services import card_snapshot, log_engagement, post_removed


@receiver(user_followed, dispatch_uid="feed.log_follow")
def log_follow(sender, *, follower, followee, fp="", **kwargs):
    log_engagement(kind=Engagement.Kind.FOLLOW, actor=follower, post=None, creator_id=followee.pk, fp=fp)
    Notification.objects.create(recipient=followee, actor=follower, verb=Notification.Verb.FOLLOW)


@receiver(user_unfollowed, dispatch_uid="feed.log_unfollow")
def log_unfollow(sender, *, follower, followee, fp="", **kwargs):
    log_engagement(kind=Engagement.Kind.UNFOLLOW, actor=follower, post=None, creator_id=followee.pk, fp=fp)


@receiver(fills_stored, dispatch_uid="feed.verify_cards_of_new_fills")
def verify_cards_of_new_fills(sender, *, user_ids, **kwargs):
    # In the fills' own transaction (see markets.signals): verification is one indexed query per
    # user and must not outlive the fills that prove it.
    verification.verify_pending_cards(user_ids=user_ids)


# --- Account export and deletion (creators.privacy) -------------------------------------------


@receiver(account_exporting, dispatch_uid="feed.export_account")
def export_feed_data(sender, *, user, **kwargs) -> dict:
    posts = Post.objects.filter(author=user).order_by("created_at", "id")
    kinds = {kind.value: kind.name.lower() for kind in Engagement.Kind}  # stable names, not translations
    return {
        "posts": [
            {
                "id": post.pk,
                "created_at": post.created_at,
                "edited_at": post.edited_at,
                "status": post.status,
                "content_type": post.content_type_id,
                "language": post.language,
                "body": post.body,
                "images": [image.image.name for image in post.images.all()],
                "trade_card": card_snapshot(getattr(post, "trade_card", None)),
                "revisions": list(post.revisions.values("replaced_at", "body", "content_type_id", "trade_card")),
            }
            for post in posts.select_related("trade_card").prefetch_related("images", "revisions")
        ],
        "comments": list(
            Comment.objects.filter(author=user)
            .order_by("created_at")
            .values("id", "post_id", "parent_id", "body", "created_at", "deleted_at")
        ),
        "calls": list(
            Call.objects.filter(author=user).values(
                "post_id", "asset_id", "direction", "target_price", "made_at", "horizon_at", "status", "return_percent"
            )
        ),
        "likes": list(Like.objects.filter(user=user).order_by("created_at").values("post_id", "created_at")),
        "shares": list(Share.objects.filter(user=user).values("post_id", "code", "channel", "created_at")),
        "reports": list(
            Report.objects.filter(reporter=user).values("post_id", "reason", "details", "status", "created_at")
        ),
        # What they did, as the log recorded it (what others did with their posts is others' data).
        "engagement": [
            {"kind": kinds[kind], "post_id": post_id, "creator_id": creator_id, "at": at, "ms": ms}
            for kind, post_id, creator_id, at, ms in Engagement.objects.filter(actor=user)
            .order_by("occurred_at", "id")
            .values_list("kind", "post_id", "creator_id", "occurred_at", "dwell_ms")
            .iterator(chunk_size=5000)
        ],
    }


@receiver(account_erasing, dispatch_uid="feed.erase_account")
def erase_feed_data(sender, *, user, identifiers, tombstone, **kwargs):
    """Posts and comments stay as blank, deleted rows so counts, the engagement log (which points
    at them) and other people's replies keep their anchors; their text, revisions, images, trade
    cards and calls go. Reports they filed lose their text; notes about them lose their names."""
    now = timezone.now()
    posts = Post.objects.filter(author=user)
    post_ids = list(posts.values_list("pk", flat=True))
    # Every stored size of every image (the display size, the thumbnail, any added later).
    file_fields = [field.name for field in PostImage._meta.fields if isinstance(field, FileField)]
    image_files = [
        name for names in PostImage.objects.filter(post_id__in=post_ids).values_list(*file_fields) for name in names
    ]
    PostImage.objects.filter(post_id__in=post_ids).delete()
    PostRevision.objects.filter(post_id__in=post_ids).delete()
    TradeCard.objects.filter(post_id__in=post_ids).delete()
    Call.objects.filter(author=user).delete()
    for through in (Post.assets.through, Post.hashtags.through):
        through.objects.filter(post_id__in=post_ids).delete()
    posts.update(body="", body_html="", status=Post.Status.DELETED, deleted_at=Coalesce("deleted_at", Value(now)))
    Comment.objects.filter(author=user).update(body="", deleted_at=Coalesce("deleted_at", Value(now)))
    Notification.objects.filter(Q(recipient=user) | Q(actor=user)).delete()
    Report.objects.filter(reporter=user).update(details="")
    scrub_identifiers(Report.objects.filter(post_id__in=post_ids), ["details"], identifiers, tombstone)
    scrub_identifiers(ModerationAction.objects.filter(target_user=user), ["note"], identifiers, tombstone)

    storage = PostImage._meta.get_field("image").storage

    def after_commit():
        for name in image_files:
            if name:
                storage.delete(name)
        for post_id in post_ids:
            post_removed.send(sender=Post, post_id=post_id)

    transaction.on_commit(after_commit)
