import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Sum
from django.db.models.functions import TruncDate

from creators.models import Follow, Profile, User
from demo.parameters import CANDLE_DAYS
from demo.posts import HASHTAG
from demo.seeding import seed_demo_data
from demo.tables import ASSETS, BURST_PREFIXES
from feed import disclosures, verification
from feed.cashtags import cashtags_in
from feed.models import Call, Comment, Engagement, Like, Post, PostType, Report, Share, TradeCard
from markets import market_data
from markets.models import Candle, Fill, TradingProfile
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

# COPY, LOCK TABLE and setval all work inside the test's transaction, so no transactional test is needed.

ANCHOR = datetime(2026, 3, 1, 12, tzinfo=UTC)
SIZES = {"users": 200, "posts": 600, "events": 5000}
SEEDED_MODELS = [
    User,
    Profile,
    TradingProfile,
    Follow,
    Post,
    Post.assets.through,
    Post.hashtags.through,
    Engagement,
    Like,
    Comment,
    Share,
    Report,
    Candle,
    Fill,
    TradeCard,
    TradeCard.fills.through,
    Call,
]


def run_seed_demo(*extra: str, seed: int = 7) -> str:
    output = StringIO()
    call_command(
        "seed_demo",
        f"--users={SIZES['users']}",
        f"--posts={SIZES['posts']}",
        f"--events={SIZES['events']}",
        f"--seed={seed}",
        f"--anchor={ANCHOR.isoformat()}",
        *extra,
        stdout=output,
    )
    return output.getvalue()


def counts() -> dict[str, int]:
    return {model._meta.db_table: model.objects.count() for model in SEEDED_MODELS}


def first_rows() -> dict[str, list]:
    """What a reader of the demo would see first, without ids (they depend on what was there before)."""
    return {
        "users": list(
            User.objects.order_by("id").values_list(
                "username",
                "date_joined",
                "profile__display_name",
                "trading_profile__kyc_level",
                "trading_profile__traded_assets",
            )[:30]
        ),
        "posts": list(
            Post.objects.order_by("id").values_list(
                "author__username", "body", "created_at", "content_type", "language"
            )[:20]
        ),
        "engagement": list(
            Engagement.objects.order_by("id").values_list(
                "actor__username", "creator__username", "kind", "occurred_at", "dwell_ms", "fingerprint"
            )[:50]
        ),
        "follows": list(
            Follow.objects.order_by("id").values_list("follower__username", "followee__username", "created_at")[:30]
        ),
        "comments": list(Comment.objects.order_by("id").values_list("author__username", "body", "created_at")[:20]),
        "candles": list(
            Candle.objects.order_by("instrument", "opened_at").values_list(
                "instrument", "opened_at", "open", "high", "low", "close", "volume"
            )[:50]
        ),
        "fills": list(
            Fill.objects.order_by("id").values_list(
                "user__username", "instrument", "side", "quantity", "price", "fee", "notional_usd", "filled_at"
            )
        ),
        "cards": list(
            TradeCard.objects.order_by("post_id").values_list(
                "post__body", "instrument", "side", "entry_price", "verified_at", "verified_quantity"
            )
        ),
        "calls": list(
            Call.objects.order_by("post_id").values_list(
                "post__body", "asset__symbol", "direction", "target_price", "status", "outcome_price"
            )
        ),
        "closes": list(Candle.objects.values_list("instrument").annotate(closes=Sum("close")).order_by("instrument")),
    }


def seeded_then_rolled_back(seed: int) -> tuple[dict, dict]:
    with transaction.atomic():
        run_seed_demo(seed=seed)
        snapshot = counts(), first_rows()
        transaction.set_rollback(True)
    return snapshot


def test_the_same_seed_and_anchor_give_the_same_rows():
    first = seeded_then_rolled_back(seed=7)
    assert Post.objects.count() == 0  # the second run starts from the same empty tables
    second = seeded_then_rolled_back(seed=7)

    assert first == second
    assert first[0][Engagement._meta.db_table] == SIZES["events"]
    assert all(first[1][table] for table in ("candles", "fills", "cards", "calls"))


