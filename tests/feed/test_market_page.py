"""The asset's market page: chart data with the community's markers, the live price, votes and tabs."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feed import asset_votes, calls, market_page
from feed.models import AssetVote, Call, Post
from markets import charts
from markets.models import Candle
from tests.concurrency import race
from tests.factories import (
    AssetVoteFactory,
    BlockFactory,
    CommentFactory,
    LikeFactory,
    MuteFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def hours_ago(hours: float):
    return timezone.now() - timedelta(hours=hours)


@pytest.fixture
def candles(btc):
    """300 hourly BTC bars up to the current hour: the hourly chart's window starts 199 hours back."""
    newest = charts.bucket_start(timezone.now(), charts.timeframe_of("1h"))
    return Candle.objects.bulk_create(
        [
            Candle(
                instrument="BTC-USDT",
                bar="1H",
                opened_at=newest - timedelta(hours=hour),
                open=Decimal("64000") + hour,
                high=Decimal("64100") + hour,
                low=Decimal("63900") + hour,
                close=Decimal("64050") + hour,
                volume=Decimal("10"),
            )
            for hour in range(300)
        ]
    )


def post_about(asset, *, hours: float, body: str | None = None, **fields) -> Post:
    post = PostFactory(body=body or f"${asset.symbol} looks heavy here", created_at=hours_ago(hours), **fields)
    post.assets.add(asset)
    return post


def call_on(asset, *, hours: float, direction=Call.Direction.UP, status=Call.Status.OPEN, author=None) -> Call:
    post = PostFactory(
        body=f"${asset.symbol} call", created_at=hours_ago(hours), **({"author": author} if author else {})
    )
    made_at = post.created_at
    graded = {} if status == Call.Status.OPEN else {"graded_at": made_at + timedelta(days=2)}
    return Call.objects.create(
        post=post,
        author=post.author,
        asset=asset,
        direction=direction,
        target_price=Decimal("70000") if direction == Call.Direction.UP else Decimal("50000"),
        entry_price=Decimal("64000"),
        made_at=made_at,
        horizon_at=made_at + timedelta(days=1),
        status=status,
        **graded,
    )


def candles_json(client, symbol="BTC", tf="1h"):
    response = client.get(reverse("feed:asset_candles", args=[symbol]), {"tf": tf})
    return response, json.loads(response.content)


# --- The chart endpoint ------------------------------------------------------------------------


def test_the_chart_endpoint_answers_candles_of_the_timeframe_and_markers_at_their_bar(client, btc, candles):
    post = post_about(btc, hours=5.5)
    call = call_on(btc, hours=30, direction=Call.Direction.DOWN)
    response, data = candles_json(client, tf="4h")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    four_hours = charts.timeframe_of("4h")
    assert data["timeframe"] == "4h" and data["symbol"] == "BTC"
    assert [bar["time"] for bar in data["candles"]] == [
        int(bar.opened_at.timestamp()) for bar in charts.bars("BTC", four_hours)
    ]
    assert set(data["candles"][0]) == {"time", "open", "high", "low", "close", "volume"}
    post.refresh_from_db()
    call.post.refresh_from_db()
    # Oldest first, each at the start of the 4-hour bar holding it.
    assert [(m["id"], m["kind"], m["direction"], m["time"], m["bar_time"]) for m in data["markers"]] == [
        (
            str(call.pk),
            "call",
            "down",
            int(call.post.created_at.timestamp()),
            int(charts.bucket_start(call.post.created_at, four_hours).timestamp()),
        ),
        (
            str(post.pk),
            "post",
            None,
            int(post.created_at.timestamp()),
            int(charts.bucket_start(post.created_at, four_hours).timestamp()),
        ),
    ]
    assert data["markers"][1]["url"] == reverse("feed:post", args=[post.pk])
    assert data["markers"][1]["author"] == post.author.username


def test_markers_list_only_visible_posts_inside_the_chart_window(client, btc, eth, candles):
    shown = post_about(btc, hours=2)
    post_about(btc, hours=3, status=Post.Status.HIDDEN)
    post_about(btc, hours=4, status=Post.Status.DELETED)
    suspended = post_about(btc, hours=5)
    type(suspended.author).objects.filter(pk=suspended.author_id).update(suspended_at=timezone.now())
    post_about(btc, hours=250)  # before the hourly window (199 hours back)
    post_about(eth, hours=2)  # another asset
    PostFactory(body="no cashtag", created_at=hours_ago(2))
    hit = call_on(btc, hours=20, status=Call.Status.HIT)
    _, data = candles_json(client)
    assert [marker["id"] for marker in data["markers"]] == [str(hit.pk), str(shown.pk)]
    assert data["markers"][0]["status"] == "hit"
    # The weekly chart reaches back two years: the older post is on it too.
    _, weekly = candles_json(client, tf="1w")
    assert len(weekly["markers"]) == 3


def test_markers_leave_out_authors_the_signed_in_viewer_blocked_or_muted(client, btc, candles):
    viewer = UserFactory()
    blocked, muted, shown = (post_about(btc, hours=hours) for hours in (2, 3, 4))
    BlockFactory(user=viewer, target=blocked.author)
    MuteFactory(user=viewer, target=muted.author)
    client.force_login(viewer)
    _, data = candles_json(client)
    assert [marker["id"] for marker in data["markers"]] == [str(shown.pk)]


