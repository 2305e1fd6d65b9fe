"""Market data: the OKX client against a local fake server, the poll, quotes and price charts."""

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone

from feed import prices
from feed.models import Call, Post, TradeCard
from feed.tasks import poll_market_data
from markets import market_data
from markets.models import Asset, Candle
from tests.factories import PostFactory
from tests.markets.okx_fake import bar_start, closed_port_url, hourly_rows, millis
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db


def asset(symbol: str, *, listed: bool = True) -> Asset:
    listed_asset, _ = Asset.objects.update_or_create(symbol=symbol, defaults={"name": symbol, "is_listed": listed})
    return listed_asset


def post_naming(*symbols: str, age: timedelta = timedelta(hours=1), **fields) -> Post:
    post = PostFactory(body=" ".join(f"${symbol}" for symbol in symbols), **fields)
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - age)
    post.assets.add(*(asset(symbol) for symbol in symbols))
    return post


def call_on(symbol: str, *, status: str = Call.Status.OPEN) -> Call:
    post = PostFactory(body=f"${symbol} call")
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(days=30))
    made_at = timezone.now() - timedelta(days=30)
    return Call.objects.create(
        post=post,
        author=post.author,
        asset=asset(symbol),
        direction=Call.Direction.UP,
        target_price=Decimal("100"),
        made_at=made_at,
        horizon_at=made_at + timedelta(days=60),
        status=status,
        graded_at=None if status == Call.Status.OPEN else made_at + timedelta(days=1),
    )


def candle(instrument: str, opened_at: datetime, close: str) -> Candle:
    price = Decimal(close)
    return Candle.objects.create(
        instrument=instrument, bar="1H", opened_at=opened_at, open=price, high=price, low=price, close=price
    )


# --- Fetching and storing ------------------------------------------------------------------


def test_fetched_candles_are_stored_with_exact_decimal_prices(okx_server):
    newest = bar_start(timezone.now())
    okx_server.set_candles(
        "BTC-USDT",
        [
            [millis(newest), "64250.1", "64300.123456789012", "64100", "64280.5", "12.75", "0", "0", "0"],
            [millis(newest - timedelta(hours=1)), "64000", "64260", "63990.01", "64250.1", "3", "0", "0", "1"],
        ],
    )

    rows = market_data.fetch_candles("BTC-USDT", limit=2)
    assert market_data.store_candles("BTC-USDT", rows) == 2

    open_bar = Candle.objects.get(instrument="BTC-USDT", opened_at=newest)
    assert (open_bar.open, open_bar.high, open_bar.low, open_bar.close, open_bar.volume) == (
        Decimal("64250.1"),
        Decimal("64300.123456789012"),
        Decimal("64100"),
        Decimal("64280.5"),
        Decimal("12.75"),
    )
    assert open_bar.bar == "1H" and open_bar.is_closed is False
    assert Candle.objects.get(opened_at=newest - timedelta(hours=1)).is_closed is True
    assert okx_server.requests[0]["params"] == {"instId": "BTC-USDT", "bar": "1H", "limit": "2"}
    assert market_data.latest_close("BTC") == Decimal("64280.5")


def test_a_later_poll_updates_the_open_bar_instead_of_adding_a_duplicate(okx_server):
    post_naming("ETH")
    newest = bar_start(timezone.now())
    okx_server.add_hourly("ETH-USDT", closes=["3000", "3010"], newest_at=newest)
    assert prices.poll_discussed_assets()["stored"] == 2

    # The open bar moved and closed; the API now also has the next one.
    okx_server.set_candles(
        "ETH-USDT",
        [
            [millis(newest + timedelta(hours=1)), "3020", "3030", "3015", "3025", "1", "0", "0", "0"],
            [millis(newest), "3000", "3040", "2990", "3020", "9", "0", "0", "1"],
            *hourly_rows(["3000"], newest_at=newest - timedelta(hours=1), newest_open=False),
        ],
    )
    summary = prices.poll_discussed_assets(now=timezone.now() + timedelta(hours=1))

    assert summary == {"instruments": 1, "stored": 3, "failed": [], "skipped": []}
    assert Candle.objects.filter(instrument="ETH-USDT").count() == 3
    updated = Candle.objects.get(instrument="ETH-USDT", opened_at=newest)
    assert (updated.close, updated.high, updated.is_closed) == (Decimal("3020"), Decimal("3040"), True)


def test_server_errors_are_retried_until_the_api_answers(okx_server):
    okx_server.add_hourly("SOL-USDT", closes=["150", "151"])
    okx_server.respond("http_500_then_ok", failures=2)

    rows = market_data.fetch_candles("SOL-USDT")

    assert [row.close for row in rows] == [Decimal("151"), Decimal("150")]
    assert len(okx_server.requests) == 3


