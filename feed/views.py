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
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap

from creators.models import Profile
from creators.selectors import creator_profile
from creators.services import ensure_can_act
from markets import charts, market_data
from markets.models import Asset, Fill
from orbit import json_input
from orbit.fingerprints import beacon_fingerprint, browser_fingerprint
from orbit.pagination import Page
from orbit.ratelimit import RateLimited, check_rate
from orbit.web import apply_service_errors, page_cursor, redirect_back, signed_in, stream, web_view

from . import asset_votes, calls, composing, market_page, rails, render_tokens, selectors, services
from .forms import CommentForm, ComposeForm, EditForm, PostBodyForm, ReportForm, SearchForm
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
    """The asset's market page (feed/market_page.py): chart (candles come from asset_candles), live
    price, today's votes, and one tab below: latest posts, top posts of the week, or calls."""
    listed = get_object_or_404(Asset, symbol=symbol.upper())
    tab = market_page.tab_of(request.GET.get("tab"))
    context = {"asset": listed, "tab": tab}
    cursor = page_cursor(request)
    if tab == "calls":
        page = market_page.calls_on_asset(asset=listed, viewer=request.user, cursor=cursor)
        fragment = "includes/asset_calls.html"
    elif tab == "top":
        page = Page(items=market_page.top_posts(asset=listed, viewer=request.user), next_cursor=None)
        fragment = None
    else:
        page = selectors.asset_posts(symbol=listed.symbol, viewer=request.user, cursor=cursor)
        fragment = None
    # "Load more" swaps in the next items only; the market blocks are on the full page.
    if not request.htmx:
        context.update(_asset_market_context(request, listed))
    return stream(request, "feed/asset.html", page, context, fragment=fragment)


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
    sort = selectors.comment_sort(request.GET.get("sort"))
    cursor = request.GET.get("comments") or None
    return {
        "post": post,
        "comments": selectors.post_comments(post=post, viewer=request.user, cursor=cursor, sort=sort),
        "comment_sort": sort,
        "comment_form": forms.get("comment_form") or CommentForm(),
        "report_form": forms.get("report_form") or ReportForm(),
        "is_author": request.user.is_authenticated and request.user.pk == post.author_id,
    }


@require_GET
@web_view
def post_detail(request, post_id: int):
    context = _post_context(request, post_id)
    if context["post"].repost_of_id is not None:
        # A repost has no page of its own: it is the original it shares.
        return redirect("feed:post", post_id=context["post"].repost_of_id)
    if request.htmx and not request.htmx.history_restore_request:
        if request.GET.get("comments"):
            # "More comments": only the next comments and their link.
            return render(request, "includes/comment_items.html", context)
        if request.GET.get("sort"):
            # Top / Newest: the comments section in that order (the toggle swaps in its list and itself).
            return render(request, "includes/comments.html", context)
    services.record_view(viewer=request.user, post=context["post"], fp=beacon_fingerprint(request))
    # The time-spent beacon sends it back: time on this post counts only from this render on.
    context["dwell_token"] = render_tokens.issue(reader=request.user, post_id=context["post"].pk)
    return render(request, "feed/post.html", context)


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def compose(request):
    status, notice = 200, ""
    if request.method == "POST" and ("preview" in request.POST or "use_fill" in request.POST):
        return _compose_without_publishing(request)
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
    return _compose_page(request, form, status=status, notice=notice)