def test_an_excerpt_is_plain_text_cut_short_and_never_markup_in_the_json(client, btc, candles):
    body = "<script>alert('x')</script> **Bold** $BTC & friends " + "word " * 60
    post = post_about(btc, hours=2, body=body)
    response, data = candles_json(client)
    raw = response.content.decode()
    assert "<script>" not in raw and "</script>" not in raw
    excerpt = data["markers"][0]["excerpt"]
    assert excerpt.startswith("<script>alert('x')</script> Bold $BTC & friends word")
    assert len(excerpt) <= market_page.EXCERPT_CHARS and excerpt.endswith("…")
    assert data["markers"][0]["id"] == str(post.pk)


def test_the_chart_endpoint_refuses_an_unknown_timeframe_or_asset_with_a_message(client, btc):
    response, data = candles_json(client, tf="5m")
    assert response.status_code == 400 and "1h, 4h, 1d, 1w" in data["error"]
    response, data = candles_json(client, symbol="NOPE")
    assert response.status_code == 404 and "NOPE" in data["error"]


def test_an_asset_without_candles_has_no_candles_and_no_markers(client, btc):
    post_about(btc, hours=1)
    response, data = candles_json(client)
    assert response.status_code == 200 and data["candles"] == [] and data["markers"] == []


# --- Votes -------------------------------------------------------------------------------------


def test_a_vote_changes_during_the_day_and_a_new_day_gets_a_new_vote(btc):
    reader = UserFactory()
    morning = timezone.now().replace(hour=1, minute=0)
    asset_votes.vote_on_asset(user=reader, asset=btc, direction="bull", now=morning)
    asset_votes.vote_on_asset(user=reader, asset=btc, direction="bear", now=morning + timedelta(hours=20))
    assert list(AssetVote.objects.values_list("day", "direction")) == [(morning.date(), "bear")]
    asset_votes.vote_on_asset(user=reader, asset=btc, direction="bull", now=morning + timedelta(days=1))
    assert AssetVote.objects.filter(user=reader).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_racing_votes_of_one_reader_leave_one_row(btc):
    reader = UserFactory()
    directions = iter(["bull", "bear"])
    lock = threading.Lock()

    def vote():
        with lock:
            direction = next(directions)
        asset_votes.vote_on_asset(user=reader, asset=btc, direction=direction)

    assert race(vote, racers=2) == ["created", "created"]  # neither racer saw an error
    assert AssetVote.objects.filter(user=reader, asset=btc).count() == 1


def test_todays_split_counts_only_today_and_knows_the_viewers_vote(btc):
    reader = UserFactory()
    today = asset_votes.vote_day()
    AssetVoteFactory.create_batch(2, asset=btc, day=today, direction="bull")
    AssetVoteFactory(asset=btc, day=today, direction="bear", user=reader)
    AssetVoteFactory(asset=btc, day=today - timedelta(days=1), direction="bear")
    split = asset_votes.vote_split(asset=btc, viewer=reader)
    assert (split.bullish, split.bearish, split.total, split.mine) == (2, 1, 3, "bear")
    assert (split.bullish_percent, split.bearish_percent) == (67, 33)
    empty = asset_votes.vote_split(asset=btc, viewer=None)
    assert empty.mine is None
    assert asset_votes.vote_split(asset=type(btc).objects.create(symbol="XRP", name="XRP")).bullish_percent is None


