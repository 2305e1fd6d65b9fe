"""Under the site's Content-Security-Policy Chromium refuses nothing Orbit's pages do: every page a
member visits, a comment and a like through HTMX, and the API docs (Swagger UI and Redoc).

Chromium reports each refusal twice: a console error and a `securitypolicyviolation` event. The
event names the directive and the blocked source; an init script collects them on every page.
"""

from urllib.parse import urlsplit

import pytest

from feed.models import Comment
from markets.models import Asset
from tests.browser.conftest import sign_in
from tests.factories import PostFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

COLLECT_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    `${event.violatedDirective} refused ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`
  );
});
"""


def watch_refusals(page) -> list[str]:
    """Every refusal of the page from now on: console errors about the policy, and script errors."""
    refused: list[str] = []

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            refused.append(message.text)

    page.add_init_script(COLLECT_VIOLATIONS)
    page.on("console", on_console)
    page.on("pageerror", lambda error: refused.append(str(error)))
    return refused


def violations_so_far(page) -> list[str]:
    """The current document's violation events, emptied so that the next call reports only new ones."""
    return [f"{page.url}: {violation}" for violation in page.evaluate("window.cspViolations.splice(0)")]


def test_a_member_reads_comments_and_likes_on_every_page_without_a_csp_violation(browse):
    Asset.objects.create(symbol="BTC", name="Bitcoin")
    member = UserFactory(username="mei")
    post = PostFactory(body="**Breakout**: $BTC cleared the range high. #breakout")
    post.assets.add(Asset.objects.get(symbol="BTC"))
    Comment.objects.create(post=post, author=UserFactory(), body="Clean retest.")
    PostFactory(author=member, body="My first note on $BTC")

    def journey(page):
        from playwright.sync_api import expect

        refused = watch_refusals(page)
        events: list[str] = []
        sign_in(page, "mei", "/")
        for url in [
            "/",
            "/latest/",
            "/following/",
            "/for-you/",
            "/search/?q=btc",
            "/assets/BTC/",
            "/tags/breakout/",
            "/compose/",
            "/@mei/",
            "/earnings/",
            "/notifications/",
            "/settings/profile/",
            f"/posts/{post.pk}/",
        ]:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            events += violations_so_far(page)

        # On the post page: a comment and a like, both swapped in by HTMX.
        page.fill("#comments textarea[name=body]", "What is your stop?")
        page.locator("#comments form.comment-form button[type=submit]").first.click()
        expect(page.locator("#comments .comment-body")).to_have_text(["What is your stop?", "Clean retest."])
        like = page.locator("form.like-form button")
        like.click()
        expect(like).to_have_attribute("aria-pressed", "true")
        # A refused comment (empty) swaps the form back in with its message.
        page.locator("#comments form.comment-form button[type=submit]").first.click()
        expect(page.locator("#comments .error").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        events += violations_so_far(page)
        # htmx must not have added a <style> of its own (its indicator styles are off).
        return {"refused": refused, "events": events, "styles": page.locator("style").count()}

    seen = browse(journey)

    assert seen["events"] == []
    assert seen["refused"] == []
    assert seen["styles"] == 0


def test_the_api_docs_render_swagger_and_redoc_from_our_origin_without_a_csp_violation(browse, live_server):
    ours = urlsplit(live_server.url).netloc

    def read_the_docs(page):
        from playwright.sync_api import expect

        refused = watch_refusals(page)
        origins = set()
        page.on("requestfinished", lambda request: origins.add(urlsplit(request.url).netloc or "inline"))
        events: list[str] = []

        page.goto("/api/v1/docs/")
        operation = page.locator(".opblock").first
        expect(operation).to_be_visible(timeout=20_000)
        operation.locator(".opblock-summary").click()
        expect(operation.locator(".opblock-body")).to_be_visible()
        page.wait_for_load_state("networkidle")
        events += violations_so_far(page)
        swagger_title = page.locator(".info .title").inner_text()

        page.goto("/api/v1/redoc/")
        expect(page.locator("h1").first).to_contain_text("Orbit API", timeout=20_000)
        expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
        # Its search runs in a worker (blob:, allowed on this page only).
        page.get_by_placeholder("Search...").fill("comment")
        expect(page.get_by_role("search").get_by_role("menuitem", name="Comments on a post")).to_be_visible()
        page.wait_for_load_state("networkidle")
        redoc_events = violations_so_far(page)
        return {
            "refused": refused,
            "events": events,
            "redoc_events": redoc_events,
            "origins": origins,
            "swagger_title": swagger_title,
        }

    seen = browse(read_the_docs)

    assert seen["swagger_title"].startswith("Orbit API")
    assert seen["events"] == []
    # Redoc's one refusal: its "API docs by Redocly" logo from Redocly's CDN (Redoc then leaves it out).
    redocly_logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [event.split(": ", 1)[1].split(" (")[0] for event in seen["redoc_events"]] == [
        f"img-src refused {redocly_logo}"
    ]
    assert [text for text in seen["refused"] if redocly_logo not in text] == []
    # data: URIs (Swagger's icons) have no host; everything loaded came from our live server.
    assert seen["origins"] <= {ours, "inline"}, seen["origins"]
