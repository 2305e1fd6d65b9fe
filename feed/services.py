"""Everything people do with posts: publish, edit, delete, react, comment, share, report, read.

Views, the API, admin actions, tasks and tests all call these functions. Each checks first
(permissions, validation: a ValidationError or PermissionDenied with a message a person can act
on), then changes the database in one transaction, then appends to the engagement log.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal, overload

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from creators.models import User
from creators.services import ensure_can_act, is_blocked_between, set_performance_visibility
from markets.models import Asset
from orbit import locks
from orbit.fingerprints import network_prefix_of
from orbit.images import POST_IMAGE_SIDE, POST_THUMBNAIL_SIDE, StoredImage, process_image
from orbit.locks import Namespace

from . import markdown, render_tokens, verification
from .calls import CallInput, attach_call, check_call
from .models import (
    Bookmark,
    Comment,
    CommentLike,
    Engagement,
    Hashtag,
    Like,
    Notification,
    Post,
    PostImage,
    PostRevision,
    PostType,
    Report,
    Share,
    TradeCard,
)

# Sent after commit; ranking subscribes to tag and index posts. Arguments: post_id.
post_published = Signal()
post_edited = Signal()
post_removed = Signal()

MAX_POST_CHARS = 10_000
MAX_COMMENT_CHARS = 2_000
MAX_IMAGES = 4
QUOTES = ("USDT", "USDC", "USD")
INSTRUMENT = re.compile(rf"^(?P<base>[A-Z0-9]{{2,20}})-(?P<quote>{'|'.join(QUOTES)})(?P<swap>-SWAP)?$")


# --- Helpers -------------------------------------------------------------------------


def _log_signed_out_once(*, kind: int, post: Post, fp: str, dwell_ms: int = 0, share: Share | None = None) -> bool:
    """Log a signed-out event at most once per network (`fp`), post, kind and day (UTC); True if
    logged. Without a fingerprint (no address, or over the rate) nothing is logged."""
    if not fp:
        return False
    day_start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        # Serialises the check-then-insert below for one network, post and kind.
        locks.lock(Namespace.SIGNED_OUT_EVENT, (fp, post.pk, kind))
        seen = Engagement.objects.filter(
            post=post, kind=kind, actor__isnull=True, fingerprint=fp, occurred_at__gte=day_start
        ).exists()
        if seen:
            return False
        log_engagement(
            kind=kind, actor=None, post=post, creator_id=post.author_id, fp=fp, dwell_ms=dwell_ms, share=share
        )
        if kind == Engagement.Kind.VIEW:
            _count_view(post)
    return True


def log_engagement(
    *,
    kind: int,
    actor: User | AnonymousUser | None,
    post: Post | None,
    creator_id: int,
    fp: str = "",
    dwell_ms: int = 0,
    share: Share | None = None,
) -> Engagement:
    return Engagement.objects.create(
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        post=post,
        creator_id=creator_id,
        dwell_ms=dwell_ms,
        fingerprint=fp,
        network_prefix=network_prefix_of(fp),
        share=share,
    )


def _clean_text(text: str, *, limit: int, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(
            {"body": _("Write something first: an empty %(what)s cannot be posted.") % {"what": what}}
        )
    if len(text) > limit:
        raise ValidationError(
            {
                "body": _("That %(what)s is %(length)d characters long; the limit is %(limit)d.")
                % {"what": what, "length": len(text), "limit": limit}
            }
        )
    if "\x00" in text:
        raise ValidationError({"body": _("The text contains a NUL character; remove it and try again.")})
    return text


def _lookup_entities(symbols: set[str], usernames: set[str]) -> tuple[list[str], list[str]]:
    assets = Asset.objects.filter(symbol__in=symbols, is_listed=True).values_list("symbol", flat=True)
    users = User.objects.filter(username__iregex=_any_of(usernames)).values_list("username", flat=True)
    return list(assets), list(users) if usernames else []


def _any_of(names: set[str]) -> str:
    return r"^(" + "|".join(re.escape(name) for name in sorted(names)) + r")$" if names else r"^\b$"


def render_body(body: str) -> markdown.Rendered:
    return markdown.render(body, lookup=_lookup_entities)


def _post_type(slug: str) -> PostType:
    try:
        return PostType.objects.get(slug=slug, is_active=True)
    except PostType.DoesNotExist:
        choices = ", ".join(PostType.objects.filter(is_active=True).values_list("slug", flat=True))
        raise ValidationError(
            {
                "content_type": _("Unknown content type %(slug)r; choose one of: %(choices)s.")
                % {"slug": slug, "choices": choices}
            }
        ) from None


# --- Trade cards ---------------------------------------------------------------------


@dataclass
class TradeCardInput:
    instrument: str
    side: str
    entry_price: Decimal | str
    exit_price: Decimal | str | None = None
    mark_price: Decimal | str | None = None
    leverage: Decimal | str = Decimal(1)
    pnl_percent: Decimal | str | None = None


def validate_instrument(instrument: str) -> str:
    """Return the normalised instrument if it trades on the exchange, else raise."""
    instrument = (instrument or "").strip().upper()
    match = INSTRUMENT.match(instrument)
    if not match or not Asset.objects.filter(symbol=match["base"], is_listed=True).exists():
        raise ValidationError(
            {
                "instrument": _(
                    "%(instrument)r is not an instrument of the exchange; use a listed asset and a quote, "
                    "e.g. BTC-USDT or ETH-USDT-SWAP."
                )
                % {"instrument": instrument}
            }
        )
    return instrument


@overload
def _decimal(value: Decimal | str | None, field: str, *, required: Literal[True]) -> Decimal: ...
@overload
def _decimal(value: Decimal | str | None, field: str, *, required: bool = False) -> Decimal | None: ...
def _decimal(value: Decimal | str | None, field: str, *, required: bool = False) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise ValidationError({field: _("This field is required.")})
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError({field: _("Enter a number, such as 64250.5.")}) from None
    if not number.is_finite():
        raise ValidationError({field: _("Enter a finite number.")})
    return number


def _build_trade_card(post: Post, card: TradeCardInput) -> TradeCard:
    if card.side not in TradeCard.Side.values:
        raise ValidationError(
            {"side": _("Side must be one of: %(sides)s.") % {"sides": ", ".join(TradeCard.Side.values)}}
        )
    trade_card = TradeCard(
        post=post,
        instrument=validate_instrument(card.instrument),
        side=card.side,
        entry_price=_decimal(card.entry_price, "entry_price", required=True),
        exit_price=_decimal(card.exit_price, "exit_price"),
        mark_price=_decimal(card.mark_price, "mark_price"),
        leverage=_decimal(card.leverage, "leverage") or Decimal(1),
        pnl_percent=_decimal(card.pnl_percent, "pnl_percent"),
    )
    prices = (trade_card.entry_price, trade_card.exit_price, trade_card.mark_price)
    if any(price is not None and price <= 0 for price in prices):
        raise ValidationError({"entry_price": _("Prices must be above zero.")})
    if not Decimal(1) <= trade_card.leverage <= Decimal(200):
        raise ValidationError({"leverage": _("Leverage must be between 1 and 200.")})
    # Field limits (digits, decimal places); the checks above say it better than the constraints would.
    trade_card.full_clean(exclude=["post"], validate_constraints=False)
    return trade_card


def _process_images(images: list[UploadedFile]) -> list[StoredImage]:
    if len(images) > MAX_IMAGES:
        raise ValidationError({"images": _("Attach at most %(count)d images.") % {"count": MAX_IMAGES}})
    return [
        process_image(
            upload,
            field="images",
            label=upload.name or _("That file"),
            display_side=POST_IMAGE_SIDE,
            thumbnail_side=POST_THUMBNAIL_SIDE,
        )
        for upload in images
    ]


# --- Posts ---------------------------------------------------------------------------


def _apply_entities(post: Post, rendered: markdown.Rendered) -> None:
    post.assets.set(Asset.objects.filter(symbol__in=rendered.cashtags))
    tags = []
    for name in rendered.hashtags:
        tag, _created = Hashtag.objects.get_or_create(name=name)
        tags.append(tag)
    post.hashtags.set(tags)


def _notify_mentions(post: Post, rendered: markdown.Rendered, *, already: Collection[str] = frozenset()) -> None:
    mentioned = User.objects.filter(
        username__in=[m for m in rendered.mentions if m.lower() not in already], is_active=True
    )
    notifications = [
        Notification(recipient=user, actor=post.author, verb=Notification.Verb.MENTION, post=post)
        for user in mentioned.exclude(pk=post.author_id)
        if not is_blocked_between(user, post.author)
    ]
    Notification.objects.bulk_create(notifications)


def publish_post(
    *,
    author: User,
    body: str,
    content_type: str,
    language: str | None = None,
    images: list[UploadedFile] | None = None,
    trade_card: TradeCardInput | None = None,
    call: CallInput | None = None,
    show_performance: bool = False,
) -> Post:
    """`show_performance`: with a trade card, the author also opts in to showing their trading
    performance on their profile (asked on the compose page; never turned off from here)."""
    ensure_can_act(author)
    body = _clean_text(body, limit=MAX_POST_CHARS, what=_("post"))
    post_type = _post_type(content_type)
    rendered = render_body(body)
    language = language if language in Post.Language.values else _guess_language(body)
    checked_call = check_call(call) if call is not None else None
    # Decoding is the slow check: after the cheap ones, before the transaction.
    stored_images = _process_images(images or [])
    with transaction.atomic():
        post = Post.objects.create(
            author=author, content_type=post_type, body=body, body_html=rendered.html, language=language
        )
        if trade_card is not None:
            card = _build_trade_card(post, trade_card)
            card.save()
            verification.verify_trade_card(card)
        if checked_call is not None:
            # Made at the post's creation time; a target on the wrong side of the market refuses both.
            attach_call(post=post, call=checked_call)
        for position, stored in enumerate(stored_images):
            PostImage.objects.create(
                post=post,
                image=stored.display,
                thumbnail=stored.thumbnail,
                width=stored.width,
                height=stored.height,
                position=position,
            )
        _apply_entities(post, rendered)
        _notify_mentions(post, rendered)
        if show_performance and trade_card is not None:
            set_performance_visibility(user=author, show=True)
        transaction.on_commit(lambda: post_published.send(sender=Post, post_id=post.pk))
    return post


def _guess_language(text: str) -> str:
    han = sum(1 for char in text if "\u4e00" <= char <= "\u9fff")
    return Post.Language.CHINESE if han * 4 >= len(text.replace(" ", "")) * 1 and han >= 2 else Post.Language.ENGLISH


def _own_live_post(actor: User, post_id: int, *, for_update: bool = True) -> Post:
    queryset = Post.objects.select_for_update() if for_update else Post.objects
    post = queryset.filter(pk=post_id).first()
    if post is None or post.status == Post.Status.DELETED:
        raise Post.DoesNotExist(_("That post does not exist or was deleted."))
    if post.author_id != actor.pk:
        raise PermissionDenied(_("Only the author can change this post."))
    return post


def card_snapshot(card: TradeCard | None) -> dict | None:
    """A trade card as readers saw it, for the post's revision history (JSON: prices as strings)."""
    if card is None:
        return None
    figures = ("entry_price", "exit_price", "mark_price", "leverage", "pnl_percent", "verified_entry_price")
    return {
        "instrument": card.instrument,
        "side": card.side,
        **{name: None if getattr(card, name) is None else str(getattr(card, name)) for name in figures},
        "verified": card.is_verified,
    }


