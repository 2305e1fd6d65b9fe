"""Factories for creators: accounts, profiles, titles, follows, mutes, blocks and API tokens."""

from datetime import timedelta

import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory

from creators.models import ApiToken, Block, CreatorTitle, Follow, Mute, Profile, User
from creators.tokens import KEY_MARKER, PREFIX_LENGTH, hash_key


class UserFactory(DjangoModelFactory):
    """An active account with a profile; the password is "correct horse battery staple"."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"trader{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")
    profile = factory.RelatedFactory("tests.factories.creators.ProfileFactory", factory_related_name="user")


class ProfileFactory(DjangoModelFactory):
    class Meta:
        model = Profile

    user = factory.SubFactory(UserFactory, profile=None)
    display_name = factory.LazyAttribute(lambda profile: profile.user.username.title())


class CreatorTitleFactory(DjangoModelFactory):
    class Meta:
        model = CreatorTitle
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"stage-{n}")
    name_en = factory.Sequence(lambda n: f"Stage {n}")
    name_zh = factory.Sequence(lambda n: f"阶段 {n}")
    min_followers = factory.Sequence(lambda n: 100 * (n + 1))


def _set_created_at(model_class, instance, created_at):
    """`created_at` is auto_now_add on these rows: a given time is written after the insert."""
    if created_at is not None:
        model_class.objects.filter(pk=instance.pk).update(created_at=created_at)
        instance.created_at = created_at
    return instance


class FollowFactory(DjangoModelFactory):
    """The follow row alone, as a test world needs it: no engagement row and no notification
    (creators.services.follow_user writes those). Accepts `created_at`."""

    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, created_at=None, **kwargs):
        return _set_created_at(model_class, super()._create(model_class, *args, **kwargs), created_at)


class MuteFactory(DjangoModelFactory):
    """Accepts `created_at`."""

    class Meta:
        model = Mute

    user = factory.SubFactory(UserFactory)
    target = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, created_at=None, **kwargs):
        return _set_created_at(model_class, super()._create(model_class, *args, **kwargs), created_at)


class BlockFactory(DjangoModelFactory):
    """The block row alone; creators.services.block_user also ends the follows both ways.
    Accepts `created_at`."""

    class Meta:
        model = Block

    user = factory.SubFactory(UserFactory)
    target = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, created_at=None, **kwargs):
        return _set_created_at(model_class, super()._create(model_class, *args, **kwargs), created_at)


class ApiTokenFactory(DjangoModelFactory):
    """A token as creators.tokens.issue_api_token stores it; the key is `token.key` (never stored).

    `created_at` defaults to the clock, not to MOMENT: a token created before its user's password
    was set (UserFactory sets it now) is refused, so a fixed past moment would make it useless.
    Tests about expiry pass `created_at` (and `expires_at`)."""

    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    name = "API client"
    key = factory.Sequence(lambda n: f"{KEY_MARKER}factory-key-{n:08d}")
    prefix = factory.LazyAttribute(lambda token: token.key[:PREFIX_LENGTH])
    key_hash = factory.LazyAttribute(lambda token: hash_key(token.key))
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda token: token.created_at + timedelta(days=settings.ORBIT_API_TOKEN_DAYS))

    @classmethod
    def _create(cls, model_class, *args, key, **kwargs):
        token = super()._create(model_class, *args, **kwargs)
        token.key = key
        return token

    @classmethod
    def _build(cls, model_class, *args, key, **kwargs):
        token = super()._build(model_class, *args, **kwargs)
        token.key = key
        return token
