"""What the exchange knows, in a real Chromium: a trade card verified by fills the signed webhook
delivered after the post, its disclosure and live quote, the Performance tab and the asset chart."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from feed.models import TradeCard
from feed.services import TradeCardInput, publish_post
from markets import exchange
from markets.models import Asset
from tests.factories import FillFactory, UserFactory, a_day_of_candles

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def deliver(events):
    body = json.dumps({"events": events}).encode()
    stamp = int(time.time())
    return Client().post(
        "/api/v1/exchange/events/",
        data=body,
        content_type="application/json",
        headers={
            "X-Orbit-Timestamp": str(stamp),
            "X-Orbit-Signature": exchange.sign(body, timestamp=stamp, secret="browser-secret"),
        },
    )


def test_a_reader_sees_a_verified_card_its_disclosure_the_performance_tab_and_the_chart(browse, settings):
    settings.EXCHANGE_WEBHOOK_SECRET = "browser-secret"
    Asset.objects.create(symbol="ETH", name="Ether")
    now = timezone.now()
    # 25 hourly bars: 3,000 a day ago, 3,300 now (+10%).
    a_day_of_candles("ETH-USDT", close=Decimal(3300), step=Decimal("12.5"), spread=Decimal(5), now=now)
    author = UserFactory(username="eth_erin")
    link = {
        "id": "link-erin",
        "type": "account.linked",
        "occurred_at": (now - timedelta(days=2)).isoformat(),
        "data": {"uid": "ERIN", "user_id": author.pk},
    }
    assert deliver([link]).json()["applied"] == 1
    post = publish_post(
        author=author,
        body="Long $ETH from 3,000.",
        content_type="trade_share",
        trade_card=TradeCardInput(instrument="ETH-USDT", side="long", entry_price="3000", pnl_percent="25"),
        show_performance=True,  # the author shows the record behind the card (private otherwise)
    )
    bought = post.created_at - timedelta(hours=3)
    # A round trip last week gives the Performance tab a closed trade; then the card's own buy.
    trades = [
        ("buy", "2800", bought - timedelta(days=6)),
        ("sell", "2940", bought - timedelta(days=5)),
        ("buy", "3000", bought),
    ]
    fills = [
        {
            "id": f"erin-{n}",
            "type": "trade.filled",
            "occurred_at": at.isoformat(),
            "data": {
                "uid": "ERIN",
                "fill_id": f"E{n}",
                "instrument": "ETH-USDT",
                "side": side,
                "quantity": "1",
                "price": price,
                "fee": "0",
                "filled_at": at.isoformat(),
            },
        }
        for n, (side, price, at) in enumerate(trades)
    ]
    assert deliver(fills).json()["applied"] == 3

    def journey(page):
        seen = {}
        page.goto(f"/posts/{post.pk}/")
        seen["card"] = page.locator(".trade-card").inner_text()
        seen["disclosure"] = page.locator(".disclosure").inner_text()
        seen["card_chart_points"] = page.locator(".trade-card svg polyline").first.get_attribute("points")
        page.locator("article.post .who a.name").click()
        page.get_by_role("link", name="Performance").click()
        seen["performance"] = page.locator("main").inner_text()
        page.goto("/assets/ETH/")
        seen["asset"] = page.locator("main").inner_text()
        seen["asset_chart"] = page.locator("main svg").first.get_attribute("aria-label") or ""
        return seen

    seen = browse(journey)

    assert "Verified by exchange fills" in seen["card"]
    assert "Unverified" not in seen["card"]
    # Entry 3,000 from the fill, the market at 3,300: +10%, unlevered; the author's 25% is marked.
    assert "+10%" in seen["card"] and "Self-reported PnL" in seen["card"]
    assert "3,300" in seen["card"] and "+10%" in seen["card"]
    assert "bought $ETH" in seen["disclosure"]
    assert len(seen["card_chart_points"].split()) >= 24
    # One closed trade: +140 on a cost of 2,800 (5%), and the open buy marked at 3,300 (+300 on 3,000):
    # 440 / 5,800 = 7.59%.
    assert "7.59%" in seen["performance"] and "creator cannot edit" in seen["performance"]
    assert "3,300" in seen["asset"] and "+10%" in seen["asset"]


def test_an_author_edits_a_card_away_from_the_fills_and_back_in_the_browser(browse):
    Asset.objects.create(symbol="ETH", name="Ether")
    author = UserFactory(username="edit_eve")
    FillFactory(
        user=author, instrument="ETH-USDT", price=Decimal("3000"), filled_at=timezone.now() - timedelta(hours=2)
    )
    post = publish_post(
        author=author,
        body="Long $ETH from 3,000.",
        content_type="trade_share",
        trade_card=TradeCardInput(instrument="ETH-USDT", side="long", entry_price="3000"),
    )

    def save_entry(page, entry):
        page.goto(f"/posts/{post.pk}/edit/")
        page.fill("#id_entry_price", entry)
        page.get_by_role("button", name="Save changes").click()
        page.wait_for_url(f"**/posts/{post.pk}/")
        return page.locator(".trade-card").inner_text()

    def journey(page):
        sign_in(page, "edit_eve", then=f"/posts/{post.pk}/")
        seen = {"before": page.locator(".trade-card").inner_text()}
        seen["moved"] = save_entry(page, "2700")
        seen["back"] = save_entry(page, "3005")
        page.goto(f"/posts/{post.pk}/edit/")
        page.fill("#id_instrument", "NOPE-USDT")
        page.get_by_role("button", name="Save changes").click()
        seen["refused"] = page.locator("main").inner_text()
        return seen

    seen = browse(journey)
    assert "Verified by exchange fills" in seen["before"]
    assert "Unverified" in seen["moved"] and "Verified by exchange fills" not in seen["moved"]
    assert "Verified by exchange fills" in seen["back"]
    assert "is not an instrument of the exchange" in seen["refused"]
    card = TradeCard.objects.get(pk=post.pk)
    assert (card.instrument, card.entry_price, card.is_verified) == ("ETH-USDT", Decimal("3005"), True)