def edit_post(
    *,
    editor: User,
    post_id: int,
    body: str,
    content_type: str | None = None,
    trade_card: TradeCardInput | None = None,
    remove_trade_card: bool = False,
) -> Post:
    """Replace the post's text, and its trade card when one is given (None leaves the card as it
    is; ``remove_trade_card`` takes it off). The text and card before the edit are kept as a
    revision, and a changed card is verified again against the author's fills."""
    if trade_card is not None and remove_trade_card:
        raise ValueError("Give a new trade card or remove it, not both.")
    ensure_can_act(editor)
    body = _clean_text(body, limit=MAX_POST_CHARS, what=_("post"))
    post_type = _post_type(content_type) if content_type else None
    rendered = render_body(body)
    with transaction.atomic():
        post = _own_live_post(editor, post_id)
        if post.status == Post.Status.HIDDEN:
            raise PermissionDenied(_("A post hidden by moderation cannot be edited."))
        old_card = TradeCard.objects.filter(post=post).first()
        # Checked before anything is written: a refused card leaves the post as it was.
        new_card = _build_trade_card(post, trade_card) if trade_card is not None else None
        old_mentions = {m.lower() for m in render_body(post.body).mentions}
        PostRevision.objects.create(
            post=post, body=post.body, content_type_id=post.content_type_id, trade_card=card_snapshot(old_card)
        )
        post.body, post.body_html, post.edited_at = body, rendered.html, timezone.now()
        if post_type is not None:
            post.content_type = post_type
        post.save(update_fields=["body", "body_html", "edited_at", "content_type"])
        if new_card is not None:
            # Saved whole, then verified again: an entry edited away from the author's fills loses
            # the badge; one still matching keeps the time it was first verified.
            new_card.verified_at = old_card.verified_at if old_card is not None else None
            new_card.save()
            verification.verify_trade_card(new_card)
        elif remove_trade_card and old_card is not None:
            old_card.delete()
        _apply_entities(post, rendered)
        _notify_mentions(post, rendered, already=old_mentions)
        transaction.on_commit(lambda: post_edited.send(sender=Post, post_id=post.pk))
    return post


