"""The learned For You ranker on real Postgres and Redis: its features, its scores and reasons, a
model fitted to known behaviour, and retraining from the impression log behind the gate (a better
ranker is promoted, one that is not better is refused)."""

import io
import random
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from demo.simulation.clock import SimulatedClock
from feed import services as feed_services
from feed.models import Engagement
from ranking import feeds, impressions, learned, scoring, training
from ranking.models import RankingModel
from ranking.training import Examples
from tests.ranking.world import creator, reader, tagged_post

pytestmark = pytest.mark.django_db


def features_of(post_ids, **kwargs):
    return scoring.load_features(post_ids, hidden=set(), user_id=0, now=timezone.now(), **kwargs)


def test_features_keep_reading_and_trading_apart_and_weigh_evidence():
    me = reader("me", trades=["BTC"])
    teacher = creator("teacher")
    lesson = tagged_post(teacher, content_type="education", assets=["ETH"], level="beginner")
    chart = tagged_post(creator("charts"), content_type="analysis", assets=["BTC"])
    thin = learned.reader_as_of(me.pk, moment=None, refresh=True)
    for _ in range(3):
        lesson_read = tagged_post(teacher, content_type="education", assets=["ETH"], level="beginner")
        feed_services.like_post(user=me, post_id=lesson_read.pk)
    read = learned.reader_as_of(me.pk, moment=None, refresh=True)

    posts = features_of([lesson.pk, chart.pk])
    rows = learned.feature_rows(read, posts, now=timezone.now(), trending_top=0, new_voices=set())
    column = {name: index for index, name in enumerate(learned.FEATURES)}
    by_post = {post.post_id: row for post, row in zip(posts, rows, strict=True)}
    assert by_post[lesson.pk][column["reads_type"]] > 0.5 and by_post[chart.pk][column["reads_type"]] == 0
    assert by_post[chart.pk][column["trades_asset"]] == 1.0 and by_post[lesson.pk][column["trades_asset"]] == 0
    assert by_post[lesson.pk][column["reads_creator"]] > 0
    assert by_post[lesson.pk][column["reads_level"]] == 1.0  # everything read was for beginners
    assert thin.evidence == 0 and 0 < read.evidence < 1
    assert by_post[chart.pk][column["trades_asset_x_thin"]] == pytest.approx(1 - read.evidence)


def hand_model(
    weights: dict[str, dict[str, float]], intercepts: dict[str, float], *, version: str = "test-model"
) -> learned.Model:
    """A model set by hand: per action, the weights of some features (the rest 0) and an intercept."""
    size = len(learned.FEATURES)
    coefficients = {action: np.zeros(size + 1 + len(learned.POSITION_BUCKETS)) for action in learned.ACTIONS}
    for action, by_feature in weights.items():
        for feature, weight in by_feature.items():
            coefficients[action][learned.FEATURES.index(feature)] = weight
    return learned.Model(
        version=version,
        features=list(learned.FEATURES),
        types=["analysis"],
        mean=np.zeros(size),
        scale=np.ones(size),
        intercepts=intercepts,
        coefficients=coefficients,
    )


def model_liking(feature: str, weight: float = 3.0) -> learned.Model:
    """A model under which only `feature` makes a like likelier."""
    return hand_model({"like": {feature: weight}}, dict.fromkeys(learned.ACTIONS, -3.0))


def test_the_learned_score_ranks_by_predicted_value_and_names_the_feature_that_lifted_it():
    me = reader("me", trades=["BTC"])
    teacher = creator("teacher")
    for _ in range(3):
        feed_services.like_post(user=me, post_id=tagged_post(teacher, content_type="education", assets=["ETH"]).pk)
    lesson = tagged_post(creator("other_teacher"), content_type="education", assets=["ETH"])
    chart = tagged_post(creator("charts"), content_type="analysis", assets=["BTC"])
    scoring.profiles.refresh_interest(user_id=me.pk)

    by_reading = scoring.rank_for_user(me.pk, model=model_liking("reads_type"), explore_share=0.0)
    by_trading = scoring.rank_for_user(me.pk, model=model_liking("trades_asset"), explore_share=0.0)

    # Every education post reads alike to this model (the ones liked before are candidates too).
    assert by_reading[0].content_type == "education" and lesson.pk in [item.post_id for item in by_reading[:4]]
    assert (
        next(item for item in by_reading if item.post_id == lesson.pk).reason.text() == "You often read Education posts"
    )
    assert [item.post_id for item in by_trading][:1] == [chart.pk]
    assert next(item for item in by_trading if item.post_id == chart.pk).reason.text() == "You trade BTC"


