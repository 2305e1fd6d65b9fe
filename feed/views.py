"""Browser pages for posts: thin views over feed.services (writes) and feed.selectors (reads).

Every write is a POST (with CSRF), works as a plain form with JavaScript off (redirect back) and,
when HTMX asks (`request.htmx`), answers with the fragment to swap in. Service errors become
messages a person can act on: a form error (400), a refusal (403), a missing page (404) or a
rate limit (429).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from creators.models import Profile
from creators.selectors import creator_profile
from creators.services import ensure_can_act
from markets import market_data
from markets.models import Asset
from orbit import json_input
from orbit.fingerprints import beacon_fingerprint, browser_fingerprint
from orbit.pagination import Page
from orbit.ratelimit import check_rate
from orbit.web import apply_service_errors, page_cursor, redirect_back, signed_in, stream, web_view

from . import calls, render_tokens, selectors, services
from .forms import CommentForm, ComposeForm, EditForm, ReportForm, SearchForm
from .models import Hashtag, Post
from .serializers import DwellSerializer

MAX_BEACON_BYTES = 16 * 1024


# --- Feeds and pages ---------------------------------------------------------------------


@require_GET
@web_view
def latest(request):
    page = selectors.latest_posts(viewer=request.user, cursor=page_cursor(request))
    return stream(request, "feed/latest.html", page, {"tab": "latest"})


@require_GET
@web_view
@signed_in
def following(request):
    page = selectors.following_posts(viewer=request.user, cursor=page_cursor(request))
    return stream(request, "feed/following.html", page, {"tab": "following"})


@require_GET
@web_view
def asset(request, symbol: str):
    listed = get_object_or_404(Asset, symbol=symbol.upper())
    page = selectors.asset_posts(symbol=listed.symbol, viewer=request.user, cursor=page_cursor(request))
    # "Load more" swaps in posts only; the market block is on the full page.
    quote = None if request.htmx else market_data.quotes([listed.symbol]).get(listed.symbol)
    return stream(request, "feed/asset.html", page, {"asset": listed, "quote": quote})


@require_GET
@web_view
def hashtag(request, name: str):
    tag = get_object_or_404(Hashtag, name=name.lower())
    page = selectors.hashtag_posts(name=tag.name, viewer=request.user, cursor=page_cursor(request))
    return stream(request, "feed/hashtag.html", page, {"hashtag": tag})


@require_GET
@web_view
def search(request):
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    page = selectors.search_posts(query=query, viewer=request.user, cursor=page_cursor(request))
    context = {"form": form, "query": query, "more_params": urlencode({"q": query})}
    if request.htmx:
        return stream(request, "feed/search.html", page, context)
    people = selectors.search_people(query=query) if query else []
    return stream(request, "feed/search.html", page, {**context, "people": people})


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def notifications(request):
    """GET lists them (unread ones marked); POST marks them read, up to the newest one shown so that
    anything arriving meanwhile stays unread. The page posts that itself once shown (HTMX)."""
    if request.method == "POST":
        services.mark_notifications_read(user=request.user, up_to=_moment(request.POST.get("up_to")))
        if request.htmx:
            return render(request, "includes/unread_badge.html", {"oob": True})
        return redirect("feed:notifications")
    page = selectors.notifications_for(user=request.user, cursor=page_cursor(request))
    return stream(request, "feed/notifications.html", page, fragment="includes/notification_list.html")


def _moment(value: str | None):
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return moment if moment.tzinfo else None


# --- A creator's profile: their posts and calls (creators/views.py has the people tabs) ----------


@require_GET
@web_view
def profile(request, username: str):
    creator = creator_profile(username=username, viewer=request.user)
    page = selectors.creator_posts(author=creator, viewer=request.user, cursor=page_cursor(request))
    return stream(request, "creators/profile.html", page, {"creator": creator, "tab": "posts"})


@require_GET
@web_view
def profile_calls(request, username: str):
    creator = creator_profile(username=username, viewer=request.user)
    if calls.hides_calls_from_viewer(creator):
        page = Page(items=[], next_cursor=None)
    else:
        page = calls.calls_of(author=creator, cursor=page_cursor(request))
    # "Load more" swaps in only the next rows; the record is on the page already.
    record = None if request.htmx else calls.call_record(user=creator)
    context = {"creator": creator, "tab": "calls", "record": record}
    return stream(request, "creators/calls.html", page, context, fragment="includes/call_list.html")


# --- The post page ---------------------------------------------------------------------


def _post_context(request, post_id: int, **forms) -> dict:
    readable = services.readable_post(viewer=request.user, post_id=post_id)
    post = selectors.post_page(post_id=readable.pk, viewer=request.user)
    return {
        "post": post,
        "comments": selectors.post_comments(post=post, viewer=request.user, cursor=request.GET.get("comments") or None),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "report_form": forms.get("report_form") or ReportForm(),
        "is_author": request.user.is_authenticated and request.user.pk == post.author_id,
    }


@require_GET
@web_view
def post_detail(request, post_id: int):
    context = _post_context(request, post_id)
    if request.htmx and request.GET.get("comments"):
        # "More comments": only the next comments and their link.
        return render(request, "includes/comment_items.html", context)
    services.record_view(viewer=request.user, post=context["post"], fp=beacon_fingerprint(request))
    # The time-spent beacon sends it back: time on this post counts only from this render on.
    context["dwell_token"] = render_tokens.issue(reader=request.user, post_id=context["post"].pk)
    return render(request, "feed/post.html", context)


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def compose(request):
    status, notice = 200, ""
    if request.method == "POST":
        check_rate(scope="post", user=request.user)
        form = ComposeForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                post = services.publish_post(
                    author=request.user,
                    body=form.cleaned_data["body"],
                    content_type=form.cleaned_data["content_type"].slug,
                    images=form.cleaned_data["images"],
                    trade_card=form.trade_card(),
                    call=form.call(),
                    show_performance=form.cleaned_data["show_performance"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
                status = 403
            else:
                messages.success(request, _("Your post is live."))
                return redirect("feed:post", post_id=post.pk)
        status = status if status != 200 else 400
    else:
        form = ComposeForm()
        try:
            ensure_can_act(request.user)
        except PermissionDenied as exc:
            notice = str(exc)  # said before they write, not after
    # Asked only of those who keep their performance private (profile settings turn it off again).
    ask_performance = not Profile.objects.filter(user=request.user, show_performance=True).exists()
    context = {"form": form, "notice": notice, "ask_performance": ask_performance}
    return render(request, "feed/compose.html", context, status=status)


def _own_post(request, post_id: int) -> Post:
    post = services.readable_post(viewer=request.user, post_id=post_id)
    if post.author_id != request.user.pk:
        raise PermissionDenied(_("Only the author can change this post."))
    return post


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def edit(request, post_id: int):
    post = _own_post(request, post_id)
    had_card = hasattr(post, "trade_card")  # the reverse one-to-one raises when there is none
    status = 200
    if request.method == "POST":
        check_rate(scope="post", user=request.user)
        form = EditForm(request.POST, initial=EditForm.initial_for(post))
        if form.is_valid():
            card = form.trade_card() if form.card_changed() else None
            try:
                services.edit_post(
                    editor=request.user,
                    post_id=post.pk,
                    body=form.cleaned_data["body"],
                    content_type=form.cleaned_data["content_type"].slug,
                    trade_card=card,
                    remove_trade_card=had_card and form.card_changed() and card is None,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Your changes are saved."))
                return redirect("feed:post", post_id=post.pk)
        status = 400
    else:
        form = EditForm(initial=EditForm.initial_for(post))
    return render(request, "feed/edit.html", {"form": form, "post": post, "had_card": had_card}, status=status)


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def delete(request, post_id: int):
    post = _own_post(request, post_id)
    if request.method == "POST":
        services.delete_post(actor=request.user, post_id=post.pk)
        messages.success(request, _("Your post was deleted."))
        return redirect("feed:profile", username=request.user.username)
    return render(request, "feed/delete.html", {"post": post})


# --- Reactions -------------------------------------------------------------------------


@require_POST
@web_view
@signed_in
def like(request, post_id: int):
    check_rate(scope="react", user=request.user)
    fp = browser_fingerprint(request)
    liked = request.POST.get("action", "like") != "unlike"
    if liked:
        services.like_post(user=request.user, post_id=post_id, fp=fp)
    else:
        services.unlike_post(user=request.user, post_id=post_id, fp=fp)
    if request.htmx:
        post = selectors.post_page(post_id=post_id, viewer=request.user)
        return render(request, "includes/like_button.html", {"post": post, "next_url": request.POST.get("next", "")})
    return redirect_back(request, reverse("feed:post", args=[post_id]))


@require_POST
@web_view
@signed_in
def not_interested(request, post_id: int):
    """'Not interested' on a For You card: logged for ranking; the card goes away."""
    check_rate(scope="react", user=request.user)
    services.hide_post_for_viewer(user=request.user, post_id=post_id)
    if request.htmx:
        return HttpResponse("")
    messages.success(request, _("Got it: you will see fewer posts like this."))
    return redirect_back(request, reverse("ranking:for_you"))


@require_POST
@web_view
@signed_in
def comment(request, post_id: int):
    check_rate(scope="comment", user=request.user)
    form = CommentForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            created = services.comment_on_post(
                author=request.user,
                post_id=post_id,
                body=form.cleaned_data["body"],
                parent_id=form.cleaned_data["parent"],
                fp=browser_fingerprint(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if not request.htmx:
                return redirect(f"{reverse('feed:post', args=[post_id])}#comment-{created.pk}")
            form, status = CommentForm(), 200
    context = _post_context(request, post_id, comment_form=form)
    template = "includes/comments.html" if request.htmx else "feed/post.html"
    return render(request, template, context, status=status)


@require_POST
@web_view
@signed_in
def share(request, post_id: int):
    check_rate(scope="react", user=request.user)
    created = services.share_post(user=request.user, post_id=post_id, channel="link", fp=browser_fingerprint(request))
    context = {
        "post_id": post_id,
        "share_url": request.build_absolute_uri(reverse("feed:open_share", args=[created.code])),
    }
    return render(request, "includes/share_box.html" if request.htmx else "feed/share.html", context)


@require_GET
@web_view
def open_share(request, code: str):
    post = services.open_share(code=code, viewer=request.user, fp=beacon_fingerprint(request))
    return redirect("feed:post", post_id=post.pk)


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def report(request, post_id: int):
    post = services.readable_post(viewer=request.user, post_id=post_id)
    status = 200
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            try:
                services.report_post(
                    reporter=request.user,
                    post_id=post.pk,
                    reason=form.cleaned_data["reason"],
                    details=form.cleaned_data["details"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Thank you. Moderators will review this post."))
                return redirect("feed:post", post_id=post.pk)
        status = 400
    else:
        form = ReportForm()
    return render(request, "feed/report.html", {"form": form, "post": post}, status=status)


@require_POST
@web_view
def trade(request, post_id: int):
    # Orbit's redirect: it records the click, and goes only to the exchange's URL for a listed instrument.
    url = services.trade_redirect_url(viewer=request.user, post_id=post_id, fp=beacon_fingerprint(request))
    return redirect(url)


@require_GET
@web_view
def demo_trade(request, instrument: str):
    """The demo's stand-in for the exchange's trade page: it places no order, and production has no such page."""
    if not settings.ORBIT_DEMO_TRADE_TICKET:
        raise Http404
    instrument = services.validate_instrument(instrument)
    post_id = request.GET.get("post", "")
    side = request.GET.get("side")
    context = {
        "instrument": instrument,
        "last_price": market_data.latest_close(instrument.split("-")[0]),
        "post_id": int(post_id) if post_id.isdigit() and len(post_id) < 19 else None,
        "side": side if side in {"buy", "sell"} else None,
    }
    return render(request, "feed/demo_trade.html", context)


@require_POST
@web_view
def dwell_beacon(request):
    """Time spent on posts, sent by static/orbit.js with navigator.sendBeacon when the page hides
    (and every few minutes while it shows), each post with the render token its page was given.

    sendBeacon cannot set headers, so the CSRF token travels as the csrfmiddlewaretoken form field."""
    raw = request.POST.get("items", "")
    if len(raw) > MAX_BEACON_BYTES:
        return HttpResponseBadRequest(_("That report is too large."))
    try:
        items = json_input.loads(raw)
    except json_input.JSONRefused as refused:
        return HttpResponseBadRequest(str(refused))
    except ValueError:
        return HttpResponseBadRequest(_("Send items as a JSON list."))
    # The API's shape check: ids a bigint can hold, milliseconds an integer can.
    checked = DwellSerializer(data={"items": items})
    if not checked.is_valid():
        return HttpResponseBadRequest(_('Send items as a JSON list of {"post": id, "ms": milliseconds}.'))
    services.record_dwell(viewer=request.user, items=checked.validated_data["items"], fp=beacon_fingerprint(request))
    return HttpResponse(status=204)