def delete_post(*, actor: User, post_id: int) -> Post:
    with transaction.atomic():
        post = _own_live_post(actor, post_id)
        post.status, post.deleted_at = Post.Status.DELETED, timezone.now()
        post.save(update_fields=["status", "deleted_at"])
        # A deleted repost or quote no longer counts on the post it shared (recount_posts agrees).
        if post.repost_of_id is not None:
            Post.objects.filter(pk=post.repost_of_id).update(repost_count=F("repost_count") - 1)
        elif post.quote_of_id is not None:
            Post.objects.filter(pk=post.quote_of_id).update(quote_count=F("quote_count") - 1)
        transaction.on_commit(lambda: post_removed.send(sender=Post, post_id=post.pk))
    return post


def readable_post(*, viewer: User | AnonymousUser | None, post_id: int) -> Post:
    """The post if `viewer` may read it: published, or their own, and not between blocked users."""
    post = Post.objects.select_related("author").filter(pk=post_id).first()
    if post is None or post.status == Post.Status.DELETED:
        raise Post.DoesNotExist(_("That post does not exist or was deleted."))
    own = viewer is not None and viewer.is_authenticated and viewer.pk == post.author_id
    if post.status == Post.Status.HIDDEN and not own:
        raise Post.DoesNotExist(_("That post was removed by moderation."))
    if viewer is not None and viewer.is_authenticated and not own and is_blocked_between(viewer, post.author):
        raise PermissionDenied(_("You cannot see this post."))
    return post


