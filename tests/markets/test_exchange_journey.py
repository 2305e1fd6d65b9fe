"""From the exchange's signed events to what readers see: a card verified by fills that arrive after
the post, the disclosure beside it, and the Performance tab."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from feed.models import TradeCard
from feed.services import TradeCardInput, publish_post
from markets import exchange
from markets.models import Asset, TradingProfile
from tests.factories import FillFactory, UserFactory

SECRET = "journey-secret"


def deliver(client, events):
    body = json.dumps({"events": events}).encode()
    timestamp = int(time.time())
    return client.post(
        "/api/v1/exchange/events/",
        data=body,
        content_type="application/json",
        headers={
            "X-Orbit-Timestamp": str(timestamp),
            "X-Orbit-Signature": exchange.sign(body, timestamp=timestamp, secret=SECRET),
        },
    )


@pytest.mark.django_db
def test_fills_arriving_after_a_post_verify_its_card_and_disclose_the_trade(client, settings):
    settings.EXCHANGE_WEBHOOK_SECRET = SECRET
    Asset.objects.get_or_create(symbol="SOL", defaults={"name": "Solana"})
    author = UserFactory(username="solana_sam")
    now = timezone.now()
    linked = {
        "id": "link-sam",
        "type": "account.linked",
        "occurred_at": (now - timedelta(days=3)).isoformat(),
        "data": {"uid": "SAM", "user_id": author.pk, "opened_at": (now - timedelta(days=900)).isoformat()},
    }
    assert deliver(client, [linked]).json()["applied"] == 1

    post = publish_post(
        author=author,
        body="Long $SOL from 140, stop under 131.",
        content_type="trade_share",
        trade_card=TradeCardInput(instrument="SOL-USDT", side="long", entry_price="140.00"),
    )
    page = client.get(f"/posts/{post.pk}/").content.decode()
    assert "Unverified" in page
    assert "Disclosure" not in page

    # The exchange's fills of that buy arrive a little late.
    bought_at = post.created_at - timedelta(hours=2)
    fills = [
        {
            "id": f"fill-{n}",
            "type": "trade.filled",
            "occurred_at": bought_at.isoformat(),
            "data": {
                "uid": "SAM",
                "fill_id": f"SAM-{n}",
                "instrument": "SOL-USDT",
                "side": "buy",
                "quantity": quantity,
                "price": price,
                "fee": "0.1",
                "filled_at": (bought_at + timedelta(minutes=n)).isoformat(),
            },
        }
        for n, (quantity, price) in enumerate([("10", "139.90"), ("30", "140.10")])
    ]
    answer = deliver(client, fills).json()
    assert answer["applied"] == 2

    post.trade_card.refresh_from_db()
    assert post.trade_card.is_verified
    # Weighted entry: (10 × 139.90 + 30 × 140.10) / 40 = 140.05.
    assert post.trade_card.verified_entry_price == Decimal("140.05")
    page = client.get(f"/posts/{post.pk}/").content.decode()
    assert "Verified by exchange fills" in page
    assert "Unverified" not in page
    assert "Disclosure" in page
    # The trading profile followed the fills: 1,399 + 4,203 dollars of SOL.
    profile = author.trading_profile
    profile.refresh_from_db()
    assert profile.volume_by_asset == {"SOL": "5602.00"}
    assert profile.volume_tier == 1

    performance = client.get(f"/@{author.username}/performance/")
    assert performance.status_code == 200


@pytest.mark.django_db
def test_verify_trade_cards_rebuilds_verification_from_the_fills(settings):
    Asset.objects.get_or_create(symbol="ETH", defaults={"name": "Ether"})
    author = UserFactory()
    TradingProfile.objects.create(user=author, exchange_uid="CMD")
    post = publish_post(
        author=author,
        body="Short $ETH here.",
        content_type="trade_share",
        trade_card=TradeCardInput(instrument="ETH-USDT-SWAP", side="short", entry_price="3000"),
    )
    # Fills loaded behind the webhook's back (a backfill): nothing re-checked the card yet.
    FillFactory(
        fill_id="X1",
        user=author,
        instrument="ETH-USDT-SWAP",
        side="sell",
        quantity=Decimal("2"),
        price=Decimal("3004"),
        filled_at=post.created_at,
    )
    assert not TradeCard.objects.get(pk=post.pk).is_verified
    out = StringIO()
    call_command("verify_trade_cards", stdout=out)
    assert "1 trade card(s) checked, 1 verified" in out.getvalue()
    card = TradeCard.objects.get(pk=post.pk)
    assert card.is_verified
    assert card.verified_entry_price == Decimal("3004")
    # A stricter tolerance takes the badge away (3,004 is 0.13% from 3,000).
    settings.ORBIT_TRADE_CARD_PRICE_TOLERANCE = Decimal("0.001")
    call_command("verify_trade_cards", stdout=StringIO())
    assert not TradeCard.objects.get(pk=post.pk).is_verified
