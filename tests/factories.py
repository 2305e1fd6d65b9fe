from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from creators.models import Fill, Profile, User
from feed.models import Post


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"trader{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")
    profile = factory.RelatedFactory("tests.factories.ProfileFactory", factory_related_name="user")


class ProfileFactory(DjangoModelFactory):
    class Meta:
        model = Profile

    user = factory.SubFactory(UserFactory, profile=None)
    display_name = factory.LazyAttribute(lambda profile: profile.user.username.title())


class PostFactory(DjangoModelFactory):
    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    content_type_id = "analysis"
    body = factory.Sequence(lambda n: f"$BTC looks strong above the weekly open, note {n}. #btc")


class FillFactory(DjangoModelFactory):
    """A fill as the exchange webhook stores it; the instrument names its asset, quote and type."""

    class Meta:
        model = Fill

    fill_id = factory.Sequence(lambda n: f"fill-{n}")
    user = factory.SubFactory(UserFactory)
    instrument = "BTC-USDT"
    instrument_type = factory.LazyAttribute(lambda fill: "perpetual" if fill.instrument.endswith("-SWAP") else "spot")
    asset = factory.LazyAttribute(lambda fill: fill.instrument.split("-")[0])
    quote = factory.LazyAttribute(lambda fill: fill.instrument.split("-")[1])
    side = "buy"
    quantity = Decimal(1)
    price = Decimal(100)
    filled_at = factory.LazyFunction(timezone.now)