# --- Reactions -------------------------------------------------------------------------


def _interactable(user: User, post_id: int) -> Post:
    ensure_can_act(user)
    post = readable_post(viewer=user, post_id=post_id)
    if post.status != Post.Status.PUBLISHED:
        raise PermissionDenied(_("This post no longer takes reactions."))
    return post


def like_post(*, user: User, post_id: int, fp: str = "") -> bool:
    """Like once; True if this call added the like. Racing double-clicks count once."""
    post = _interactable(user, post_id)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the losing racer rolls back only this
                Like.objects.create(user=user, post=post)
        except IntegrityError:
            return False  # already liked: the unique constraint decided the race
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
        log_engagement(kind=Engagement.Kind.LIKE, actor=user, post=post, creator_id=post.author_id, fp=fp)
        if post.author_id != user.pk:
            # One like notification per reader and post, ever: like/unlike cycling must not spam the
            # author. The partial unique constraint decides, so racing likes cannot add a second.
            Notification.objects.bulk_create(
                [Notification(recipient_id=post.author_id, actor=user, verb=Notification.Verb.LIKE, post=post)],
                ignore_conflicts=True,
            )
    return True


def unlike_post(*, user: User, post_id: int, fp: str = "") -> bool:
    post = readable_post(viewer=user, post_id=post_id)
    with transaction.atomic():
        deleted, _rows = Like.objects.filter(user=user, post=post).delete()
        if not deleted:
            return False
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") - 1)
        log_engagement(kind=Engagement.Kind.UNLIKE, actor=user, post=post, creator_id=post.author_id, fp=fp)
    return True


