"""The impression log and exploration: what readers were shown, where, why and how likely, on real
Postgres and Redis; the propensities checked against the frequencies they claim."""

import json
import random
from collections import Counter
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.translation import override

from creators import services as people
from feed import services as feed_services
from feed.models import Engagement
from ranking import feeds, for_you, impressions, scoring, tasks
from ranking.models import Impression
from ranking.scoring import Ranked, Reason
from tests.api.conftest import client_for
from tests.ranking.world import creator, reader, tagged_post
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db


def store():
    return impressions.store_queued(client=feeds.redis_client())


def ranked(post_id: int, score: float) -> Ranked:
    return Ranked(post_id=post_id, score=score, reason=Reason("asset", "BTC"), content_type="analysis", author_id=1)


def explorer(post_id: int) -> Ranked:
    reason = Reason("new_creator", "x")
    return Ranked(post_id=post_id, score=0.0, reason=reason, content_type="chat", author_id=2, source="explore")


# --- Exploration -------------------------------------------------------------------------


def test_a_propensity_is_the_frequency_with_which_its_post_gets_its_place():
    """Over many draws, how often each (post, place) happens is what the recorded propensity says it
    is, given the places before: the property inverse-propensity evaluation rests on."""
    share, runs = 0.3, 20_000
    rng = random.Random(7)
    seen: Counter = Counter()
    claimed: dict[tuple[int, int], set[float]] = {}
    for _run in range(runs):
        ordered = [ranked(post_id, 10.0 - post_id) for post_id in range(1, 6)]
        # Post 2 is both ranked and in the pool: it may come either way, never twice. Post 103 is new
        # to the reader and drawn four times as often as the others.
        pool = [explorer(post_id) for post_id in (2, 101, 102, 103)]
        pool[-1].draw_weight = 4.0
        placed = scoring.add_exploration(ordered, pool, share=share, rng=rng)
        assert len(placed) == 5 and len({item.post_id for item in placed}) == 5
        first = placed[0]
        seen[first.post_id, first.source] += 1
        claimed.setdefault((first.post_id, first.source), set()).add(round(first.propensity, 9))
    # The first place: ranked post 1 with 1 - share, or a pool post with share * its weight / 7.
    assert claimed[1, "ranked"] == {round(1 - share, 9)}
    assert seen[1, "ranked"] / runs == pytest.approx(1 - share, abs=0.015)
    for post_id, weight in ((2, 1), (101, 1), (102, 1), (103, 4)):
        assert claimed[post_id, "explore"] == {round(share * weight / 7, 9)}
        assert seen[post_id, "explore"] / runs == pytest.approx(share * weight / 7, abs=0.01)


def test_without_a_share_or_a_pool_the_list_is_the_ranking_and_every_place_is_certain():
    ordered = [ranked(post_id, 10.0 - post_id) for post_id in range(1, 6)]
    assert [item.post_id for item in scoring.add_exploration(ordered, [], share=0.3, rng=random.Random(1))] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert {item.propensity for item in ordered} == {1.0}
    again = [ranked(post_id, 10.0 - post_id) for post_id in range(1, 6)]
    placed = scoring.add_exploration(again, [explorer(9)], share=0.0, rng=random.Random(1))
    assert [item.source for item in placed] == ["ranked"] * 5 and {item.propensity for item in placed} == {1.0}


