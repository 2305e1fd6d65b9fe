"""Who may use Django admin: active staff with an authenticator app (TOTP), who gave its code in
this session.

orbit/urls.py installs both functions on the default admin site. Staff sign in through allauth
(password, then the TOTP code), never through admin's own password-only form: admin's login URL
goes to `login` below, wrapped in allauth's `secure_admin_login`, which sends anonymous visitors
to the allauth sign-in page and refuses signed-in people who are not staff.
"""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from .security import audit, describe_changes, log_admin_entry

_ALLOWED = "_orbit_admin_allowed"


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


def passed_mfa(request) -> bool:
    """True once this session's user gave a TOTP or recovery code (at sign-in or since)."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def has_permission(request) -> bool:
    """AdminSite.has_permission: admin only for active staff who passed two-factor in this session."""
    allowed = getattr(request, _ALLOWED, None)
    if allowed is None:  # admin asks several times per page; the answer needs a query
        user = request.user
        allowed = bool(user.is_active and user.is_staff and has_totp(user) and passed_mfa(request))
        setattr(request, _ALLOWED, allowed)
    return allowed


def _next_url(request) -> str:
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def login(request, extra_context=None):
    """Admin's login URL for a signed-in staff member (see the module docstring for everyone else):
    on to admin when two-factor is done; to the code prompt when they have TOTP but signed in
    without it; to TOTP activation when they have none yet."""
    next_url = _next_url(request)
    if has_permission(request):
        return redirect(next_url)
    if not has_totp(request.user):
        audit("admin_refused", request, reason="no_totp")
        messages.warning(
            request,
            _("Staff need an authenticator app to use admin. Activate one here, then open admin again."),
        )
        return redirect("mfa_activate_totp")
    audit("admin_refused", request, reason="mfa_code_needed")
    messages.info(request, _("Enter the code from your authenticator app to open admin."))
    return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records and derived data (logs, audit trails, tags): staff look; nobody adds, edits or deletes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Settings that move money or ranking (pools, weights, rules): every add and change names each
    changed field with its value before → after, in the object's history (LogEntry) and in the
    security log. Django's own message says only which fields changed."""

    def construct_change_message(self, request, form, formsets, add=False):
        changes = {
            name: (None if add else form.initial.get(name), form.cleaned_data.get(name)) for name in form.changed_data
        }
        if not changes:
            return super().construct_change_message(request, form, formsets, add)
        return f"{'Added' if add else 'Changed'}: {describe_changes(changes)}"

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        log_admin_entry(request, obj, event="admin_add", message=entry.get_change_message())
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        log_admin_entry(request, obj, event="admin_change", message=entry.get_change_message())
        return entry
