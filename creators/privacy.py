"""A person's data: download all of it (export) and delete the account (erasure).

Deleting never removes the User row. The engagement log and the incentives ledger are append-only
and point at it, so the row stays as an anonymous tombstone: username "deleted-<random>", no
e-mail, names or password, inactive, `deleted_at` set. Everything personal is erased: this app
clears what it owns and sends `account_erasing` inside the same transaction, to which markets,
feed, ranking and incentives answer by erasing theirs (they import this app; it never imports them).
Settled weeks and balances therefore stay exact: no Engagement, Contribution, Payout amount or
LedgerEntry row changes.

The export works the same way: this app writes its sections and `account_exporting` collects the
others' (each receiver returns a dict of sections).

See docs/security.md#your-data-download-and-delete.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import LogEntry
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Func, Q, QuerySet, Value
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from orbit.security import audit

from .models import ApiToken, Block, Follow, Mute, Profile, User

# Arguments: user (the row, still holding its username and e-mail), identifiers (the strings that
# name the person: username, e-mail, display and real names). Sent inside the transaction, before
# this app erases its own fields; a receiver that raises rolls the whole deletion back.
account_erasing = Signal()
# Arguments: user. Each receiver returns a dict of export sections.
account_exporting = Signal()

TOMBSTONE_PREFIX = "deleted-"
# Shorter names (a display name "Al") would match inside unrelated words when scrubbing records.
MIN_IDENTIFIER_CHARS = 3


def is_tombstone(user) -> bool:
    return getattr(user, "deleted_at", None) is not None


def identifiers_of(user: User) -> list[str]:
    profile = Profile.objects.filter(user=user).first()
    names = [user.username, user.email, user.first_name, user.last_name]
    names.append(profile.display_name if profile is not None else "")
    # Longest first: an e-mail holding the username is replaced whole, not around it.
    return sorted({name.strip() for name in names if len(name.strip()) >= MIN_IDENTIFIER_CHARS}, key=len, reverse=True)


def scrub_identifiers(queryset: QuerySet, fields: Iterable[str], identifiers: list[str], replacement: str) -> int:
    """Replace every case-insensitive occurrence of the identifiers in these text fields (records
    kept about the person, such as a moderator's note); returns the rows changed."""
    if not identifiers:
        return 0
    pattern = "|".join(re.escape(identifier) for identifier in identifiers)
    fields = list(fields)
    matching = Q()
    for field in fields:
        matching |= Q(**{f"{field}__iregex": pattern})
    return queryset.filter(matching).update(
        **{
            field: Func(F(field), Value(pattern), Value(replacement), Value("gi"), function="regexp_replace")
            for field in fields
        }
    )


# --- Export ---------------------------------------------------------------------------------


def export_account_data(*, user: User) -> dict:
    """Everything Orbit holds about the person, as JSON-ready data (strings, numbers, lists)."""
    profile = Profile.objects.filter(user=user).select_related("title").first()
    data = {
        "format": "orbit-account-export/1",
        "exported_at": timezone.now(),
        "account": {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "is_suspended": user.suspended_at is not None,
            "email_addresses": list(EmailAddress.objects.filter(user=user).values("email", "verified", "primary")),
            # The kind and dates only: secrets and recovery codes are not for a file on a laptop.
            "two_factor_methods": list(
                Authenticator.objects.filter(user=user).values("type", "created_at", "last_used_at")
            ),
            "api_tokens": list(
                ApiToken.objects.filter(user=user).values(
                    "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"
                )
            ),
        },
        "profile": None
        if profile is None
        else {
            "display_name": profile.display_name,
            "bio": profile.bio,
            "language": profile.language,
            "avatar": profile.avatar.name or None,
            "show_performance": profile.show_performance,
            "title": profile.title.name_en if profile.title else None,
        },
        "following": list(Follow.objects.filter(follower=user).values("followee__username", "created_at")),
        "followers": list(Follow.objects.filter(followee=user).values("follower__username", "created_at")),
        "muted": list(Mute.objects.filter(user=user).values("target__username", "created_at")),
        "blocked": list(Block.objects.filter(user=user).values("target__username", "created_at")),
    }
    for _receiver, sections in account_exporting.send(sender=User, user=user):
        data.update(sections or {})
    # One round trip through the encoder: Decimals and datetimes become strings here, not in callers.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def export_filename(user: User) -> str:
    return f"orbit-{user.username}-{timezone.now():%Y%m%d}.json"


def export_fields(model, *left_out: str) -> list[str]:
    """The columns of `model` an export shows: all but the id and `left_out`."""
    return [field.attname for field in model._meta.concrete_fields if field.name not in {"id", *left_out}]


# --- Deletion -------------------------------------------------------------------------------


def password_confirmed(*, request, password: str) -> bool:
    """Whether `password` is the signed-in person's current one. Goes through authenticate() so
    that django-axes counts wrong guesses and locks out a stolen session's brute force."""
    user = request.user
    if not password or not user.is_authenticated:
        return False
    return authenticate(request=request, username=user.get_username(), password=password) == user


def ensure_can_delete(*, user: User, by: User | None = None) -> None:
    if is_tombstone(user):
        raise ValidationError(_("This account was deleted already."))
    if user.is_staff or user.is_superuser:
        if by is None or by.pk == user.pk:
            raise PermissionDenied(
                _("Staff accounts cannot delete themselves. Ask another operator to remove your staff rights first.")
            )
        raise PermissionDenied(
            _("@%(username)s is staff. Remove their staff and superuser rights first, then delete the account.")
            % {"username": user.username}
        )


def delete_account(*, user: User, by: User | None = None) -> None:
    """Erase the person's personal data and turn the account into a tombstone (see the module
    docstring). `by` is the operator when it is not the person themselves; the caller has checked
    the person's password (password_confirmed) or the operator's rights."""
    ensure_can_delete(user=user, by=by)
    avatar_files: list[str] = []
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        ensure_can_delete(user=user, by=by)  # again under the lock: a second click waited for the first
        identifiers = identifiers_of(user)
        tombstone = f"{TOMBSTONE_PREFIX}{secrets.token_hex(8)}"
        account_erasing.send(sender=User, user=user, identifiers=identifiers, tombstone=tombstone)

        # No unfollow rows here, unlike an unfollow or a block: nobody can follow a deleted account
        # again nor can it follow anyone, so no follow can repeat; its own follows are worth nothing
        # from now on (an inactive reader has no value); and a creator with many followers would
        # otherwise write one log row per follower inside this transaction.
        Follow.objects.filter(Q(follower=user) | Q(followee=user)).delete()
        Mute.objects.filter(Q(user=user) | Q(target=user)).delete()
        Block.objects.filter(Q(user=user) | Q(target=user)).delete()
        profile = Profile.objects.select_for_update().filter(user=user).first()
        if profile is not None:
            if profile.avatar:
                avatar_files.append(profile.avatar.name)
            profile.display_name = profile.bio = ""
            profile.avatar = ""
            profile.show_performance = False
            profile.save()
        _erase_sign_in(user, identifiers, tombstone)

        user.username = tombstone
        user.email = user.first_name = user.last_name = ""
        user.set_unusable_password()  # also ends every session: its auth hash no longer matches
        user.is_active = False
        user.deleted_at = timezone.now()
        user.save()
        if avatar_files:
            storage = Profile._meta.get_field("avatar").storage
            transaction.on_commit(lambda: [storage.delete(name) for name in avatar_files])
    # The security log names the tombstone and the row's id, never the erased username.
    audit("account_deleted", user=by or user, account=user.pk, by="operator" if by is not None else "self")


def _erase_sign_in(user: User, identifiers: list[str], tombstone: str) -> None:
    for model in (ApiToken, EmailAddress, Authenticator):
        model.objects.filter(user=user).delete()
    names = Q(username__iexact=user.username) | (Q(username__iexact=user.email) if user.email else Q(pk__in=[]))
    # django-axes keeps the name that was typed at each login, whether or not it succeeded.
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        model.objects.filter(names).delete()
    scrub_identifiers(LogEntry.objects.all(), ["object_repr", "change_message"], identifiers, tombstone)
