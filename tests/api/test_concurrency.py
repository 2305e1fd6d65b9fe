"""Racing requests through the whole API stack, each thread on its own database connection."""

import threading

import pytest
from django.db import connection

from creators.models import Follow
from feed.models import Engagement, Like, Notification, Post
from tests.factories import PostFactory, UserFactory

from .conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

RACERS = 8


def race_requests(requests) -> list[int]:
    """Send each (client, method, path) from its own thread, released at the same instant."""
    barrier = threading.Barrier(len(requests))
    statuses = [None] * len(requests)

    def send(index, client, method, path):
        try:
            barrier.wait()
            statuses[index] = getattr(client, method)(path).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_one_user_liking_from_eight_threads_counts_once():
    post = PostFactory()
    fan = client_for(UserFactory())
    statuses = race_requests([(fan, "post", f"/api/v1/posts/{post.pk}/like/")] * RACERS)
    assert statuses == [200] * RACERS
    assert Like.objects.filter(post=post).count() == 1
    assert Post.objects.get(pk=post.pk).like_count == 1
    assert Engagement.objects.filter(post=post, kind=Engagement.Kind.LIKE).count() == 1
    assert Notification.objects.filter(post=post, verb="like").count() == 1


def test_eight_users_liking_at_once_count_eight():
    post = PostFactory()
    fans = [client_for(UserFactory()) for _ in range(RACERS)]
    statuses = race_requests([(fan, "post", f"/api/v1/posts/{post.pk}/like/") for fan in fans])
    assert statuses == [200] * RACERS
    assert Like.objects.filter(post=post).count() == RACERS
    assert Post.objects.get(pk=post.pk).like_count == RACERS


def test_one_user_unliking_from_eight_threads_uncounts_once():
    post = PostFactory()
    fan_user = UserFactory()
    fan = client_for(fan_user)
    fan.post(f"/api/v1/posts/{post.pk}/like/")
    statuses = race_requests([(fan, "delete", f"/api/v1/posts/{post.pk}/like/")] * RACERS)
    assert statuses == [200] * RACERS
    assert not Like.objects.exists()
    assert Post.objects.get(pk=post.pk).like_count == 0
    assert Engagement.objects.filter(post=post, kind=Engagement.Kind.UNLIKE).count() == 1


def test_one_user_following_from_eight_threads_follows_once():
    creator = UserFactory()
    fan = client_for(UserFactory())
    statuses = race_requests([(fan, "post", f"/api/v1/users/{creator.username}/follow/")] * RACERS)
    assert statuses == [200] * RACERS
    assert Follow.objects.filter(followee=creator).count() == 1
    assert Engagement.objects.filter(creator=creator, kind=Engagement.Kind.FOLLOW).count() == 1
    assert Notification.objects.filter(recipient=creator, verb="follow").count() == 1


def test_eight_users_following_at_once_follow_eight_times():
    creator = UserFactory()
    fans = [client_for(UserFactory()) for _ in range(RACERS)]
    statuses = race_requests([(fan, "post", f"/api/v1/users/{creator.username}/follow/") for fan in fans])
    assert statuses == [200] * RACERS
    assert Follow.objects.filter(followee=creator).count() == RACERS
    assert client_for(UserFactory()).get(f"/api/v1/users/{creator.username}/").json()["followers_count"] == RACERS


def test_a_burst_of_parallel_posts_gets_exactly_the_budget(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "post": "3/hour"},
    }
    author = client_for(UserFactory())
    barrier = threading.Barrier(RACERS)
    statuses = []

    def publish(n):
        try:
            barrier.wait()
            response = author.post("/api/v1/posts/", {"body": f"take {n}", "content_type": "chat"}, format="json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 3 + [429] * (RACERS - 3)
    assert Post.objects.count() == 3
