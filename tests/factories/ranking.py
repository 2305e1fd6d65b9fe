"""Factories for ranking: tagger models, post tags, content-type weights, interest profiles,
impressions and learned rankers."""

import uuid
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from ranking.models import (
    ActionValue,
    ContentMixDay,
    ContentTypeWeight,
    ContentTypeWeightChange,
    Impression,
    PostTags,
    RankingModel,
    TagCorrection,
    TaggerModel,
    UserInterest,
)

from .base import MOMENT
from .creators import UserFactory
from .feed import PostFactory, PostTypeFactory


class TaggerModelFactory(DjangoModelFactory):
    """A stored, inactive tagger whose artifact is empty: enough for admin and version tests;
    ranking.tagging trains real ones."""

    class Meta:
        model = TaggerModel

    version = factory.Sequence(lambda n: f"tagger-{n}")
    corpus_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    metrics = factory.LazyFunction(lambda: {"content_type": {"macro_f1": 0.9}})
    artifact = b""
    is_active = False


class PostTagsFactory(DjangoModelFactory):
    """Tags as the tagger would have left them on a post of its content type."""

    class Meta:
        model = PostTags

    post = factory.SubFactory(PostFactory)
    content_type = factory.LazyAttribute(lambda tags: tags.post.content_type_id)
    level = PostTags.Level.INTERMEDIATE
    topics = factory.LazyFunction(lambda: ["macro"])
    assets = factory.LazyFunction(lambda: ["BTC"])
    language = "en"
    quality = 0.7
    model_version = "test"


class TagCorrectionFactory(DjangoModelFactory):
    """An operator's correction row alone. It does not touch the post's tags: tests that need the
    override correct through ranking.teaching.correct, as admin does."""

    class Meta:
        model = TagCorrection

    post = factory.SubFactory(PostFactory)
    content_type = "analysis"
    assets = factory.LazyFunction(lambda: ["ETH"])
    previous_content_type = "education"
    previous_assets = factory.LazyFunction(lambda: ["BTC"])
    previous_model_version = "test"
    corrected_by = factory.SubFactory(UserFactory, is_staff=True)
    corrected_at = MOMENT
    note = "A market view, not an explainer"


class ContentTypeWeightFactory(DjangoModelFactory):
    """The neutral weight of a new content type (the built-in types have theirs from migration 0002)."""

    class Meta:
        model = ContentTypeWeight

    post_type = factory.SubFactory(PostTypeFactory)
    base_weight = Decimal("1.00")
    target_share = Decimal("0.100")
    min_multiplier = Decimal("0.50")
    max_multiplier = Decimal("2.00")
    multiplier = Decimal("1.00")


class ContentTypeWeightChangeFactory(DjangoModelFactory):
    """An operator raising a base weight, as ranking.weights records it."""

    class Meta:
        model = ContentTypeWeightChange

    weight = factory.SubFactory(ContentTypeWeightFactory)
    field = "base_weight"
    old_value = "1.00"
    new_value = "1.20"
    changed_by = factory.SubFactory(UserFactory, is_staff=True)
    reason = "More beginner explainers"


class UserInterestFactory(DjangoModelFactory):
    class Meta:
        model = UserInterest

    user = factory.SubFactory(UserFactory)
    trading = factory.LazyFunction(lambda: {"asset:BTC": 1.0, "type:trade_share": 0.5})
    engagement = factory.LazyFunction(lambda: {"asset:ETH": 0.8, "topic:defi": 0.4})


class ContentMixDayFactory(DjangoModelFactory):
    """One day of one content type's supply and For You exposure, as ranking.content_mix rolls it up."""

    class Meta:
        model = ContentMixDay
        django_get_or_create = ("day", "post_type")

    day = factory.LazyFunction(lambda: MOMENT.date())
    post_type = factory.SubFactory(PostTypeFactory)
    posts = 10.0
    impressions = 100


class ImpressionFactory(DjangoModelFactory):
    """One ranked For You place a reader was shown, as ranking.impressions stores it."""

    class Meta:
        model = Impression

    served_at = MOMENT
    list_built_at = MOMENT
    reader = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)
    surface = Impression.Surface.FOR_YOU
    page = factory.Sequence(lambda n: uuid.UUID(int=n + 1))
    position = 0
    source = Impression.Source.RANKED
    score = 0.5
    propensity = 0.95
    explore_share = 0.05
    model_version = "heuristic-1"


class RankingModelFactory(DjangoModelFactory):
    """A stored, inactive learned ranker whose every action has its base rate and no weights: enough
    for admin and activation tests; ranking.training trains real ones."""

    class Meta:
        model = RankingModel

    version = factory.Sequence(lambda n: f"ranker-{n}")
    artifact = factory.LazyFunction(
        lambda: {
            "features": [],
            "types": [],
            "mean": [],
            "scale": [],
            "intercepts": {"like": -3.0},
            "coefficients": {"like": [0.0, 0.0, 0.0, 0.0, 0.0]},
        }
    )
    metrics = factory.LazyFunction(lambda: {"like": {"positives": 40, "base_rate": 0.05, "learned": True}})
    is_active = False


class ActionValueFactory(DjangoModelFactory):
    """Every action has its row from migration 0008: this returns the stored one."""

    class Meta:
        model = ActionValue
        django_get_or_create = ("action",)

    action = ActionValue.Action.LIKE
    value = Decimal("2.00")