def _compose_page(
    request, form, *, status: int = 200, notice: str = "", preview: str | None = None, preview_error: str = ""
):
    # Asked only of those who keep their performance private (profile settings turn it off again).
    ask_performance = not Profile.objects.filter(user=request.user, show_performance=True).exists()
    context = {
        "form": form,
        "notice": notice,
        "ask_performance": ask_performance,
        "preview": preview,
        "preview_error": preview_error,
        "fill_groups": composing.recent_fill_groups(user=request.user),
        "fill_days": composing.RECENT_FILL_DAYS,
    }
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
    return _card_buttons(request, post_id, "includes/like_button.html")


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
    form = CommentForm(request.POST)
    if _comment_list_target(request):
        return _comment_into_list(request, post_id, form)
    check_rate(scope="comment", user=request.user)
    status = 400
    if form.is_valid():
        try:
            created = _post_comment(request, post_id, form)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if not request.htmx:
                # Back to the order the reader was in; Newest has the new comment on top.
                sort = "?sort=new" if request.POST.get("sort") == "new" else ""
                return redirect(f"{reverse('feed:post', args=[post_id])}{sort}#comment-{created.pk}")
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
    share_url = request.build_absolute_uri(reverse("feed:open_share", args=[created.code]))
    text = created.post.body[:120]
    context = {
        "post_id": post_id,
        "share_url": share_url,
        # Built here from the tracked link, so every opening from X or Telegram is counted too.
        "x_url": "https://twitter.com/intent/tweet?" + urlencode({"url": share_url, "text": text}),
        "telegram_url": "https://t.me/share/url?" + urlencode({"url": share_url, "text": text}),
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


# --- The right rail (templates/base.html fetches it with HTMX once it shows) -------------------


@require_GET
@web_view
def rail(request):
    """Watchlist, trending hashtags, hot discussions and people to follow (feed/rails.py), as a
    fragment: fetched after the page, so a page's own time never waits for it."""
    context = rails.rail_for(viewer=request.user)
    # The follow buttons go back to the page the rail is on when JavaScript is off.
    context["next_url"] = (request.htmx and request.htmx.current_url_abs_path) or reverse("feed:latest")
    return render(request, "includes/rail.html", context)


# --- The asset's market page: chart data, live price, votes (feed/market_page.py) ------------


def _asset_market_context(request, listed: Asset) -> dict:
    return {
        "live": market_page.live_quote(listed.symbol),
        "poll_seconds": market_page.QUOTE_POLL_SECONDS,
        "trade_url": market_page.trade_url(listed),
        "votes": asset_votes.vote_split(asset=listed, viewer=request.user),
        "timeframes": list(charts.TIMEFRAMES),
        "default_timeframe": charts.DEFAULT_TIMEFRAME,
    }


@require_GET
def asset_candles(request, symbol: str):
    """JSON for the chart: `?tf=1h|4h|1d|1w` candles and the markers of posts and calls on them."""
    listed = Asset.objects.filter(symbol=symbol.upper()[:20]).first()
    if listed is None:
        return _json({"error": _("There is no asset called %(symbol)s.") % {"symbol": symbol[:20]}}, status=404)
    try:
        timeframe = charts.timeframe_of(request.GET.get("tf"))
    except KeyError:
        choices = ", ".join(charts.TIMEFRAMES)
        return _json({"error": _("Choose a timeframe of %(choices)s.") % {"choices": choices}}, status=400)
    return _json(market_page.chart_data(asset=listed, timeframe=timeframe, viewer=request.user))


def _json(data: dict, *, status: int = 200) -> HttpResponse:
    return HttpResponse(market_page.as_json(data), status=status, content_type="application/json")


@require_GET
@web_view
def asset_quote(request, symbol: str):
    """The live price block alone: the asset page polls it (HTMX) every few seconds."""
    listed = get_object_or_404(Asset, symbol=symbol.upper())
    context = {"asset": listed, "live": market_page.live_quote(listed.symbol)}
    context.update(poll_seconds=market_page.QUOTE_POLL_SECONDS, trade_url=market_page.trade_url(listed))
    return render(request, "includes/asset_quote.html", context)


@require_POST
@web_view
@signed_in
def asset_vote(request, symbol: str):
    """Bullish or bearish for today; HTMX swaps in the new split, a plain form goes back to the page."""
    listed = get_object_or_404(Asset, symbol=symbol.upper())
    asset_votes.vote_on_asset(user=request.user, asset=listed, direction=request.POST.get("direction", ""))
    if request.htmx:
        votes = asset_votes.vote_split(asset=listed, viewer=request.user)
        return render(request, "includes/asset_vote.html", {"asset": listed, "votes": votes})
    return redirect_back(request, reverse("feed:asset", args=[listed.symbol]))


# --- Reposts, quotes, bookmarks, share links and "N new posts" (templates/includes/post_card.html) ---


def _card_buttons(request, post_id: int, template: str):
    """After a card's button was pressed: the button again, as HTMX swaps it, else back to the page."""
    if request.htmx:
        post = selectors.card_state(post_id=post_id, viewer=request.user)
        return render(request, template, {"post": post, "next_url": request.POST.get("next", "")})
    return redirect_back(request, reverse("feed:post", args=[post_id]))


@require_POST
@web_view
@signed_in
def repost(request, post_id: int):
    check_rate(scope="react", user=request.user)
    if request.POST.get("action", "repost") == "undo":
        services.undo_repost(user=request.user, post_id=post_id)
    else:
        services.repost(user=request.user, post_id=post_id, fp=browser_fingerprint(request))
    return _card_buttons(request, post_id, "includes/repost_button.html")


@require_POST
@web_view
@signed_in
def bookmark(request, post_id: int):
    check_rate(scope="react", user=request.user)
    if request.POST.get("action", "save") == "remove":
        services.unbookmark(user=request.user, post_id=post_id)
    else:
        services.bookmark(user=request.user, post_id=post_id)
    return _card_buttons(request, post_id, "includes/bookmark_button.html")


@require_http_methods(["GET", "POST"])
@web_view
@signed_in
def quote(request, post_id: int):
    """Write a post that embeds another (its quote): the compose page's text and content type."""
    readable = services.readable_post(viewer=request.user, post_id=post_id)
    original = selectors.post_page(post_id=readable.repost_of_id or readable.pk, viewer=request.user)
    status = 200
    if request.method == "POST":
        check_rate(scope="post", user=request.user)
        form = PostBodyForm(request.POST)
        if form.is_valid():
            try:
                created = services.quote(
                    user=request.user,
                    post_id=original.pk,
                    body=form.cleaned_data["body"],
                    content_type=form.cleaned_data["content_type"].slug,
                    fp=browser_fingerprint(request),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Your quote is live."))
                return redirect("feed:post", post_id=created.pk)
        status = 400
    else:
        form = PostBodyForm(initial={"content_type": original.content_type_id})
    return render(request, "feed/quote.html", {"form": form, "quoted": original}, status=status)


@require_GET
@web_view
@signed_in
def bookmarks(request):
    page = selectors.bookmarked_posts(user=request.user, cursor=page_cursor(request))
    return stream(request, "feed/bookmarks.html", page, {"tab": "bookmarks"})


NEW_POSTS_FEEDS = {"latest": "feed:latest", "following": "feed:following"}


@require_GET
@web_view
def new_count(request):
    """How many posts a feed gained above the newest one its page shows (`since`, `id`), as the
    fragment the page polls; one capped index walk. Nothing to show for a bad or missing anchor."""
    feed = request.GET.get("feed", "")
    since, newest_id = _moment(request.GET.get("since")), request.GET.get("id", "")
    if feed not in NEW_POSTS_FEEDS or since is None or not newest_id.isdigit() or len(newest_id) > 18:
        return HttpResponseBadRequest(_("Say which feed (latest or following) and its newest post's time and id."))
    count = selectors.new_post_count(viewer=request.user, feed=feed, after=(since, int(newest_id)))
    context = {
        "count": count,
        "more": count > selectors.NEW_POSTS_CAP,
        "feed": feed,
        "feed_url": reverse(NEW_POSTS_FEEDS[feed]),
        "since": request.GET["since"],
        "newest_id": newest_id,
    }
    return render(request, "includes/new_posts.html", context)


# --- Composing: preview, autocomplete, trade cards from fills (feed.composing) -------------------

# Preview and autocomplete share one budget per person (REST_FRAMEWORK's throttle rates): helpers
# driven by keystrokes must not spend the budget of likes or posts.
COMPOSE_ASSIST_SCOPE = "compose_assist"


def _compose_without_publishing(request):
    """The compose form's Preview and "From my trades" buttons without JavaScript: the page again with
    what was typed kept, plus the preview or the trade card's fields filled in. Nothing is stored.
    (Chosen image files are not kept: browsers never send a file input's value back.)"""
    typed = request.POST.dict()
    typed.pop("csrfmiddlewaretoken", None)
    preview_html = None
    if "use_fill" in request.POST:
        # Looked up among the signed-in author's own fills: another person's fill id is a 404.
        typed.update(composing.fill_group(user=request.user, fill_id=request.POST["use_fill"]).card_fields())
    else:
        check_rate(scope=COMPOSE_ASSIST_SCOPE, user=request.user)
        try:
            preview_html = composing.preview_html(typed.get("body", ""))
        except ValidationError as exc:
            return _compose_page(request, ComposeForm(initial=typed), preview="", preview_error=" ".join(exc.messages))
    return _compose_page(request, ComposeForm(initial=typed), preview=preview_html)


@require_POST
@web_view
@signed_in
def preview(request):
    """The body rendered exactly as its post will be (same renderer and sanitizer), as a fragment."""
    check_rate(scope=COMPOSE_ASSIST_SCOPE, user=request.user)
    try:
        html = composing.preview_html(request.POST.get("body", ""))
    except ValidationError as exc:
        return render(request, "includes/compose_preview.html", {"error": " ".join(exc.messages)}, status=400)
    return render(request, "includes/compose_preview.html", {"preview": html})


@require_GET
@web_view
@signed_in
def autocomplete_assets(request):
    check_rate(scope=COMPOSE_ASSIST_SCOPE, user=request.user)
    return JsonResponse({"results": composing.asset_choices(request.GET.get("q", ""))})


@require_GET
@web_view
@signed_in
def autocomplete_people(request):
    check_rate(scope=COMPOSE_ASSIST_SCOPE, user=request.user)
    return JsonResponse({"results": composing.people_choices(viewer=request.user, prefix=request.GET.get("q", ""))})


@require_GET
@web_view
@signed_in
def compose_fill(request):
    """The trade-card fields of one of the author's recent entries (the "From my trades" picker)."""
    try:
        group = composing.fill_group(user=request.user, fill_id=request.GET.get("fill"))
    except Fill.DoesNotExist as missing:
        return JsonResponse({"message": str(missing)}, status=404)
    return JsonResponse({"fields": group.card_fields(), "verifiable": group.verifiable})


# --- Comments on the post page: posting into the list, likes ----------------------------------


def _post_comment(request, post_id: int, form: CommentForm):
    """The comment (or reply) of a valid form, by the signed-in reader on this browser."""
    return services.comment_on_post(
        author=request.user,
        post_id=post_id,
        body=form.cleaned_data["body"],
        parent_id=form.cleaned_data["parent"],
        fp=browser_fingerprint(request),
    )


def _comment_list_target(request) -> str | None:
    """The list the post page's comment forms swap a new comment into: "comment-list", or
    "replies-<id>" under a comment. Any other HTMX caller (a page served before these forms) gets
    the whole comments section back, as before."""
    target = request.htmx.target if request.htmx else None
    if target == "comment-list" or (target or "").startswith("replies-"):
        return target
    return None


def _comment_into_list(request, post_id: int, form: CommentForm):
    """Post a comment from the post page and answer with the new comment alone, to add to the list
    (on top, or at the end of its parent's replies), with, out of band, the post's comment count, a
    status line for screen readers and the form's emptied error area. A refusal (empty, too long,
    blocked, too often, the post gone) swaps nothing but that error area: the text stays in the form."""
    parent = request.POST.get("parent", "")
    context: dict = {"errors_id": f"reply-errors-{parent}" if parent.isdigit() else "comment-errors"}
    status, created = 400, None
    try:
        check_rate(scope="comment", user=request.user)
        if form.is_valid():
            created = _post_comment(request, post_id, form)
    except ValidationError as exc:
        apply_service_errors(form, exc)
    except RateLimited as exc:
        form.add_error(None, str(exc))
        status, context["retry_after"] = 429, exc.retry_after
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You are not allowed to do that."))
        status = 403
    except ObjectDoesNotExist as exc:
        form.add_error(None, str(exc) or _("That post does not exist."))
        status = 404
    if created is None:
        context["errors"] = [message for messages in form.errors.values() for message in messages]
        response = render(request, "includes/comment_items.html", context, status=status)
        if "retry_after" in context:
            response["Retry-After"] = str(context["retry_after"])
        return reswap(response, "none")
    context.update(
        # Read again after the insert: the count includes this comment and any that raced it.
        post=services.readable_post(viewer=request.user, post_id=post_id),
        posted=selectors.comment_card(comment_id=created.pk, viewer=request.user),
        # A new top-level comment has no replies yet; a reply has no list of its own.
        posted_replies=None if created.parent_id else [],
        comment_sort=selectors.comment_sort(request.POST.get("sort")),
    )
    return render(request, "includes/comment_items.html", context)


@require_POST
@web_view
@signed_in
def comment_like(request, comment_id: int):
    """Like or unlike a comment (`action`); HTMX gets the button back, a plain form the page."""
    check_rate(scope="react", user=request.user)
    if request.POST.get("action", "like") != "unlike":
        services.like_comment(user=request.user, comment_id=comment_id)
    else:
        services.unlike_comment(user=request.user, comment_id=comment_id)
    comment = selectors.comment_card(comment_id=comment_id, viewer=request.user)
    if request.htmx:
        context = {"comment": comment, "next_url": request.POST.get("next", "")}
        return render(request, "includes/comment_like_button.html", context)
    return redirect_back(request, f"{reverse('feed:post', args=[comment.post_id])}#comment-{comment.pk}")
