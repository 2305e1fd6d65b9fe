"""The asset's market page in a real Chromium: the candlestick chart draws under the CSP, timeframes
fetch their candles, the posts on the chart open, the price updates without a reload, and a vote
moves the split. Screenshots land in var/screenshots/market-<width>.png for a person to look at."""

import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from feed import market_page
from feed.models import AssetVote, Call
from markets import charts
from markets.models import Asset, Candle
from tests.browser.conftest import sign_in
from tests.browser.test_csp_in_browser import violations_so_far, watch_refusals
from tests.factories import PostFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
# axe-core, test-only (tests/browser/vendor/axe.min.js): serious or critical findings fail the test.
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
RUN_AXE = "() => axe.run(document, {resultTypes: ['violations']})"


def axe_findings(page, where: str) -> list[str]:
    found = page.evaluate(RUN_AXE)["violations"]
    return [
        f"{where}: {finding['id']} {[node['target'] for node in finding['nodes']][:3]}"
        for finding in found
        if finding["impact"] in {"serious", "critical"}
    ]


def seed_market():
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin")
    newest = charts.bucket_start(timezone.now(), charts.timeframe_of("1h"))
    Candle.objects.bulk_create(
        [
            Candle(
                instrument="BTC-USDT",
                bar="1H",
                opened_at=newest - timedelta(hours=hour),
                open=Decimal(64000 + (hour * 37) % 900),
                high=Decimal(64600 + (hour * 37) % 900),
                low=Decimal(63500 + (hour * 37) % 900),
                close=Decimal(64200 + (hour * 53) % 700),
                volume=Decimal(10 + hour % 17),
            )
            for hour in range(400)
        ]
    )
    post = PostFactory(
        body="$BTC reclaimed the range <b>bold</b> <script>alert(1)</script>",
        created_at=timezone.now() - timedelta(hours=5),
    )
    call_post = PostFactory(body="$BTC to 70k", created_at=timezone.now() - timedelta(hours=30))
    Call.objects.create(
        post=call_post,
        author=call_post.author,
        asset=btc,
        direction=Call.Direction.UP,
        target_price=Decimal("70000"),
        entry_price=Decimal("64000"),
        made_at=call_post.created_at,
        horizon_at=call_post.created_at + timedelta(days=7),
    )
    return btc, post, newest


# The chart's background as "r,g,b": the commonest colour of the main canvas. One fixed pixel is not
# enough: grid lines sit where the time and price ticks fall, which move with the clock and the fonts.
CHART_BACKGROUND = """() => {
  const canvas = document.querySelector(".chart-canvas canvas");
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4 * 7) {
    const colour = `${data[i]},${data[i + 1]},${data[i + 2]}`;
    counts.set(colour, (counts.get(colour) || 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
}"""
# The theme's --card as "r,g,b".
CARD_COLOUR = """() => {
  const probe = document.createElement("div");
  probe.style.color = getComputedStyle(document.documentElement).getPropertyValue("--card");
  document.body.append(probe);
  const [r, g, b] = getComputedStyle(probe).color.match(/\\d+/g);
  probe.remove();
  return `${r},${g},${b}`;
}"""


def chart_background(page) -> str:
    return page.evaluate(CHART_BACKGROUND)


def in_django_thread(action):
    """Run ORM code from the Playwright thread (which has an event loop Django refuses to run in)."""
    worker = threading.Thread(target=lambda: (action(), connection.close()))
    worker.start()
    worker.join()


