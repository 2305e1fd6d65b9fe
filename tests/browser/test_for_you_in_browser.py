"""For You in a real Chromium: reasons on the cards, "Not interested", more pages, Chinese."""

import pytest

from feed.models import Engagement
from ranking import feeds
from tests.browser.conftest import sign_in
from tests.ranking.world import creator, reader, tagged_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_trader_reads_for_you_drops_a_post_and_loads_more(browse):
    me = reader("sol_fan", trades=["SOL"])
    posts = [tagged_post(creator(f"writer{i}"), assets=["SOL"], hours_ago=1 + i / 2) for i in range(25)]
    feeds.build_for_you(user_id=me.pk)

    def read(page):
        from playwright.sync_api import expect

        sign_in(page, "sol_fan", "/for-you/")
        cards = page.locator("article.post")
        expect(cards).to_have_count(20)
        seen = {"first_reason": cards.first.locator(".why").inner_text()}
        dropped = cards.first.get_attribute("id")
        cards.first.get_by_role("button", name="Not interested").click()
        expect(page.locator(f"#{dropped}")).to_have_count(0)
        page.get_by_role("link", name="Load more").click()
        expect(cards).to_have_count(24)
        seen["dropped"] = dropped
        page.locator(".me-menu summary").click()  # the language is in the account menu
        page.select_option("#language-select", "zh-hans")
        page.get_by_role("button", name="Switch").click()
        page.wait_for_load_state()
        seen["first_reason_zh"] = page.locator("article.post .why").first.inner_text()
        return seen

    seen = browse(read)

    assert seen["first_reason"] == "You trade SOL"
    assert seen["first_reason_zh"] == "你交易 SOL"
    hidden = Engagement.objects.get(actor=me, kind=Engagement.Kind.HIDE)
    assert f"post-{hidden.post_id}" == seen["dropped"]
    assert hidden.post_id in {post.pk for post in posts}
