"""The creator statement in the browser: what this week may pay, past payouts, appeals.

Thin over incentives.selectors (reads) and settlement.appeal_payout (the one write).
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.decorators import reauthentication_required
from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from creators.selectors import creator_profile
from feed.services import readable_post
from orbit.ratelimit import check_rate
from orbit.web import signed_in, web_view

from . import selectors, settlement, tips
from .models import Payout

STATEMENT = "incentives/statement.html"
PAYOUT_ROW = "incentives/_payout_row.html"


@require_GET
@web_view
@signed_in
def statement(request):
    context = {
        "statement": selectors.creator_statement(request.user),
        "tips_received": selectors.tips_received(request.user),
    }
    return render(request, STATEMENT, context)


@require_POST
@web_view
@signed_in
def appeal(request, id: int):  # the payout's id
    payout_id = id
    check_rate(scope="comment", user=request.user)
    message = request.POST.get("message", "")
    try:
        settlement.appeal_payout(payout_id=payout_id, creator=request.user, message=message)
    except Payout.DoesNotExist:
        raise Payout.DoesNotExist(selectors.NO_SUCH_PAYOUT) from None
    except settlement.SettlementError as exc:
        refused = {"appeal_error": str(exc), "appeal_message": message, "appeal_payout_id": payout_id}
        if request.htmx:
            payout = selectors.statement_payout(user=request.user, payout_id=payout_id)
            return render(request, PAYOUT_ROW, {"payout": payout, **refused}, status=400)
        context = {"statement": selectors.creator_statement(request.user), **refused}
        return render(request, STATEMENT, context, status=400)
    if request.htmx:
        return render(
            request, PAYOUT_ROW, {"payout": selectors.statement_payout(user=request.user, payout_id=payout_id)}
        )
    messages.success(request, _("Your appeal is sent. The reviewers will look at this payout again."))
    return redirect("incentives:statement")


# --- Reader tips (incentives/tips.py) -------------------------------------------------------------

TIP_BOX = "incentives/_tip_box.html"
TIP_PAGE = "incentives/tip.html"
TIP_CHOICES = (1, 5, 20)


@reauthentication_required
def _passes_reauthentication(request) -> bool:
    return True


def recently_authenticated(request) -> bool:
    """Whether the person entered their password within ACCOUNT_REAUTHENTICATION_TIMEOUT, asked
    through allauth's own decorator (which raises rather than answers)."""
    try:
        return _passes_reauthentication(request)
    except ReauthenticationRequired:
        return False


def reauthenticate_url(request, back: str) -> str:
    """allauth's re-authentication page (the password form, or the user's first other method)
    with ?next= back to `back`."""
    methods = get_account_adapter(request).get_reauthentication_methods(request.user)
    page = methods[0]["url"] if methods else reverse("account_reauthenticate")
    return f"{page}?{urlencode({REDIRECT_FIELD_NAME: back})}"


def _tip_context(request, *, creator, post=None, amount="", error: str = "", sent=None, page: bool = False) -> dict:
    """What the tip box and page show: confirmed tips, and the form if this viewer may tip."""
    summary = tips.tips_on_post(post.pk) if post is not None else tips.tips_to_creator(creator.pk)
    refusal = ""
    user = request.user
    if not user.is_authenticated:
        may_tip = False
    else:
        try:
            tips.check_may_tip(tipper=user, creator=creator)
        except (ValidationError, PermissionDenied) as exc:
            refusal = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        may_tip = not refusal and (post is None or post.status == post.Status.PUBLISHED)
        if user.pk == creator.pk:
            refusal = ""  # on their own post, a creator needs no note that they cannot tip themselves
    action = _tip_page_url(creator=creator, post=post)
    amount = str(amount or "")
    return {
        "tip_post": post,
        "tip_creator": creator,
        "tip_summary": summary,
        "may_tip": may_tip,
        "tip_refusal": refusal,
        "tip_action": action,
        "tip_token": tips.new_token(),
        "tip_choices": TIP_CHOICES,
        "tip_amount": amount,
        "tip_custom": "" if amount in {str(choice) for choice in TIP_CHOICES} else amount,
        "tip_error": error,
        "tip_sent": sent,
        "tip_currency": tips.currency(),
        "tip_minimum": settings.TIP_MINIMUM,
        "tip_daily_limit": settings.TIP_DAILY_LIMIT,
        "tip_reauth_at": settings.TIP_REAUTH_AT,
        "tip_left": tips.daily_allowance_left(user) if page and user.is_authenticated else None,
        "my_tips": tips.recent_tips_by(user) if page and user.is_authenticated else [],
    }


def _tip_page_url(*, creator, post=None) -> str:
    if post is not None:
        return reverse("incentives:tip_post", args=[post.pk])
    return reverse("incentives:tip_creator", args=[creator.username])


def _tip_amount(request) -> str:
    # The custom field wins when filled: the radio buttons keep their last choice.
    return (request.POST.get("custom_amount") or "").strip() or request.POST.get("amount", "")


def _submit_tip(request, *, creator, post=None):
    check_rate(scope="comment", user=request.user)
    amount = _tip_amount(request)
    try:
        tip = tips.request_tip(
            tipper=request.user,
            post=post,
            creator=creator,
            amount=amount,
            token=request.POST.get("token", ""),
            recently_authenticated=recently_authenticated(request),
        )
    except tips.ReauthenticationNeeded as needed:
        back = f"{_tip_page_url(creator=creator, post=post)}?{urlencode({'amount': needed.amount})}"
        url = reauthenticate_url(request, back)
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    except (ValidationError, PermissionDenied) as exc:
        error = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        context = _tip_context(request, creator=creator, post=post, amount=amount, error=error, page=not request.htmx)
        return render(request, TIP_BOX if request.htmx else TIP_PAGE, context, status=400)
    sent = _("Tip of %(amount)s %(currency)s sent — it appears once the exchange confirms it.") % {
        "amount": tip.amount,
        "currency": tip.currency,
    }
    if request.htmx:
        return render(request, TIP_BOX, _tip_context(request, creator=creator, post=post, sent=sent))
    messages.success(request, sent)
    if post is not None:
        return redirect("feed:post", post.pk)
    return redirect("incentives:tip_creator", creator.username)


@require_GET
@web_view
def tip_box(request, post_id: int):
    """The fragment under a post: its confirmed tips and, for a reader who may tip, the form."""
    post = readable_post(viewer=request.user, post_id=post_id)
    return render(request, TIP_BOX, _tip_context(request, creator=post.author, post=post))


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def tip_post(request, post_id: int):
    if request.method == "POST":
        post = tips.tippable_post(viewer=request.user, post_id=post_id)
        return _submit_tip(request, creator=post.author, post=post)
    post = readable_post(viewer=request.user, post_id=post_id)
    context = _tip_context(request, creator=post.author, post=post, amount=request.GET.get("amount", ""), page=True)
    return render(request, TIP_PAGE, context)


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def tip_creator(request, username: str):
    creator = creator_profile(username=username, viewer=request.user)
    if request.method == "POST":
        return _submit_tip(request, creator=creator)
    context = _tip_context(request, creator=creator, amount=request.GET.get("amount", ""), page=True)
    return render(request, TIP_PAGE, context)
