"""Writing a post: no default content type, the preview, `$`/`@` autocomplete, and trade cards filled in
from the author's own recent fills (feed.composing)."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from feed import composing
from feed.forms import ComposeForm
from feed.models import Post, TradeCard
from tests.factories import AssetFactory, BlockFactory, FillFactory, FollowFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_asset_list():
    """The asset list is cached for minutes in the shared Redis; each test lists its own assets."""
    cache.delete(composing.ASSET_LIST_KEY)
    yield
    cache.delete(composing.ASSET_LIST_KEY)


@pytest.fixture
def author(client):
    person = UserFactory(username="alice")
    client.force_login(person)
    return person


# --- No default content type ---------------------------------------------------------------------


def test_the_compose_page_starts_with_no_content_type_chosen(client, author):
    page = client.get(reverse("feed:compose")).content.decode()
    assert '<option value="" selected>Choose a type</option>' in page
    assert 'value="analysis"' in page and 'value="analysis" selected' not in page


def test_a_post_without_a_content_type_is_refused_with_a_message_and_nothing_is_stored(client, author):
    response = client.post(reverse("feed:compose"), {"body": "$BTC reclaimed the weekly open"})
    assert response.status_code == 400
    assert "Choose a content type: it tells readers what kind of post this is." in response.content.decode()
    assert "$BTC reclaimed the weekly open" in response.content.decode()  # what was typed is kept
    assert not Post.objects.exists()


def test_the_form_alone_requires_a_content_type():
    form = ComposeForm({"body": "hello"})
    assert not form.is_valid()
    assert form.errors["content_type"] == ["Choose a content type: it tells readers what kind of post this is."]


# --- Preview -------------------------------------------------------------------------------------


def test_preview_renders_markdown_like_the_post_sanitizes_it_and_stores_nothing(client, author):
    AssetFactory(symbol="BTC", name="Bitcoin")
    body = "**Long** $BTC <script>alert(1)</script> [x](javascript:alert(1)) @alice"
    response = client.post(reverse("feed:preview"), {"body": body})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Long</strong>" in html
    assert '<a href="/assets/BTC/" class="cashtag"' in html
    assert 'class="mention"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # shown as text, never run
    assert 'href="javascript' not in html
    assert not Post.objects.exists()


def test_preview_is_a_post_with_csrf_for_signed_in_people_only(client):
    assert client.get(reverse("feed:preview")).status_code == 405
    anonymous = client.post(reverse("feed:preview"), {"body": "hi"})
    assert anonymous.status_code == 302 and reverse("account_login") in anonymous["Location"]


def test_preview_of_a_too_long_text_says_so(client, author):
    response = client.post(reverse("feed:preview"), {"body": "x" * 10_001})
    assert response.status_code == 400
    assert "the limit is 10000" in response.content.decode()


def test_preview_without_javascript_shows_the_page_again_with_the_text_kept(client, author):
    response = client.post(reverse("feed:compose"), {"body": "**Bold** idea", "preview": "1", "side": "long"})
    page = response.content.decode()
    assert response.status_code == 200
    assert '<div class="body compose-preview-body"><p><strong>Bold</strong> idea</p>' in page
    assert "**Bold** idea</textarea>" in page
    assert '<option value="long" selected>' in page
    assert "Choose a content type" not in page  # a preview is not a submission: no errors yet
    assert not Post.objects.exists()


# --- `$` and `@` autocomplete --------------------------------------------------------------------


def test_asset_autocomplete_lists_symbol_prefixes_listed_first_at_most_eight(client, author):
    AssetFactory(symbol="BTCX", name="Old Bitcoin", is_listed=False)
    for symbol in ["BTC", "BTT", "BTG", "BTCST", "BTS", "BTM", "BTN", "BTO", "BTP"]:
        AssetFactory(symbol=symbol, name=f"{symbol} coin")
    AssetFactory(symbol="ETH", name="Ethereum")
    results = client.get(reverse("feed:autocomplete_assets"), {"q": "bt"}).json()["results"]
    assert len(results) == 8
    assert all(row["listed"] for row in results)
    assert [row["symbol"] for row in results[:3]] == ["BTC", "BTG", "BTM"]  # short symbols first, then A-Z
    exact = client.get(reverse("feed:autocomplete_assets"), {"q": "BTC"}).json()["results"]
    assert [row["symbol"] for row in exact] == ["BTC", "BTCST", "BTCX"]
    assert exact[-1] == {"symbol": "BTCX", "name": "Old Bitcoin", "listed": False}


def test_asset_autocomplete_matches_names_after_symbols_and_ignores_junk(client, author):
    AssetFactory(symbol="BTC", name="Bitcoin")
    AssetFactory(symbol="BIT", name="BitDAO")
    names = client.get(reverse("feed:autocomplete_assets"), {"q": "bitc"}).json()["results"]
    assert [row["symbol"] for row in names] == ["BTC"]
    for junk in ["", "$", "b%", "比特"]:
        assert client.get(reverse("feed:autocomplete_assets"), {"q": junk}).json() == {"results": []}


def test_the_asset_list_is_read_from_the_cache_once_filled(client, author, django_assert_num_queries):
    AssetFactory(symbol="BTC", name="Bitcoin")
    composing.asset_choices("B")
    with django_assert_num_queries(0):
        assert composing.asset_choices("BT")[0]["symbol"] == "BTC"


def test_people_autocomplete_matches_username_and_followed_display_names(client, author):
    albert = UserFactory(username="albert")
    UserFactory(username="Alfred")
    UserFactory(username="bob")
    carol = UserFactory(username="carol")
    carol.profile.display_name = "Alpha Carol"
    carol.profile.save()
    FollowFactory(follower=author, followee=carol)
    FollowFactory(follower=author, followee=albert)
    results = client.get(reverse("feed:autocomplete_people"), {"q": "al"}).json()["results"]
    # People Alice follows first (by username or display name), then anyone by username; never herself.
    assert [row["username"] for row in results] == ["albert", "carol", "Alfred"]
    assert results[1]["display_name"] == "Alpha Carol"


def test_people_autocomplete_never_lists_people_blocked_either_way_or_suspended(client, author):
    blocked = UserFactory(username="alex")
    blocker = UserFactory(username="alison")
    UserFactory(username="alma", suspended_at=timezone.now())
    UserFactory(username="alvin")
    BlockFactory(user=author, target=blocked)
    BlockFactory(user=blocker, target=author)
    FollowFactory(follower=author, followee=blocked)  # a follow left over does not bring them back
    results = client.get(reverse("feed:autocomplete_people"), {"q": "AL"}).json()["results"]
    assert [row["username"] for row in results] == ["alvin"]


def test_people_autocomplete_is_capped_at_eight_and_refuses_non_names(client, author):
    for number in range(12):
        UserFactory(username=f"trader_al{number:02d}")
    assert len(client.get(reverse("feed:autocomplete_people"), {"q": "trader_al"}).json()["results"]) == 8
    for junk in ["", "@", "a b", "al%", "名字"]:
        assert client.get(reverse("feed:autocomplete_people"), {"q": junk}).json() == {"results": []}


def test_people_autocomplete_takes_two_queries(author, django_assert_num_queries):
    UserFactory(username="albert")
    # The followed people (follow index), then anyone by username (username index); profiles joined.
    with django_assert_num_queries(2):
        composing.people_choices(viewer=author, prefix="al")


def test_autocomplete_is_for_signed_in_people(client):
    for name in ["feed:autocomplete_assets", "feed:autocomplete_people"]:
        response = client.get(reverse(name), {"q": "b"})
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_the_compose_helpers_share_a_rate_limit(client, author, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "compose_assist": "2/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    window = int(time.time()) // 3600
    try:
        assert client.get(reverse("feed:autocomplete_assets"), {"q": "b"}).status_code == 200
        assert client.post(reverse("feed:preview"), {"body": "hi"}).status_code == 200
        limited = client.get(reverse("feed:autocomplete_people"), {"q": "b"})
        assert limited.status_code == 429 and "Try again in" in limited.content.decode()
    finally:
        cache.delete_many([f"ratelimit:compose_assist:{author.pk}:{window + step}" for step in (0, 1)])


# --- Trade cards from one's own fills ------------------------------------------------------------


@pytest.fixture
def btc_and_eth(db):
    return AssetFactory(symbol="BTC", name="Bitcoin"), AssetFactory(symbol="ETH", name="Ethereum")


def test_the_picker_groups_your_recent_fills_newest_first_and_shows_no_one_elses(client, author, btc_and_eth):
    now = timezone.now()
    # One BTC buy in three partial fills: one entry at their quantity-weighted price.
    for quantity, price, minutes in [("0.1", "64000", 50), ("0.3", "64100", 49), ("0.1", "64300", 48)]:
        when = now - timedelta(minutes=minutes)
        FillFactory(user=author, quantity=Decimal(quantity), price=Decimal(price), filled_at=when)
    FillFactory(user=author, instrument="ETH-USDT-SWAP", side="sell", filled_at=now - timedelta(minutes=10))
    FillFactory(user=author, instrument="BTC-USDT", filled_at=now - timedelta(days=31))  # too old
    FillFactory(user=author, instrument="BTC-USD-261225-100000-C", filled_at=now)  # an option: no card shows it
    FillFactory(user=UserFactory(), instrument="BTC-USDT", price=Decimal("1"), filled_at=now)  # someone else's
    groups = composing.recent_fill_groups(user=author)
    assert [(group.instrument, group.card_side, group.count) for group in groups] == [
        ("ETH-USDT-SWAP", "short", 1),
        ("BTC-USDT", "buy", 3),
    ]
    assert groups[1].entry_price == Decimal("64120.00000000")  # (6400 + 19230 + 6430) / 0.5
    assert groups[1].quantity == Decimal("0.5")
    page = client.get(reverse("feed:compose")).content.decode()
    assert "From my trades" in page and "ETH-USDT-SWAP" in page and f'value="{groups[1].key}"' in page
    assert "64,120" in page and "3 fills" in page
    assert "BTC-USD-261225" not in page and 'price="1"' not in page


def test_fills_far_apart_or_split_by_the_other_side_are_separate_entries(author, btc_and_eth):
    now = timezone.now()
    first = FillFactory(user=author, price=Decimal("60000"), filled_at=now - timedelta(hours=30))
    later = FillFactory(user=author, price=Decimal("62000"), filled_at=now - timedelta(hours=20))
    FillFactory(user=author, side="sell", price=Decimal("63000"), filled_at=now - timedelta(hours=10))
    last = FillFactory(user=author, price=Decimal("61000"), filled_at=now - timedelta(hours=1))
    groups = composing.recent_fill_groups(user=author)
    assert [group.fill_ids for group in groups] == [(last.pk,), groups[1].fill_ids, (later.pk,), (first.pk,)]
    # The first buy is followed by more buys before any sell: verification would match the later one.
    assert [group.verifiable for group in groups] == [True, True, True, False]


def test_choosing_a_fill_fills_in_the_card_from_the_server(client, author, btc_and_eth):
    fill = FillFactory(user=author, instrument="ETH-USDT-SWAP", price=Decimal("3101.25"), filled_at=timezone.now())
    response = client.get(reverse("feed:compose_fill"), {"fill": fill.pk})
    assert response.status_code == 200
    assert response.json() == {
        "fields": {"instrument": "ETH-USDT-SWAP", "side": "long", "entry_price": "3101.25"},
        "verifiable": True,
    }


def test_a_fill_id_of_someone_else_is_refused_and_reveals_nothing(client, author, btc_and_eth):
    theirs = FillFactory(user=UserFactory(), price=Decimal("12345"), filled_at=timezone.now())
    for fill in [theirs.pk, "999999999", "-1", "abc", "9" * 30]:
        response = client.get(reverse("feed:compose_fill"), {"fill": fill})
        assert response.status_code == 404, fill
        assert response.json() == {"message": "That is not one of your trades."}
    # The no-JavaScript form button too: a 404 page, nothing filled in, nothing published.
    response = client.post(reverse("feed:compose"), {"body": "mine now", "use_fill": str(theirs.pk)})
    assert response.status_code == 404 and "12345" not in response.content.decode()
    assert not Post.objects.exists()


def test_a_card_prefilled_from_a_fill_without_javascript_is_verified_when_published(client, author, btc_and_eth):
    now = timezone.now()
    FillFactory(user=author, quantity=Decimal("0.2"), price=Decimal("64000.3"), filled_at=now - timedelta(minutes=9))
    newest = FillFactory(
        user=author, quantity=Decimal("0.1"), price=Decimal("64150"), filled_at=now - timedelta(minutes=8)
    )
    typed = {"body": "Bought the dip on $BTC", "content_type": "trade_share"}
    page = client.post(reverse("feed:compose"), {**typed, "use_fill": str(newest.pk)}).content.decode()
    assert 'name="instrument" value="BTC-USDT"' in page
    assert '<option value="buy" selected>' in page
    assert 'name="entry_price" value="64050.2"' in page  # (12800.06 + 6415) / 0.3, as typed
    assert "Bought the dip on $BTC</textarea>" in page and '<option value="trade_share" selected>' in page
    assert not Post.objects.exists()

    response = client.post(
        reverse("feed:compose"), {**typed, "instrument": "BTC-USDT", "side": "buy", "entry_price": "64050.2"}
    )
    assert response.status_code == 302
    card = TradeCard.objects.get(post__author=author)
    assert card.is_verified and card.fills.count() == 2
    post_page = client.get(response["Location"]).content.decode()
    assert "Verified by exchange fills" in post_page


def test_a_card_typed_by_hand_still_publishes(client, author, btc_and_eth):
    response = client.post(
        reverse("feed:compose"),
        {
            "body": "Long $ETH",
            "content_type": "trade_share",
            "instrument": "eth-usdt",
            "side": "long",
            "entry_price": "3000",
        },
    )
    assert response.status_code == 302
    card = TradeCard.objects.get(post__author=author)
    assert card.instrument == "ETH-USDT" and not card.is_verified