def comment_on_post(*, author: User, post_id: int, body: str, parent_id: int | None = None, fp: str = "") -> Comment:
    post = _interactable(author, post_id)
    body = _clean_text(body, limit=MAX_COMMENT_CHARS, what=_("comment"))
    parent = None
    if parent_id is not None:
        parent = Comment.objects.filter(pk=parent_id, post=post, deleted_at__isnull=True).first()
        if parent is None:
            raise ValidationError({"parent": _("The comment you reply to is not on this post, or was deleted.")})
        # One level of replies: answering a reply threads under its parent.
        parent = parent.parent or parent
        if is_blocked_between(author, parent.author):
            raise PermissionDenied(_("You cannot reply to this person."))
    with transaction.atomic():
        comment = Comment.objects.create(post=post, author=author, parent=parent, body=body)
        Post.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
        log_engagement(kind=Engagement.Kind.COMMENT, actor=author, post=post, creator_id=post.author_id, fp=fp)
        recipients = {post.author_id: Notification.Verb.COMMENT}
        if parent is not None:
            recipients[parent.author_id] = Notification.Verb.REPLY
        Notification.objects.bulk_create(
            Notification(recipient_id=recipient, actor=author, verb=verb, post=post, comment=comment)
            for recipient, verb in recipients.items()
            if recipient != author.pk
        )
    return comment


def share_post(*, user: User, post_id: int, channel: str = "", fp: str = "") -> Share:
    post = _interactable(user, post_id)
    with transaction.atomic():
        share = Share.objects.create(user=user, post=post, code=secrets.token_urlsafe(9)[:12], channel=channel[:20])
        log_engagement(kind=Engagement.Kind.SHARE, actor=user, post=post, creator_id=post.author_id, fp=fp)
    return share


def open_share(*, code: str, viewer: User | AnonymousUser | None = None, fp: str = "") -> Post:
    share = Share.objects.select_related("post").filter(code=code).first()
    if share is None or share.post.status != Post.Status.PUBLISHED:
        raise Post.DoesNotExist(_("That share link is not valid any more."))
    if viewer is None or not viewer.is_authenticated:
        _log_signed_out_once(kind=Engagement.Kind.SHARE_OPEN, post=share.post, fp=fp, share=share)
        return share.post
    log_engagement(
        kind=Engagement.Kind.SHARE_OPEN,
        actor=viewer,
        post=share.post,
        creator_id=share.post.author_id,
        fp=fp,
        share=share,
    )
    return share.post


def report_post(*, reporter: User, post_id: int, reason: str, details: str = "") -> Report:
    ensure_can_act(reporter)
    post = readable_post(viewer=reporter, post_id=post_id)
    if post.author_id == reporter.pk:
        raise ValidationError({"post": _("You cannot report your own post; delete or edit it instead.")})
    if reason not in Report.Reason.values:
        raise ValidationError(
            {"reason": _("Choose a reason: %(reasons)s.") % {"reasons": ", ".join(Report.Reason.values)}}
        )
    details = (details or "").strip()[:1000]
    try:
        with transaction.atomic():
            report = Report.objects.create(reporter=reporter, post=post, reason=reason, details=details)
            log_engagement(kind=Engagement.Kind.REPORT, actor=reporter, post=post, creator_id=post.author_id)
    except IntegrityError:
        raise ValidationError({"post": _("You already reported this post; moderators will look at it.")}) from None
    return report


def hide_post_for_viewer(*, user: User, post_id: int) -> None:
    """'Not interested': recorded in the log; ranking reads it."""
    post = readable_post(viewer=user, post_id=post_id)
    log_engagement(kind=Engagement.Kind.HIDE, actor=user, post=post, creator_id=post.author_id)


# --- Reading -------------------------------------------------------------------------