def test_a_different_seed_gives_different_rows():
    _, seven = seeded_then_rolled_back(seed=7)
    _, eight = seeded_then_rolled_back(seed=8)

    assert seven["users"] != eight["users"]
    assert seven["posts"] != eight["posts"]
    assert seven["engagement"] != eight["engagement"]
    assert seven["candles"] != eight["candles"]
    assert seven["fills"] != eight["fills"]
    assert seven["cards"] != eight["cards"]


def test_seeding_writes_exactly_the_sizes_asked_for_with_every_content_type_and_language():
    output = run_seed_demo()

    assert User.objects.count() == SIZES["users"] + 2  # plus demo and operator
    assert Profile.objects.count() == TradingProfile.objects.count() == User.objects.count()
    assert Post.objects.count() == SIZES["posts"]
    assert Engagement.objects.count() == SIZES["events"]
    assert set(Post.objects.values_list("content_type", flat=True)) == set(
        PostType.objects.values_list("slug", flat=True)
    )
    assert set(Post.objects.values_list("language", flat=True)) == {"en", "zh"}
    assert set(Profile.objects.values_list("language", flat=True)) == {"en", "zh-hans"}
    assert set(Post.objects.values_list("status", flat=True)) == {"published"}
    assert "Planted cheating" in output


def test_cashtags_and_hashtags_in_bodies_match_the_link_tables():
    run_seed_demo()

    posts = Post.objects.prefetch_related("assets", "hashtags")
    with_cashtags = 0
    for post in posts:
        cashtags = set(cashtags_in(post.body))
        assert cashtags == {asset.symbol for asset in post.assets.all()}, post.body
        assert {tag.lower() for tag in HASHTAG.findall(post.body)} == {tag.name for tag in post.hashtags.all()}
        with_cashtags += bool(cashtags)
    assert with_cashtags > 0.8 * SIZES["posts"]
    assert (
        Post.objects.filter(language="zh", body__regex=r"[\u4e00-\u9fff]").count()
        == Post.objects.filter(language="zh").count()
    )


def test_current_state_tables_match_the_engagement_log():
    run_seed_demo()
    kind = Engagement.Kind

    assert Like.objects.count() == Engagement.objects.filter(kind=kind.LIKE).count() > 0
    assert Comment.objects.count() == Engagement.objects.filter(kind=kind.COMMENT).count() > 0
    assert Share.objects.count() == Engagement.objects.filter(kind=kind.SHARE).count() > 0
    assert Report.objects.count() == Engagement.objects.filter(kind=kind.REPORT).count()
    assert not Engagement.objects.filter(kind=kind.DWELL, dwell_ms=0).exists()
    assert not Engagement.objects.filter(post__isnull=False).exclude(creator=F("post__author")).exists()
    assert not Engagement.objects.filter(occurred_at__lte=F("post__created_at")).exists()
    assert not Engagement.objects.filter(occurred_at__gte=ANCHOR).exists()
    assert not Engagement.objects.filter(occurred_at__lt=ANCHOR - timedelta(days=14)).exists()
    assert not Engagement.objects.filter(kind=kind.FOLLOW).exclude(post=None).exists()
    follows_in_window = Follow.objects.filter(created_at__gte=ANCHOR - timedelta(days=14)).count()
    assert Engagement.objects.filter(kind=kind.FOLLOW).count() == follows_in_window > 0
    views_repeated_in_a_day = (
        Engagement.objects.filter(kind=kind.VIEW)
        .values("actor", "post", day=TruncDate("occurred_at"))
        .annotate(views=Count("id"))
        .filter(views__gt=1)
    )
    assert not views_repeated_in_a_day.exists()
    fingerprints = Engagement.objects.values_list("fingerprint", flat=True).distinct()
    assert all(re.fullmatch(r"[0-9a-f]{32}", fingerprint) for fingerprint in fingerprints)