def test_exploration_draws_good_posts_and_favours_what_is_new_to_the_reader():
    me = reader("me", trades=["BTC"])
    known = creator("known")
    people.follow_user(follower=me, username="known")
    usual = tagged_post(known, content_type="analysis", assets=["BTC"])
    feed_services.like_post(user=me, post_id=usual.pk)
    familiar = [tagged_post(known, content_type="analysis", assets=["BTC"], hours_ago=3 + index) for index in range(8)]
    stranger = creator("stranger")
    new_voice = tagged_post(stranger, content_type="analysis", assets=["BTC"], quality=0.8)
    poor = tagged_post(creator("poor"), content_type="analysis", assets=["BTC"], quality=0.2)

    placed = scoring.rank_for_user(me.pk, refresh_interest=True, explore_share=0.5, rng=random.Random(3))

    assert sorted(item.post_id for item in placed) == sorted(post.pk for post in [usual, *familiar, new_voice, poor])
    explored = [item for item in placed if item.source == "explore"]
    assert len(explored) >= 2, "half the places explore"
    assert poor.pk not in {item.post_id for item in explored}, "below the quality floor"
    # Each draw's propensity is the share times its part of the weights left in the pool: the pool's
    # weight before the first draw, read off the first, less the first, gives the second's.
    first, second = explored[0], explored[1]
    pool_weight = 0.5 * first.draw_weight / first.propensity
    assert second.propensity == pytest.approx(0.5 * second.draw_weight / (pool_weight - first.draw_weight))
    if first.post_id == new_voice.pk:
        assert first.reason == Reason("new_creator", "stranger")
    else:
        assert first.reason.code in {"follow", "creator", "trade", "asset"}
    assert {item.propensity for item in placed if item.source == "ranked"} <= {0.5, 1.0}


def test_over_many_builds_each_post_is_drawn_as_often_as_its_propensity_says_and_a_new_voice_most():
    me = reader("me", trades=["BTC"])
    known = creator("known")
    people.follow_user(follower=me, username="known")
    feed_services.like_post(user=me, post_id=tagged_post(known, content_type="analysis", assets=["BTC"]).pk)
    tagged_post(known, content_type="analysis", assets=["BTC"], hours_ago=3)
    new_voice = tagged_post(creator("stranger"), content_type="analysis", assets=["BTC"], quality=0.8)
    rng = random.Random(11)
    first_draws: Counter = Counter()
    claimed: dict[int, float] = {}
    for _build in range(600):
        placed = scoring.rank_for_user(me.pk, explore_share=0.3, rng=rng)
        explored = [item for item in placed if item.source == "explore"]
        if explored and placed.index(explored[0]) == 0:  # the first place explored: the whole pool
            first_draws[explored[0].post_id] += 1
            claimed[explored[0].post_id] = explored[0].propensity / 0.3
    total = sum(first_draws.values())
    for post_id, share in claimed.items():
        assert first_draws[post_id] / total == pytest.approx(share, abs=0.08)
    # Weighed four times for being new to the reader, the new voice is the likeliest draw.
    assert max(claimed, key=claimed.__getitem__) == new_voice.pk
    assert sum(claimed.values()) == pytest.approx(1.0)


def test_the_reason_of_an_explored_post_says_what_is_new_in_both_languages():
    assert Reason("new_creator", "carol").text() == "Something new for you: @carol"
    assert Reason("new_type", "education").text() == "Something new for you: Education posts"
    assert Reason("new_asset", "SOL").text() == "Something new for you: SOL"
    with override("zh-hans"):
        assert "@carol" in Reason("new_creator", "carol").text()
        assert Reason("new_creator", "carol").text() != "Something new for you: @carol"


# --- The log -----------------------------------------------------------------------------


def logged(reader_user) -> list[Impression]:
    return list(Impression.objects.filter(reader=reader_user).order_by("position"))


@override_settings(ORBIT_FOR_YOU_EXPLORE_SHARE=0.25)
def test_each_served_place_is_logged_with_its_source_score_propensity_and_model():
    me = reader("me", trades=["BTC"])
    for index in range(30):
        tagged_post(creator(f"writer{index}"), assets=["BTC"], hours_ago=1 + index / 3)
    feeds.build_for_you(user_id=me.pk)
    listed = feeds.redis_client().hgetall(feeds.list_key(me.pk, ":log"))

    first = for_you.for_you_page(user=me)
    second = for_you.for_you_page(user=me, cursor=first.next_cursor)
    assert store() == len(first.items) + len(second.items)

    rows = logged(me)
    assert [row.post_id for row in rows] == [post.pk for post in first.items + second.items]
    assert [row.position for row in rows] == list(range(len(rows)))
    assert len({row.page for row in rows}) == 2
    for row in rows:
        source, score, propensity = feeds.decode_log(listed[str(row.post_id).encode()])
        assert (row.source, row.score, row.propensity) == (source, pytest.approx(score), pytest.approx(propensity))
        assert row.model_version == scoring.MODEL_VERSION and row.surface == "for_you"
    assert {row.source for row in rows} == {"ranked", "explore"}
    assert {round(row.propensity, 6) for row in rows if row.source == "ranked"} <= {0.75, 1.0}
    assert {row.explore_share for row in rows} == {0.25}


