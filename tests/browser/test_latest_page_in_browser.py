import pytest

from tests.factories import PostFactory

pytestmark = pytest.mark.browser


def test_a_reader_sees_the_latest_posts_and_switches_to_chinese(page):
    PostFactory(body="$BTC reclaimed the weekly open #btc")
    PostFactory(body="比特币今天站稳了周线开盘价 $BTC", language="zh")

    page.goto("/")
    assert page.locator("h1").inner_text() == "Latest posts"
    bodies = page.locator("article.post .body").all_inner_texts()
    assert bodies[0].startswith("比特币")
    assert bodies[1].startswith("$BTC reclaimed")

    page.select_option("#language-select", "zh-hans")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "最新帖子"
    assert page.locator("html").get_attribute("lang") == "zh-hans"
