"""Verified trade cards: matched to the author's own exchange fills, and their PnL from those fills."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from feed import selectors, services, verification
from feed.models import Post, TradeCard
from markets.models import Asset, Fill
from tests.api.conftest import client_for
from tests.factories import CandleFactory, FillFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("btc")]


def fill(user, *, side="buy", quantity="1", price="64000", ago=timedelta(hours=1), instrument="BTC-USDT") -> Fill:
    """A fill of the author's, `ago` before now."""
    return FillFactory(
        user=user,
        instrument=instrument.upper(),
        side=side,
        quantity=Decimal(quantity),
        price=Decimal(price),
        filled_at=timezone.now() - ago,
    )


def publish_card(author, *, side="long", entry="64300", instrument="BTC-USDT", pnl=None) -> TradeCard:
    post = services.publish_post(
        author=author,
        body="Long $BTC from here",
        content_type="trade_share",
        trade_card=services.TradeCardInput(instrument=instrument, side=side, entry_price=entry, pnl_percent=pnl),
    )
    return TradeCard.objects.get(post=post)


def fill_ids(card) -> set[int]:
    return set(card.fills.values_list("pk", flat=True))


# --- Matching --------------------------------------------------------------------------------


def test_a_card_matching_the_authors_fills_is_verified_at_their_weighted_average():
    author = UserFactory()
    first = fill(author, quantity="0.4", price="64000", ago=timedelta(hours=3))
    second = fill(author, quantity="0.6", price="64500", ago=timedelta(hours=2))
    card = publish_card(author, entry="64300")
    # (0.4 × 64000 + 0.6 × 64500) / 1.0 = 64300
    assert card.is_verified
    assert card.verified_entry_price == Decimal("64300")
    assert card.verified_quantity == Decimal("1")
    assert fill_ids(card) == {first.pk, second.pk}


def test_the_verified_entry_is_the_exact_weighted_average_to_twelve_places():
    author = UserFactory()
    fill(author, quantity="1", price="64000", ago=timedelta(hours=3))
    fill(author, quantity="2", price="64100", ago=timedelta(hours=2))
    card = publish_card(author, entry="64066.67")
    # 192200 / 3 = 64066.6666…, rounded half to even at the field's 12 places.
    assert card.verified_entry_price == Decimal("64066.666666666667")
    assert card.verified_quantity == Decimal("3")


def test_an_entry_price_outside_the_tolerance_is_not_verified():
    author = UserFactory()
    fill(author, price="64000")
    # 0.5% of 64400 is 322; the fills are 400 away.
    card = publish_card(author, entry="64400")
    assert not card.is_verified
    assert card.verified_entry_price is None and card.verified_quantity is None
    assert fill_ids(card) == set()
    # 0.5% of 64320 is 321.60; 320 away is within it.
    assert publish_card(author, entry="64320").is_verified


def test_fills_of_the_other_side_do_not_verify():
    author = UserFactory()
    fill(author, side="sell", price="64000")
    assert not publish_card(author, side="long", entry="64000").is_verified
    assert not publish_card(author, side="buy", entry="64000").is_verified
    assert publish_card(author, side="short", entry="64000").is_verified
    assert publish_card(author, side="sell", entry="64000").is_verified


def test_fills_of_another_instrument_do_not_verify_but_letter_case_does_not_matter():
    author = UserFactory()
    fill(author, price="64000", instrument="BTC-USDT-SWAP")
    assert not publish_card(author, entry="64000", instrument="BTC-USDT").is_verified
    fill(author, price="64000", instrument="btc-usdt")
    assert publish_card(author, entry="64000", instrument="BTC-USDT").is_verified


def test_fills_outside_the_window_do_not_verify(settings):
    author = UserFactory()
    hours = settings.ORBIT_TRADE_CARD_WINDOW_HOURS
    fill(author, price="64000", ago=timedelta(hours=hours, minutes=5))
    # A fill 20 minutes after posting is past the 15 minutes allowed for a still-filling order.
    fill(author, price="64000", ago=-timedelta(minutes=20))
    assert not publish_card(author, entry="64000").is_verified
    fill(author, price="64000", ago=-timedelta(minutes=10))
    assert publish_card(author, entry="64000").is_verified


def test_another_users_fills_do_not_verify_a_card():
    author, someone_else = UserFactory(), UserFactory()
    fill(someone_else, price="64000")
    card = publish_card(author, entry="64000")
    assert not card.is_verified
    assert card.fills.count() == 0


def test_the_latest_run_of_fills_matching_the_entry_is_chosen():
    author = UserFactory()
    older_buy = fill(author, price="60000", ago=timedelta(hours=50))
    fill(author, side="sell", price="61000", ago=timedelta(hours=40))
    latest_buy = fill(author, price="64000", ago=timedelta(hours=2))
    assert fill_ids(publish_card(author, entry="64000")) == {latest_buy.pk}
    # The earlier way in still verifies a card that shows it.
    assert fill_ids(publish_card(author, entry="60000")) == {older_buy.pk}