def test_too_many_requests_waits_as_long_as_retry_after_says(okx_server):
    okx_server.add_hourly("SOL-USDT", closes=["150"])
    okx_server.respond("http_429_then_ok", failures=1, retry_after=1)

    started = time.monotonic()
    rows = market_data.fetch_candles("SOL-USDT")

    assert len(rows) == 1
    first, second = okx_server.requests
    assert second["at"] - first["at"] >= 0.95
    assert time.monotonic() - started < 3


def test_errors_that_outlast_the_retries_fail_the_instrument_not_the_poll(okx_server, caplog):
    post_naming("SOL")
    okx_server.respond("http_500_then_ok", failures=10)

    with caplog.at_level(logging.WARNING, logger="markets.market_data"):
        summary = prices.poll_discussed_assets()

    assert summary["failed"] == ["SOL-USDT"]
    assert len(okx_server.requests) == 3  # one try and two retries (ORBIT_MARKET_DATA_RETRIES)
    assert "SOL-USDT" in caplog.text
    assert not Candle.objects.exists()


def test_a_down_api_fails_the_poll_quietly_and_gives_up_after_a_few_instruments(settings, caplog):
    settings.ORBIT_MARKET_DATA_URL = closed_port_url()
    settings.ORBIT_MARKET_DATA_TIMEOUT = 0.5
    settings.ORBIT_MARKET_DATA_RETRIES = 1
    for number, symbol in enumerate(["BTC", "ETH", "SOL", "XRP", "ADA"]):
        for _ in range(5 - number):  # BTC most discussed, ADA least
            post_naming(symbol)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="markets.market_data"):
        summary = prices.poll_discussed_assets()

    assert summary["failed"] == ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
    assert summary["skipped"] == ["XRP-USDT", "ADA-USDT"]
    assert summary["stored"] == 0 and summary["instruments"] == 5
    assert "unreachable" in caplog.text
    assert time.monotonic() - started < 5


def test_a_slow_api_times_out_within_the_configured_bound(okx_server):
    post_naming("BTC")
    okx_server.add_hourly("BTC-USDT", closes=["64000"])
    okx_server.respond("slow", delay=3)

    started = time.monotonic()
    summary = prices.poll_discussed_assets()
    elapsed = time.monotonic() - started

    # Two tries of a 0.5 s read timeout (a timed-out read is retried once), not the 3 s answer.
    assert summary["failed"] == ["BTC-USDT"]
    assert elapsed < 2.5
    assert len(okx_server.requests) == 2
    assert not Candle.objects.exists()


def test_a_poll_stops_when_its_interval_is_spent(okx_server, settings):
    settings.ORBIT_MARKET_POLL_SECONDS = 1  # four fifths of it for fetching: 0.8 s
    symbols = ["BTC", "ETH", "SOL", "XRP", "ADA", "DOT"]
    for number, symbol in enumerate(symbols):
        for _ in range(len(symbols) - number):
            post_naming(symbol)
        okx_server.add_hourly(f"{symbol}-USDT", closes=["1"])
    okx_server.respond("slow", delay=0.3)  # within the 0.5 s timeout: slow but answering

    started = time.monotonic()
    summary = prices.poll_discussed_assets()

    fetched = len(okx_server.requests)
    assert 2 <= fetched <= 4
    assert summary["failed"] == []
    assert summary["skipped"] == [f"{symbol}-USDT" for symbol in symbols[fetched:]]
    assert summary["stored"] == fetched
    assert time.monotonic() - started < 1.5


def test_an_okx_error_code_is_logged_clearly_and_stores_nothing(okx_server, caplog):
    post_naming("NOPE")
    okx_server.respond("error_code")

    with caplog.at_level(logging.WARNING, logger="markets.market_data"):
        summary = prices.poll_discussed_assets()
        with pytest.raises(market_data.MarketDataError, match="51001: Instrument ID does not exist"):
            market_data.fetch_candles("NOPE-USDT")

    assert summary["failed"] == ["NOPE-USDT"]
    assert "OKX error 51001: Instrument ID does not exist" in caplog.text
    assert not Candle.objects.exists()


def test_an_answer_that_is_not_json_fails_that_instrument_only(okx_server):
    post_naming("BTC")
    post_naming("ETH")
    okx_server.add_hourly("ETH-USDT", closes=["3000"])
    okx_server.respond("malformed", inst_id="BTC-USDT")

    summary = prices.poll_discussed_assets()

    assert summary["failed"] == ["BTC-USDT"]
    assert list(Candle.objects.values_list("instrument", "close")) == [("ETH-USDT", Decimal("3000"))]


