"""Unbiased offline evaluation (ranking.offline): on a synthetic community whose readers look at
places and value posts by rules the estimator does not know, the estimate from exploration draws
finds what serving each ranker would really bring, where the clicks on the logged lists do not; and
the draws are read from the real impression log with the rewards that followed."""

import io
import json
import random
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from feed import services as feed_services
from feed.models import Engagement
from ranking import feeds, for_you, impressions, offline, scoring
from ranking.models import Impression
from ranking.scoring import Ranked, Reason
from tests.ranking.world import creator, reader, tagged_post

PAGE = 20  # places a reader scrolls through, so only these are ever shown


def look(place: int) -> float:
    """The synthetic readers' chance of looking at a place: unknown to the estimator."""
    return 0.9 / (1 + place) ** 0.7


class Community:
    """Readers with a hidden worth for each of 60 candidate posts, a logging ranker that knows
    worth only roughly, and the engagement a page gets under the position-based model."""

    def __init__(self, *, readers: int, seed: int):
        self.rng = np.random.default_rng(seed)
        self.posts = list(range(1, 61))
        self.worth = {
            context: dict(zip(self.posts, self.rng.beta(1.2, 4.0, 60), strict=True)) for context in range(readers)
        }
        noise = {context: self.rng.normal(0, 0.25, 60) for context in range(readers)}
        self.logging = {
            context: sorted(self.posts, key=lambda post, c=context: -(self.worth[c][post] + noise[c][post - 1]))
            for context in range(readers)
        }

    def oracle(self, context):
        return sorted(self.posts, key=lambda post: -self.worth[context][post])

    def newest(self, context):
        return self.posts  # worth-blind, like a chronological feed

    def value(self, policy, depth: int = PAGE) -> float:
        """What serving `policy` would bring per page: the A/B figure, exactly."""
        return float(
            np.mean(
                [
                    sum(look(place) * self.worth[context][post] for place, post in enumerate(policy(context)[:depth]))
                    for context in self.worth
                ]
            )
        )

    def serve_logging_ranker(self, *, share: float, seed: int) -> tuple[list[offline.Draw], float]:
        """Serve each reader a page of the logging ranker with exploration; return the exploration
        draws with their rewards, and the mean reward per page of the clicks the logged pages got."""
        rng = random.Random(seed)
        draws, logged_clicks = [], []
        for context, ranking in self.logging.items():
            ordered = [
                Ranked(post, -place, Reason("asset", "BTC"), "analysis", 1) for place, post in enumerate(ranking)
            ]
            pool = [Ranked(post, 0.0, Reason("new_creator", "x"), "chat", 2, source="explore") for post in self.posts]
            for item in pool[::5]:
                item.draw_weight = 4.0  # a fifth of the posts are new to the reader
            page = scoring.add_exploration(ordered, pool, share=share, rng=rng)[:PAGE]
            clicks = 0.0
            for place, item in enumerate(page):
                reward = float(rng.random() < look(place) * self.worth[context][item.post_id])
                clicks += reward
                if item.source == "explore":
                    draws.append(offline.Draw(context, item.post_id, place, item.propensity, share, reward))
            logged_clicks.append(clicks)
        return draws, float(np.mean(logged_clicks))


def test_the_estimate_finds_what_serving_each_ranker_would_bring():
    community = Community(readers=6000, seed=1)
    draws, _clicks = community.serve_logging_ranker(share=0.3, seed=2)

    for policy in (community.oracle, community.newest, community.logging.__getitem__):
        truth = community.value(policy)
        estimate = offline.estimate(draws, policy, depth=PAGE)
        assert estimate.low <= truth <= estimate.high, (policy, truth, estimate)
        assert estimate.stderr < 0.15 * truth


def test_the_paired_comparison_tells_the_better_ranker_apart_where_clicks_cannot():
    community = Community(readers=6000, seed=3)
    draws, _clicks = community.serve_logging_ranker(share=0.3, seed=4)

    best, worst, difference = offline.compare(draws, community.oracle, community.newest, depth=PAGE)

    truth = community.value(community.oracle) - community.value(community.newest)
    assert difference.low <= truth <= difference.high
    assert difference.low > 0, "the oracle is better, and the estimate is sure of it"
    # Paired by reader, the difference is known more tightly than two independent figures would give.
    assert difference.stderr < (best.stderr**2 + worst.stderr**2) ** 0.5


def test_a_model_of_worth_tightens_the_estimate_and_keeps_it_unbiased():
    community = Community(readers=4000, seed=5)
    draws, _clicks = community.serve_logging_ranker(share=0.3, seed=6)
    examination = offline.Examination(draws)
    # A rough model fitted on the draws themselves: each post's mean position-corrected reward.
    per_post: dict[int, list[float]] = {}
    for draw in draws:
        per_post.setdefault(draw.post_id, []).append(draw.reward / float(examination.look([draw.position])[0]))
    mean_worth = {post: float(np.mean(values)) for post, values in per_post.items()}

    def worth(context, posts):
        return [mean_worth.get(post, 0.0) for post in posts]

    truth = community.value(community.oracle)
    plain = offline.estimate(draws, community.oracle, examination=examination, depth=PAGE)
    robust = offline.estimate(draws, community.oracle, examination=examination, worth=worth, depth=PAGE)
    assert robust.low <= truth <= robust.high
    assert robust.stderr < plain.stderr


class KnownLooks(offline.Examination):
    """Looks given rather than fitted, to follow one list's arithmetic by hand."""

    def __init__(self, looks: list[float]):
        self.looks = np.array(looks)
        self.floor = min(looks)

    def look(self, places):
        return self.looks[np.asarray(places, dtype=int)]


