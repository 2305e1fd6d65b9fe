"""An operator works the moderation queue in a real browser: reported posts grouped with their
counts, one click to hide one and dismiss the other, and the queue is empty. Screenshots at
1280x800 of the grouped queue and the content-type weights list, in English and Chinese, land in
var/screenshots/."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from feed.models import ModerationAction, Post, Report
from feed.services import report_post
from markets.models import Asset
from ranking.models import ContentMixDay
from tests.factories import PostFactory, PostTagsFactory, UserFactory
from tests.security.helpers import activate_totp

from .test_money_in_browser import _sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def _reported_posts():
    """A pump post reported twice, a rude one reported once, and a week of content mix for the weights."""
    Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})
    pump = PostFactory(author=UserFactory(username="pumper"), body="$BTC to 200k by Friday, buy before it is too late")
    rude = PostFactory(author=UserFactory(username="rude_one"), body="Anyone who sold today is an idiot")
    report_post(reporter=UserFactory(), post_id=pump.pk, reason="manipulation", details="pump")
    report_post(reporter=UserFactory(), post_id=pump.pk, reason="spam")
    report_post(reporter=UserFactory(), post_id=rude.pk, reason="abuse")
    for slug, posts in (("education", 3), ("analysis", 2), ("chat", 5)):
        for _ in range(posts):
            PostTagsFactory(post=PostFactory(content_type=slug))
    today = timezone.now().astimezone(UTC).date()
    for slug, impressions in (("education", 1_200), ("analysis", 900), ("chat", 2_400), ("news", 500)):
        ContentMixDay.objects.create(day=today, post_type_id=slug, impressions=impressions)
    return pump, rude


def _screenshot(page, name: str) -> None:
    page.set_viewport_size(VIEWPORT)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def test_an_operator_hides_one_reported_post_dismisses_the_other_and_the_queue_empties(browse, live_server):
    pump, rude = _reported_posts()
    operator = UserFactory(username="ops_mod", is_staff=True, is_superuser=True)
    secret = activate_totp(operator)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def journey(page):
        seen = {}
        page.set_viewport_size(VIEWPORT)
        _sign_in_to_admin(page, "ops_mod", secret)
        page.get_by_role("link", name="Moderation queue", exact=True).click()
        page.wait_for_url("**/admin/feed/report/")
        rows = page.locator("tr.queued-post")
        seen["rows"] = rows.all_inner_texts()
        _screenshot(page, "moderation-queue-en")
        page.goto("/admin/ranking/contenttypeweight/")
        _screenshot(page, "content-type-weights-en")

        # The same two pages in Chinese.
        page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
        page.goto("/admin/feed/report/")
        seen["chinese_title"] = page.title()
        _screenshot(page, "moderation-queue-zh-hans")
        page.goto("/admin/ranking/contenttypeweight/")
        _screenshot(page, "content-type-weights-zh-hans")
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])

        page.goto("/admin/feed/report/")
        page.locator(f"#queued-post-{pump.pk}").get_by_role("button", name="Hide post").click()
        page.wait_for_load_state()
        seen["hide_message"] = page.locator("ul.messagelist").inner_text()
        page.locator(f"#queued-post-{rude.pk}").get_by_role("button", name="Dismiss").click()
        page.wait_for_load_state()
        seen["dismiss_message"] = page.locator("ul.messagelist").inner_text()
        seen["rows_after"] = page.locator("tr.queued-post").count()
        seen["empty"] = page.locator(".moderation-queue-empty").inner_text()

        # A reader (a browser of their own, signed out) no longer finds the hidden post.
        reader = page.context.browser.new_context(base_url=live_server.url, locale="en-US").new_page()
        seen["reader_status"] = reader.goto(f"/posts/{pump.pk}/").status
        seen["reader_sees_rude"] = reader.goto(f"/posts/{rude.pk}/").status
        return seen

    seen = browse(journey)

    assert len(seen["rows"]) == 2
    assert "2 open reports" in seen["rows"][0] and "$BTC to 200k" in seen["rows"][0]  # waited longest
    assert "1 open report" in seen["rows"][1] and "Harassment or hate: 1" in seen["rows"][1]
    assert "审核队列" in seen["chinese_title"]
    assert f"Post {pump.pk} by @pumper is hidden; 2 open reports settled." in seen["hide_message"]
    assert f"1 open report on post {rude.pk} dismissed" in seen["dismiss_message"]
    assert seen["rows_after"] == 0 and "The queue is empty." in seen["empty"]
    assert (seen["reader_status"], seen["reader_sees_rude"]) == (404, 200)
    assert Post.objects.get(pk=pump.pk).status == Post.Status.HIDDEN
    assert not Report.objects.filter(status=Report.Status.OPEN).exists()
    assert sorted(ModerationAction.objects.values_list("action", flat=True)) == [
        ModerationAction.Action.DISMISS,
        ModerationAction.Action.HIDE_POST,
    ]
    for name in ("moderation-queue", "content-type-weights"):
        for language in ("en", "zh-hans"):
            assert (SCREENSHOTS / f"{name}-{language}.png").stat().st_size > 10_000
