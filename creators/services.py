"""What people do with accounts and with each other: profiles, follows, mutes, blocks, suspension.

`feed` records the engagement and notifications these cause by listening to the signals
below (it owns those tables; this app never imports it). The signals are sent inside the
transaction, so the log and the follow commit or roll back together.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from orbit.images import AVATAR_SIDE, process_image

from . import names
from .models import Block, CreatorTitle, Follow, Mute, Profile, User

# Arguments: follower, followee, fp (fingerprint). Sent inside the transaction.
user_followed = Signal()
user_unfollowed = Signal()


def ensure_can_act(user: User | AnonymousUser | None) -> None:
    """Refuse writes by anonymous or suspended users with a message they can act on."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied(_("Log in first."))
    if user.suspended_at is not None:
        raise PermissionDenied(_("Your account is suspended, so you cannot post or react. Contact support to appeal."))


def is_blocked_between(first: User, second: User) -> bool:
    return Block.objects.filter(Q(user=first, target=second) | Q(user=second, target=first)).exists()


def _other_user(username: str) -> User:
    user = User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise User.DoesNotExist(_("There is no one called @%(username)s.") % {"username": username})
    return user


def follow_user(*, follower: User, username: str, fp: str = "") -> bool:
    """Follow once; True if this call added the follow. Racing clicks count once."""
    ensure_can_act(follower)
    followee = _other_user(username)
    if followee.pk == follower.pk:
        raise ValidationError({"username": _("You cannot follow yourself.")})
    if is_blocked_between(follower, followee):
        raise PermissionDenied(_("You cannot follow @%(username)s.") % {"username": followee.username})
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the losing racer rolls back only this
                Follow.objects.create(follower=follower, followee=followee)
        except IntegrityError:
            return False
        user_followed.send(sender=Follow, follower=follower, followee=followee, fp=fp)
    return True


def unfollow_user(*, follower: User, username: str, fp: str = "") -> bool:
    ensure_can_act(follower)
    followee = _other_user(username)
    with transaction.atomic():
        deleted, _rows = Follow.objects.filter(follower=follower, followee=followee).delete()
        if deleted:
            user_unfollowed.send(sender=Follow, follower=follower, followee=followee, fp=fp)
    return bool(deleted)


def mute_user(*, user: User, username: str) -> None:
    ensure_can_act(user)
    target = _other_user(username)
    if target.pk == user.pk:
        raise ValidationError({"username": _("You cannot mute yourself.")})
    Mute.objects.get_or_create(user=user, target=target)


def unmute_user(*, user: User, username: str) -> None:
    Mute.objects.filter(user=user, target=_other_user(username)).delete()


def block_user(*, user: User, username: str) -> None:
    """Block: hide each other, and end follows both ways."""
    ensure_can_act(user)
    target = _other_user(username)
    if target.pk == user.pk:
        raise ValidationError({"username": _("You cannot block yourself.")})
    with transaction.atomic():
        Block.objects.get_or_create(user=user, target=target)
        # Each ended follow is announced like an unfollow, so the log says it ended and a follow
        # after an unblock is a repeat, not a new follower to pay for.
        for follower, followee in ((user, target), (target, user)):
            deleted, _rows = Follow.objects.filter(follower=follower, followee=followee).delete()
            if deleted:
                user_unfollowed.send(sender=Follow, follower=follower, followee=followee, fp="")


def unblock_user(*, user: User, username: str) -> None:
    Block.objects.filter(user=user, target=_other_user(username)).delete()


def update_profile(
    *,
    user: User,
    display_name: str | None = None,
    bio: str | None = None,
    language: str | None = None,
    avatar: UploadedFile | None = None,
    show_performance: bool | None = None,
    accepts_tips: bool | None = None,
) -> Profile:
    """Only these fields can be changed by their owner; staff flags and titles never come through here."""
    ensure_can_act(user)
    profile, _created = Profile.objects.get_or_create(user=user)
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 50:
            raise ValidationError({"display_name": _("Keep the display name to 50 characters.")})
        names.check_invisible_characters(display_name, field="display_name")
        profile.display_name = display_name
    if bio is not None:
        bio = bio.strip()
        if len(bio) > 500:
            raise ValidationError({"bio": _("Keep the bio to 500 characters.")})
        profile.bio = bio
    if language is not None:
        if language not in Profile.Language.values:
            raise ValidationError({"language": _("Choose English or Simplified Chinese.")})
        profile.language = language
    replaced_avatar = ""
    if avatar is not None:
        stored = process_image(avatar, field="avatar", label=_("That file"), display_side=AVATAR_SIDE)
        replaced_avatar, profile.avatar = profile.avatar.name, stored.display
    if show_performance is not None:
        profile.show_performance = bool(show_performance)
    if accepts_tips is not None:
        # Off refuses new tips at once; tips already sent to the exchange still complete.
        profile.accepts_tips = bool(accepts_tips)
    profile.save()
    if replaced_avatar:
        # A replaced avatar stops being served: its URL may be cached or shared for a year otherwise.
        profile.avatar.storage.delete(replaced_avatar)
    return profile


def set_performance_visibility(*, user: User, show: bool) -> Profile:
    """Opt in to (or out of) showing one's trading performance to others, e.g. from the compose page."""
    ensure_can_act(user)
    with transaction.atomic():
        profile, _created = Profile.objects.get_or_create(user=user)
        Profile.objects.filter(pk=profile.pk).update(show_performance=show)
        profile.show_performance = show
    return profile


def suspend_user(*, user_id: int) -> User:
    User.objects.filter(pk=user_id, suspended_at__isnull=True).update(suspended_at=timezone.now())
    return User.objects.get(pk=user_id)


def lift_suspension(*, user_id: int) -> User:
    User.objects.filter(pk=user_id).update(suspended_at=None)
    return User.objects.get(pk=user_id)


def refresh_creator_titles() -> int:
    """Give every profile the highest active title whose thresholds it meets (followers and recent
    contribution); returns profiles changed. Idempotent: run by Celery beat, after each settlement
    and after operators edit the thresholds."""
    followers = (
        Follow.objects.filter(followee=OuterRef(OuterRef("pk"))).values("followee").annotate(n=Count("*")).values("n")
    )
    deserved = (
        CreatorTitle.objects.filter(
            is_active=True,
            min_followers__lte=Coalesce(Subquery(followers), 0),
            min_recent_contribution__lte=OuterRef("recent_contribution"),
        )
        .order_by("-min_followers", "-min_recent_contribution")
        .values("slug")[:1]
    )
    with transaction.atomic():
        return (
            Profile.objects.annotate(deserved=Subquery(deserved))
            .exclude(title_id__isnull=False, title_id=F("deserved"))
            .exclude(title_id__isnull=True, deserved__isnull=True)
            .update(title_id=Subquery(deserved))
        )


def set_recent_contributions(*, scores: dict[int, Decimal]) -> int:
    """Store each creator's recent contribution (the settlement's figure; everyone else 0) and
    refresh titles. Returns profiles whose title changed."""
    with transaction.atomic():
        profiles = Profile.objects.select_for_update().filter(Q(user_id__in=scores) | ~Q(recent_contribution=0))
        changed = []
        for profile in profiles.only("user_id", "recent_contribution").order_by("user_id"):
            score = scores.get(profile.user_id, Decimal(0))
            if profile.recent_contribution != score:
                profile.recent_contribution = score
                changed.append(profile)
        Profile.objects.bulk_update(changed, ["recent_contribution"], batch_size=1000)
        return refresh_creator_titles()
