"""The Performance tab: PnL %, win rate and max drawdown from a creator's exchange fills only."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from creators.models import Profile
from markets import performance
from markets.models import Asset, Candle, Fill, TradingProfile
from tests.api.conftest import client_for
from tests.factories import FillFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def trade(user, instrument, side, quantity, price, *, at, fee="0", fee_currency="USDT", kind=None) -> Fill:
    extra = {"instrument_type": kind} if kind else {}
    return FillFactory(
        user=user,
        instrument=instrument,
        side=side,
        quantity=D(quantity),
        price=D(price),
        fee=D(fee),
        fee_currency=fee_currency,
        filled_at=at,
        **extra,
    )


def market_price(symbol, close, *, at):
    opened_at = at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    Candle.objects.create(
        instrument=f"{symbol}-USDT",
        bar="1H",
        opened_at=opened_at,
        open=D(close),
        high=D(close),
        low=D(close),
        close=D(close),
    )


def hand_example(user, *, now):
    # Eleven fills on three instruments, worked out by hand (amounts in USDT).
    #
    # BTC-USDT (spot)
    #   now−80d  buy  0.5 @ 50000, fee 25                → long 0.5 @ 50000, opening fees 25
    #   now−70d  sell 0.5 @ 52000, fee 26                → trade A: 0.5 × 2000 − 26 − 25 = +949, cost 25000
    #   now−40d  buy  1 @ 60000, fee 0.001 BTC (= 60)    → long 1 @ 60000, fees 60
    #   now−20d  buy  1 @ 62000, fee 62                  → long 2 @ 61000, fees 122
    #   now−10d  sell 1 @ 64000, fee 64                  → trade B: 1 × 3000 − 64 − 122 × 1/2 = +2875, cost 61000
    #   now−5d   sell 0.5 @ 59000, fee 29.5              → trade C: 0.5 × (−2000) − 29.5 − 61 × 0.5/1 = −1060,
    #                                                      cost 30500; left long 0.5 @ 61000, fees 30.5
    #   open at the market price 62000                   → unrealised: 0.5 × 1000 − 30.5 = +469.5, cost 30500
    # ETH-USDT-SWAP (perpetual, a short)
    #   now−25d  sell 10 @ 3000, fee 15                  → short 10 @ 3000, fees 15
    #   now−3d   buy  4 @ 2800, fee 5.6                  → trade D: 4 × 200 − 5.6 − 15 × 4/10 = +788.4, cost 12000
    #   now−1d   buy  6 @ 3100, fee 9.3                  → trade E: 6 × (−100) − 9.3 − 9 = −618.3, cost 18000
    # SOL-USDT (spot)
    #   now−2d   sell 1 @ 150                            → nothing bought in the history: left out (no short on
    #                                                      spot, though SOL has a market price of 120)
    # And an option fill (a premium in BTC), which performance does not count.
    #
    # 7 days: C, D, E + unrealised. PnL −1060 + 788.4 − 618.3 + 469.5 = −420.4 over cost 91000 → −0.46%.
    #   Win rate 1/3 → 33.33%. Cumulative −1060, −271.6, −889.9, −420.4 from a peak of 0: drawdown
    #   1060 / 91000 → 1.16%.
    # 30 days: B, C, D, E + unrealised. PnL 2454.6 over cost 152000 → 1.61%. Win rate 2/4 → 50.00%.
    #   Cumulative 2875, 1815, 2603.4, 1985.1, 2454.6: drawdown 1060 (from 2875) / 152000 → 0.70%.
    # 90 days: A, B, C, D, E + unrealised. PnL 3403.6 over cost 177000 → 1.92%. Win rate 3/5 → 60.00%.
    #   Cumulative 949, 3824, 2764, 3552.4, 2934.1, 3403.6: drawdown 1060 / 177000 → 0.60%.
    day = timedelta(days=1)
    trade(user, "BTC-USDT", "buy", "0.5", "50000", fee="25", at=now - 80 * day)
    trade(user, "BTC-USDT", "sell", "0.5", "52000", fee="26", at=now - 70 * day)
    trade(user, "BTC-USDT", "buy", "1", "60000", fee="0.001", fee_currency="BTC", at=now - 40 * day)
    trade(user, "BTC-USDT", "buy", "1", "62000", fee="62", at=now - 20 * day)
    trade(user, "BTC-USDT", "sell", "1", "64000", fee="64", at=now - 10 * day)
    trade(user, "BTC-USDT", "sell", "0.5", "59000", fee="29.5", at=now - 5 * day)
    trade(user, "ETH-USDT-SWAP", "sell", "10", "3000", fee="15", at=now - 25 * day)
    trade(user, "ETH-USDT-SWAP", "buy", "4", "2800", fee="5.6", at=now - 3 * day)
    trade(user, "ETH-USDT-SWAP", "buy", "6", "3100", fee="9.3", at=now - 1 * day)
    trade(user, "SOL-USDT", "sell", "1", "150", at=now - 2 * day)
    trade(user, "BTC-USD-261225-100000-C", "sell", "1", "0.05", fee_currency="BTC", kind="options", at=now - 2 * day)
    market_price("BTC", "62000", at=now)
    market_price("SOL", "120", at=now)  # would value a short, had the spot sell opened one


def figures(result):
    return [(w.days, w.trades, w.pnl_percent, w.win_rate, w.max_drawdown_percent) for w in result.windows]


def test_the_figures_match_the_hand_computed_example():
    user = UserFactory()
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    hand_example(user, now=now)
    result = performance.performance_of(user=user, now=now)
    assert result.as_of == now
    assert figures(result) == [
        (7, 3, D("-0.46"), D("33.33"), D("1.16")),
        (30, 4, D("1.61"), D("50.00"), D("0.70")),
        (90, 5, D("1.92"), D("60.00"), D("0.60")),
    ]


def test_a_window_without_trades_has_no_figures_even_with_an_open_position():
    user = UserFactory()
    now = timezone.now()
    trade(user, "BTC-USDT", "buy", "1", "60000", at=now - timedelta(days=50))
    trade(user, "BTC-USDT", "sell", "0.5", "63000", at=now - timedelta(days=20))
    market_price("BTC", "70000", at=now)
    result = performance.performance_of(user=user, now=now)
    # 30 days: 0.5 × 3000 = 1500 realised plus 0.5 × 10000 = 5000 unrealised over cost 60000.
    assert figures(result) == [
        (7, 0, None, None, None),
        (30, 1, D("10.83"), D("100.00"), D("0.00")),
        (90, 1, D("10.83"), D("100.00"), D("0.00")),
    ]


def test_the_figures_are_cached_until_the_webhook_forgets_them():
    user = UserFactory()
    now = timezone.now()
    trade(user, "BTC-USDT", "buy", "1", "100", at=now - timedelta(days=2))
    trade(user, "BTC-USDT", "sell", "1", "110", at=now - timedelta(days=1))
    assert performance.performance_of(user=user).windows[0].pnl_percent == D("10.00")
    trade(user, "BTC-USDT", "buy", "1", "100", at=now - timedelta(hours=2))
    trade(user, "BTC-USDT", "sell", "1", "70", at=now - timedelta(hours=1))
    assert performance.performance_of(user=user).windows[0].pnl_percent == D("10.00")
    performance.forget({user.pk})
    # (10 − 30) / 200 × 100
    assert performance.performance_of(user=user).windows[0].pnl_percent == D("-10.00")


# --- The tab ---------------------------------------------------------------------------------


def opted_in(user):
    """Performance is private unless its owner opts in; these tests are about the figures."""
    Profile.objects.filter(user=user).update(show_performance=True)
    return user


def performance_section(response) -> str:
    assert response.status_code == 200
    match = re.search(r'<section class="performance card".*?</section>', response.content.decode(), re.S)
    return match.group(0)


def test_the_tab_shows_the_same_figures_to_the_creator_and_to_everyone_else(client):
    creator = opted_in(UserFactory(username="whale"))
    TradingProfile.objects.create(user=creator, exchange_uid="uid-whale")
    hand_example(creator, now=timezone.now())
    url = "/@whale/performance/"
    client.force_login(creator)
    seen_by_creator = performance_section(client.get(url))
    client.logout()
    seen_by_anyone = performance_section(client.get(url))
    client.force_login(UserFactory())
    seen_by_another = performance_section(client.get(url))
    assert seen_by_creator == seen_by_anyone == seen_by_another
    for figure in ("-0.46%", "33.33%", "1.16%", "+1.61%", "50%", "0.7%", "+1.92%", "60%", "0.6%"):
        assert figure in seen_by_anyone
    assert "From exchange data only; the creator cannot edit these figures." in seen_by_anyone
    assert "Not linked" not in seen_by_anyone
    assert "<form" not in seen_by_anyone and "<input" not in seen_by_anyone


def test_the_tab_says_when_there_is_no_exchange_account_or_no_trades(client):
    opted_in(UserFactory(username="newcomer"))
    section = performance_section(client.get("/@newcomer/performance/"))
    assert "Not linked to an exchange account." in section
    linked = opted_in(UserFactory(username="holder"))
    TradingProfile.objects.create(user=linked, exchange_uid="uid-holder")
    trade(linked, "BTC-USDT", "buy", "1", "100", at=timezone.now() - timedelta(days=20))
    trade(linked, "BTC-USDT", "sell", "1", "110", at=timezone.now() - timedelta(days=10))
    section = performance_section(client.get("/@holder/performance/"))
    assert "Not linked" not in section
    assert section.count("No trades in this period") == 1  # the 7 days
    assert "+10%" in section


def test_the_tab_of_an_unknown_person_is_not_found(client):
    assert client.get("/@nobody/performance/").status_code == 404


# --- The API -----------------------------------------------------------------------------------


def test_the_api_gives_the_figures_per_window():
    creator = opted_in(UserFactory(username="whale"))
    TradingProfile.objects.create(user=creator, exchange_uid="uid-whale")
    hand_example(creator, now=timezone.now())
    body = client_for(UserFactory()).get("/api/v1/users/whale/performance/").json()
    assert body["username"] == "whale" and body["linked"] is True
    assert body["as_of"]
    assert body["windows"] == [
        {"days": 7, "trades": 3, "pnl_percent": "-0.46", "win_rate_percent": "33.33", "max_drawdown_percent": "1.16"},
        {"days": 30, "trades": 4, "pnl_percent": "1.61", "win_rate_percent": "50.00", "max_drawdown_percent": "0.70"},
        {"days": 90, "trades": 5, "pnl_percent": "1.92", "win_rate_percent": "60.00", "max_drawdown_percent": "0.60"},
    ]


def test_the_api_answers_for_someone_without_trades_and_404_for_nobody():
    anon = APIClient()
    opted_in(UserFactory(username="newcomer"))
    body = anon.get("/api/v1/users/newcomer/performance/").json()
    assert body["linked"] is False
    assert [w["pnl_percent"] for w in body["windows"]] == [None, None, None]
    assert anon.get("/api/v1/users/nobody/performance/").status_code == 404


# --- Private unless the person opts in ---------------------------------------------------------


def quiet_reader():
    """Someone who reads and trades but never posts: their figures are nobody else's business."""
    reader = UserFactory(username="quiet")
    TradingProfile.objects.create(user=reader, exchange_uid="uid-quiet")
    hand_example(reader, now=timezone.now())
    return reader


