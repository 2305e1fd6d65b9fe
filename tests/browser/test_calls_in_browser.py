"""A graded call in a real Chromium: composed with the plain form, seen on the post card and on the
author's Calls tab."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from feed.models import Call
from markets.models import Asset, Candle
from tests.browser.conftest import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_creator_makes_a_call_and_sees_it_on_the_card_and_the_calls_tab(browse):
    Asset.objects.create(symbol="BTC", name="Bitcoin")
    this_hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for opened_at in (this_hour - timedelta(hours=1), this_hour):
        price = Decimal("63120.5")
        Candle.objects.create(
            instrument="BTC-USDT", bar="1H", opened_at=opened_at, open=price, high=price, low=price, close=price
        )
    UserFactory(username="alice")

    def journey(page):
        from playwright.sync_api import expect

        sign_in(page, "alice", "/compose/")
        page.fill("#id_body", "$BTC breaks the range this week")
        page.select_option("#id_content_type", "analysis")
        # A target below the market is refused on its field, and nothing is lost from the form.
        page.fill("#id_call_asset", "BTC")
        page.select_option("#id_call_direction", "up")
        page.fill("#id_call_target_price", "60000")
        page.select_option("#id_call_horizon_days", "7")
        page.get_by_role("button", name="Publish").click()
        refusal = page.locator(".call-fields .error")
        expect(refusal).to_contain_text("must be above the current price of $BTC (63,120.5)")
        page.fill("#id_call_target_price", "70000")
        page.get_by_role("button", name="Publish").click()
        expect(page.locator(".flash-message")).to_contain_text("Your post is live.")
        card = page.locator("article.post .call")
        seen = {"card": card.inner_text()}
        page.get_by_role("link", name="Alice").first.click()
        page.get_by_role("link", name="Calls").click()
        seen["tab"] = page.locator("main").inner_text()
        return seen

    seen = browse(journey)

    assert "Call: $BTC up to 70,000 by" in seen["card"] and "Open" in seen["card"]
    assert "Entry 63,120.5" in seen["card"]
    assert "No graded calls yet." in seen["tab"] and "Call: $BTC up to 70,000 by" in seen["tab"]
    assert Call.objects.get().target_price == Decimal(70000)
