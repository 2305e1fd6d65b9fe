import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F
from django.db.models.functions import TruncDate

from creators.models import Follow, Profile, TradingProfile, User
from feed.demo_data import BURST_PREFIXES, CASHTAG_RE, HASHTAG_RE, seed_demo_data
from feed.models import Comment, Engagement, Like, Post, PostType, Report, Share
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


def test_a_different_seed_gives_different_rows():
    _, seven = seeded_then_rolled_back(seed=7)
    _, eight = seeded_then_rolled_back(seed=8)

    assert seven["users"] != eight["users"]
    assert seven["posts"] != eight["posts"]
    assert seven["engagement"] != eight["engagement"]


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
        cashtags = set(CASHTAG_RE.findall(post.body))
        assert cashtags == {asset.symbol for asset in post.assets.all()}, post.body
        assert {tag.lower() for tag in HASHTAG_RE.findall(post.body)} == {tag.name for tag in post.hashtags.all()}
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
