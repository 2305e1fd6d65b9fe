"""Operators' content-type weights as a goal under the learned ranker (ranking.steering): the lift
goes to the readers likely to value the type, and the daily rebalance holds the type's share of
everything For You served at the operators' target, on real Postgres and Redis."""

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from django.db.models import F
from django.utils import timezone

from demo.simulation.clock import SimulatedClock
from feed import services as feed_services
from ranking import content_mix, learned, scoring, steering, weights
from ranking.models import ContentMixDay, ContentTypeWeight, RankingModel
from tests.ranking.test_learned_ranker import hand_model, model_liking
from tests.ranking.world import creator, reader, tagged_post

pytestmark = pytest.mark.django_db


def test_fit_is_a_half_for_an_average_type_and_the_weight_is_spread_by_it():
    values = np.array([3.0, 3.0, 1.0, 1.0, -2.0])
    fit = steering.reader_fit(values, ["education", "education", "analysis", "analysis", "analysis"])

    # Education is predicted at 3, the reader's candidates at 8/5 on average (a likely hide counts as 0).
    assert fit["education"] == pytest.approx((3 / 1.6) / (1 + 3 / 1.6))
    assert fit["analysis"] == pytest.approx((2 / 3 / 1.6) / (1 + 2 / 3 / 1.6))
    assert steering.reader_fit(np.zeros(2), ["news", "chat"]) == {"news": 0.5, "chat": 0.5}

    assert steering.lift(1.5, 1.0, 0.5) == pytest.approx(1.5)  # an average reader: the weight as before
    assert steering.lift(1.5, 1.0, 0.75) == pytest.approx(1.5**1.5)
    assert steering.lift(1.5, 1.0, 0.0) == 1.0  # nobody is pushed what they would not value
    assert steering.lift(1.5, 0.5, 0.75) == pytest.approx(1.5**0.75)  # as far as the tagger is sure
    # A penalty falls on those who do not value the type and spares those who do.
    assert steering.lift(0.8, 1.0, 0.0) == pytest.approx(0.64)
    assert steering.lift(0.8, 1.0, 1.0) == 1.0
    assert steering.lift(0.0, 1.0, 0.9) == 0.0  # a weight of 0 still takes the type out


def model_reading_types() -> learned.Model:
    """A ranker under which readers read and like posts of the types they read before, and hardly
    ever hide or report anything."""
    return hand_model(
        # The newer of two alike first.
        {"read": {"reads_type": 2.5, "freshness": 0.5}, "like": {"reads_type": 3.0}},
        dict.fromkeys(learned.ACTIONS, -9.0) | {"read": -1.5, "like": -3.0},
        version="reads-types",
    )


def education_share(page: list[scoring.Ranked]) -> float:
    return sum(item.content_type == "education" for item in page) / len(page)