def test_a_model_fitted_to_known_behaviour_learns_its_direction_and_falls_back_to_base_rates():
    rng = np.random.default_rng(3)
    count = 6000
    rows = rng.random((count, len(learned.FEATURES)))
    reads_type = rows[:, learned.FEATURES.index("reads_type")]
    positions = rng.integers(0, 30, count)
    # Readers like what they read about, not what they trade, and look less far down the list.
    liked = rng.random(count) < (0.05 + 0.6 * reads_type) / (1 + positions / 5)
    labels = {action: np.zeros(count, dtype=bool) for action in training.LABEL_ORDER}
    labels["like"] = liked
    labels["report"][:3] = True  # too few to learn
    examples = Examples(
        rows=rows,
        types=["analysis"] * count,
        positions=positions,
        labels=labels,
        built_at=np.arange(count, dtype=float),
    )

    model, metrics = training.fit(examples, version="fitted")

    weights = model.coefficients["like"]
    assert weights[learned.FEATURES.index("reads_type")] > 0.3
    assert abs(weights[learned.FEATURES.index("trades_asset")]) < 0.3 * weights[learned.FEATURES.index("reads_type")]
    # Further down, fewer likes whatever the post: the place weights are negative, and scoring ignores them.
    assert all(weight < 0 for weight in weights[-len(learned.POSITION_BUCKETS) :])
    assert metrics["like"]["learned"] and metrics["like"]["auc"] > 0.7
    assert not metrics["report"]["learned"] and not model.coefficients["report"].any()
    reported = model.probabilities(model.design(rows[:2], ["analysis", "analysis"]))["report"]
    assert reported == pytest.approx([4 / (count + 2)] * 2, rel=1e-6)
    restored = learned.Model.from_artifact("fitted", model.artifact())
    assert np.allclose(restored.coefficients["like"], weights) and restored.types == model.types


# --- Retraining from the log -------------------------------------------------------------------


def serve_days(readers, *, days: range, now, rng):
    """Each reader is shown a page of For You a day, ranked by the active ranker as of that day with
    half the places exploring, and likes every education post on it (they trade BTC, but want to
    learn). Everything is written through the services under a simulated
    clock, so the impressions and likes land on that day."""
    teacher, charts = creator("teacher"), creator("charts")
    clock = SimulatedClock(now - timedelta(days=days[0]))
    with clock.running():
        for day in days:
            moment = now - timedelta(days=day)
            clock.set(moment)
            # Twice as much written about what they trade as about what they want.
            for index in range(12):
                author, kind, asset = (teacher, "education", "ETH") if index % 3 == 0 else (charts, "analysis", "BTC")
                tagged_post(author, content_type=kind, assets=[asset], level="beginner", hours_ago=1 + index / 10)
            for me in readers:
                clock.set(moment)
                ranked = scoring.rank_for_user(
                    me.pk, context=scoring.Context.as_of(moment), limit=20, explore_share=0.5, rng=rng
                )
                impressions.record_served(
                    reader_id=me.pk,
                    items=[
                        impressions.Served(item.post_id, item.source, item.score, item.propensity) for item in ranked
                    ],
                    first_place=0,
                    model_version=scoring.MODEL_VERSION,
                    explore_share=0.5,
                    built_at=moment,
                    client=feeds.redis_client(),
                    now=moment + timedelta(minutes=1),
                )
                clock.set(moment + timedelta(minutes=5))
                for item in ranked:
                    if item.content_type == "education":
                        feed_services.like_post(user=me, post_id=item.post_id)
    impressions.store_queued(client=feeds.redis_client())


def test_a_retrained_ranker_replaces_a_worse_one_and_is_refused_when_not_better():
    now = timezone.now()
    readers = [reader(f"learner{index}", trades=["BTC"]) for index in range(30)]
    serve_days(readers, days=range(8, 0, -1), now=now, rng=random.Random(5))
    assert Engagement.objects.filter(kind=Engagement.Kind.LIKE).count() > 100
    # The active ranker trusts trading alone: BTC analysis first for BTC traders.
    trading_only = model_liking("trades_asset")
    RankingModel.objects.create(version="trading-only", artifact=trading_only.artifact(), is_active=True)
    learned.forget_cached_model()

    first = training.retrain(now=now, seed=1)

    assert first.promoted, first.reason
    row = RankingModel.objects.get(is_active=True)
    assert row.version == first.model.version and row.compared_with == "trading-only"
    assert row.evaluation["difference"]["low"] > 0 and row.metrics["like"]["learned"]
    assert row.evaluation["candidate"]["value"] > row.evaluation["active"]["value"]
    ranked = scoring.rank_for_user(readers[0].pk, explore_share=0.0)
    assert ranked[0].content_type == "education"

    # Trained again on the same log: the same ranker, not better, so it stays inactive.
    second = training.retrain(now=now, seed=2)

    assert not second.promoted
    assert second.reason.startswith(f"not better than {first.model.version}")
    assert RankingModel.objects.get(is_active=True).version == first.model.version
    assert RankingModel.objects.get(version=second.model.version).promoted is False
    out = io.StringIO()
    call_command("train_ranker", "--seed", "3", stdout=out)
    assert "like" in out.getvalue() and "was stored, not activated: not better than" in out.getvalue()

    # A worse one is refused, and its figures say by how much.
    trading_only.version = "trading-only-again"
    worse = training.gate(trading_only, metrics={}, now=now)

    assert not worse.promoted and RankingModel.objects.get(is_active=True).version == first.model.version
    assert worse.model.evaluation["difference"]["high"] < 0


