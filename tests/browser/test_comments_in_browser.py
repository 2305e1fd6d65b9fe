"""A reader's comments journey in Chromium: a comment shows at once and the count moves, Top puts
the most-liked comment first, a like presses the heart and survives a reload; on a phone every
comment control is a 44 px target and nothing overflows at 320 px.

A screenshot of the comments at 390 px lands in var/screenshots/comments-390.png."""

from pathlib import Path

import pytest
from django.conf import settings

from feed.models import Comment, CommentLike
from tests.browser.conftest import sign_in
from tests.factories import MOMENT, CommentFactory, PostFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
# The size of each comment control the reader can tap, as [what, width, height].
TAP_TARGETS = """() => [...document.querySelectorAll(
  '#comments .comment-sort-option, #comments .comment-like-button, #comments .reply summary, '
  + '#comments .comment-form .button'
)].filter((element) => element.offsetParent !== null).map((element) => {
  const box = element.getBoundingClientRect();
  return [element.className || element.tagName, Math.round(box.width), Math.round(box.height)];
})"""

# The comments' top just under the sticky top bar.
SCROLL_TO_COMMENTS = """() => {
  const bar = document.querySelector('.topbar').getBoundingClientRect().height;
  window.scrollTo(0, document.querySelector('#comments').getBoundingClientRect().top + window.scrollY - bar - 8);
}"""


def test_a_reader_comments_sorts_and_likes_without_a_reload(browse):
    post = PostFactory(body="$BTC reclaimed the range high.")
    popular = CommentFactory(post=post, body="Best call this week.", created_at=MOMENT, like_count=7)
    CommentFactory(post=post, body="Where is the stop?", created_at=MOMENT.replace(hour=13))
    UserFactory(username="mei")
    seen = {}

    def journey(page):
        from playwright.sync_api import expect

        sign_in(page, "mei", f"/posts/{post.pk}/?sort=new")
        page.evaluate("window.sameDocument = true")  # gone if anything reloads the page
        bodies = page.locator("#comment-list > .comment > .comment-main > .comment-body")
        expect(bodies).to_have_text(["Where is the stop?", "Best call this week."])
        expect(page.locator("#comment-count")).to_have_text("2")

        # An empty comment is refused inline; the form stays.
        page.locator("#comments form.comment-form button[type=submit]").first.click()
        expect(page.locator("#comment-errors .error")).to_contain_text("an empty comment cannot be posted")

        # A comment appears on top at once, the count moves, the form clears and the error goes.
        page.fill("#id_body", "Stop under 62k, target 70k.")
        page.locator("#comments form.comment-form button[type=submit]").first.click()
        expect(bodies.first).to_have_text("Stop under 62k, target 70k.")
        expect(page.locator("#comment-count")).to_have_text("3")
        expect(page.locator("#id_body")).to_have_value("")
        expect(page.locator("#comment-errors .error")).to_have_count(0)
        expect(page.locator("#comment-status")).to_have_text("Your comment is posted.")

        # A reply appears under its comment.
        popular_item = page.locator(f"#comment-{popular.pk}")
        popular_item.locator("details.reply summary").click()
        popular_item.locator("textarea").fill("Agreed, clean retest.")
        popular_item.locator("form.comment-form button[type=submit]").click()
        expect(page.locator(f"#replies-{popular.pk} .comment-body")).to_have_text(["Agreed, clean retest."])
        expect(page.locator("#comment-count")).to_have_text("4")

        # Top: the most-liked comment first; the toggle says which order is on, the URL keeps it.
        top = page.locator("#comment-sort button[value=top]")
        top.click()
        expect(page.locator("#comment-sort button[value=top]")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#comment-sort button[value=new]")).to_have_attribute("aria-pressed", "false")
        expect(bodies.first).to_have_text("Best call this week.")
        expect(page.locator("#comment-sort button[value=top]")).to_be_focused()
        seen["url_after_sort"] = page.url

        # A like presses the heart and moves the count.
        heart = page.locator(f"#comment-like-{popular.pk} button")
        expect(heart).to_have_attribute("aria-pressed", "false")
        heart.click()
        heart = page.locator(f"#comment-like-{popular.pk} button")
        expect(heart).to_have_attribute("aria-pressed", "true")
        expect(heart.locator(".count")).to_have_text("8")
        seen["same_document"] = page.evaluate("window.sameDocument === true")

        # A reload keeps the like, the order and the new comments.
        page.reload()
        heart = page.locator(f"#comment-like-{popular.pk} button")
        expect(heart).to_have_attribute("aria-pressed", "true")
        expect(heart.locator(".count")).to_have_text("8")
        expect(bodies.first).to_have_text("Best call this week.")

        # Keyboard: the heart takes Enter.
        heart.focus()
        page.keyboard.press("Enter")
        expect(page.locator(f"#comment-like-{popular.pk} button")).to_have_attribute("aria-pressed", "false")
        page.locator(f"#comment-like-{popular.pk} button").focus()
        page.keyboard.press("Enter")
        expect(page.locator(f"#comment-like-{popular.pk} button")).to_have_attribute("aria-pressed", "true")

        # A phone: 44 px targets, no sideways scrolling, a screenshot for people to look at.
        page.set_viewport_size(PHONE)
        seen["targets"] = page.evaluate(TAP_TARGETS)
        page.evaluate(SCROLL_TO_COMMENTS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "comments-390.png"))
        page.set_viewport_size({"width": 320, "height": 700})
        seen["overflow_320"] = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        return seen

    browse(journey)

    assert seen["same_document"], "posting, sorting or liking reloaded the page"
    assert seen["url_after_sort"].endswith(f"/posts/{post.pk}/?sort=top")
    assert Comment.objects.filter(post=post).count() == 4
    assert CommentLike.objects.filter(comment=popular).count() == 1
    popular.refresh_from_db()
    assert popular.like_count == 8
    small = [target for target in seen["targets"] if target[1] < 44 or target[2] < 44]
    assert seen["targets"] and not small, f"tap targets under 44 px at 390 px: {small}"
    assert seen["overflow_320"] <= 0, f"the page scrolls sideways by {seen['overflow_320']} px at 320 px"