def test_the_planted_cheaters_are_in_the_data():
    report = seed_demo_data(**SIZES, seed=7, anchor=ANCHOR)
    planted = report.planted

    # Self-likes: a creator liking their own post.
    assert Engagement.objects.filter(kind=Engagement.Kind.LIKE, actor=F("creator")).exists()
    assert set(Engagement.objects.filter(actor=F("creator")).values_list("actor__username", flat=True)) == set(
        planted.self_likers
    )

    # The ring: six creators, every one of whom liked posts of every other.
    assert len(planted.ring) == 6
    liked_pairs = set(
        Like.objects.filter(user__username__in=planted.ring, post__author__username__in=planted.ring).values_list(
            "user__username", "post__author__username"
        )
    )
    assert liked_pairs == {(fan, author) for fan in planted.ring for author in planted.ring if fan != author}

    # The burst: ~40 accounts that joined within one hour, unverified and not trading.
    joined = sorted(User.objects.filter(trading_profile__kyc_level=0).values_list("date_joined", flat=True))
    busiest_hour = max(sum(1 for other in joined if start <= other < start + timedelta(hours=1)) for start in joined)
    assert busiest_hour >= 35
    burst = User.objects.filter(username__in=planted.burst_accounts)
    assert burst.count() == 40
    assert all(re.fullmatch(rf"({'|'.join(BURST_PREFIXES)})_\d{{4}}", name) for name in planted.burst_accounts)
    assert not burst.exclude(
        trading_profile__kyc_level=0,
        trading_profile__volume_tier=0,
        trading_profile__trades_30d=0,
        trading_profile__traded_assets=[],
    ).exists()
    assert not Fill.objects.filter(user__in=burst).exists()  # so they stay near-worthless as readers
    burst_likes = Like.objects.filter(user__in=burst)
    assert set(burst_likes.values_list("post__author__username", flat=True)) == {planted.burst_beneficiary}
    burst_events = Engagement.objects.filter(actor__in=burst)
    times = list(burst_events.values_list("occurred_at", flat=True))
    assert max(times) - min(times) < timedelta(minutes=20)
    assert burst_events.values("fingerprint").distinct().count() < burst.count()


def test_demo_and_operator_accounts_log_in_with_the_demo_password():
    run_seed_demo("--demo-password=demo-pass-123")

    demo, operator = User.objects.get(username="demo"), User.objects.get(username="operator")
    assert demo.check_password("demo-pass-123") and operator.check_password("demo-pass-123")
    assert not demo.is_staff and operator.is_staff and operator.is_superuser
    assert demo.trading_profile.kyc_level == 2
    assert demo.trading_profile.traded_assets == ["BTC", "ETH", "SOL"]
    assert demo.following_set.count() > 0


def test_if_empty_does_nothing_when_posts_exist():
    PostFactory()
    before = counts()

    output = run_seed_demo("--if-empty")

    assert "nothing seeded" in output
    assert counts() == before


def test_seeding_twice_appends_without_id_collisions():
    run_seed_demo(seed=7)
    first_max = {
        model: model.objects.order_by("-pk").values_list("pk", flat=True).first()
        for model in (User, Post, Engagement, Like)
    }

    run_seed_demo(seed=7)

    assert User.objects.count() == 2 * SIZES["users"] + 2  # demo and operator only once
    assert Post.objects.count() == 2 * SIZES["posts"]
    assert Engagement.objects.count() == 2 * SIZES["events"]
    assert User.objects.filter(username="demo").count() == 1
    assert Post.objects.filter(pk__gt=first_max[Post]).count() == SIZES["posts"]
    assert Engagement.objects.filter(pk__gt=first_max[Engagement]).count() == SIZES["events"]
    # The sequences moved past the seeded ids, so ordinary inserts keep working.
    post = PostFactory()
    assert post.pk == Post.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert post.author.pk > User.objects.exclude(pk=post.author.pk).order_by("-pk").values_list("pk", flat=True).first()


