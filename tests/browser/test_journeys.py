"""What people do in Orbit, in a real Chromium: sign up, post, find, react, follow, trade, in English and Chinese.

The browser steps run in Playwright's thread (the `browse` fixture); database setup and checks
happen here, in the test thread.
"""

import pytest
from django.conf import settings

from creators.models import Follow
from feed.models import Comment, Engagement, Like, Notification, Post, TradeCard
from markets.models import Asset
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "orbit journeys passphrase 2026"
EXCHANGE = "https://www.example-exchange.com/"


def _watch_console(page, problems: list) -> None:
    """Collect what the browser refuses under our CSP, and script errors: a journey must have none.

    (A 4xx answer is logged as a console error too; those are expected, e.g. a refused comment.)"""

    def on_console(message):
        if message.type == "error" and ("Content Security Policy" in message.text or "Refused" in message.text):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))


def _sign_up(page, username: str) -> None:
    page.goto("/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.locator("form:has(#id_username) [type=submit]").click()
    page.wait_for_load_state()
    assert "/accounts/signup/" not in page.url, page.locator("main").inner_text()


def _new_page(page, base_url: str, *, locale="en-US"):
    """Another person: a browser context of their own (own cookies), on the same live server."""
    return page.context.browser.new_context(base_url=base_url, locale=locale).new_page()


def test_post_find_react_follow_trade_and_get_notified(browse, live_server):
    Asset.objects.create(symbol="BTC", name="Bitcoin")

    def journey(page):
        from playwright.sync_api import expect

        problems: list[str] = []
        _watch_console(page, problems)
        seen = {}

        # Alice signs up and writes a post with a cashtag, a hashtag and a trade card.
        _sign_up(page, "alice")
        page.get_by_role("link", name="Compose").click()
        page.fill("#id_body", "**Breakout**: $BTC cleared the range high. #breakout")
        page.select_option("#id_content_type", "trade_share")
        page.fill("#id_instrument", "BTC-USDT")
        page.select_option("#id_side", "long")
        page.fill("#id_entry_price", "64250.5")
        page.fill("#id_leverage", "5")
        page.fill("#id_pnl_percent", "3.2")
        page.get_by_role("button", name="Publish").click()
        expect(page.locator(".flash-message")).to_contain_text("Your post is live.")
        seen["post_url"] = page.url
        seen["cashtag_href"] = page.locator(".body a.cashtag").get_attribute("href")
        seen["hashtag_href"] = page.locator(".body a.hashtag").get_attribute("href")
        expect(page.get_by_role("button", name="Trade BTC-USDT")).to_be_visible()

        # Bob signs up in a browser of his own and finds the post through search.
        bob = _new_page(page, live_server.url)
        _watch_console(bob, problems)
        _sign_up(bob, "bob")
        bob.get_by_role("link", name="Search").first.click()
        bob.fill("#id_q", "range high")
        bob.get_by_role("button", name="Search").click()
        results = bob.locator(".search-posts article.post")
        expect(results).to_have_count(1)
        results.first.locator("a.time").click()
        bob.wait_for_url(seen["post_url"])
        bob.wait_for_timeout(700)  # reading: the page reports time spent of half a second or more

        # He likes it and comments without a page reload (HTMX swaps the fragments in place).
        bob.evaluate("window.__samePage = true")
        like = bob.locator("form.like-form button")
        like.click()
        expect(like).to_have_attribute("aria-pressed", "true")
        expect(like.locator(".count")).to_have_text("1")
        bob.fill("#comments textarea[name=body]", "Clean retest, what is your stop?")
        bob.locator("#comments form.comment-form button[type=submit]").first.click()
        expect(bob.locator("#comments .comment-body")).to_have_text(["Clean retest, what is your stop?"])
        seen["no_reload"] = bob.evaluate("window.__samePage === true")

        # He follows Alice from her profile, and her post is in his Following feed.
        bob.locator("article.post .who a.name").click()
        follow = bob.locator("form.follow-form button")
        follow.click()
        expect(follow).to_contain_text("Following")
        bob.get_by_role("link", name="Following").first.click()
        seen["following_feed"] = bob.locator("article.post .body").all_inner_texts()

        # The trade button records the click and sends him to the exchange (intercepted here).
        bob.route(
            f"{EXCHANGE}**",
            lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Example Exchange</h1>"),
        )
        bob.goto(seen["post_url"])
        bob.get_by_role("button", name="Trade BTC-USDT").click()
        bob.wait_for_url(f"{EXCHANGE}**")
        seen["exchange_url"] = bob.url

        # Alice sees who liked, commented and followed, with the unread count in the header.
        page.reload()
        seen["badge"] = page.locator(".nav-notifications .badge").inner_text()
        page.locator(".nav-notifications").click()
        seen["notifications"] = page.locator(".notification").all_inner_texts()
        expect(page.locator(".nav-notifications .badge")).to_have_count(0)  # marked read once shown
        seen["problems"] = problems
        return seen

    seen = browse(journey)

    post = Post.objects.get(author__username="alice")
    assert post.content_type_id == "trade_share" and "<strong>Breakout</strong>" in post.body_html
    assert seen["cashtag_href"] == "/assets/BTC/" and seen["hashtag_href"] == "/tags/breakout/"
    assert TradeCard.objects.get(post=post).instrument == "BTC-USDT"
    assert Like.objects.filter(post=post, user__username="bob").exists()
    assert Comment.objects.get(post=post).author.username == "bob"
    assert Follow.objects.filter(follower__username="bob", followee__username="alice").exists()
    assert seen["no_reload"], "like and comment reloaded the page"
    assert seen["following_feed"] == ["Breakout: $BTC cleared the range high. #breakout"]
    assert seen["exchange_url"] == settings.EXCHANGE_TRADE_URL.format(instrument="BTC-USDT")
    assert Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK, post=post, actor__username="bob").count() == 1
    assert Engagement.objects.filter(kind=Engagement.Kind.VIEW, post=post, actor__username="bob").exists()
    # Leaving the post page sent the time-spent beacon.
    assert wait_for(
        lambda: Engagement.objects.filter(kind=Engagement.Kind.DWELL, post=post, actor__username="bob").exists()
    )
    assert seen["badge"] == "3"
    assert any("liked your post" in text for text in seen["notifications"])
    assert any("commented on your post" in text for text in seen["notifications"])
    assert any("followed you" in text for text in seen["notifications"])
    assert not Notification.objects.filter(recipient__username="alice", read_at__isnull=True).exists()
    assert seen["problems"] == []


def test_the_same_pages_in_chinese(browse, live_server):
    Asset.objects.create(symbol="BTC", name="Bitcoin")

    def journey(page):
        from playwright.sync_api import expect

        problems: list[str] = []
        reader = _new_page(page, live_server.url, locale="zh-CN")  # the browser asks for Chinese
        _watch_console(reader, problems)
        seen = {}

        _sign_up(reader, "xiaoming")
        reader.goto("/latest/")  # signing up lands on For You; Latest has its own address
        seen["latest_heading"] = reader.locator("h1").inner_text()
        seen["nav"] = reader.locator(".mainnav").inner_text()
        reader.get_by_role("link", name="发帖").click()
        seen["compose_heading"] = reader.locator("h1").inner_text()
        reader.fill("#id_body", "比特币突破区间上沿，$BTC 多头确认 #突破")
        reader.select_option("#id_content_type", "analysis")
        reader.fill("#id_instrument", "BTC-USDT")
        reader.select_option("#id_side", "long")
        reader.fill("#id_entry_price", "64000")
        reader.get_by_role("button", name="发布").click()
        expect(reader.locator(".flash-message")).to_contain_text("你的帖子已发布。")
        seen["type"] = reader.locator("article.post .type").inner_text()
        expect(reader.get_by_role("button", name="交易 BTC-USDT")).to_be_visible()
        seen["comments_heading"] = reader.locator("#comments-heading").inner_text()

        # An empty comment is refused with the service's message, in Chinese.
        reader.locator("#comments form.comment-form button[type=submit]").first.click()
        expect(reader.locator("#comments .error")).to_contain_text("不能发布空的评论")

        reader.get_by_role("link", name="搜索").first.click()
        reader.fill("#id_q", "区间上沿")
        reader.get_by_role("button", name="搜索").click()
        seen["search_results"] = reader.locator(".search-posts article.post").count()

        reader.goto("/@xiaoming/")
        seen["profile_counts"] = reader.locator(".counts").inner_text()
        reader.get_by_role("link", name="通知").click()
        seen["notifications_heading"] = reader.locator("h1").inner_text()
        seen["problems"] = problems
        return seen

    seen = browse(journey)

    assert seen["latest_heading"] == "最新帖子"
    assert "关注" in seen["nav"] and "搜索" in seen["nav"]
    assert seen["compose_heading"] == "发布新帖"
    assert seen["type"] == "行情分析"
    assert seen["comments_heading"].startswith("评论")
    assert seen["search_results"] == 1
    assert "粉丝" in seen["profile_counts"]
    assert seen["notifications_heading"] == "通知"
    assert Post.objects.get(author__username="xiaoming").language == "zh"
    assert seen["problems"] == []
