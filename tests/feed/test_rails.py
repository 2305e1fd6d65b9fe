"""The right rail (feed/rails.py, feed:rail) and the front page that For You took over."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from feed import rails
from markets.models import Asset
from tests.factories import (
    BlockFactory,
    CandleFactory,
    CommentFactory,
    FillFactory,
    FollowFactory,
    MuteFactory,
    PostFactory,
    TradingProfileFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client):
    user = UserFactory(username="reader")
    client.force_login(user)
    return user


def hour(ago: int = 0):
    return timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=ago)


def listed(*symbols: str) -> None:
    for symbol in symbols:
        Asset.objects.get_or_create(symbol=symbol, defaults={"name": symbol.title()})


# --- Watchlist ----------------------------------------------------------------------------------


def test_the_watchlist_lists_what_the_reader_trades_most_first_with_last_price_and_day_change(reader):
    listed("BTC", "ETH", "SOL")
    TradingProfileFactory(user=reader, traded_assets=["ETH", "BTC"])
    # An older trade of SOL, outside the profile's 30 days, still makes it the reader's asset.
    FillFactory(user=reader, instrument="SOL-USDT", filled_at=timezone.now() - timedelta(days=90))
    CandleFactory(instrument="ETH-USDT", opened_at=hour(24), close=Decimal("3000"))
    CandleFactory(instrument="ETH-USDT", opened_at=hour(0), close=Decimal("3300"))

    watchlist = rails.watchlist(viewer=reader)

    assert watchlist.personal
    assert [row.symbol for row in watchlist.rows] == ["ETH", "BTC", "SOL"]
    eth = watchlist.rows[0].quote
    assert (eth.last, eth.change_24h_percent) == (Decimal("3300"), Decimal("10.00"))
    assert watchlist.rows[1].quote is None  # no candles for BTC: shown without a price


def test_the_watchlist_shows_only_the_readers_own_trading(reader):
    listed("BTC", "DOGE")
    TradingProfileFactory(user=reader, traded_assets=["BTC"])
    stranger = UserFactory()
    TradingProfileFactory(user=stranger, traded_assets=["DOGE"])
    FillFactory(user=stranger, instrument="DOGE-USDT")

    assert [row.symbol for row in rails.watchlist(viewer=reader).rows] == ["BTC"]


def test_unlisted_assets_stay_off_the_watchlist(reader):
    listed("BTC")
    Asset.objects.create(symbol="RUGX", name="Delisted", is_listed=False)
    TradingProfileFactory(user=reader, traded_assets=["RUGX", "BTC"])

    assert [row.symbol for row in rails.watchlist(viewer=reader).rows] == ["BTC"]


def test_a_signed_out_reader_and_one_who_never_traded_see_the_most_discussed_listed_assets(reader):
    Asset.objects.all().update(is_listed=False)
    listed("BTC", "ETH", "ZEC")
    Asset.objects.filter(symbol__in=["BTC", "ETH", "ZEC"]).update(is_listed=True)
    btc, eth = Asset.objects.get(symbol="BTC"), Asset.objects.get(symbol="ETH")
    for asset in (eth, eth, btc):
        PostFactory().assets.add(asset)

    for viewer in (None, reader):
        watchlist = rails.watchlist(viewer=viewer)
        assert not watchlist.personal
        assert [row.symbol for row in watchlist.rows] == ["ETH", "BTC", "ZEC"]


# --- Trending hashtags --------------------------------------------------------------------------


def test_trending_hashtags_count_published_posts_of_the_last_day():
    for _ in range(3):
        PostFactory(body="#alpha breakout")
    PostFactory(body="#beta chop")
    PostFactory(body="#gamma old news", created_at=timezone.now() - timedelta(days=2))
    PostFactory(body="#hiddentag spam", status="hidden")
    PostFactory(body="#deletedtag gone", status="deleted")

    trending = rails.trending_hashtags()

    assert [(tag.name, tag.posts) for tag in trending] == [("alpha", 3), ("beta", 1)]


def test_trending_hashtags_leave_out_posts_by_people_the_reader_muted_blocked_or_was_blocked_by(reader):
    muted, blocked, blocker = UserFactory(), UserFactory(), UserFactory()
    MuteFactory(user=reader, target=muted)
    BlockFactory(user=reader, target=blocked)
    BlockFactory(user=blocker, target=reader)
    for author in (muted, blocked, blocker):
        for _ in range(3):
            PostFactory(author=author, body="#pumpit now")
    PostFactory(body="#pumpit too")
    PostFactory(body="#calm day")

    everyone = rails.rail_for(viewer=None)["trending"]
    theirs = rails.rail_for(viewer=reader)["trending"]

    assert [(tag.name, tag.posts) for tag in everyone] == [("pumpit", 10), ("calm", 1)]
    assert [(tag.name, tag.posts) for tag in theirs] == [("calm", 1), ("pumpit", 1)]


# --- Hot discussions ----------------------------------------------------------------------------


def test_hot_discussions_are_the_posts_with_the_most_comments_today():
    now = timezone.now()
    busy, quiet, stale = PostFactory(body="Busy thread"), PostFactory(body="Quiet thread"), PostFactory()
    for _ in range(3):
        CommentFactory(post=busy, created_at=now - timedelta(hours=1))
    CommentFactory(post=busy, created_at=now - timedelta(hours=2), deleted_at=now)
    CommentFactory(post=quiet, created_at=now - timedelta(hours=3))
    for _ in range(5):
        CommentFactory(post=stale, created_at=now - timedelta(days=2))
    removed = PostFactory(status="hidden")
    CommentFactory(post=removed, created_at=now - timedelta(hours=1))

    hot = rails.hot_discussions()

    assert [(post.pk, post.recent_comments) for post in hot] == [(busy.pk, 3), (quiet.pk, 1)]
    assert hot[0].excerpt == "Busy thread"


def test_hot_discussions_leave_out_posts_by_people_the_reader_hid(reader):
    now = timezone.now()
    muted, blocked = UserFactory(), UserFactory()
    MuteFactory(user=reader, target=muted)
    BlockFactory(user=reader, target=blocked)
    shown = PostFactory()
    for post in (PostFactory(author=muted), PostFactory(author=blocked), shown):
        CommentFactory(post=post, created_at=now - timedelta(hours=1))

    assert len(rails.rail_for(viewer=None)["hot"]) == 3
    assert [post.pk for post in rails.rail_for(viewer=reader)["hot"]] == [shown.pk]


# --- Who to follow ------------------------------------------------------------------------------


def test_who_to_follow_suggests_active_creators_the_reader_does_not_follow_or_hide(reader):
    popular, rising, followed, muted, blocked = (
        UserFactory(username=name) for name in ("popular", "rising", "followed", "muted", "blocked")
    )
    quiet = UserFactory(username="quiet")
    suspended = UserFactory(username="suspended")
    for author in (popular, rising, followed, muted, blocked, reader, suspended):
        PostFactory(author=author)
    PostFactory(author=quiet, created_at=timezone.now() - timedelta(days=30))
    suspended.suspended_at = timezone.now()
    suspended.save(update_fields=["suspended_at"])
    for _ in range(3):
        FollowFactory(followee=popular)
    FollowFactory(followee=rising)
    FollowFactory(follower=reader, followee=followed)
    MuteFactory(user=reader, target=muted)
    BlockFactory(user=reader, target=blocked)

    suggested = rails.rail_for(viewer=reader)["who_to_follow"]

    assert [person.username for person in suggested] == ["popular", "rising"]


def test_a_signed_out_reader_is_shown_the_most_followed_active_creators():
    first, second = UserFactory(username="first"), UserFactory(username="second")
    PostFactory(author=second)
    PostFactory(author=first)
    FollowFactory(followee=first)

    assert [person.username for person in rails.who_to_follow(viewer=None)][:2] == ["first", "second"]


# --- The fragment and what it costs -------------------------------------------------------------


def _busy_world(reader):
    listed("BTC", "ETH")
    TradingProfileFactory(user=reader, traded_assets=["BTC", "ETH"])
    CandleFactory(instrument="BTC-USDT", opened_at=hour(0))
    for n in range(6):
        post = PostFactory(body=f"#alpha #beta note {n}")
        CommentFactory(post=post, created_at=timezone.now() - timedelta(hours=1))
        FollowFactory(followee=post.author)
    MuteFactory(user=reader, target=UserFactory())


def test_the_rail_fragment_shows_every_box(client, reader):
    _busy_world(reader)

    response = client.get(reverse("feed:rail"), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    for heading in ("Your watchlist", "Trending hashtags", "Hot discussions", "Who to follow"):
        assert heading in page
    assert reverse("feed:asset", args=["BTC"]) in page and "#alpha" in page


def test_the_rail_costs_a_fixed_number_of_queries_for_a_signed_in_reader(client, reader, django_assert_max_num_queries):
    _busy_world(reader)
    # Cold: session, user and unread badge; the reader's hidden authors; their watchlist's assets
    # and its quotes; the shared trending, hot and active-creator candidates; whom of those the
    # reader follows.
    with django_assert_max_num_queries(3 + 1 + 2 + 3 + 1):
        client.get(reverse("feed:rail"))
    # Warm: the shared boxes come from the cache.
    with django_assert_max_num_queries(3 + 1 + 2 + 1):
        client.get(reverse("feed:rail"))


def test_the_rail_costs_a_signed_out_reader_nothing_once_cached(client, django_assert_max_num_queries):
    PostFactory(body="#alpha")
    client.get(reverse("feed:rail"))
    with django_assert_max_num_queries(0):
        client.get(reverse("feed:rail"))


def test_every_page_fetches_the_rail_only_once_it_is_shown(client):
    page = client.get(reverse("feed:latest")).content.decode()
    assert f'hx-get="{reverse("feed:rail")}" hx-trigger="intersect once"' in page


# --- The front page and the layout's landmarks --------------------------------------------------


def test_the_front_page_is_for_you_when_signed_in_and_latest_when_signed_out(client):
    PostFactory(body="A note for the front page")
    signed_out = client.get("/")
    assert signed_out.templates[0].name == "feed/latest.html"

    client.force_login(UserFactory())
    signed_in = client.get("/")
    assert signed_in.templates[0].name == "ranking/for_you.html"
    # Latest keeps its own address and name.
    assert reverse("feed:latest") == "/latest/"
    assert client.get("/latest/").templates[0].name == "feed/latest.html"


def test_signing_in_lands_on_for_you(client):
    UserFactory(username="lands")
    response = client.post(
        reverse("account_login"), {"login": "lands", "password": "correct horse battery staple"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert response.templates[0].name == "ranking/for_you.html"


@pytest.mark.parametrize(
    "url", ["/", "/latest/", "/following/", "/search/?q=btc", "/notifications/", "/compose/", "/@reader/"]
)
def test_each_page_has_one_h1_and_the_layout_landmarks(client, reader, url):
    page = client.get(url).content.decode()
    assert page.count("<h1") == 1
    assert page.count('<header class="topbar"') == 1
    assert '<nav class="mainnav siderail" aria-label="Main">' in page
    assert page.count("<main") == 1
    assert '<aside class="siderail-right" aria-label="Markets and trends"' in page
    assert page.count('<footer class="sitefooter"') == 1
    assert 'data-theme-toggle aria-pressed="false"' in page
    assert 'id="language-select"' in page
