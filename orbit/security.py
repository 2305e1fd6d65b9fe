"""The security audit trail, and what a locked-out client is told.

Every sign-in, sign-out, failed sign-in, lockout, password and two-factor change, and every refused
request (HTTP 403) is logged on the "orbit.security" logger with the user, the client's IP and the
time. Never a secret: failed sign-ins log the name that was tried, not the password, and names
are logged with repr() so that a crafted one cannot forge log lines.
"""

from __future__ import annotations

import logging
import math

from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.signals import authentication_failed, authenticator_added, authenticator_removed
from axes.helpers import get_client_ip_address, get_cool_off
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger("orbit.security")

# Keys of authenticate() credentials that name the account being tried; everything else is left out.
_ACCOUNT_KEYS = ("username", "email", "login")
_MAX_NAME_CHARS = 150


def client_ip(request) -> str:
    """The client's address as axes sees it, so the log and the lockouts agree."""
    if request is None:
        return "-"
    try:
        return get_client_ip_address(request) or "-"
    except Exception:  # a malformed forwarding header must not break logging
        return request.META.get("REMOTE_ADDR") or "-"


def _now() -> str:
    return timezone.now().isoformat(timespec="seconds")


def _user(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return f"{user.get_username()!r}#{user.pk}"


def _tried_name(credentials: dict | None) -> str:
    for key in _ACCOUNT_KEYS:
        value = (credentials or {}).get(key)
        if value:
            return repr(str(value)[:_MAX_NAME_CHARS])
    return "''"


def audit(event: str, request=None, *, user=None, **details) -> None:
    """One line per event: what, who, from where, when, plus short details (never secrets)."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    extra = "".join(f" {key}={value}" for key, value in details.items())
    logger.info(
        "%s user=%s ip=%s at=%s%s",
        event,
        _user(user),
        client_ip(request),
        _now(),
        extra,
        extra={"security_event": event},
    )


def _plain(value) -> str:
    return "—" if value is None or value == "" else str(value)


def describe_changes(changes: dict[str, tuple]) -> str:
    """{"status": ("draft", "approved")} → "status: draft → approved"; pairs joined by "; "."""
    return "; ".join(f"{name}: {_plain(before)} → {_plain(after)}" for name, (before, after) in changes.items())


def log_operator_change(request, obj, *, action: str, changes: dict[str, tuple]) -> str:
    """An operator's step on money or ranking (approve, pay, release, a pool or a weight), in both
    trails: the object's admin history (a LogEntry) and the security log, each saying who, what,
    which object and every value before → after. Returns the message both carry."""
    from django.contrib.admin.models import CHANGE, LogEntry

    message = f"{action}: {describe_changes(changes)}"
    LogEntry.objects.log_actions(
        user_id=request.user.pk, queryset=[obj], action_flag=CHANGE, change_message=message, single_object=True
    )
    log_admin_entry(request, obj, event=f"admin_{action}", message=message)
    return message


def log_admin_entry(request, obj, *, event: str, message: str) -> None:
    """The security-log line of an admin change; repr() so that a typed value cannot forge lines."""
    audit(event, request, object=f"{obj._meta.label_lower}#{obj.pk}", change=repr(message))


@receiver(user_logged_in, dispatch_uid="orbit.security.logged_in")
def log_login(sender, request, user, **kwargs):
    audit("login", request, user=user)


@receiver(user_logged_out, dispatch_uid="orbit.security.logged_out")
def log_logout(sender, request, user, **kwargs):
    audit("logout", request, user=user)


@receiver(user_login_failed, dispatch_uid="orbit.security.login_failed")
def log_login_failed(sender, credentials, request=None, **kwargs):
    logger.warning(
        "login_failed user=%s ip=%s at=%s",
        _tried_name(credentials),
        client_ip(request),
        _now(),
        extra={"security_event": "login_failed"},
    )


@receiver(user_locked_out, dispatch_uid="orbit.security.locked_out")
def log_locked_out(sender, request, username=None, ip_address=None, **kwargs):
    logger.warning(
        "lockout user=%s ip=%s at=%s",
        repr(str(username or "")[:_MAX_NAME_CHARS]),
        ip_address or client_ip(request),
        _now(),
        extra={"security_event": "lockout"},
    )


@receiver(password_changed, dispatch_uid="orbit.security.password_changed")
def log_password_changed(sender, request, user, **kwargs):
    audit("password_changed", request, user=user)


@receiver(password_set, dispatch_uid="orbit.security.password_set")
def log_password_set(sender, request, user, **kwargs):
    audit("password_set", request, user=user)


@receiver(password_reset, dispatch_uid="orbit.security.password_reset")
def log_password_reset(sender, request, user, **kwargs):
    audit("password_reset", request, user=user)


@receiver(authenticator_added, dispatch_uid="orbit.security.mfa_added")
def log_authenticator_added(sender, request, user, authenticator, **kwargs):
    audit("mfa_added", request, user=user, type=authenticator.type)


@receiver(authenticator_removed, dispatch_uid="orbit.security.mfa_removed")
def log_authenticator_removed(sender, request, user, authenticator, **kwargs):
    audit("mfa_removed", request, user=user, type=authenticator.type)


@receiver(authentication_failed, dispatch_uid="orbit.security.mfa_failed")
def log_mfa_failed(sender, request, user, **kwargs):
    logger.warning(
        "mfa_failed user=%s ip=%s at=%s",
        _user(user),
        client_ip(request),
        _now(),
        extra={"security_event": "mfa_failed"},
    )


class AuditMiddleware:
    """Logs every refused request (HTTP 403): PermissionDenied from a view, a failed CSRF check,
    an API permission refusal. The reason is the PermissionDenied message when there is one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            reason = getattr(request, "_orbit_refusal", "") or getattr(response, "reason_phrase", "")
            logger.warning(
                "permission_denied user=%s ip=%s at=%s method=%s path=%r reason=%r",
                _user(getattr(request, "user", None)),
                client_ip(request),
                _now(),
                request.method,
                request.path[:300],
                str(reason)[:200],
                extra={"security_event": "permission_denied"},
            )
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            request._orbit_refusal = str(exception)
        return None  # Django turns it into the 403 page, which __call__ then logs


def lockout_response(request, original_response=None, credentials=None):
    """What axes answers once a name and address are locked out (AXES_LOCKOUT_CALLABLE):
    HTTP 429 with the time the client may try again, in the page and in Retry-After."""
    cool_off = get_cool_off(request)
    retry_at = timezone.now() + cool_off if cool_off else None
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    response = render(
        request,
        "account/lockout.html",
        {"retry_at": retry_at, "minutes": minutes},
        status=429,
    )
    if cool_off:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response