# --- Exchange data: candles, fills, trade cards, calls ----------------------------------------


def fills_outside_their_hours_candle() -> int:
    """Fills without a 1H candle of their asset for their hour, or priced outside its low..high."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FROM {Fill._meta.db_table} f
            LEFT JOIN {Candle._meta.db_table} k ON k.instrument = f.asset || '-USDT' AND k.bar = '1H'
             AND k.opened_at <= f.filled_at AND k.opened_at > f.filled_at - interval '1 hour'
            WHERE k.id IS NULL OR f.price NOT BETWEEN k.low AND k.high"""  # noqa: S608 - tables from models
        )
        return cursor.fetchone()[0]


def test_every_listed_asset_gets_consistent_hourly_candles_up_to_the_anchor():
    run_seed_demo()

    symbols = [symbol for symbol, *_rest in ASSETS if symbol not in market_data.DOLLARS]
    bars = CANDLE_DAYS * 24
    per_instrument = dict(Candle.objects.values_list("instrument").annotate(bars=Count("pk")))
    assert per_instrument == {f"{symbol}-USDT": bars for symbol in symbols}
    assert set(Candle.objects.values_list("bar", "is_closed").distinct()) == {("1H", True)}
    first, last = ANCHOR - timedelta(days=CANDLE_DAYS), ANCHOR - timedelta(hours=1)
    assert Candle.objects.filter(opened_at__lt=first).count() == 0
    assert Candle.objects.filter(opened_at=last).count() == len(symbols)
    # Open, high, low and close agree with each other, and each bar opens where the last one closed.
    assert not Candle.objects.filter(low__gt=F("open")).exists()
    assert not Candle.objects.filter(low__gt=F("close")).exists()
    assert not Candle.objects.filter(high__lt=F("open")).exists()
    assert not Candle.objects.filter(high__lt=F("close")).exists()
    btc = list(Candle.objects.filter(instrument="BTC-USDT").order_by("opened_at").values_list("open", "close"))
    assert all(bar[0] == previous[1] for previous, bar in pairwise(btc))
    # The walk ends at a realistic price: the asset page and the live poll pick up from there.
    assert market_data.latest_close("BTC") == Decimal(96_000)
    assert Decimal(60_000) < market_data.price_at("BTC", ANCHOR - timedelta(days=20)) < Decimal(150_000)
    assert market_data.latest_close("PEPE") == Decimal("0.000018")


def test_fills_belong_to_linked_accounts_at_prices_inside_their_hour():
    run_seed_demo()

    fills = Fill.objects.all()
    assert fills.count() > 300
    assert not fills.filter(user__trading_profile__exchange_uid=None).exists()
    assert not fills.filter(user__trading_profile__is_frozen=True).exists()
    assert not fills.exclude(fill_id__startswith="demo-").exists()
    assert set(fills.values_list("instrument_type", "quote", "fee_currency").distinct()) == {
        ("spot", "USDT", "USDT"),
        ("perpetual", "USDT", "USDT"),
    }
    for fill in fills.order_by("id")[:300]:
        suffix = "-USDT-SWAP" if fill.instrument_type == "perpetual" else "-USDT"
        assert fill.instrument == fill.asset + suffix
        assert fill.notional_usd == (fill.quantity * fill.price).quantize(Decimal("0.01"))
        # A taker's 0.1%, a maker's 0.08%, or a whale maker's 0.005% rebate.
        assert fill.fee in {
            (fill.quantity * fill.price * rate).quantize(Decimal("0.00000001"))
            for rate in (Decimal("0.001"), Decimal("0.0008"), Decimal("-0.00005"))
        }
        assert fill.filled_at < ANCHOR
    assert fills_outside_their_hours_candle() == 0
    taker = fills.filter(fee__gt=0).exclude(fee__lt=F("notional_usd") / 1000 - Decimal("0.01"))
    assert taker.count() > 0.7 * fills.count()
    # Rebates are rare, and only whales (seeded volume tier 4, active or whale after the rebuild) get them.
    rebates = fills.filter(fee__lt=0)
    assert 0 < rebates.count() < 0.1 * fills.count()
    assert not rebates.filter(user__trading_profile__volume_tier__lt=3).exists()
    demo = User.objects.get(username="demo")
    assert demo.fills.count() > 40
    assert not User.objects.get(username="operator").fills.exists()


