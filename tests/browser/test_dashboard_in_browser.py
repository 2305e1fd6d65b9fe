"""The operators' dashboard in a real browser: an operator signs in with TOTP, opens admin, sees the
charts drawn and their numbers in a table, in English and in Chinese; screenshots at 1280x800 land in
var/screenshots/ (dashboard-<language>-light-1280.png, and -full for the whole page)."""

from pathlib import Path

import pytest
from django.conf import settings

from tests.browser.test_money_in_browser import _sign_in_to_admin
from tests.factories import UserFactory
from tests.insights.test_dashboard import World
from tests.security.helpers import activate_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def _look(page, language: str) -> dict:
    """What the operator sees of the payouts chart and the content-mix table; screenshots."""
    seen = {"svg_visible": page.locator("#chart-mix_shares svg").is_visible()}
    page.screenshot(path=SCREENSHOTS / f"dashboard-{language}-light-1280.png")
    payouts = page.locator("#chart-payouts")
    payouts.scroll_into_view_if_needed()
    seen["bars"] = payouts.locator("rect.chart-bar").count()
    payouts.locator("summary").click()
    seen["payout_numbers"] = payouts.locator("table").inner_text()
    seen["payout_numbers_visible"] = payouts.locator("table").is_visible()
    seen["mix_table"] = page.locator("#table-mix_table").inner_text()
    seen["queues"] = page.locator("#table-queues").inner_text()
    seen["title"] = page.locator(".dashboard-title").inner_text()
    page.screenshot(path=SCREENSHOTS / f"dashboard-{language}-light-1280-full.png", full_page=True)
    return seen


def test_an_operator_sees_the_dashboards_charts_and_numbers_in_english_and_chinese(browse, live_server, now):
    World(now)
    operator = UserFactory(username="ops_dash", is_staff=True, is_superuser=True)
    secret = activate_totp(operator)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def visit(page):
        page.set_viewport_size({"width": 1280, "height": 800})
        _sign_in_to_admin(page, "ops_dash", secret)
        seen = {"en": _look(page, "en")}
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "url": live_server.url}])
        page.goto("/admin/")
        seen["zh-hans"] = _look(page, "zh-hans")
        return seen

    seen = browse(visit)

    english, chinese = seen["en"], seen["zh-hans"]
    assert english["svg_visible"] and chinese["svg_visible"]
    assert english["bars"] == 9  # three weeks × allocated, carried out, held
    assert english["payout_numbers_visible"]
    # The latest settled week: 100 allocated, 7.50 carried out, 40 held (tests/insights/test_dashboard.py).
    assert "2026-W48" in english["payout_numbers"] and "100.00 USDT" in english["payout_numbers"]
    assert "40.00 USDT" in english["payout_numbers"]
    assert "Education" in english["mix_table"] and "25.00%" in english["mix_table"]
    assert english["title"] == "Operators' dashboard"
    assert "100.00 USDT" in chinese["payout_numbers"]
    assert "新手教程" in chinese["mix_table"]
    assert "Education" not in chinese["mix_table"]
    for path in ("dashboard-en-light-1280.png", "dashboard-zh-hans-light-1280.png"):
        assert (SCREENSHOTS / path).stat().st_size > 10_000