def test_bad_bars_are_skipped_with_a_reason_and_good_ones_kept(okx_server, caplog):
    newest = bar_start(timezone.now())
    good = [millis(newest), "10", "11", "9", "10.5", "100", "0", "0", "1"]
    okx_server.set_candles(
        "DOGE-USDT",
        [
            [millis(newest + timedelta(days=2)), "10", "11", "9", "10", "1", "0", "0", "1"],  # in the future
            [millis(newest - timedelta(hours=1)), "10", "9", "11", "10", "1", "0", "0", "1"],  # low above high
            [millis(newest - timedelta(hours=2)), "-1", "11", "-2", "10", "1", "0", "0", "1"],  # negative
            [millis(newest - timedelta(hours=3)), "NaN", "11", "9", "10", "1", "0", "0", "1"],
            [millis(newest - timedelta(hours=4)), "ten", "11", "9", "10", "1", "0", "0", "1"],
            "not a row",
            [millis(newest - timedelta(hours=5)), "10"],
            # Rounds to zero at the 12 decimals stored; beyond the 20 integer digits stored.
            [millis(newest - timedelta(hours=6)), "1e-30", "1e-30", "1e-30", "1e-30", "1", "0", "0", "1"],
            [millis(newest - timedelta(hours=7)), "1e25", "1e25", "1e25", "1e25", "1", "0", "0", "1"],
            ["1", "10", "11", "9", "10", "1", "0", "0", "1"],  # 1970
            [millis(newest - timedelta(hours=8)), "0.12345678901249", "0.2", "0.1", "0.2", "1", "0", "0", "1"],
            good,
        ],
    )

    with caplog.at_level(logging.WARNING, logger="markets.market_data"):
        rows = market_data.fetch_candles("DOGE-USDT")
        market_data.store_candles("DOGE-USDT", rows)

    assert list(Candle.objects.order_by("opened_at").values_list("opened_at", "open", "close")) == [
        (newest - timedelta(hours=8), Decimal("0.123456789012"), Decimal("0.2")),
        (newest, Decimal("10"), Decimal("10.5")),
    ]
    assert caplog.text.count("skipped bar") == 10
    assert "open/close outside low..high" in caplog.text
    assert "not a past bar" in caplog.text


# --- What the poll asks for ----------------------------------------------------------------


def test_only_assets_discussed_this_week_are_polled(okx_server):
    post_naming("BTC")
    post_naming("OLD", age=timedelta(days=8))
    post_naming("USDT")
    post_naming("HIDE", status=Post.Status.HIDDEN)
    asset("DELIST", listed=False)
    post_naming("DELIST")
    Asset.objects.filter(symbol="DELIST").update(is_listed=False)
    call_on("CALL")
    call_on("DONE", status=Call.Status.HIT)
    TradeCard.objects.create(
        post=post_naming("BTC"), instrument="ETH-USDT-SWAP", side="long", entry_price=Decimal("3000")
    )

    summary = prices.poll_discussed_assets()

    polled = {request["params"]["instId"] for request in okx_server.requests}
    # BTC is named twice, so it goes first.
    assert okx_server.requests[0]["params"]["instId"] == "BTC-USDT"
    assert polled == {"BTC-USDT", "CALL-USDT", "ETH-USDT"}
    assert summary["instruments"] == 3


def test_a_poll_asks_for_days_of_bars_once_then_only_the_recent_ones(okx_server):
    post_naming("BTC")
    okx_server.add_hourly("BTC-USDT", closes=[str(60000 + hour) for hour in range(100)])

    prices.poll_discussed_assets()
    prices.poll_discussed_assets()
    prices.poll_discussed_assets(now=timezone.now() + timedelta(hours=5))

    assert [request["params"]["limit"] for request in okx_server.requests] == ["100", "3", "7"]
    assert Candle.objects.count() == 100


def test_the_poll_is_capped_to_the_most_discussed_assets(okx_server, monkeypatch):
    monkeypatch.setattr(market_data, "MAX_INSTRUMENTS_PER_POLL", 2)
    for symbol, posts in [("BTC", 3), ("ETH", 1), ("SOL", 2)]:
        for _ in range(posts):
            post_naming(symbol)

    summary = prices.poll_discussed_assets()

    assert [request["params"]["instId"] for request in okx_server.requests] == ["BTC-USDT", "SOL-USDT"]
    assert summary["instruments"] == 2


