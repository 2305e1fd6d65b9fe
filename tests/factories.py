import factory
from factory.django import DjangoModelFactory

from creators.models import Profile, User
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