def test_most_trade_cards_are_verified_by_their_authors_fills_and_the_rest_are_not():
    run_seed_demo()

    cards = TradeCard.objects.select_related("post")
    assert set(cards.values_list("post__content_type", flat=True)) == {"trade_share"}
    verified = cards.filter(verified_at__isnull=False)
    share = verified.count() / cards.count()
    assert cards.count() > 30 and 0.55 < share < 0.85
    for card in verified:
        assert card.verified_at == card.post.created_at  # verified as it was published
        fills = list(card.fills.all())
        assert fills and {fill.user_id for fill in fills} == {card.post.author_id}
        assert {fill.instrument for fill in fills} == {card.instrument}
        assert {fill.side for fill in fills} == ({"sell"} if card.side == "short" else {"buy"})
        for fill in fills:
            assert timedelta(hours=1) <= card.post.created_at - fill.filled_at <= timedelta(hours=24)
            assert abs(fill.price - card.entry_price) <= card.entry_price * Decimal("0.002")
        assert card.instrument.endswith("-SWAP") == (card.side in {"long", "short"})
        assert card.instrument.endswith("-SWAP") or card.leverage == 1
    # The others show as self-reported: checking them again finds no fills that match.
    unverified = list(cards.filter(verified_at=None))
    assert unverified
    matched = [
        card
        for card in unverified
        if verification.matching_fills(card, author_id=card.post.author_id, posted_at=card.post.created_at)
    ]
    assert matched == []
    # Every entry is a price the market traded at in the day before the post.
    for card in cards:
        window = Candle.objects.filter(
            instrument=card.base_asset + "-USDT",
            opened_at__gte=card.post.created_at - timedelta(hours=25),
            opened_at__lte=card.post.created_at - timedelta(hours=1),
        ).aggregate(low=Min("low"), high=Max("high"))
        assert window["low"] <= card.entry_price <= window["high"]


def test_calls_are_made_from_the_candles_and_graded_hit_and_missed_as_of_the_anchor():
    report = seed_demo_data(**SIZES, seed=7, anchor=ANCHOR)

    calls = Call.objects.select_related("post", "asset")
    eligible = Post.objects.filter(content_type__in=["analysis", "trade_share"]).count()
    assert 0.05 * eligible < calls.count() < 0.15 * eligible
    for call in calls:
        assert call.author_id == call.post.author_id and call.made_at == call.post.created_at
        assert call.asset.symbol in cashtags_in(call.post.body)
        assert call.horizon_at - call.made_at in {timedelta(days=days) for days in (1, 3, 7)}
        assert call.entry_price == market_data.price_at(call.asset.symbol, call.made_at)
        distance = (call.target_price - call.entry_price) / call.entry_price
        if call.direction == "down":
            distance = -distance
        assert Decimal("0.029") < distance < Decimal("0.151")
    # Calls whose horizon passed before the anchor were graded by the market; the rest are open.
    assert not calls.filter(horizon_at__lte=ANCHOR, status="open").exists()
    assert not calls.filter(horizon_at__gt=ANCHOR).exclude(status="open").exists()
    assert calls.filter(status="hit").exists() and calls.filter(status="missed").exists()
    assert not calls.filter(status="void").exists()
    assert report.calls_by_status == dict(calls.values_list("status").annotate(count=Count("pk")))
    hit = calls.filter(status="hit").first()
    assert hit.outcome_price == hit.target_price and hit.return_percent > 0