def test_an_empty_market_data_url_turns_polling_off(okx_server, settings):
    post_naming("BTC")
    settings.ORBIT_MARKET_DATA_URL = ""

    assert prices.poll_discussed_assets() == {"disabled": True}
    assert okx_server.requests == []


def test_backfill_pages_back_through_history_until_the_time_asked_for(okx_server):
    newest = bar_start(timezone.now())
    okx_server.add_hourly("BTC-USDT", closes=[str(50000 + hour) for hour in range(250)], newest_at=newest)

    written = market_data.backfill("BTC", since=newest - timedelta(hours=150))

    history = [request for request in okx_server.requests if request["path"].endswith("/history-candles")]
    assert len(history) == 2
    assert "after" not in history[0]["params"]
    assert history[1]["params"]["after"] == millis(newest - timedelta(hours=99))
    assert written == Candle.objects.count() == 200
    assert market_data.price_at("BTC", newest - timedelta(hours=150, minutes=-30)) == Decimal(50000 + 99)


# --- Quotes --------------------------------------------------------------------------------


def test_quotes_give_the_last_price_the_day_change_and_the_days_closes():
    newest = bar_start(timezone.now())
    closes = {hours_ago: Decimal(2000 + 10 * (24 - hours_ago)) for hours_ago in range(26)}
    for hours_ago, close in closes.items():
        candle("ETH-USDT", newest - timedelta(hours=hours_ago), str(close))
    candle("BTC-USDT", newest - timedelta(hours=3), "60000")  # a day ago is missing
    candle("SOL-USDT", newest - timedelta(days=9), "150")  # too old to quote

    found = market_data.quotes(["eth", "BTC", "SOL", "USDT", "NONE"])

    eth = found["ETH"]
    assert eth.last == Decimal("2240") and eth.as_of == newest
    # (2240 - 2000) / 2000 = +12%
    assert eth.change_24h_percent == Decimal("12.00")
    assert eth.closes == tuple(closes[hours_ago] for hours_ago in range(23, -1, -1))
    assert len(eth.closes) == 24
    btc = found["BTC"]
    assert (btc.last, btc.change_24h_percent, btc.closes) == (Decimal("60000"), None, (Decimal("60000"),))
    assert btc.as_of == newest - timedelta(hours=3) and btc.is_stale
    assert set(found) == {"ETH", "BTC"}


def test_a_fall_over_the_day_is_a_negative_change_rounded_to_hundredths():
    newest = bar_start(timezone.now())
    candle("XRP-USDT", newest - timedelta(hours=24), "0.6")
    candle("XRP-USDT", newest, "0.5861")

    quote = market_data.quotes(["XRP"])["XRP"]

    # (0.5861 - 0.6) / 0.6 = -2.31666…%
    assert quote.change_24h_percent == Decimal("-2.32")
    assert not quote.is_stale


def test_quotes_for_many_assets_take_one_query(django_assert_num_queries):
    newest = bar_start(timezone.now())
    symbols = [f"COIN{number}" for number in range(30)]
    for symbol in symbols:
        candle(market_data.instrument_for(symbol), newest, "1.5")

    with django_assert_num_queries(1):
        found = market_data.quotes(symbols)

    assert len(found) == 30


def _page_posts():
    return list(
        Post.objects.select_related("trade_card", "call__asset").order_by("pk"),
    )


def test_a_page_of_posts_gets_its_card_and_call_quotes_in_one_query(django_assert_num_queries):
    newest = bar_start(timezone.now())
    candle("ETH-USDT", newest, "3100")
    candle("BTC-USDT", newest, "64000")
    plain = post_naming("BTC")
    with_card = post_naming("ETH")
    TradeCard.objects.create(post=with_card, instrument="ETH-USDT-SWAP", side="long", entry_price=Decimal("3000"))
    with_call = call_on("BTC").post
    no_market = post_naming("NEW")
    TradeCard.objects.create(post=no_market, instrument="NEW-USDT", side="buy", entry_price=Decimal("1"))
    posts = _page_posts()

    # One query: the quotes of ETH, BTC and NEW together.
    with django_assert_num_queries(1):
        prices.attach_quotes(posts)

    by_id = {post.pk: post for post in posts}
    assert by_id[with_card.pk].trade_card.quote.last == Decimal("3100")
    assert by_id[with_call.pk].call.quote.last == Decimal("64000")
    assert by_id[no_market.pk].trade_card.quote is None
    assert not hasattr(by_id[plain.pk], "quote")


def test_a_page_without_cards_or_calls_costs_no_query(django_assert_num_queries):
    candle("BTC-USDT", bar_start(timezone.now()), "64000")
    post_naming("BTC")
    post_naming("ETH")
    posts = _page_posts()

    with django_assert_num_queries(0):
        prices.attach_quotes(posts)


