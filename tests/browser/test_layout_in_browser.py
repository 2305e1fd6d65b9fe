"""The layout in Chromium: three columns on a desktop, a tab bar at the bottom of a phone, no page wider
than a phone from 320 to 430 px, and tap targets a thumb can hit.

Screenshots of every page and width land in var/screenshots/<page>-<width>-<lang>.png for a person to
look at.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from feed.services import comment_on_post, publish_post
from markets.models import Asset
from tests.factories import FollowFactory, NotificationFactory, TradingProfileFactory, UserFactory, a_day_of_candles

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONES = [320, 390, 430]
# (name, path) of the main pages, as the signed-in reader "li_reader" sees them.
PAGES = [
    ("latest", "/latest/"),
    ("for-you", "/"),
    ("post", "/posts/{post}/"),
    ("profile", "/@chen_trader_with_a_long_name/"),
    ("asset", "/assets/BTC/"),
    ("search", "/search/?q=BTC"),
    ("notifications", "/notifications/"),
    ("compose", "/compose/"),
]

PAGE_WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth]"
# Visible controls smaller than 44 × 44 px: navigation, header, tabs, buttons and post actions.
SMALL_TARGETS = """() => {
  const selector = [".siderail .rail-link", ".topbar a", ".topbar button", ".tabs a", ".button",
                    ".post-actions a", ".post-actions button", ".menu summary"].join(", ");
  return [...document.querySelectorAll(selector)]
    .filter((element) => element.offsetParent !== null || getComputedStyle(element).position === "fixed")
    .map((element) => [element, element.getBoundingClientRect()])
    .filter(([, box]) => box.width > 0 && (box.width < 44 || box.height < 44))
    .map(([element, box]) => {
      const label = element.textContent.trim().slice(0, 20);
      return `${element.className || element.tagName} "${label}" ${Math.round(box.width)}x${Math.round(box.height)}`;
    });
}"""
BOXES = """(selectors) => selectors.map((selector) => {
  const element = document.querySelector(selector);
  const box = element.getBoundingClientRect();
  return {left: box.left, right: box.right, top: box.top, bottom: box.bottom, width: box.width, height: box.height,
          shown: getComputedStyle(element).display !== "none" && box.width > 0};
})"""


def _community(now):
    """A creator with a long name and a busy post on $BTC, prices for it, and a reader who trades it."""
    btc, _ = Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})
    a_day_of_candles("BTC-USDT", close=Decimal(105_820), step=Decimal(10), spread=Decimal(50), now=now)
    chen = UserFactory(username="chen_trader_with_a_long_name", profile__display_name="Chen, who writes long names")
    reader = UserFactory(username="li_reader", profile__display_name="Li")
    TradingProfileFactory(user=reader, traded_assets=["BTC"])
    FollowFactory(follower=reader, followee=chen)
    busy = publish_post(
        author=chen,
        body="**Breakout**: $BTC cleared the range high at 105,820. #breakout #averyverylonghashtagthatcouldoverflow"
        "\n\nhttps://example.com/a/really/long/link/that/should/wrap/instead/of/widening/the/page/at/all",
        content_type="analysis",
    )
    busy.assets.add(btc)
    for n in range(3):
        comment_on_post(author=reader, post_id=busy.pk, body=f"Clean retest, take {n + 1}.")
    NotificationFactory(recipient=reader, actor=chen)
    return busy


def _open(page, path: str, *, width: int, height: int = 800) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(path)
    page.wait_for_load_state("load")


def _shot(page, name: str, width: int, language: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}-{width}-{language.split('-')[0]}.png", full_page=True)


def test_a_desktop_shows_three_columns_with_the_rail_loaded(browse, now):
    busy = _community(now)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def look(page):
        sign_in(page, "li_reader", "/")
        seen = {}
        for name, path in PAGES:
            _open(page, path.format(post=busy.pk), width=1280)
            page.locator(".rail-box").first.wait_for()
            seen[name] = page.evaluate(BOXES, [".siderail", "main", ".siderail-right", ".topbar"])
            _shot(page, name, 1280, "en")
        seen["rail"] = page.locator(".siderail-right").inner_text()
        _open(page, "/", width=900)
        seen["tablet"] = page.evaluate(BOXES, [".siderail", "main", ".siderail-right"])
        _shot(page, "for-you", 900, "en")
        return seen

    seen = browse(look)

    rail_text = seen.pop("rail")
    assert "Your watchlist" in rail_text and "BTC" in rail_text and "105,820" in rail_text
    assert "Hot discussions" in rail_text and "#breakout" in rail_text
    left, middle, right = seen.pop("tablet")
    assert left["shown"] and left["width"] <= 80 and middle["shown"] and not right["shown"]
    for name, (rail, main, aside, header) in seen.items():
        assert rail["shown"] and main["shown"] and aside["shown"], name
        assert rail["right"] <= main["left"] < main["right"] <= aside["left"], name
        assert main["width"] <= 640, name
        assert header["height"] <= 56, name


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_page_is_wider_than_a_phone_and_the_tab_bar_stays_at_the_bottom(browse, live_server, now, language):
    busy = _community(now)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def look(page):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        sign_in(page, "li_reader", "/")
        widths, bars = {}, {}
        for name, path in PAGES:
            for width in PHONES:
                _open(page, path.format(post=busy.pk), width=width)
                widths[(name, width)] = page.evaluate(PAGE_WIDTH)
                _shot(page, name, width, language)
            # At 390 px: the bar is fixed at the bottom and, scrolled to the end, covers nothing.
            page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
            bar, header, footer = page.evaluate(BOXES, [".siderail", ".topbar", ".sitefooter"])
            bars[name] = (bar, header, footer, page.evaluate("() => window.innerHeight"))
        return widths, bars

    widths, bars = browse(look)

    too_wide = {key: sizes for key, sizes in widths.items() if sizes[0] > sizes[1]}
    assert too_wide == {}
    for name, (bar, header, footer, height) in bars.items():
        assert bar["shown"] and abs(bar["bottom"] - height) < 1 and bar["height"] >= 44, name
        assert header["height"] <= 56, name
        assert footer["bottom"] <= bar["top"] + 1, name


def test_tap_targets_on_a_phone_are_at_least_44_px(browse, now):
    busy = _community(now)

    def look(page):
        sign_in(page, "li_reader", "/")
        small = {}
        for name, path in PAGES:
            _open(page, path.format(post=busy.pk), width=390)
            small[name] = page.evaluate(SMALL_TARGETS)
        page.locator(".me-menu summary").click()
        small["me-menu"] = page.evaluate(
            """() => [...document.querySelectorAll(".me-menu .menu-items :is(a, button, select)")]
              .map((element) => element.getBoundingClientRect())
              .filter((box) => box.height < 44).length"""
        )
        small["me-menu-fits"] = page.evaluate(
            "() => { const box = document.querySelector('.me-menu .menu-items').getBoundingClientRect();"
            " return box.left >= 0 && box.right <= window.innerWidth && box.top >= 0; }"
        )
        return small

    small = browse(look)

    assert small.pop("me-menu") == 0
    assert small.pop("me-menu-fits")
    assert {name: targets for name, targets in small.items() if targets} == {}


def test_the_account_menu_works_from_the_keyboard(browse, now):
    _community(now)

    def look(page):
        sign_in(page, "li_reader", "/")
        page.set_viewport_size({"width": 1280, "height": 800})
        summary = page.locator(".me-menu summary")
        summary.focus()
        page.keyboard.press("Enter")
        opened = page.locator(".me-menu").get_attribute("open") is not None
        page.locator("#language-select").focus()
        page.keyboard.press("Escape")
        closed = page.locator(".me-menu").get_attribute("open") is None
        focus_back = page.evaluate("() => document.activeElement.matches('.me-menu summary')")
        return opened, closed, focus_back

    assert browse(look) == (True, True, True)