def test_a_followed_creators_post_pushed_on_top_is_logged_as_pushed():
    fan = reader("fan", trades=["BTC"])
    idol = creator("idol")
    people.follow_user(follower=fan, username="idol")
    tagged_post(creator("writer"), assets=["BTC"])
    feeds.build_for_you(user_id=fan.pk)
    fresh = tagged_post(idol, assets=["ETH"], hours_ago=0)
    assert feeds.push_to_followers(post_id=fresh.pk, author_id=idol.pk, username="idol", follower_ids=[fan.pk]) == 1

    page = for_you.for_you_page(user=fan)
    store()

    top = logged(fan)[0]
    assert page.items[0].pk == fresh.pk == top.post_id
    assert (top.source, top.score, top.propensity) == ("pushed", None, 1.0)


def test_a_page_ranked_from_postgres_is_logged_too():
    me = reader("me", trades=["BTC"])
    posts = [tagged_post(creator(f"writer{index}"), assets=["BTC"]) for index in range(3)]
    page = for_you.for_you_page(user=me)  # no list yet: ranked in the request
    store()

    assert page.source == "fallback"
    rows = logged(me)
    assert {row.post_id for row in rows} == {post.pk for post in posts}
    assert {(row.source, row.propensity, row.model_version) for row in rows} == {("ranked", 1.0, scoring.MODEL_VERSION)}


def test_the_api_logs_what_it_serves():
    me = reader("me", trades=["SOL"])
    tagged_post(creator("writer"), assets=["SOL"])
    feeds.build_for_you(user_id=me.pk)

    body = client_for(me).get("/api/v1/feed/for-you/").json()
    store()

    assert [row.post_id for row in logged(me)] == [item["id"] for item in body["results"]]


def test_sampling_keeps_or_drops_a_readers_whole_day_the_same_way_everywhere():
    me = reader("me", trades=["BTC"])
    tagged_post(creator("writer"), assets=["BTC"])
    feeds.build_for_you(user_id=me.pk)
    with override_settings(ORBIT_IMPRESSION_SAMPLE=0.0):
        for_you.for_you_page(user=me)
    assert store() == 0 and not logged(me)

    with override_settings(ORBIT_IMPRESSION_SAMPLE=0.5):
        day = timezone.now().date()
        kept = [reader_id for reader_id in range(1, 4001) if impressions.is_sampled(reader_id, day)]
        assert len(kept) / 4000 == pytest.approx(0.5, abs=0.03)
        assert kept == [reader_id for reader_id in range(1, 4001) if impressions.is_sampled(reader_id, day)]
        other_day = [reader_id for reader_id in range(1, 4001) if impressions.is_sampled(reader_id, day + timedelta(1))]
        assert kept != other_day


def test_a_batch_read_twice_is_stored_once_and_what_cannot_be_stored_is_skipped():
    me = reader("me", trades=["BTC"])
    post = tagged_post(creator("writer"), assets=["BTC"])
    client = feeds.redis_client()
    impressions.record_served(
        reader_id=me.pk,
        items=[impressions.Served(post.pk, "ranked", 0.5, 0.95)],
        first_place=0,
        model_version="heuristic-1",
        client=client,
    )
    entry = client.lindex(impressions.queue_key(), 0)
    # As if the drain had crashed after its commit and before trimming: the same page again.
    client.rpush(impressions.queue_key(), entry, b"not json", json.dumps({"reader": me.pk}))
    # A post that is not in the database: skipped, and the rest of the batch still stored.
    impressions.record_served(
        reader_id=me.pk,
        items=[
            impressions.Served(post.pk + 1000, "ranked", 0.4, 0.95),
            impressions.Served(post.pk, "ranked", 0.4, 0.95),
        ],
        first_place=5,
        model_version="heuristic-1",
        client=client,
    )

    assert store() == 3
    assert sorted(Impression.objects.filter(reader=me).values_list("position", flat=True)) == [0, 6]
    assert client.llen(impressions.queue_key()) == 0