def test_the_market_page_charts_candles_and_the_community_live(browse, monkeypatch):
    _btc, post, newest = seed_market()
    UserFactory(username="reader")
    monkeypatch.setattr(market_page, "QUOTE_POLL_SECONDS", 1)

    def journey(page):
        from playwright.sync_api import expect

        refused = watch_refusals(page)
        page.add_init_script(AXE)
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_in(page, "reader", "/assets/BTC/")
        seen = {}

        # The chart draws on canvas from the JSON endpoint, with the markers listed under it.
        expect(page.locator("#asset-chart[data-loaded='1h']")).to_have_count(1)
        expect(page.locator(".chart-canvas canvas").first).to_be_visible()
        links = page.locator(".chart-markers a")
        expect(links).to_have_count(2)
        seen["list"] = links.all_inner_texts()
        seen["list_html"] = page.locator(".chart-markers").inner_html()

        # Switching the timeframe asks for its candles again.
        with page.expect_request(lambda request: "/assets/BTC/candles/?tf=4h" in request.url) as asked:
            page.get_by_role("button", name="4H").click()
        seen["asked"] = asked.value.url
        expect(page.locator("#asset-chart[data-loaded='4h']")).to_have_count(1)
        seen["pressed"] = page.get_by_role("button", name="4H").get_attribute("aria-pressed")
        seen["unpressed"] = page.get_by_role("button", name="1H").get_attribute("aria-pressed")

        # Focusing a marker in the list points at it on the chart with its excerpt as text.
        post_link = page.locator(f".chart-markers a[data-marker-id='{post.pk}']")
        post_link.focus()
        tooltip = page.locator(".chart-tooltip")
        expect(tooltip).to_be_visible()
        seen["tooltip"] = tooltip.inner_text()
        seen["tooltip_tags"] = tooltip.evaluate("(element) => element.querySelectorAll('b, script').length")
        seen["axe"] = axe_findings(page, "light 1280")
        page.screenshot(path=SCREENSHOTS / "market-1280.png", full_page=True)

        # The chart takes the theme's colours, and takes them again when the theme switches.
        seen["light_background"] = chart_background(page)
        seen["light_card"] = page.evaluate(CARD_COLOUR)
        page.evaluate("document.documentElement.setAttribute('data-theme', 'dark')")
        for _ in range(50):  # (wait_for_function evaluates a string, which the CSP refuses)
            if chart_background(page) != seen["light_background"]:
                break
            page.wait_for_timeout(100)
        seen["dark_background"] = chart_background(page)
        seen["dark_card"] = page.evaluate(CARD_COLOUR)
        seen["axe"] += axe_findings(page, "dark 1280")
        page.screenshot(path=SCREENSHOTS / "market-1280-dark.png", full_page=True)
        page.evaluate("document.documentElement.setAttribute('data-theme', 'light')")

        # The price block updates in place: the page is the same document afterwards.
        page.evaluate("window.samePage = true")
        expect(page.locator(".market-last-value")).to_have_text("64,200")
        in_django_thread(
            lambda: Candle.objects.filter(instrument="BTC-USDT", opened_at=newest).update(
                close=Decimal("65432.1"), high=Decimal("65500")
            )
        )
        expect(page.locator(".market-last-value")).to_have_text("65,432.1", timeout=8000)
        seen["same_page"] = page.evaluate("window.samePage === true")

        # A vote moves today's split without leaving the page.
        page.get_by_role("button", name="Bullish").click()
        expect(page.locator(".vote-figures")).to_contain_text("100% bullish")
        seen["votes"] = page.locator(".vote-figures").inner_text()
        seen["vote_pressed"] = page.get_by_role("button", name="Bullish").get_attribute("aria-pressed")

        # A marker on the chart itself opens its post: point at the post's bar from the list, then
        # move up the canvas from that bar's close until the chart says a marker is under the mouse.
        post_link.focus()
        chart_box = page.locator(".chart-canvas")
        origin = chart_box.bounding_box()
        x = origin["x"] + int(chart_box.get_attribute("data-pointed-x"))
        close_y = origin["y"] + int(chart_box.get_attribute("data-pointed-y"))
        post_link.evaluate("(link) => link.blur()")
        seen["marker_found"] = False
        for lift in range(0, 120, 2):
            page.mouse.move(x, close_y - lift)
            if "chart-over-marker" in (chart_box.get_attribute("class") or ""):
                seen["marker_found"] = True
                break
        page.mouse.click(x, close_y - lift)
        page.wait_for_url(f"**/posts/{post.pk}/")
        page.go_back()
        expect(page.locator("#asset-chart[data-loaded]")).to_have_count(1)

        # On a phone nothing runs off the side, and every control is a thumb's width.
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(page.locator("#asset-chart[data-loaded='1h']")).to_have_count(1)
        seen["overflow"] = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        seen["small_controls"] = page.evaluate(
            """[...document.querySelectorAll('.chart-timeframe, .vote-button, .market-trade')]
                 .filter((element) => { const box = element.getBoundingClientRect();
                                        return box.width < 44 || box.height < 44; })
                 .map((element) => element.textContent.trim())"""
        )
        page.screenshot(path=SCREENSHOTS / "market-390.png", full_page=True)
        seen["axe"] += axe_findings(page, "light 390")

        # Clicking a marker link opens its post.
        page.locator(f".chart-markers a[data-marker-id='{post.pk}']").click()
        page.wait_for_url(f"**/posts/{post.pk}/")
        seen["violations"] = refused + violations_so_far(page)
        return seen

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    seen = browse(journey)

    assert "/assets/BTC/candles/?tf=4h" in seen["asked"]
    assert (seen["pressed"], seen["unpressed"]) == ("true", "false")
    assert any("Call: up" in text for text in seen["list"]) and any("Post" in text for text in seen["list"])
    assert "<script>" not in seen["list_html"] and "&lt;script&gt;" in seen["list_html"]
    assert "<script>alert(1)</script>" in seen["tooltip"] and seen["tooltip_tags"] == 0
    assert seen["same_page"] is True
    assert "100% bullish" in seen["votes"] and "1 vote today" in seen["votes"]
    assert seen["vote_pressed"] == "true"
    assert seen["marker_found"] is True
    assert AssetVote.objects.get().direction == "bull"
    assert seen["overflow"] <= 0
    assert seen["small_controls"] == []
    assert seen["violations"] == []
    assert seen["axe"] == []
    assert seen["light_background"] == seen["light_card"]
    assert seen["dark_background"] == seen["dark_card"] != seen["light_background"]