def test_the_lift_goes_to_readers_who_value_the_type_and_the_rebalance_holds_the_target_platform_wide():
    """Thirty readers, from some who read only charts to some who read only lessons, under a learned
    ranker that predicts likes from reading; lessons are a tenth of what is written and the operators
    want a third of For You. Each day every reader gets a page (its first 10 places counted as
    served), the content mix is rolled up and the daily rebalance runs, as beat runs them."""
    start = timezone.now().astimezone(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=8)
    clock = SimulatedClock(start)
    education = ContentTypeWeight.objects.get(post_type_id="education")
    education.base_weight, education.target_share = Decimal("1.00"), Decimal("0.330")
    education.min_multiplier, education.multiplier, education.max_multiplier = Decimal("0.5"), 1, Decimal("6")
    education.save()
    ContentTypeWeight.objects.exclude(post_type_id="education").update(
        base_weight=1, multiplier=1, min_multiplier=1, max_multiplier=1
    )
    RankingModel.objects.create(version="reads-types", artifact=model_reading_types().artifact(), is_active=True)
    learned.forget_cached_model()

    with clock.running():
        teachers = [creator(f"teacher{index}") for index in range(4)]
        chartists = [creator(f"chartist{index}") for index in range(12)]
        # Before the days begin, each reader liked a mix of their own: from no lesson to four, and
        # two to seven charts, so no two readers value lessons alike.
        readers = [reader(f"reader{index}", trades=["BTC"]) for index in range(30)]
        lessons_liked = {me.pk: index // 6 for index, me in enumerate(readers)}
        for index, me in enumerate(readers):
            lessons, charts = index // 6, 2 + index % 6
            for number in range(lessons + charts):
                author, kind = (
                    (teachers[number % 4], "education") if number < lessons else (chartists[index % 12], "analysis")
                )
                past = tagged_post(author, content_type=kind, assets=["BTC"], hours_ago=48)
                feed_services.like_post(user=me, post_id=past.pk)

        pages: list[dict[int, list[scoring.Ranked]]] = []
        exposure: list[float] = []
        for day in range(5):
            moment = start + timedelta(days=day + 1)
            clock.set(moment)
            for number in range(40):  # one post in ten a lesson
                author, kind = (
                    (teachers[number // 10], "education") if number % 10 == 0 else (chartists[number % 12], "analysis")
                )
                tagged_post(author, content_type=kind, assets=["BTC"], hours_ago=1 + number / 20)
            weights.clear_weights_cache()  # the rebalance's change reaches scoring after commit, as in production
            context = scoring.Context.as_of(moment)
            served = {}
            for me in readers:
                page = scoring.rank_for_user(me.pk, context=context, limit=20, explore_share=0.0)[:10]
                content_mix.record_exposure(post_ids=[item.post_id for item in page], now=moment)
                served[me.pk] = page
            pages.append(served)
            content_mix.roll_up_content_mix(now=moment + timedelta(hours=1))
            mix = ContentMixDay.objects.get(day=moment.date(), post_type_id="education")
            total = sum(ContentMixDay.objects.filter(day=moment.date()).values_list("impressions", flat=True))
            exposure.append(mix.impressions / total)
            weights.rebalance_content_type_weights(now=moment + timedelta(hours=19))  # 03:00 the next day

    # Unsteered, lessons got a tenth of the places; the rebalance brought them to the target and kept them there.
    assert exposure[0] < 0.2, exposure
    assert all(abs(share - 0.33) <= 0.04 for share in exposure[2:]), exposure
    assert ContentTypeWeight.objects.get(post_type_id="education").multiplier > 1

    # The places went to readers who read lessons: those who never did got hardly any more.
    def gained(liked: range) -> float:
        chosen = [pk for pk, count in lessons_liked.items() if count in liked]
        return float(np.mean([education_share(pages[-1][pk]) - education_share(pages[0][pk]) for pk in chosen]))

    assert gained(range(0, 1)) <= 0.1
    assert gained(range(2, 6)) >= 2 * max(gained(range(0, 1)), 0.05)


def test_the_rebalance_steers_by_supply_while_the_heuristic_ranks_and_waits_for_enough_impressions():
    now = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
    writer = creator("writer")
    with SimulatedClock(now).running():
        for index in range(10):
            tagged_post(writer, content_type="education" if index < 2 else "analysis", hours_ago=5 + index)
    yesterday = (now - timedelta(days=1)).date()
    ContentMixDay.objects.create(day=yesterday, post_type_id="education", posts=2, impressions=10)
    ContentMixDay.objects.create(day=yesterday, post_type_id="analysis", posts=8, impressions=90)

    # The heuristic ranks: supply and quality set the multiplier, as they always have.
    by_supply = {result.content_type: result for result in weights.rebalance_content_type_weights(now=now)}
    assert by_supply["education"].exposure_share is None
    assert by_supply["education"].reason.startswith("daily rebalance: supply 20.0%")

    # A learned ranker, but 100 impressions yesterday: too few to steer by, and the supply rule
    # does not take over either: the multiplier an earlier day's exposure set stays.
    RankingModel.objects.create(version="reads", artifact=model_liking("reads_type").artifact(), is_active=True)
    ContentTypeWeight.objects.filter(post_type_id="education").update(multiplier=Decimal("1.10"))
    before = Decimal("1.10")
    steered = {result.content_type: result for result in weights.rebalance_content_type_weights(now=now)}
    assert steered["education"].exposure_share is None and not steered["education"].changed
    assert steered["education"].reason.startswith("daily rebalance: too few For You impressions")
    assert ContentTypeWeight.objects.get(post_type_id="education").multiplier == before

    # Enough of them: the multiplier follows exposure (10%) against the target, within the bounds.
    ContentMixDay.objects.filter(day=yesterday).update(impressions=F("impressions") * 10)
    target = ContentTypeWeight.objects.get(post_type_id="education").target_share
    steered = {result.content_type: result for result in weights.rebalance_content_type_weights(now=now)}
    education = steered["education"]
    assert education.exposure_share == pytest.approx(0.1)
    assert (
        education.reason
        == f"daily rebalance: For You exposure 10.0% on {yesterday.isoformat()} vs target {float(target):.1%}"
    )
    weight = ContentTypeWeight.objects.get(post_type_id="education")
    expected = Decimal(repr(float(before) * (float(target) / 0.1) ** 0.5)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert weight.multiplier == min(max(expected, weight.min_multiplier), weight.max_multiplier)