def test_training_without_impressions_says_what_to_do():
    with pytest.raises(CommandError, match="no impressions to learn from: serve some For You pages first"):
        call_command("train_ranker")


def test_a_model_stored_with_fewer_features_still_scores_by_its_own_names():
    """A ranker trained before a feature was added keeps working: its columns are picked by name."""
    older = [name for name in learned.FEATURES if name not in {"creator_share", "follow_strength"}]
    size = len(older)
    coefficients = {action: np.zeros(size + 1 + len(learned.POSITION_BUCKETS)) for action in learned.ACTIONS}
    coefficients["like"][older.index("reads_type")] = 2.0
    model = learned.Model(
        version="older",
        features=older,
        types=["analysis"],
        mean=np.zeros(size),
        scale=np.ones(size),
        intercepts=dict.fromkeys(learned.ACTIONS, -2.0),
        coefficients=coefficients,
    )
    rows = np.zeros((2, len(learned.FEATURES)))
    rows[0, learned.FEATURES.index("reads_type")] = 1.0

    scored = learned.score(model, rows, ["analysis", "analysis"], learned.DEFAULT_ACTION_VALUES)

    assert scored.values[0] > scored.values[1]
    assert scored.reasons[0][0] == "reads_type"


def test_a_creator_who_holds_most_of_a_readers_reading_gets_more_than_three_places_a_page():
    devoted, casual = reader("devoted", trades=["BTC"]), reader("casual", trades=["BTC"])
    favourite = creator("favourite")
    others = [creator(f"other{index}") for index in range(25)]
    # Three quarters of what the devoted reader read was the favourite's, a quarter another's; the
    # casual reader read her twice among many.
    for _ in range(12):
        feed_services.like_post(user=devoted, post_id=tagged_post(favourite, assets=["BTC"], hours_ago=30).pk)
    for _ in range(4):
        feed_services.like_post(user=devoted, post_id=tagged_post(others[10], assets=["BTC"], hours_ago=30).pk)
    for author in [favourite, favourite, *others[:6]]:
        feed_services.like_post(user=casual, post_id=tagged_post(author, assets=["BTC"], hours_ago=30).pk)
    for hour in range(15):
        tagged_post(favourite, assets=["BTC"], hours_ago=1 + hour / 10)
    for author in others:
        tagged_post(author, assets=["BTC"], hours_ago=5)
    model = model_liking("creator_share")

    def favourites_on_first_page(me) -> int:
        scoring.profiles.refresh_interest(user_id=me.pk)
        ranked = scoring.rank_for_user(me.pk, model=model, explore_share=0.0)[:20]
        return sum(item.author_id == favourite.pk for item in ranked)

    reading = learned.reader_as_of(devoted.pk, moment=None, refresh=True)
    assert reading.reads_share("creator:", str(favourite.pk)) == pytest.approx(0.75, abs=0.05)
    # Three quarters of a page, at most half of it; a quarter of their reading is not devotion.
    assert reading.author_slots(page_size=20, per_author=3) == {favourite.pk: 10}
    # Two likes tell too little yet, even both for her.
    newcomer = reader("newcomer")
    for _ in range(2):
        feed_services.like_post(user=newcomer, post_id=tagged_post(favourite, assets=["BTC"], hours_ago=30).pk)
    assert learned.reader_as_of(newcomer.pk, moment=None, refresh=True).author_slots(page_size=20, per_author=3) == {}
    assert favourites_on_first_page(devoted) == 10
    assert favourites_on_first_page(casual) == 3  # the usual cap
    # The heuristic keeps the usual cap for everyone.
    assert sum(item.author_id == favourite.pk for item in scoring.rank_for_user(devoted.pk, model=None)[:20]) == 3