def record_view(*, viewer: User | AnonymousUser | None, post: Post, fp: str = "") -> bool:
    """At most one view per viewer, post and day (UTC); signed-out viewers per network (`fp`)."""
    if viewer is None or not viewer.is_authenticated:
        return _log_signed_out_once(kind=Engagement.Kind.VIEW, post=post, fp=fp)
    who = {"actor": viewer}
    day_start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        # Serialise the check-then-insert per viewer and post with a transaction-level advisory lock.
        locks.lock(Namespace.VIEW, (viewer.pk, post.pk))
        seen = Engagement.objects.filter(
            post=post, kind=Engagement.Kind.VIEW, occurred_at__gte=day_start, **who
        ).exists()
        if seen:
            return False
        log_engagement(kind=Engagement.Kind.VIEW, actor=viewer, post=post, creator_id=post.author_id, fp=fp)
        _count_view(post)
    return True


def _count_view(post: Post) -> None:
    """The card's view count: one more for each view row written, in the same transaction, as an
    F() update so concurrent views of one post never lose one."""
    Post.objects.filter(pk=post.pk).update(view_count=F("view_count") + 1)


MAX_DWELL_MS = 30 * 60 * 1000
MAX_DWELL_ITEMS = 50


def record_dwell(
    *, viewer: User | AnonymousUser | None, items: list[dict], fp: str = "", now: datetime | None = None
) -> int:
    """Time spent the server saw, as reported by the page beacon or an app:
    [{"post": id, "ms": milliseconds, "token": the post's render token}, …].

    The client's milliseconds are only a claim. An item counts only with a render token issued to
    this reader for this post (`render_tokens`); items without one, or with a forged, expired,
    another reader's or another post's token, are skipped without an error, as are unknown posts.
    A post is credited at most the time between its token's issue and now, less the time already
    credited to this reader in that span (on this post or any other), so a replayed beacon adds
    nothing, and a reader never earns more time, on one post or many, than the clock has run.
    Returns rows written."""
    if not isinstance(items, list) or len(items) > MAX_DWELL_ITEMS:
        raise ValidationError({"items": _("Send a list of at most %(n)d items.") % {"n": MAX_DWELL_ITEMS}})
    now = now or timezone.now()
    claims: dict[int, int] = {}
    tokens: dict[int, set[str]] = {}
    for item in items:
        try:
            post_id, ms = int(item["post"]), int(item["ms"])
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                {"items": _('Each item needs a post id and milliseconds: {"post": 1, "ms": 5000}.')}
            ) from None
        token = item.get("token")
        if ms > 0 and isinstance(token, str) and token:
            claims[post_id] = min(claims.get(post_id, 0) + ms, MAX_DWELL_MS)
            tokens.setdefault(post_id, set()).add(token)
    # Each post's span starts at the earliest good token: a page shows one token per post, and a
    # second one (another tab) cannot widen the span beyond the time since the first render.
    since: dict[int, datetime] = {}
    for post_id, offered in tokens.items():
        issued = [render_tokens.issued_at(token, reader=viewer, post_id=post_id, now=now) for token in offered]
        good = [moment for moment in issued if moment is not None]
        if good:
            since[post_id] = min(good)
    if not since:
        return 0
    posts = Post.objects.filter(pk__in=since, status=Post.Status.PUBLISHED).only("id", "author_id")
    actor = viewer if viewer is not None and viewer.is_authenticated else None
    if actor is None:
        # Signed out: one report per network, post and day, so a replayed beacon adds nothing.
        return sum(
            _log_signed_out_once(
                kind=Engagement.Kind.DWELL,
                post=post,
                fp=fp,
                dwell_ms=min(claims[post.pk], _elapsed_ms(since[post.pk], now)),
            )
            for post in posts
        )
    with transaction.atomic():
        # One reader's reports one at a time: two copies of a beacon sent together would otherwise
        # both read "nothing credited yet" and both be credited.
        locks.lock(Namespace.DWELL, actor.pk)
        # Everything credited to this reader, on any post, since the earliest span began: a person
        # reads one post at a time, so the time credited inside a span can never exceed the span.
        credited = list(
            Engagement.objects.filter(
                actor=actor, kind=Engagement.Kind.DWELL, occurred_at__gte=min(since.values())
            ).values_list("occurred_at", "dwell_ms")
        )
        rows = []
        for post in sorted(posts, key=lambda post: (since[post.pk], post.pk)):
            start = since[post.pk]
            # A row credits the `dwell_ms` before it was written; only the part inside this span is
            # spent (time read before a reload belongs to the earlier page, not to this one).
            already = sum(min(dwell_ms, _elapsed_ms(start, at)) for at, dwell_ms in credited)
            granted = min(claims[post.pk], _elapsed_ms(start, now) - already)
            if granted > 0:
                credited.append((now, granted))
                rows.append(
                    Engagement(
                        kind=Engagement.Kind.DWELL,
                        actor=actor,
                        post=post,
                        creator_id=post.author_id,
                        dwell_ms=granted,
                        occurred_at=now,
                        fingerprint=fp,
                        network_prefix=network_prefix_of(fp),
                    )
                )
        Engagement.objects.bulk_create(rows)
    return len(rows)


