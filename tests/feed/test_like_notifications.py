"""Like/unlike cycling notifies the author once per reader and post, not once per cycle."""

import pytest
from django.db import IntegrityError, transaction

from feed import services
from feed.models import Engagement, Notification
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_twenty_like_unlike_cycles_send_the_author_one_notification():
    post, reader = PostFactory(), UserFactory()

    for _ in range(20):
        services.like_post(user=reader, post_id=post.pk)
        services.unlike_post(user=reader, post_id=post.pk)

    assert Notification.objects.filter(recipient=post.author, verb="like").count() == 1
    # The log still holds every like and unlike: only the notification is once.
    assert Engagement.objects.filter(post=post, kind=Engagement.Kind.LIKE).count() == 20


def test_each_reader_still_notifies_the_author_once():
    post = PostFactory()
    for reader in UserFactory.create_batch(3):
        services.like_post(user=reader, post_id=post.pk)
        services.unlike_post(user=reader, post_id=post.pk)
        services.like_post(user=reader, post_id=post.pk)

    assert Notification.objects.filter(recipient=post.author, verb="like").count() == 3


def test_the_database_refuses_a_second_like_notification_for_one_reader_and_post():
    post, reader = PostFactory(), UserFactory()
    services.like_post(user=reader, post_id=post.pk)

    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=post.author, actor=reader, verb="like", post=post)