FIGURES = ("-0.46%", "33.33%", "+1.61%", "60%")


def test_performance_is_private_by_default_to_everyone_but_its_owner(client):
    reader = quiet_reader()
    for viewer in (None, UserFactory()):
        if viewer is not None:
            client.force_login(viewer)
        response = client.get("/@quiet/performance/")
        assert response.status_code == 200
        section = performance_section(response)
        assert "Quiet keeps their trading performance private." in section
        assert not any(figure in section for figure in FIGURES)
        assert "<table" not in section
    client.force_login(reader)
    own = performance_section(client.get("/@quiet/performance/"))
    assert all(figure in own for figure in FIGURES)
    assert "Only you can see these figures." in own


def test_the_api_refuses_private_performance_with_a_message_and_shows_the_owner_theirs():
    reader = quiet_reader()
    for client in (APIClient(), client_for(UserFactory())):
        response = client.get("/api/v1/users/quiet/performance/")
        assert response.status_code == 403
        assert response.json()["message"] == "@quiet keeps their trading performance private."
    own = client_for(reader).get("/api/v1/users/quiet/performance/")
    assert own.status_code == 200 and own.json()["windows"][2]["trades"] == 5


def test_opting_in_in_profile_settings_shows_the_figures_to_others_and_opting_out_hides_them(client):
    reader = quiet_reader()
    client.force_login(reader)
    form = {"display_name": "Quiet", "bio": "", "language": "en"}
    assert client.post("/settings/profile/", {**form, "show_performance": "on"}).status_code == 302
    client.logout()
    assert all(figure in performance_section(client.get("/@quiet/performance/")) for figure in FIGURES)
    client.force_login(reader)
    page = client.get("/settings/profile/").content.decode()
    assert box_is_ticked(page)
    client.post("/settings/profile/", form)  # an unticked box is absent from the form
    client.logout()
    assert "keeps their trading performance private" in performance_section(client.get("/@quiet/performance/"))