def test_posts_disclose_their_authors_trades_of_the_assets_they_name():
    run_seed_demo()

    posts = list(Post.objects.prefetch_related("assets").select_related("trade_card"))
    disclosures.attach_disclosures(posts)
    disclosing = [post for post in posts if post.disclosures]
    assert len(disclosing) > 0.1 * len(posts)
    post = disclosing[0]
    assert {disclosure.asset for disclosure in post.disclosures} <= {asset.symbol for asset in post.assets.all()}
    assert post.author.fills.filter(asset=post.disclosures[0].asset).exists()


def test_trading_profiles_of_accounts_with_fills_are_rebuilt_from_them_and_the_others_keep_theirs():
    run_seed_demo()

    month = Fill.objects.filter(filled_at__gte=ANCHOR - timedelta(days=30))
    traders = TradingProfile.objects.filter(user__fills__isnull=False).distinct()
    assert traders.count() > 5
    for profile in traders:
        volumes = {
            asset: volume
            for asset, volume in month.filter(user_id=profile.user_id)
            .values_list("asset")
            .annotate(volume=Sum("notional_usd"))
        }
        assert {asset: Decimal(volume) for asset, volume in profile.volume_by_asset.items()} == volumes
        assert profile.traded_assets == sorted(volumes, key=lambda asset: (-volumes[asset], asset))
        assert profile.trades_30d == month.filter(user_id=profile.user_id).count()
    demo = TradingProfile.objects.get(user__username="demo")
    assert demo.trades_30d == 46 and abs(demo.volume_30d_usd - Decimal(184_250)) < 1
    # Every linked account whose seeded profile says it trades has fills, readers as much as creators;
    # the others (frozen on the exchange) keep the seeded figures, their volume split over their assets.
    others = TradingProfile.objects.filter(user__fills__isnull=True, volume_tier__gt=0)
    assert not others.exclude(exchange_uid="").exclude(is_frozen=True).exists()
    assert traders.filter(user__posts__isnull=True).count() > 100
    for profile in others:
        assert set(profile.volume_by_asset) == set(profile.traded_assets)
        assert sum(Decimal(volume) for volume in profile.volume_by_asset.values()) == profile.volume_30d_usd


def test_readers_trade_over_eight_weeks_active_traders_most_weeks_and_light_ones_some():
    run_seed_demo()

    weeks: dict[int, set[int]] = {}
    for user_id, filled_at in Fill.objects.filter(
        user__posts__isnull=True, filled_at__gte=ANCHOR - timedelta(weeks=8)
    ).values_list("user_id", "filled_at"):
        weeks.setdefault(user_id, set()).add((ANCHOR - filled_at) // timedelta(weeks=1))
    tiers = dict(TradingProfile.objects.filter(user_id__in=weeks).values_list("user_id", "volume_tier"))
    assert len(weeks) > 100
    assert max(len(active) for active in weeks.values()) == 8
    assert sum(len(active) <= 3 for active in weeks.values()) > 10

    def mean_weeks(chosen) -> float:
        counts = [len(active) for user_id, active in weeks.items() if chosen(tiers[user_id])]
        return sum(counts) / len(counts)

    assert mean_weeks(lambda tier: tier >= 3) > mean_weeks(lambda tier: tier == 1) + 2


def test_seeding_again_reuses_the_stored_candles_and_adds_fills_with_new_ids():
    run_seed_demo(seed=7)
    candles, fills = Candle.objects.count(), Fill.objects.count()

    report = seed_demo_data(**SIZES, seed=8, anchor=ANCHOR)

    assert report.rows_in(Candle._meta.db_table) == 0 and Candle.objects.count() == candles
    assert Fill.objects.count() > fills
    assert Fill.objects.values("fill_id").distinct().count() == Fill.objects.count()
    # The second seed's fills and cards were priced from the candles already there.
    assert fills_outside_their_hours_candle() == 0
    assert report.verified_cards > 0
