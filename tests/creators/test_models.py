import pytest
from django.db import IntegrityError, transaction

from creators.models import Follow
from markets.models import TradingProfile
from tests.concurrency import race
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_pair_can_follow_only_once():
    fan, creator = UserFactory(), UserFactory()
    Follow.objects.create(follower=fan, followee=creator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=fan, followee=creator)
    assert Follow.objects.filter(follower=fan, followee=creator).count() == 1


def test_following_back_is_a_separate_pair():
    fan, creator = UserFactory(), UserFactory()
    Follow.objects.create(follower=fan, followee=creator)
    Follow.objects.create(follower=creator, followee=fan)
    assert Follow.objects.count() == 2


def test_nobody_can_follow_themselves():
    user = UserFactory()
    with pytest.raises(IntegrityError, match="follow_not_self"), transaction.atomic():
        Follow.objects.create(follower=user, followee=user)


def test_kyc_level_outside_the_known_levels_is_refused():
    user = UserFactory()
    with pytest.raises(IntegrityError, match="trading_kyc_level_known"), transaction.atomic():
        TradingProfile.objects.create(user=user, kyc_level=7)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_follow_clicks_leave_exactly_one_row():
    fan, creator = UserFactory(), UserFactory()
    outcomes = race(lambda: Follow.objects.create(follower=fan, followee=creator))

    assert outcomes == ["created", "refused", "refused", "refused"]
    assert Follow.objects.filter(follower=fan, followee=creator).count() == 1
