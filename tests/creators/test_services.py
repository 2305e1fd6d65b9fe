import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from creators import services
from creators.models import Follow
from feed.models import Engagement, Notification
from tests.concurrency import race
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_following_logs_the_follow_and_notifies_the_followee():
    fan, creator = UserFactory(), UserFactory()
    assert services.follow_user(follower=fan, username=creator.username) is True
    assert services.follow_user(follower=fan, username=creator.username) is False
    assert Follow.objects.filter(follower=fan, followee=creator).count() == 1
    follow_event = Engagement.objects.get(kind=Engagement.Kind.FOLLOW)
    assert (follow_event.actor, follow_event.creator, follow_event.post) == (fan, creator, None)
    assert Notification.objects.filter(recipient=creator, verb="follow").count() == 1


def test_unfollowing_is_a_new_row_in_the_log():
    fan, creator = UserFactory(), UserFactory()
    services.follow_user(follower=fan, username=creator.username)
    assert services.unfollow_user(follower=fan, username=creator.username) is True
    assert not Follow.objects.exists()
    assert Engagement.objects.filter(kind=Engagement.Kind.UNFOLLOW).count() == 1


def test_following_yourself_or_someone_who_blocked_you_is_refused():
    fan, creator = UserFactory(), UserFactory()
    with pytest.raises(ValidationError, match="yourself"):
        services.follow_user(follower=fan, username=fan.username)
    services.block_user(user=creator, username=fan.username)
    with pytest.raises(PermissionDenied):
        services.follow_user(follower=fan, username=creator.username)
    assert not Follow.objects.exists()


def test_blocking_ends_follows_both_ways():
    first, second = UserFactory(), UserFactory()
    services.follow_user(follower=first, username=second.username)
    services.follow_user(follower=second, username=first.username)
    services.block_user(user=first, username=second.username)
    assert not Follow.objects.exists()


def test_following_an_unknown_person_says_who_is_missing():
    with pytest.raises(Exception, match="no one called @ghost"):
        services.follow_user(follower=UserFactory(), username="ghost")


def test_a_suspended_user_cannot_follow():
    fan, creator = UserFactory(suspended_at=timezone.now()), UserFactory()
    with pytest.raises(PermissionDenied, match="suspended"):
        services.follow_user(follower=fan, username=creator.username)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_user_following_from_eight_threads_follows_once():
    fan, creator = UserFactory(), UserFactory()
    race(lambda: services.follow_user(follower=fan, username=creator.username), racers=8)
    assert Follow.objects.filter(follower=fan, followee=creator).count() == 1
    assert Engagement.objects.filter(kind=Engagement.Kind.FOLLOW).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_users_following_at_once_make_eight_follows():
    import threading

    creator = UserFactory()
    fans = iter(UserFactory.create_batch(8))
    mine = {}

    def follow():
        fan = mine.setdefault(threading.get_ident(), next(fans))
        services.follow_user(follower=fan, username=creator.username)

    race(follow, racers=8)
    assert Follow.objects.filter(followee=creator).count() == 8


def test_profile_updates_validate_each_field():
    user = UserFactory()
    profile = services.update_profile(user=user, display_name="  Vitalik Fan ", bio="ETH maxi", language="zh-hans")
    assert (profile.display_name, profile.bio, profile.language) == ("Vitalik Fan", "ETH maxi", "zh-hans")
    with pytest.raises(ValidationError, match="50 characters"):
        services.update_profile(user=user, display_name="x" * 51)
    with pytest.raises(ValidationError, match="English or Simplified Chinese"):
        services.update_profile(user=user, language="fr")


def test_an_avatar_that_is_not_an_image_is_refused():
    fake = SimpleUploadedFile("avatar.png", b"<?php echo 'hi'; ?>", content_type="image/png")
    with pytest.raises(ValidationError, match="not an image"):
        services.update_profile(user=UserFactory(), avatar=fake)