def test_a_list_s_draws_count_by_the_look_at_the_places_they_were_shown_in():
    looks = KnownLooks([1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1])
    # One list, two rewarded draws: post 1 at the top (a quarter's chance), then post 2 in the tenth
    # place, where readers look a tenth as often, as the last of the pool (half the chance).
    draws = [
        offline.Draw("list", post_id=1, position=0, propensity=0.25, share=0.5, reward=1.0),
        offline.Draw("list", post_id=2, position=9, propensity=0.5, share=0.5, reward=1.0),
    ]
    estimate = offline.estimate(draws, lambda context: [2, 1], examination=looks)

    # Post 1 would sit in place 2 (look 0.8), post 2 at the top. Alone, the first draw stands for a
    # pool twice its weight: 0.8 * 1 / 1.0 * 2 = 1.6. The second adds the first back and stands for
    # itself: 0.8 + 1.0 * 1 / 0.1 * 1 = 10.8; its reward is divided by a tenth, so it is the noisier
    # and counts a tenth as much.
    assert estimate.value == pytest.approx((1.0 * 1.6 + 0.1 * 10.8) / (1.0 + 0.1))


def test_the_looks_estimated_from_the_draws_fall_with_the_place_as_the_readers_do():
    community = Community(readers=6000, seed=7)
    draws, _clicks = community.serve_logging_ranker(share=0.3, seed=8)
    estimated = offline.Examination(draws).look(range(PAGE))

    assert all(np.diff(estimated) <= 1e-12)
    ratio = estimated[PAGE - 1] / estimated[0]
    assert ratio == pytest.approx(look(PAGE - 1) / look(0), rel=0.35)


def test_no_draws_is_an_error_not_a_figure():
    with pytest.raises(ValueError, match="no exploration draws"):
        offline.Examination([])


@pytest.mark.django_db
def test_draws_are_read_from_the_log_with_the_reward_that_followed_each():
    me = reader("me", trades=["BTC"])
    liked, read, ignored, shown_again = (tagged_post(creator(f"writer{index}"), assets=["BTC"]) for index in range(4))
    now = timezone.now()
    built = now - timedelta(hours=2)

    def shown(post, position, minutes_ago, source="explore"):
        impressions.record_served(
            reader_id=me.pk,
            items=[impressions.Served(post.pk, source, 0.1, 0.01 if source == "explore" else 0.8)],
            first_place=position,
            model_version="heuristic-1",
            explore_share=0.2,
            built_at=built,
            client=feeds.redis_client(),
            now=now - timedelta(minutes=minutes_ago),
        )

    shown(liked, 3, 60)
    shown(read, 7, 60)
    shown(ignored, 9, 60)
    shown(shown_again, 11, 60)
    shown(shown_again, 2, 30, source="ranked")  # shown again before the like: the like is the later showing's
    impressions.store_queued(client=feeds.redis_client())
    feed_services.like_post(user=me, post_id=liked.pk)
    feed_services.like_post(user=me, post_id=shown_again.pk)
    # Time spent as record_dwell logs it once a render token vouches for it.
    feed_services.log_engagement(
        actor=me, post=read, creator_id=read.author_id, kind=Engagement.Kind.DWELL, dwell_ms=15_000
    )

    draws = offline.draws_from_log(since=now - timedelta(hours=3), until=now)

    assert {(draw.post_id, draw.position, draw.reward) for draw in draws} == {
        (liked.pk, 3, 2.0),
        (read.pk, 7, 1.0),
        (ignored.pk, 9, 0.0),
        (shown_again.pk, 11, 0.0),
    }
    assert {draw.context for draw in draws} == {(me.pk, built)}
    assert {(draw.propensity, draw.share) for draw in draws} == {(0.01, 0.2)}
    assert offline.draws_from_log(since=now - timedelta(hours=3), until=now, readers=[me.pk + 1000]) == []


@pytest.mark.django_db
def test_evaluate_ranking_estimates_every_ranker_from_the_log(settings):
    settings.ORBIT_FOR_YOU_EXPLORE_SHARE = 0.5
    readers = [reader(f"reader{index}", trades=["BTC"]) for index in range(3)]
    for index in range(30):
        tagged_post(creator(f"writer{index}"), assets=["BTC"], hours_ago=1 + index / 4)
    for me in readers:
        feeds.build_for_you(user_id=me.pk)
        page = for_you.for_you_page(user=me)
        feed_services.like_post(user=me, post_id=page.items[0].pk)
    impressions.store_queued(client=feeds.redis_client())
    since, until = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(minutes=1)

    out = io.StringIO()
    call_command(
        "evaluate_ranking",
        "--from-impressions",
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
        "--json",
        stdout=out,
    )
    report = json.loads(out.getvalue())

    assert report["contexts"] == 3 and report["draws"] == Impression.objects.filter(source="explore").count() > 0
    assert set(report["estimates"]) == {"orbit", "chronological", "popularity"}
    assert set(report["against_orbit"]) == {"chronological", "popularity"}
    assert all(figures["low"] <= figures["value"] <= figures["high"] for figures in report["estimates"].values())
    assert report["looks"][0] == 1.0 and report["looks"] == sorted(report["looks"], reverse=True)

    text = io.StringIO()
    call_command(
        "evaluate_ranking",
        "--from-impressions",
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
        stdout=text,
    )
    assert "exploration draws in 3 lists" in text.getvalue() and "chronological" in text.getvalue()


@pytest.mark.django_db
def test_evaluate_ranking_from_an_empty_log_says_what_to_do():
    with pytest.raises(CommandError, match=r"no exploration impressions were logged .* serve some For You pages"):
        call_command("evaluate_ranking", "--from-impressions")
    with pytest.raises(CommandError, match="--since must be before --until"):
        call_command("evaluate_ranking", "--from-impressions", "--since", "2026-03-02", "--until", "2026-03-01")
