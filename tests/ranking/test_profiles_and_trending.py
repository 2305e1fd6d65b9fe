"""Interest profiles from trading and engagement, and trending scores, on real Postgres."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feed.models import Engagement
from ranking import profiles, trending
from ranking.models import PostTags, UserInterest
from tests.ranking.world import creator, reader, tagged_post

pytestmark = pytest.mark.django_db
Kind = Engagement.Kind


def engage(actor, post, kind, *, days_ago=0.0, dwell_ms=0):
    return Engagement.objects.create(
        actor=actor,
        post=post,
        creator_id=post.author_id,
        kind=kind,
        dwell_ms=dwell_ms,
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )


def test_a_new_user_starts_from_trading_alone():
    trader = reader("trader", trades=["SOL", "BTC"], instruments=["spot", "perpetual"], volume_tier=3)

    interest = profiles.interest_of(trader.pk)

    assert interest["asset:SOL"] == 1.0
    assert 0 < interest["asset:BTC"] < interest["asset:SOL"]
    assert interest["topic:derivatives"] > 0
    assert interest["level:intermediate"] == 1.0
    assert not any(key.startswith("creator:") for key in interest)


def test_someone_without_a_trading_profile_is_treated_as_a_beginner():
    from tests.factories import UserFactory

    assert profiles.user_level(profiles.interest_of(UserFactory().pk)) == "beginner"


def test_engagement_adds_what_the_user_reads():
    me = reader("me", trades=["BTC"])
    post = tagged_post(creator("defi_writer"), content_type="education", assets=["AAVE"], topics=["defi"])
    engage(me, post, Kind.LIKE)
    engage(me, post, Kind.DWELL, dwell_ms=90_000)

    interest = profiles.interest_of(me.pk)

    assert interest["asset:AAVE"] > 0
    assert interest["topic:defi"] > 0
    assert interest["type:education"] > 0
    assert interest[f"creator:{post.author_id}"] > 0


def test_old_engagement_counts_for_half_after_one_half_life(settings):
    settings.ORBIT_INTEREST_HALF_LIFE_DAYS = 10
    me = reader("me")
    fresh = tagged_post(creator("a"), assets=["ETH"])
    old = tagged_post(creator("b"), assets=["SOL"])
    engage(me, fresh, Kind.LIKE)
    engage(me, old, Kind.LIKE, days_ago=10)

    sums, _last = profiles.engagement_sums(user_id=me.pk, after_id=0, now=timezone.now())

    assert sums["asset:SOL"] == pytest.approx(sums["asset:ETH"] / 2, rel=1e-3)


def test_an_incremental_refresh_equals_a_profile_built_from_scratch():
    me = reader("me", trades=["BTC"])
    posts = [tagged_post(creator(f"c{i}"), assets=[symbol], topics=["macro"]) for i, symbol in enumerate("ABCD")]
    engage(me, posts[0], Kind.LIKE, days_ago=3)
    engage(me, posts[1], Kind.COMMENT, days_ago=2)
    profiles.refresh_interest(user_id=me.pk)
    engage(me, posts[2], Kind.SHARE, days_ago=1)
    engage(me, posts[3], Kind.HIDE)

    incremental = profiles.interest_of(me.pk)
    from_scratch = profiles.build_interest(me.pk)

    assert incremental.keys() == from_scratch.keys()
    for key, value in from_scratch.items():
        assert incremental[key] == pytest.approx(value, abs=1e-3)
    assert UserInterest.objects.get(user=me).last_engagement_id == Engagement.objects.latest("id").id


def test_own_posts_do_not_shape_ones_interests():
    me = reader("me")
    mine = tagged_post(me, assets=["PEPE"])
    engage(me, mine, Kind.LIKE)

    assert "asset:PEPE" not in profiles.interest_of(me.pk)


def test_trending_counts_recent_engagement_of_others_and_resets_quiet_posts():
    author = creator("author")
    hot, quiet, selfish = (tagged_post(author, assets=["BTC"]) for _ in range(3))
    fans = [reader(f"fan{i}") for i in range(3)]
    for fan in fans:
        engage(fan, hot, Kind.LIKE)
    engage(fans[0], quiet, Kind.VIEW, days_ago=3)  # outside the two-day window
    engage(author, selfish, Kind.LIKE)
    PostTags.objects.filter(post=quiet).update(trending=9.0)

    trending.refresh_trending()

    scores = dict(PostTags.objects.values_list("post_id", "trending"))
    assert scores[hot.pk] == pytest.approx(9.0, rel=1e-3)  # three likes of weight 3, just now
    assert scores[quiet.pk] == 0
    assert scores[selfish.pk] == 0


def test_trending_as_of_a_past_moment_ignores_what_came_after():
    author = creator("author")
    post = tagged_post(author, assets=["BTC"], hours_ago=30)
    fan = reader("fan")
    engage(fan, post, Kind.LIKE, days_ago=0.5)

    assert trending.trending_as_of(timezone.now() - timedelta(days=1), limit=10) == {}
    assert post.pk in trending.trending_as_of(timezone.now(), limit=10)