def _elapsed_ms(start: datetime, end: datetime) -> int:
    return max(0, (end - start) // timedelta(milliseconds=1))


def trade_redirect_url(*, viewer: User | AnonymousUser | None, post_id: int, fp: str = "") -> str:
    """Record a trade click on a post's card and return where the exchange trades it."""
    post = readable_post(viewer=viewer, post_id=post_id)
    card = TradeCard.objects.filter(post=post).first()
    if card is None:
        raise Post.DoesNotExist(_("This post has no trade card."))
    # Re-validated at click time: a delisted instrument no longer redirects anywhere.
    instrument = validate_instrument(card.instrument)
    if viewer is None or not viewer.is_authenticated:
        _log_signed_out_once(kind=Engagement.Kind.TRADE_CLICK, post=post, fp=fp)
    else:
        log_engagement(kind=Engagement.Kind.TRADE_CLICK, actor=viewer, post=post, creator_id=post.author_id, fp=fp)
    if settings.ORBIT_DEMO_TRADE_TICKET:
        # The demo has no exchange to send people to: Orbit's own ticket ends the journey.
        return f"{reverse('feed:demo_trade', args=[instrument])}?{urlencode({'post': post.pk})}"
    return settings.EXCHANGE_TRADE_URL.format(instrument=instrument)


# --- Notifications ---------------------------------------------------------------------


def mark_notifications_read(*, user: User, up_to: datetime | None = None) -> int:
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if up_to is not None:
        queryset = queryset.filter(created_at__lte=up_to)
    return queryset.update(read_at=timezone.now())


# --- Reposts, quotes and bookmarks -----------------------------------------------------


def _shareable(user: User, post_id: int) -> Post:
    """The post `user` may repost or quote: readable, published, not blocked either way, and an
    original (a repost carries nothing of its own: share the post it reposts)."""
    post = _interactable(user, post_id)
    if post.repost_of_id is not None:
        raise ValidationError({"post": _("This is a repost; repost or quote the original post instead.")})
    return post


def repost(*, user: User, post_id: int, fp: str = "") -> bool:
    """Put the post in the user's followers' Following feeds and on their profile; True if this call
    added the repost. Racing double-clicks insert once (the post_repost_once constraint decides).

    The repost is logged as a share of the original, so it counts for ranking and payouts as
    shares do. Reposting, undoing and reposting again logs and notifies only the first time."""
    post = _shareable(user, post_id)
    with transaction.atomic():
        before = Post.objects.filter(author=user, repost_of=post).exists()  # undone reposts included
        try:
            with transaction.atomic():  # a savepoint: the losing racer rolls back only this
                Post.objects.create(
                    author=user, repost_of=post, body="", content_type_id=post.content_type_id, language=post.language
                )
        except IntegrityError:
            return False  # already reposted: the unique constraint decided the race
        Post.objects.filter(pk=post.pk).update(repost_count=F("repost_count") + 1)
        if not before:
            log_engagement(kind=Engagement.Kind.SHARE, actor=user, post=post, creator_id=post.author_id, fp=fp)
            _notify_shared(user=user, post=post)
    return True


def undo_repost(*, user: User, post_id: int) -> bool:
    """Take the user's repost of the post back (kept as a deleted row); True if there was one.
    Works whatever became of the original since: nobody is stuck with a repost."""
    with transaction.atomic():
        undone = (
            Post.objects.filter(author=user, repost_of_id=post_id)
            .exclude(status=Post.Status.DELETED)
            .update(status=Post.Status.DELETED, deleted_at=timezone.now())
        )
        if not undone:
            return False
        Post.objects.filter(pk=post_id).update(repost_count=F("repost_count") - 1)
    return True


def reposted_by(*, user: User, post_id: int) -> bool:
    return Post.objects.filter(author=user, repost_of_id=post_id).exclude(status=Post.Status.DELETED).exists()


def quote(
    *,
    user: User,
    post_id: int,
    body: str,
    content_type: str,
    language: str | None = None,
    images: list[UploadedFile] | None = None,
    fp: str = "",
) -> Post:
    """A post of the user's own that embeds the post it quotes. It is published by `publish_post`
    (sanitizing, cashtags, mentions, tagging), then tied to the original, in one transaction."""
    original = _shareable(user, post_id)
    with transaction.atomic():
        post = publish_post(author=user, body=body, content_type=content_type, language=language, images=images)
        Post.objects.filter(pk=post.pk).update(quote_of=original)
        post.quote_of = original
        Post.objects.filter(pk=original.pk).update(quote_count=F("quote_count") + 1)
        log_engagement(kind=Engagement.Kind.SHARE, actor=user, post=original, creator_id=original.author_id, fp=fp)
        _notify_shared(user=user, post=original, verb=Notification.Verb.QUOTE)
    return post


def _notify_shared(*, user: User, post: Post, verb: str = Notification.Verb.REPOST) -> None:
    """Tell the author their post was reposted or quoted (not for their own)."""
    if post.author_id == user.pk:
        return
    Notification.objects.create(recipient_id=post.author_id, actor=user, verb=verb, post=post)


def bookmark(*, user: User, post_id: int) -> bool:
    """Save the post for later, privately; True if this call saved it. Racing clicks save once."""
    post = readable_post(viewer=user, post_id=post_id)
    if post.status != Post.Status.PUBLISHED:
        raise PermissionDenied(_("This post can no longer be saved."))
    try:
        with transaction.atomic():  # a savepoint: the losing racer rolls back only this
            Bookmark.objects.create(user=user, post=post)
    except IntegrityError:
        return False  # already saved: the bookmark_once constraint decided the race
    return True


def unbookmark(*, user: User, post_id: int) -> bool:
    """Remove the post from the user's saved posts (whatever became of the post); True if it was there."""
    deleted, _rows = Bookmark.objects.filter(user=user, post_id=post_id).delete()
    return bool(deleted)


# --- Comment likes -------------------------------------------------------------------------
# A comment like is a reaction to a reader's words, not to the post: it is not logged to the
# Engagement log, which is the record of actions on posts that ranking and payouts read. The
# CommentLike rows are the facts; Comment.like_count is their counter.


def _likeable_comment(user: User, comment_id: int) -> Comment:
    """The live comment `user` may like: on a post they may react to (readable, published), and
    by someone with no block between them either way."""
    ensure_can_act(user)
    comment = Comment.objects.select_related("author").filter(pk=comment_id).first()
    if comment is None or comment.deleted_at is not None:
        raise Comment.DoesNotExist(_("That comment does not exist or was deleted."))
    _interactable(user, comment.post_id)
    if comment.author_id != user.pk and is_blocked_between(user, comment.author):
        raise PermissionDenied(_("You cannot like this person's comments."))
    return comment


def like_comment(*, user: User, comment_id: int) -> bool:
    """Like a comment once; True if this call added the like. Racing double-clicks count once."""
    comment = _likeable_comment(user, comment_id)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the losing racer rolls back only this
                CommentLike.objects.create(user=user, comment=comment)
        except IntegrityError:
            return False  # already liked: the comment_like_once constraint decided the race
        Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") + 1)
    return True


def unlike_comment(*, user: User, comment_id: int) -> bool:
    """Take a like back; True if there was one. Allowed whatever became of the comment or of a
    block since, as long as the post can still be read: nobody is stuck with a like."""
    comment = Comment.objects.filter(pk=comment_id).first()
    if comment is None:
        raise Comment.DoesNotExist(_("That comment does not exist or was deleted."))
    readable_post(viewer=user, post_id=comment.post_id)
    with transaction.atomic():
        deleted, _rows = CommentLike.objects.filter(user=user, comment=comment).delete()
        if not deleted:
            return False
        Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") - 1)
    return True
