import pytest

from tests.factories import PostFactory

pytestmark = pytest.mark.browser


def test_a_reader_sees_the_latest_posts_and_switches_to_chinese(browse):
    PostFactory(body="$BTC reclaimed the weekly open #btc")
    PostFactory(body="比特币今天站稳了周线开盘价 $BTC", language="zh")

    def read_then_switch_language(page):
        page.goto("/")
        seen = {
            "heading": page.locator("h1").inner_text(),
            "bodies": page.locator("article.post .body").all_inner_texts(),
        }
        page.locator(".me-menu summary").click()  # the language is in the account menu
        page.select_option("#language-select", "zh-hans")
        page.get_by_role("button", name="Switch").click()
        page.wait_for_load_state()
        seen["heading_after"] = page.locator("h1").inner_text()
        seen["lang_after"] = page.locator("html").get_attribute("lang")
        return seen

    seen = browse(read_then_switch_language)

    assert seen["heading"] == "Latest posts"
    assert seen["bodies"][0].startswith("比特币")
    assert seen["bodies"][1].startswith("$BTC reclaimed")
    assert seen["heading_after"] == "最新帖子"
    assert seen["lang_after"] == "zh-hans"