def test_the_queue_keeps_the_newest_pages_when_nothing_drains_it(monkeypatch):
    me = reader("me", trades=["BTC"])
    posts = [tagged_post(creator(f"writer{index}"), assets=["BTC"]) for index in range(5)]
    monkeypatch.setattr(impressions, "QUEUE_LIMIT", 3)
    for post in posts:
        impressions.record_served(
            reader_id=me.pk,
            items=[impressions.Served(post.pk, "ranked", 1.0, 1.0)],
            first_place=0,
            model_version="heuristic-1",
            client=feeds.redis_client(),
        )
    store()
    assert sorted(row.post_id for row in logged(me)) == sorted(post.pk for post in posts[-3:])


def test_an_engagement_joins_the_latest_impression_that_led_to_it():
    me, other = reader("me", trades=["BTC"]), reader("other", trades=["BTC"])
    post = tagged_post(creator("writer"), assets=["BTC"])
    now = timezone.now()

    def shown(user, minutes_ago: float, position: int) -> None:
        impressions.record_served(
            reader_id=user.pk,
            items=[impressions.Served(post.pk, "explore", 0.3, 0.01)],
            first_place=position,
            model_version="heuristic-1",
            client=feeds.redis_client(),
            now=now - timedelta(minutes=minutes_ago),
        )

    shown(me, 60 * 30, 9)  # too long before the like to have led to it
    shown(me, 90, 4)
    shown(me, 30, 2)  # the latest showing before the like
    shown(other, 5, 0)  # someone else's
    store()
    feed_services.like_post(user=me, post_id=post.pk)
    shown(me, -5, 7)  # after the like: it cannot have led to it
    store()

    rows = impressions.attributed_engagement(since=now - timedelta(hours=1), until=now + timedelta(hours=1))
    like = next(row for row in rows if row.kind == Engagement.Kind.LIKE)
    assert (like.reader_id, like.position, like.source, like.propensity) == (me.pk, 2, "explore", 0.01)

    Impression.objects.filter(reader=me, position__in=[2, 4]).delete()
    rows = impressions.attributed_engagement(since=now - timedelta(hours=1), until=now + timedelta(hours=1))
    like = next(row for row in rows if row.kind == Engagement.Kind.LIKE)
    assert like.impression_id is None


def test_old_impressions_are_purged_and_recent_ones_kept():
    me = reader("me", trades=["BTC"])
    post = tagged_post(creator("writer"), assets=["BTC"])
    now = timezone.now()
    for days_ago, position in ((120, 0), (91, 1), (89, 2), (1, 3)):
        impressions.record_served(
            reader_id=me.pk,
            items=[impressions.Served(post.pk, "ranked", 1.0, 1.0)],
            first_place=position,
            model_version="heuristic-1",
            client=feeds.redis_client(),
            now=now - timedelta(days=days_ago),
        )
    store()

    assert impressions.purge_old(now=now) == 2
    assert [row.position for row in logged(me)] == [2, 3]


def test_the_periodic_task_stores_the_queue_on_a_real_worker(celery_worker):
    me = reader("me", trades=["BTC"])
    tagged_post(creator("writer"), assets=["BTC"])
    feeds.build_for_you(user_id=me.pk)
    page = for_you.for_you_page(user=me)

    tasks.store_impressions.delay()

    assert wait_for(lambda: len(logged(me)) == len(page.items), seconds=30)
    assert [row.post_id for row in logged(me)] == [post.pk for post in page.items]