def test_voting_through_the_page_swaps_in_the_new_split(client, btc):
    reader = UserFactory()
    client.force_login(reader)
    url = reverse("feed:asset_vote", args=["BTC"])
    response = client.post(url, {"direction": "bull"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="vote-bull"' in page and "100% bullish" in page and "1 vote today" in page
    assert 'value="bull" aria-pressed="true"' in page
    response = client.post(url, {"direction": "sideways"}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "Choose bullish or bearish." in response.content.decode()
    assert client.post(url, {"direction": "bear"}).status_code == 302  # without HTMX, back to the page
    assert AssetVote.objects.get(user=reader).direction == "bear"


def test_signed_out_readers_are_asked_to_log_in_to_vote(client, btc):
    page = client.get(reverse("feed:asset", args=["BTC"])).content.decode()
    assert "Log in to vote" in page and 'id="vote-bull"' not in page
    response = client.post(reverse("feed:asset_vote", args=["BTC"]), {"direction": "bull"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not AssetVote.objects.exists()


def test_a_suspended_reader_cannot_vote(client, btc):
    reader = UserFactory(suspended_at=timezone.now())
    client.force_login(reader)
    response = client.post(reverse("feed:asset_vote", args=["BTC"]), {"direction": "bull"})
    assert response.status_code == 403 and not AssetVote.objects.exists()


# --- The live price ----------------------------------------------------------------------------


def test_the_quote_fragment_shows_last_price_24h_range_volume_and_keeps_polling(client, btc, candles):
    response = client.get(reverse("feed:asset_quote", args=["BTC"]), headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "64,050" in fragment  # the newest close
    assert "24h high" in fragment and "64,123" in fragment  # the highest of the last 24 hours
    assert "24h low" in fragment and "63,900" in fragment
    assert "240" in fragment  # 24 bars of volume 10
    assert 'hx-trigger="every 10s"' in fragment and 'id="market-live"' in fragment


def test_the_page_links_trade_to_the_exchange_market_of_the_asset(client, btc, settings):
    settings.ORBIT_DEMO_TRADE_TICKET = False
    settings.EXCHANGE_TRADE_URL = "https://exchange.example/trade/{instrument}"
    page = client.get(reverse("feed:asset", args=["BTC"])).content.decode()
    assert 'href="https://exchange.example/trade/BTC-USDT"' in page
    btc.is_listed = False
    btc.save()
    assert "exchange.example/trade" not in client.get(reverse("feed:asset", args=["BTC"])).content.decode()


# --- The page and its tabs ---------------------------------------------------------------------


def test_the_page_renders_no_candles_only_the_chart_shell(client, btc, candles):
    page = client.get(reverse("feed:asset", args=["BTC"])).content.decode()
    assert f'data-candles-url="{reverse("feed:asset_candles", args=["BTC"])}"' in page
    assert 'data-timeframe="1h" aria-pressed="true"' in page
    assert "vendor/lightweight-charts.standalone.production.js" in page and "js/market.js" in page
    assert "64,349" not in page.split('id="market-live"')[0]  # no candle figures before the price block
    assert "On the chart" in page


def test_the_top_tab_ranks_the_weeks_posts_by_likes_and_comments(client, btc):
    quiet = post_about(btc, hours=3)
    liked = post_about(btc, hours=5)
    discussed = post_about(btc, hours=6)
    old = post_about(btc, hours=24 * 8)
    LikeFactory.create_batch(2, post=liked)
    CommentFactory.create_batch(3, post=discussed)
    LikeFactory.create_batch(9, post=old)
    response = client.get(reverse("feed:asset", args=["BTC"]), {"tab": "top"})
    assert [post.pk for post in response.context["page"].items] == [discussed.pk, liked.pk, quiet.pk]
    assert 'href="/assets/BTC/?tab=top" aria-current="page"' in response.content.decode()


def test_the_calls_tab_lists_calls_with_each_callers_hit_rate(client, btc, eth):
    caller = UserFactory(username="caller")
    call_on(btc, hours=100, status=Call.Status.HIT, author=caller)
    call_on(eth, hours=90, status=Call.Status.MISSED, author=caller)
    call_on(btc, hours=80, status=Call.Status.HIT, author=caller)
    newest = call_on(btc, hours=2, author=caller)
    hidden = call_on(btc, hours=1)
    Post.objects.filter(pk=hidden.pk).update(status=Post.Status.HIDDEN)
    response = client.get(reverse("feed:asset", args=["BTC"]), {"tab": "calls"})
    items = response.context["page"].items
    assert items[0].pk == newest.pk
    assert hidden.pk not in [call.pk for call in items] and len(items) == 3
    # The caller's whole record, as on their profile: 2 hits of 3 graded calls.
    assert items[0].record == calls.call_record(user=caller)
    assert "Hit rate 67% (2 of 3 graded)" in response.content.decode()


@pytest.mark.parametrize("tab", ["latest", "top", "calls"])
def test_the_page_costs_the_same_queries_for_3_or_20_items(client, btc, candles, tab):
    reader = UserFactory()
    client.force_login(reader)

    def seed(count):
        for n in range(count):
            post = post_about(btc, hours=1 + n, body=f"$BTC note {n}")
            call = call_on(btc, hours=1.5 + n)
            # Liked alike, so the top tab shows posts with calls (which cost a quote) at both sizes.
            LikeFactory(post=post)
            LikeFactory(post=call.post)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("feed:asset", args=["BTC"]), {"tab": tab})
        assert response.status_code == 200
        return len(captured), len(response.context["page"].items)

    seed(3)
    few, shown_few = queries()
    seed(17)
    many, shown_many = queries()
    assert shown_few < shown_many
    assert few == many
    # The asset; the session, the user and the unread badge (any signed-in page); the tab's list: for
    # posts the page, its assets, images, the call quotes and the disclosures (5), for calls the page
    # and the callers' records (2); then the market blocks: the quote, its 24-hour figures and today's
    # vote split (3). No candle window: the chart asks feed:asset_candles for those.
    assert many == {"latest": 12, "top": 12, "calls": 9}[tab]


def test_the_market_blocks_cost_four_queries_and_read_no_candle_window(client, btc, candles):
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("feed:asset", args=["BTC"]), {"tab": "top"})
    sql = [query["sql"] for query in captured.captured_queries]
    # The asset; its quote (one window over a week of hours); the 24-hour figures; the vote split;
    # then the (empty) top posts. No date_bin: candles come from the JSON endpoint.
    assert not any("date_bin" in statement for statement in sql)
    assert sum('"feed_candle"' in statement for statement in sql) == 2
    assert sum('"feed_assetvote"' in statement for statement in sql) == 1
