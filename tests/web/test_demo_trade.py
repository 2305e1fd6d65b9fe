"""The demo's Trade button ends on Orbit's own demo ticket; production has no such page."""

import pytest
from django.urls import reverse

from feed import services
from feed.models import Engagement
from feed.services import TradeCardInput
from markets.models import Candle

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_post(btc, alice):
    return services.publish_post(
        author=alice,
        body="Long $BTC from the range low.",
        content_type="trade_share",
        trade_card=TradeCardInput(instrument="BTC-USDT", side="long", entry_price="64000"),
    )


def test_in_the_demo_the_trade_button_opens_the_demo_ticket_and_still_counts_the_click(
    client, bob, card_post, settings
):
    settings.ORBIT_DEMO_TRADE_TICKET = True
    client.force_login(bob)

    response = client.post(reverse("feed:trade", args=[card_post.pk]))

    assert response.status_code == 302
    assert response.url == f"{reverse('feed:demo_trade', args=['BTC-USDT'])}?post={card_post.pk}"
    assert Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK, post=card_post, actor=bob).count() == 1


def test_the_demo_ticket_says_no_order_is_placed_and_shows_the_last_price(client, btc, card_post, settings):
    settings.ORBIT_DEMO_TRADE_TICKET = True
    Candle.objects.create(
        instrument="BTC-USDT", bar="1H", opened_at="2026-11-30T10:00Z", open=64000, high=64600, low=63900, close=64512.5
    )
    url = reverse("feed:demo_trade", args=["BTC-USDT"])

    page = client.get(url, {"post": card_post.pk}).content.decode()
    assert "Demo — no real order is placed." in page
    assert "Trade BTC-USDT" in page
    assert "64,512.5" in page
    assert f'href="{reverse("feed:post", args=[card_post.pk])}"' in page
    assert "This demo places no order." not in page

    confirmed = client.get(url, {"post": card_post.pk, "side": "buy"}).content.decode()
    assert "This demo places no order." in confirmed


def test_the_demo_ticket_speaks_chinese(client, btc, settings):
    settings.ORBIT_DEMO_TRADE_TICKET = True
    page = client.get(reverse("feed:demo_trade", args=["BTC-USDT"]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "买入" in page and "卖出" in page


def test_the_demo_ticket_refuses_an_instrument_the_exchange_does_not_list(client, btc, settings):
    settings.ORBIT_DEMO_TRADE_TICKET = True
    response = client.get(reverse("feed:demo_trade", args=["FAKE-USDT"]))
    assert response.status_code == 400


def test_outside_the_demo_the_trade_button_goes_to_the_exchange_and_the_ticket_does_not_exist(
    client, bob, card_post, settings
):
    settings.ORBIT_DEMO_TRADE_TICKET = False
    settings.EXCHANGE_TRADE_URL = "https://exchange.example/trade/{instrument}"
    client.force_login(bob)

    response = client.post(reverse("feed:trade", args=[card_post.pk]))

    assert response.url == "https://exchange.example/trade/BTC-USDT"
    assert client.get(reverse("feed:demo_trade", args=["BTC-USDT"])).status_code == 404