# --- Charts and pages ----------------------------------------------------------------------


def _quote(closes, *, symbol="BTC", change="1.5"):
    closes = tuple(Decimal(close) for close in closes)
    return market_data.Quote(
        symbol=symbol,
        last=closes[-1],
        as_of=bar_start(timezone.now()),
        change_24h_percent=None if change is None else Decimal(change),
        closes=closes,
    )


def render(source: str, **context) -> str:
    return Template("{% load markets %}" + source).render(Context(context))


def test_the_chart_draws_one_point_per_close_inside_its_box():
    closes = [str(100 + (hour % 5)) for hour in range(24)]
    svg = render("{% price_chart quote %}", quote=_quote(closes))

    points = re.search(r'<polyline[^>]* points="([^"]+)"', svg).group(1).split()
    assert len(points) == 24
    xs, ys = zip(*((float(x), float(y)) for x, y in (point.split(",") for point in points)), strict=True)
    assert min(xs) >= 0 and max(xs) <= 120 and min(ys) >= 0 and max(ys) <= 32
    # The highest close is drawn at the top, the lowest at the bottom.
    assert ys[4] == min(ys) and ys[0] == max(ys)
    assert 'viewBox="0 0 120 32"' in svg and "price-chart-up" in svg
    assert "<title>BTC hourly closes: from 100 to 103 (low 100, high 104)</title>" in svg
    assert "style=" not in svg and "<script" not in svg


def test_a_falling_chart_is_marked_down_and_sized_as_asked():
    svg = render("{% price_chart quote width=600 height=160 %}", quote=_quote(["3", "2", "1"]))
    assert "price-chart-down" in svg and 'width="600" height="160"' in svg


def test_the_chart_escapes_the_symbol_and_skips_a_single_point():
    svg = render("{% price_chart quote %}", quote=_quote(["1", "2"], symbol='<script>"x"</script>'))
    assert "<script>" not in svg and "&lt;script&gt;&quot;x&quot;" in svg
    assert render("{% price_chart quote %}", quote=_quote(["1"])).strip() == ""
    assert render("{% price_chart quote %}", quote=None).strip() == ""


def test_the_quote_block_shows_price_signed_change_and_chart():
    html = Template('{% include "includes/market_quote.html" with quote=quote %}').render(
        Context({"quote": _quote(["64000", "64250.5"], change="-2.5")})
    )
    assert "64,250.5" in html and "USDT" in html
    assert 'class="market-change market-down"' in html and "-2.5%" in html
    assert "<polyline" in html
    rising = Template('{% include "includes/market_quote.html" with quote=quote %}').render(
        Context({"quote": _quote(["1", "2"], change="3")})
    )
    assert "+3%" in rising and "market-up" in rising
    assert Template('{% include "includes/market_quote.html" with quote=None %}').render(Context()).strip() == ""


def test_the_asset_page_shows_the_price_and_the_candlestick_chart(client):
    newest = bar_start(timezone.now())
    for hours_ago in range(25):
        candle("BTC-USDT", newest - timedelta(hours=hours_ago), str(64000 - 100 * hours_ago))
    post_naming("BTC")

    page = client.get("/assets/BTC/").content.decode()

    assert "64,000" in page
    # (64000 - 61600) / 61600 = +3.896…%
    assert "+3.9%" in page
    # The candles come from their own endpoint; the page only says where.
    assert 'data-candles-url="/assets/BTC/candles/"' in page


def test_the_asset_page_says_when_there_is_no_price(client):
    asset("BTC")
    page = client.get("/assets/BTC/").content.decode()
    assert "Price data unavailable right now." in page
    assert "<polyline" not in page


# --- The task through a real worker --------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_poll_task_run_by_a_worker_stores_candles(okx_server, celery_worker):
    post_naming("BTC")
    okx_server.add_hourly("BTC-USDT", closes=["64000", "64100", "64200"])

    result = poll_market_data.delay()

    assert result.get(timeout=10) == {"instruments": 1, "stored": 3, "failed": [], "skipped": []}
    assert wait_for(lambda: Candle.objects.filter(instrument="BTC-USDT").count() == 3)
    assert market_data.latest_close("BTC") == Decimal("64200")


def test_timestamps_are_read_as_utc_bar_openings(okx_server):
    okx_server.set_candles("BTC-USDT", [["1700000000000", "1", "1", "1", "1", "0", "0", "0", "1"]])
    (row,) = market_data.fetch_candles("BTC-USDT")
    assert row.opened_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
