"""API tokens: issued at sign-in (the password, and the authenticator code when the account has
one), checked on every API call by creators/authentication.py, listed and revoked in settings.

A token stops working when it expires (ORBIT_API_TOKEN_DAYS), when it is revoked, and when its
user's password or two-factor setup changes after it was created: whoever changed them (the
person, a password reset, an operator in admin) meant to shut out whoever had the old ones.

See docs/security.md#api-tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from allauth.mfa.base.forms import AuthenticateForm
from django.conf import settings
from django.contrib.auth import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from orbit.admin_site import has_totp

from .models import ApiToken, User

KEY_MARKER = "orb_"  # lets secret scanners and people recognise an Orbit key
PREFIX_LENGTH = len(KEY_MARKER) + 8
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def refusal(token: ApiToken, *, now: datetime) -> str | None:
    """Why `token` may not be used now, in words for its holder; None when it may."""
    changed_at = token.user.credentials_changed_at
    if token.revoked_at is not None:
        return _("Invalid token: it was revoked. Sign in again for a new one.")
    if token.expires_at <= now:
        return _("Invalid token: it expired. Sign in again for a new one.")
    if changed_at is not None and token.created_at < changed_at:
        return _("Invalid token: the account's password or two-factor setup changed since. Sign in again.")
    if not token.user.is_active:
        return _("User inactive or deleted.")
    # A member promoted to staff keeps no password-only token (one extra query, for staff only).
    if token.user.is_staff and not has_totp(token.user):
        return _("Invalid token: staff accounts need two-factor authentication for API tokens. Sign in again.")
    return None


def usable_tokens(*, user: User, now: datetime | None = None) -> QuerySet[ApiToken]:
    """The tokens of `user` that work now, newest first (the same rules as `refusal`)."""
    now = now or timezone.now()
    if user.is_staff and not has_totp(user):
        return ApiToken.objects.none()
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now)
    if user.credentials_changed_at is not None:
        tokens = tokens.filter(created_at__gte=user.credentials_changed_at)
    return tokens.order_by("-created_at", "-pk")


def find_token(*, key: str) -> ApiToken | None:
    return ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()


def record_use(*, token: ApiToken, now: datetime) -> None:
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
        token.last_used_at = now


def ensure_may_have_tokens(user: User) -> None:
    """Staff accounts open admin-grade data; a password alone must never be enough for them."""
    if user.is_staff and not has_totp(user):
        raise PermissionDenied(
            _(
                "Staff accounts need two-factor authentication for API tokens: activate an "
                "authenticator app in your account settings first."
            )
        )


def check_second_factor(*, request, user: User, code: str) -> None:
    """For an account with an authenticator app: refuse unless `code` is its current code or an
    unused recovery code. A wrong code counts as a failed sign-in (django-axes lockout, allauth's
    rate limit, the security log's mfa_failed), exactly like a wrong password."""
    ensure_may_have_tokens(user)
    if not has_totp(user):
        return
    if not code:
        raise ValidationError(
            {
                "code": _(
                    "This account uses two-factor authentication: send the code from your "
                    "authenticator app, or a recovery code, as `code`."
                )
            }
        )
    # allauth's own sign-in form checks the code: TOTP with replay protection, recovery codes
    # used up once, its per-account rate limit and its mfa failure signal.
    form = AuthenticateForm(data={"code": code}, user=user)
    if not form.is_valid():
        user_login_failed.send(sender=User, credentials={"username": user.get_username()}, request=request)
        raise ValidationError({"code": form.errors.get("code") or [_("That code is not right.")]})
    form.authenticator.record_usage()


def issue_api_token(*, user: User, name: str = "", now: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and its key, which is never stored and shown only now."""
    ensure_may_have_tokens(user)
    now = now or timezone.now()
    key = f"{KEY_MARKER}{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=(name or "").strip()[:100] or _("API client"),
            prefix=key[:PREFIX_LENGTH],
            key_hash=hash_key(key),
            created_at=now,
            expires_at=now + timedelta(days=settings.ORBIT_API_TOKEN_DAYS),
        )
    return token, key


def revoke_token(*, token: ApiToken, now: datetime | None = None) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now or timezone.now())


def revoke_api_token(*, user: User, token_id: int, now: datetime | None = None) -> None:
    """Revoke one of `user`'s tokens; revoking it again changes nothing. Someone else's token is
    answered like a missing one."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if token is None:
            raise ApiToken.DoesNotExist(_("You have no API token with that id."))
        if token.revoked_at is None:
            token.revoked_at = now or timezone.now()
            token.save(update_fields=["revoked_at"])


def mark_credentials_changed(*, user_id: int, now: datetime | None = None) -> None:
    User.objects.filter(pk=user_id).update(credentials_changed_at=now or timezone.now())