def test_a_run_matches_whole_or_by_its_latest_fills():
    author = UserFactory()
    earlier = fill(author, price="60000", ago=timedelta(hours=10))
    later = fill(author, price="64000", ago=timedelta(hours=1))
    scaled_in = publish_card(author, entry="62000")
    assert fill_ids(scaled_in) == {earlier.pk, later.pk}
    assert scaled_in.verified_quantity == 2
    latest_only = publish_card(author, entry="64000")
    assert fill_ids(latest_only) == {later.pk}
    assert latest_only.verified_quantity == 1
    # An entry matching only the first fill of the run is not picked out of its middle.
    assert not publish_card(author, entry="60000").is_verified


def test_fills_arriving_after_posting_verify_the_card_when_the_webhook_rechecks():
    author = UserFactory()
    card = publish_card(author, entry="64000")
    assert not card.is_verified
    old_card = publish_card(author, entry="64000")
    Post.objects.filter(pk=old_card.pk).update(created_at=timezone.now() - timedelta(days=4))
    fill(author, price="64000", ago=timedelta(minutes=30))  # filled before posting, delivered after
    assert verification.verify_pending_cards(user_ids={author.pk}) == 1
    card.refresh_from_db()
    assert card.is_verified and card.verified_entry_price == Decimal("64000")
    # Posts older than the matching window are left alone.
    old_card.refresh_from_db()
    assert not old_card.is_verified
    assert verification.verify_pending_cards(user_ids={author.pk}) == 0


def test_editing_the_entry_away_from_the_fills_takes_the_verification_away():
    author = UserFactory()
    fill(author, price="64000")
    card = publish_card(author, entry="64000")
    assert card.is_verified

    def edit(entry):
        services.edit_post(
            editor=author,
            post_id=card.pk,
            body="Long $BTC, edited",
            trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price=entry),
        )
        return TradeCard.objects.get(pk=card.pk)

    edited = edit("58000")
    assert not edited.is_verified
    assert (edited.verified_entry_price, edited.verified_quantity, edited.fills.count()) == (None, None, 0)
    assert edit("64100").is_verified


def test_editing_only_the_text_keeps_the_card_and_its_verification():
    author = UserFactory()
    fill(author, price="64000")
    card = publish_card(author, entry="64000")
    services.edit_post(editor=author, post_id=card.pk, body="Long $BTC, typo fixed")
    card.refresh_from_db()
    assert card.is_verified and card.verified_entry_price == Decimal("64000")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_card_published_while_the_webhook_stores_its_fills_is_still_verified():
    """The webhook's transaction has stored the fills and re-checked pending cards (none yet) but not
    committed; the card is published meanwhile. Its own check must wait for the fills, not miss them."""
    Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})
    author = UserFactory()
    rechecked, release = threading.Event(), threading.Event()

    def webhook():
        try:
            with transaction.atomic():
                fill(author, price="64000", ago=timedelta(minutes=5))
                verification.verify_pending_cards(user_ids={author.pk})
                rechecked.set()
                release.wait(10)
        finally:
            connection.close()

    published = {}

    def publish():
        try:
            published["card"] = publish_card(author, entry="64000")
        finally:
            connection.close()

    webhook_thread = threading.Thread(target=webhook)
    webhook_thread.start()
    assert rechecked.wait(10)
    publish_thread = threading.Thread(target=publish)
    publish_thread.start()
    publish_thread.join(1)  # publishing waits for the webhook's transaction…
    release.set()
    webhook_thread.join(10)
    publish_thread.join(10)
    # …and then sees its fills.
    assert TradeCard.objects.get(pk=published["card"].pk).is_verified


# --- PnL -------------------------------------------------------------------------------------


def candle(close, *, symbol="BTC", ago=timedelta(minutes=30)):
    opened_at = (timezone.now() - ago).replace(minute=0, second=0, microsecond=0)
    return CandleFactory(instrument=f"{symbol}-USDT", opened_at=opened_at, close=Decimal(close))


def test_a_fully_closed_trade_has_its_pnl_from_the_closing_fills():
    author = UserFactory()
    fill(author, quantity="0.4", price="64000", ago=timedelta(hours=10))
    fill(author, quantity="0.6", price="64500", ago=timedelta(hours=9))
    fill(author, side="sell", quantity="0.5", price="66000", ago=timedelta(hours=5))
    fill(author, side="sell", quantity="0.7", price="67000", ago=timedelta(hours=4))
    card = publish_card(author, entry="64300")
    pnl = verification.card_pnl(card)
    # Entry 64300; the first 1.0 sold: 0.5 at 66000 and 0.5 of the second at 67000 = 66500.
    # (66500 − 64300) / 64300 × 100 = 3.4214… → 3.42
    assert (pnl.status, pnl.exit_price, pnl.market_price, pnl.pnl_percent) == (
        "closed",
        Decimal("66500"),
        None,
        Decimal("3.42"),
    )


