import threading

import pytest
from django.db import IntegrityError, connection, transaction

from creators.models import Follow, TradingProfile
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
    barrier = threading.Barrier(4)
    outcomes = []

    def click():
        barrier.wait()
        try:
            with transaction.atomic():
                Follow.objects.create(follower=fan, followee=creator)
            outcomes.append("created")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "refused", "refused", "refused"]
    assert Follow.objects.filter(follower=fan, followee=creator).count() == 1