def test_opting_in_through_the_api_and_reading_it_back():
    reader = quiet_reader()
    as_reader = client_for(reader)
    response = as_reader.patch("/api/v1/me/", {"show_performance": True}, format="json")
    assert response.status_code == 200 and response.json()["show_performance"] is True
    assert APIClient().get("/api/v1/users/quiet/performance/").status_code == 200
    as_reader.patch("/api/v1/me/", {"show_performance": False}, format="json")
    assert APIClient().get("/api/v1/users/quiet/performance/").status_code == 403


def test_is_public_is_the_one_rule_owner_always_others_only_after_opting_in():
    owner, other = UserFactory(), UserFactory()
    owner = type(owner).objects.select_related("profile").get(pk=owner.pk)
    assert performance.is_public(owner, owner) and not performance.is_public(owner, other)
    assert not performance.is_public(owner, None)
    opted_in(owner)
    owner.profile.refresh_from_db()
    assert performance.is_public(owner, other) and performance.is_public(owner, None)


# --- Asked when attaching a trade card ---------------------------------------------------------


def box_is_ticked(page: str) -> bool | None:
    """Whether the page's show_performance checkbox is ticked; None when there is none."""
    box = re.search(r'<input[^>]*name="show_performance"[^>]*>', page)
    return None if box is None else " checked" in box.group(0)


