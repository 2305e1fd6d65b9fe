"""Browser pages for people: profiles, follower lists, follow, mute, block and profile settings."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orbit.fingerprints import browser_fingerprint
from orbit.ratelimit import check_rate
from orbit.security import audit
from orbit.web import apply_service_errors, page_cursor, redirect_back, signed_in, stream, web_view

from . import privacy, selectors, services, tokens
from .forms import ApiTokenForm, DeleteAccountForm, ProfileForm
from .models import Profile


@require_GET
@web_view
def followers(request, username: str):
    creator = selectors.creator_profile(username=username, viewer=request.user)
    page = selectors.followers_of(user=creator, cursor=page_cursor(request))
    context = {"creator": creator, "tab": "followers", "person_field": "follower"}
    return stream(request, "creators/people.html", page, context, fragment="includes/people_list.html")


@require_GET
@web_view
def following(request, username: str):
    creator = selectors.creator_profile(username=username, viewer=request.user)
    page = selectors.followed_by(user=creator, cursor=page_cursor(request))
    context = {"creator": creator, "tab": "following", "person_field": "followee"}
    return stream(request, "creators/people.html", page, context, fragment="includes/people_list.html")


@require_POST
@web_view
@signed_in
def follow(request, username: str):
    check_rate(scope="follow", user=request.user)
    fp = browser_fingerprint(request)
    if request.POST.get("action", "follow") == "unfollow":
        services.unfollow_user(follower=request.user, username=username, fp=fp)
    else:
        services.follow_user(follower=request.user, username=username, fp=fp)
    if request.htmx:
        creator = selectors.creator_profile(username=username, viewer=request.user)
        context = {"creator": creator, "next_url": request.POST.get("next", "")}
        return render(request, "includes/follow_button.html", context)
    return redirect_back(request, reverse("feed:profile", args=[username]))


@require_POST
@web_view
@signed_in
def mute(request, username: str):
    check_rate(scope="follow", user=request.user)
    if request.POST.get("action", "mute") == "unmute":
        services.unmute_user(user=request.user, username=username)
        messages.success(request, _("You will see @%(username)s again.") % {"username": username})
    else:
        services.mute_user(user=request.user, username=username)
        messages.success(request, _("You will no longer see @%(username)s.") % {"username": username})
    return redirect_back(request, reverse("feed:profile", args=[username]))


@require_POST
@web_view
@signed_in
def block(request, username: str):
    check_rate(scope="follow", user=request.user)
    if request.POST.get("action", "block") == "unblock":
        services.unblock_user(user=request.user, username=username)
        messages.success(request, _("You unblocked @%(username)s.") % {"username": username})
    else:
        services.block_user(user=request.user, username=username)
        messages.success(
            request, _("You blocked @%(username)s: neither of you sees the other.") % {"username": username}
        )
    return redirect_back(request, reverse("feed:profile", args=[username]))


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def edit_profile(request):
    current = Profile.objects.filter(user=request.user).first() or Profile(user=request.user)
    status = 200
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                saved = services.update_profile(
                    user=request.user,
                    display_name=form.cleaned_data["display_name"],
                    bio=form.cleaned_data["bio"],
                    language=form.cleaned_data["language"],
                    avatar=form.cleaned_data["avatar"] or None,
                    show_performance=form.cleaned_data["show_performance"],
                    accepts_tips=form.cleaned_data["accepts_tips"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                # The chosen language is the interface's from this response on.
                translation.activate(saved.language)
                messages.success(request, _("Your profile is saved."))
                response = redirect("feed:profile", username=request.user.username)
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    saved.language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    path=settings.LANGUAGE_COOKIE_PATH,
                    domain=settings.LANGUAGE_COOKIE_DOMAIN,
                    secure=settings.LANGUAGE_COOKIE_SECURE,
                    httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
                return response
        status = 400
    else:
        form = ProfileForm(
            initial={
                "display_name": current.display_name,
                "bio": current.bio,
                "language": current.language,
                "show_performance": current.show_performance,
                "accepts_tips": current.accepts_tips,
            }
        )
    context = {"form": form, "profile": current, "max_image_mb": settings.ORBIT_MAX_IMAGE_BYTES // (1024 * 1024)}
    return render(request, "creators/edit_profile.html", context, status=status)


@require_GET
@web_view
@signed_in
def export_data(request):
    response = JsonResponse(privacy.export_account_data(user=request.user), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{privacy.export_filename(request.user)}"'
    return response


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def delete_account(request):
    try:
        privacy.ensure_can_delete(user=request.user)
    except PermissionDenied as exc:
        return render(request, "creators/delete_account.html", {"refusal": str(exc)}, status=403)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if privacy.password_confirmed(request=request, password=form.cleaned_data["password"]):
            privacy.delete_account(user=request.user)
            request.user.refresh_from_db()  # signing out logs the tombstone's name, not the erased one
            logout(request)
            messages.success(request, _("Your account is deleted and your personal data erased. Goodbye."))
            return redirect("feed:latest")
        form.add_error("password", _("That is not your current password."))
    status = 400 if request.method == "POST" else 200
    return render(request, "creators/delete_account.html", {"form": form}, status=status)


# --- API tokens ------------------------------------------------------------------------------


def _api_tokens_page(request, *, form=None, new_key: str | None = None, status: int = 200):
    context = {
        "tokens": tokens.usable_tokens(user=request.user),
        "form": form or ApiTokenForm(),
        "new_key": new_key,
        "refusal": _refusal_to_issue(request.user),
        "days": settings.ORBIT_API_TOKEN_DAYS,
    }
    return render(request, "creators/api_tokens.html", context, status=status)


def _refusal_to_issue(user) -> str | None:
    try:
        tokens.ensure_may_have_tokens(user)
    except PermissionDenied as exc:
        return str(exc)
    return None


@require_GET
@web_view
@signed_in
def api_tokens(request):
    return _api_tokens_page(request)


@require_POST
@web_view
@signed_in
# A token outlives the session: whoever holds a stolen session must not turn it into one.
@reauthentication_required
def create_api_token(request):
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _api_tokens_page(request, form=form, status=400)
    token, key = tokens.issue_api_token(user=request.user, name=form.cleaned_data["name"])
    audit("api_token_created", request, token=token.pk)
    # Rendered, not redirected: the key is shown in this response only and stored nowhere.
    return _api_tokens_page(request, new_key=key)


@require_POST
@web_view
@signed_in
def revoke_api_token(request, token_id: int):
    tokens.revoke_api_token(user=request.user, token_id=token_id)
    audit("api_token_revoked", request, token=token_id)
    messages.success(request, _("The token is revoked: apps using it are signed out."))
    return redirect("creators:api_tokens")
