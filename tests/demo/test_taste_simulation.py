"""The simulated community of demo.simulation, run through Orbit's services on real Postgres and Redis:
readers' tastes differ from their trading as measured from the stored trading profiles, NDCG is what a
hand computation gives, the same seed gives the same figures, and the figures answer to the ranker
(the oracle is the ceiling, and Orbit's For You beats newest-first for readers whose taste follows
their trading)."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import timedelta

import numpy as np
import pytest
from django.db import transaction

from demo.simulation.community import SIZES, CommunitySize
from demo.simulation.evaluation import graded_gain, ndcg_at_k
from demo.simulation.run import SimulationRun, run_simulation
from feed.models import Engagement, Post
from ranking.models import PostTags
from ranking.tagging import active_tagger, store_tagger, train

# django_db also makes pytest-django set the test database up for the module's own fixtures.
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SEED = 7
SMALL = CommunitySize(readers=30, creators=8, posts=100, days=3)


@pytest.fixture(scope="module")
def tagger_training():
    """The tagger trained on the shipped corpus, once for this module (about ten seconds)."""
    return train()


def _run_and_roll_back(django_db_blocker, tagger_training, size: CommunitySize) -> tuple[SimulationRun, dict]:
    """One simulation in a transaction that is rolled back, with what the database held at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        store_tagger(result=tagger_training)
        run = run_simulation(size, seed=SEED)
        published = {post.post_id: post.at for post in run.community.posts}
        facts = {
            "posts": Post.objects.filter(pk__in=published).count(),
            "post_times_off": sum(
                created_at != published[pk]
                for pk, created_at in Post.objects.filter(pk__in=published).values_list("pk", "created_at")
            ),
            "tagged_by_active_tagger": PostTags.objects.filter(
                post_id__in=published, model_version=active_tagger().version
            ).count(),
            "engagement_outside_the_days": Engagement.objects.filter(actor__isnull=False, post__isnull=False)
            .exclude(occurred_at__gte=run.community.start, occurred_at__lte=run.simulation.last_moment)
            .count(),
            "engagement_kinds": set(Engagement.objects.values_list("kind", flat=True).distinct()),
        }
        transaction.set_rollback(True)
    return run, facts


@pytest.fixture(scope="module")
def ci_run(django_db_setup, django_db_blocker, tagger_training) -> tuple[SimulationRun, dict]:
    """The CI size, once for the module."""
    return _run_and_roll_back(django_db_blocker, tagger_training, SIZES["ci"])


def test_at_least_a_third_of_readers_want_something_else_than_they_trade(ci_run):
    run, _facts = ci_run
    divergence = run.divergence
    assert divergence.readers == SIZES["ci"].readers
    assert divergence.share >= 1 / 3
    # Measured from the stored trading profiles, so it tells the groups apart: aligned readers'
    # favourite assets and types are what their trading suggests, every devoted reader reads for creators.
    aligned_differing, aligned = divergence.by_group["aligned"]
    assert aligned_differing <= aligned / 10
    devoted_differing, devoted = divergence.by_group["creator_devoted"]
    assert devoted_differing == devoted
    assert divergence.traded_share_of_best["aligned"] > divergence.traded_share_of_best["novelty_hunters"]


def test_ndcg_at_k_matches_a_hand_worked_example():
    # Ranked a, b, c; a gains 0, b 3, c 1, and d (not ranked) 7. At k = 3:
    # DCG = 0/log2(2) + 3/log2(3) + 1/log2(4) = 1.8928 + 0.5 = 2.3928
    # ideal order d, b, c: 7/log2(2) + 3/log2(3) + 1/log2(4) = 7 + 1.8928 + 0.5 = 9.3928
    gains = {1: 0.0, 2: 3.0, 3: 1.0, 4: 7.0}
    expected = (3 / math.log2(3) + 0.5) / (7 + 3 / math.log2(3) + 0.5)
    assert ndcg_at_k([1, 2, 3], gains, k=3) == pytest.approx(expected)
    assert ndcg_at_k([1, 2, 3], gains, k=3) == pytest.approx(0.25475, abs=1e-5)
    assert ndcg_at_k([4, 2, 3], gains, k=3) == pytest.approx(1.0)
    assert ndcg_at_k([1, 2, 3], {1: 0.0}, k=3) == 0.0
    # Utility 0.1, 0.3, 0.6 and 0.9 grade 0 to 3, gaining 0, 1, 3 and 7.
    assert graded_gain(np.array([0.1, 0.3, 0.6, 0.9])).tolist() == [0.0, 1.0, 3.0, 7.0]


def test_the_same_seed_gives_the_same_figures(django_db_setup, django_db_blocker, tagger_training):
    first, first_facts = _run_and_roll_back(django_db_blocker, tagger_training, SMALL)
    second, second_facts = _run_and_roll_back(django_db_blocker, tagger_training, SMALL)
    assert first.simulation.reading.actions["view"] > 0
    assert first.simulation.reading.actions == second.simulation.reading.actions
    assert first.simulation.reading.examined == second.simulation.reading.examined
    assert asdict(first.divergence) == asdict(second.divergence)
    for one, other in zip(first.evaluation.scores, second.evaluation.scores, strict=True):
        assert (one.name, one.ndcg, one.by_group) == (other.name, other.ndcg, other.by_group)
    assert first_facts == second_facts


def test_the_oracle_beats_every_ranker(ci_run):
    run, _facts = ci_run
    oracle = run.evaluation.score("oracle")
    # Ordering by the utility the gains are graded from is the best order there is.
    assert oracle.ndcg == pytest.approx(1.0)
    for score in run.evaluation.scores:
        if score.name != "oracle":
            assert score.ndcg < oracle.ndcg, score.name
            assert all(value < 1.0 for value in score.by_group.values()), score.name


def test_orbit_beats_chronological_for_readers_whose_taste_follows_their_trading(ci_run):
    run, _facts = ci_run
    orbit, chronological = run.evaluation.score("orbit"), run.evaluation.score("chronological")
    assert run.evaluation.readers_by_group["aligned"] >= 20
    assert orbit.by_group["aligned"] > chronological.by_group["aligned"]


def test_posts_and_engagement_went_through_the_services_at_simulated_times(ci_run):
    run, facts = ci_run
    assert facts["posts"] == SIZES["ci"].posts
    # publish_post stamps the database's clock; every post was moved to its simulated moment.
    assert facts["post_times_off"] == 0
    assert facts["tagged_by_active_tagger"] == SIZES["ci"].posts
    # Every view, time spent, like... happened during the simulated days (the clock ran them), and
    # only a visit begun before the last midnight runs past it.
    assert facts["engagement_outside_the_days"] == 0
    assert run.simulation.last_moment - run.community.end < timedelta(hours=2)
    kinds = Engagement.Kind
    assert {kinds.VIEW, kinds.DWELL, kinds.LIKE, kinds.FOLLOW} <= facts["engagement_kinds"]
    assert run.simulation.reading.actions["view"] == run.simulation.reading.actions["dwell"] > 0