CARD_FIELDS = {"instrument": "BTC-USDT", "side": "long", "entry_price": "64250.5"}


def compose(client, **fields):
    return client.post("/compose/", {"body": "Long $BTC here", "content_type": "trade_share", **fields})


@pytest.fixture
def btc():
    return Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})[0]


def test_the_compose_page_asks_only_authors_who_keep_performance_private(client):
    author = UserFactory()
    client.force_login(author)
    page = client.get("/compose/").content.decode()
    assert "Show my verified trading performance on my profile" in page
    assert box_is_ticked(page) is False
    opted_in(author)
    assert box_is_ticked(client.get("/compose/").content.decode()) is None


def test_ticking_the_box_with_a_trade_card_opts_in_and_leaving_it_does_not(client, btc):
    ticked, unticked = UserFactory(), UserFactory()
    client.force_login(unticked)
    assert compose(client, **CARD_FIELDS).status_code == 302
    client.force_login(ticked)
    assert compose(client, **CARD_FIELDS, show_performance="on").status_code == 302
    shown = dict(Profile.objects.filter(user__in=[ticked, unticked]).values_list("user_id", "show_performance"))
    assert shown == {ticked.pk: True, unticked.pk: False}


def test_the_box_without_a_trade_card_changes_nothing(client, btc):
    author = UserFactory()
    client.force_login(author)
    assert compose(client, show_performance="on").status_code == 302
    assert Profile.objects.get(user=author).show_performance is False


def test_the_api_post_create_opts_in_only_when_asked_with_a_trade_card(btc):
    author = UserFactory()
    api = client_for(author)
    post = {"body": "Long $BTC", "content_type": "trade_share", "trade_card": CARD_FIELDS}
    assert api.post("/api/v1/posts/", post, format="json").status_code == 201
    assert Profile.objects.get(user=author).show_performance is False
    assert api.post("/api/v1/posts/", {**post, "show_performance": True}, format="json").status_code == 201
    assert Profile.objects.get(user=author).show_performance is True