def test_a_closed_short_gains_when_the_price_falls():
    author = UserFactory()
    fill(author, side="sell", quantity="2", price="64000", ago=timedelta(hours=6))
    fill(author, side="buy", quantity="2", price="60800", ago=timedelta(hours=2))
    pnl = verification.card_pnl(publish_card(author, side="short", entry="64000"))
    # (60800 − 64000) / 64000 × 100 × −1 = +5.00
    assert (pnl.status, pnl.pnl_percent) == ("closed", Decimal("5.00"))


def test_an_open_trade_is_valued_at_the_market_price_with_its_closed_part_realised():
    author = UserFactory()
    fill(author, quantity="0.4", price="64000", ago=timedelta(hours=3))
    fill(author, quantity="0.6", price="64500", ago=timedelta(hours=2))
    card = publish_card(author, entry="64300")
    assert verification.card_pnl(card) is None  # open, and no market price yet
    fill(author, side="sell", quantity="0.25", price="66000", ago=-timedelta(hours=1))
    candle("65000")
    pnl = verification.card_pnl(card)
    # 0.25 closed at 66000, 0.75 valued at 65000: exit (16500 + 48750) / 1 = 65250.
    # (65250 − 64300) / 64300 × 100 = 1.4774… → 1.48
    assert (pnl.status, pnl.partly_closed, pnl.closed_price, pnl.market_price) == (
        "open",
        True,
        Decimal("66000"),
        Decimal("65000"),
    )
    assert (pnl.exit_price, pnl.pnl_percent) == (Decimal("65250"), Decimal("1.48"))
    # A given market price replaces the stored one: (16500 + 0.75 × 64300) / 1 = 64725 → 0.66%.
    assert verification.card_pnl(card, market_price=Decimal("64300")).pnl_percent == Decimal("0.66")


def test_an_unverified_card_has_no_computed_pnl():
    author = UserFactory()
    candle("65000")
    assert verification.card_pnl(publish_card(author, entry="64000", pnl="12.5")) is None


def test_a_page_of_cards_gets_its_pnl_in_two_queries(django_assert_num_queries):
    for price in ("64000", "64100", "64200"):
        author = UserFactory()
        fill(author, price=price, ago=timedelta(hours=2))
        fill(author, side="sell", quantity="0.5", price="66000", ago=-timedelta(hours=1))
        publish_card(author, entry=price)
    candle("65000")
    posts = list(Post.objects.select_related("trade_card"))
    # The closing fills of every verified card, then the prices of their assets.
    with django_assert_num_queries(2):
        verification.attach_card_pnl(posts)
    assert [post.trade_card.pnl.status for post in posts] == ["open"] * 3


# --- What readers see --------------------------------------------------------------------------


def test_a_verified_card_shows_the_badge_and_figures_from_fills_but_not_the_position_size(client):
    author = UserFactory()
    fill(author, quantity="0.3721", price="64000", ago=timedelta(hours=2))
    publish_card(author, entry="64000", pnl="50")
    candle("65600")
    page = client.get("/").content.decode()
    assert "Verified by exchange fills" in page
    assert "Unverified" not in page
    # (65600 − 64000) / 64000 × 100 = 2.5; the author's own +50% is marked as theirs.
    assert "+2.5%" in page
    assert "Self-reported PnL" in page and "+50%" in page
    assert "Market price used" in page and "65,600" in page
    assert "0.3721" not in page


def test_an_unverified_card_is_labelled_as_the_authors_own_figures(client):
    publish_card(UserFactory(), entry="64000", pnl="50")
    page = client.get("/").content.decode()
    assert "Unverified: the author" in page and "not matched to exchange fills" in page
    assert "Verified by exchange fills" not in page
    assert "+50%" in page


def test_the_api_shows_verification_and_pnl_but_not_the_quantity():
    author = UserFactory()
    fill(author, quantity="0.3721", price="64000", ago=timedelta(hours=2))
    card = publish_card(author, entry="64000")
    candle("65600")
    body = client_for(UserFactory()).get(f"/api/v1/posts/{card.pk}/").json()["trade_card"]
    assert body["verified"] is True
    assert body["verified_at"] is not None
    assert body["verified_entry_price"] == "64000.000000000000"
    assert body["pnl"] == {
        "status": "open",
        "entry_price": "64000.000000000000",
        "exit_price": "65600.000000000000",
        "closed_price": None,
        "market_price": "65600.000000000000",
        "pnl_percent": "2.50",
    }
    assert "0.3721" not in str(body)
    unverified = publish_card(UserFactory(), entry="64000")
    body = client_for(author).get(f"/api/v1/posts/{unverified.pk}/").json()["trade_card"]
    assert (body["verified"], body["verified_entry_price"], body["pnl"]) == (False, None, None)


def test_the_latest_page_lists_verified_cards_with_their_pnl():
    author = UserFactory()
    fill(author, price="64000", ago=timedelta(hours=2))
    publish_card(author, entry="64000")
    candle("64640")
    page = selectors.latest_posts()
    assert page.items[0].trade_card.pnl.pnl_percent == Decimal("1.00")
