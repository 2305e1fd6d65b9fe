"""Glue shared by every app's page views: service errors as pages, sign-in for HTMX, the device
cookie, going back after a form, and keyset-paginated list pages."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from .fingerprints import DEVICE_COOKIE
from .pagination import Page
from .ratelimit import RateLimited


def _exchange_origin() -> str:
    parts = urlsplit(settings.EXCHANGE_TRADE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def error_page(request, message: str, status: int, *, headers: dict | None = None) -> HttpResponse:
    """The message on a page of its own, or, for HTMX, in the page's flash area."""
    if request.htmx:
        response = render(request, "includes/flash.html", {"error": message}, status=status)
        reswap(retarget(response, "#flash"), "innerHTML")
    else:
        response = render(request, "feed/error.html", {"message": message, "status": status}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def web_view(view):
    """Map service errors to pages, keep the device cookie, and let trade buttons leave for the exchange.

    The trade button is a form whose POST redirects to the exchange; browsers check that redirect
    against the page's CSP form-action, so pages allow the exchange's origin there (and only it).
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except RateLimited as exc:
            response = error_page(request, str(exc), 429, headers={"Retry-After": str(exc.retry_after)})
        except PermissionDenied as exc:
            response = error_page(request, str(exc) or _("You are not allowed to do that."), 403)
        except ObjectDoesNotExist as exc:
            response = error_page(request, str(exc) or _("That page does not exist."), 404)
        except ValidationError as exc:
            response = error_page(request, " ".join(exc.messages), 400)
        response._csp_update = {"form-action": [_exchange_origin()]}
        new_device = getattr(request, "_orbit_new_device", None)
        if new_device:
            response.set_cookie(
                DEVICE_COOKIE,
                new_device,
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response

    return wrapper


def signed_in(view):
    """login_required that, for an HTMX call, sends the whole page to the login form."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.htmx:
            back = request.htmx.current_url_abs_path or request.get_full_path()
            return HttpResponseClientRedirect(f"{reverse('account_login')}?{urlencode({'next': back})}")
        return redirect_to_login(request.get_full_path())

    return wrapper


def redirect_back(request, fallback: str):
    """Back to the page the form was on (`next`, else the referrer) if it is ours, else `fallback`."""
    for target in (request.POST.get("next"), request.headers.get("Referer")):
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(target)
    return redirect(fallback)


def stream(request, template: str, page: Page, context: dict | None = None, *, fragment=None):
    """A keyset-paginated list page; for HTMX's "load more", only the next items and link."""
    context = {**(context or {}), "page": page}
    if request.htmx:
        return render(request, fragment or "includes/post_list.html", context)
    return render(request, template, context)


def page_cursor(request) -> str | None:
    """The `?cursor=` of a list page; None for the first page."""
    return request.GET.get("cursor") or None


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field if the form has one, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
