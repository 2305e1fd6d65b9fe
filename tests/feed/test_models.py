import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from feed.models import Engagement, Like
from tests.concurrency import race
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_likes_a_post_only_once():
    post, reader = PostFactory(), UserFactory()
    Like.objects.create(user=reader, post=post)
    with pytest.raises(IntegrityError, match="like_once_per_user_post"), transaction.atomic():
        Like.objects.create(user=reader, post=post)
    assert Like.objects.filter(post=post).count() == 1


def test_two_readers_may_like_the_same_post():
    post = PostFactory()
    Like.objects.create(user=UserFactory(), post=post)
    Like.objects.create(user=UserFactory(), post=post)
    assert post.likes.count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_like_clicks_leave_exactly_one_like():
    post, reader = PostFactory(), UserFactory()
    outcomes = race(lambda: Like.objects.create(user=reader, post=post))

    assert outcomes == ["created", "refused", "refused", "refused"]
    assert Like.objects.filter(user=reader, post=post).count() == 1


def _view(post, reader):
    return Engagement.objects.create(actor=reader, post=post, creator=post.author, kind=Engagement.Kind.VIEW)


def test_engagement_rows_cannot_be_changed():
    post = PostFactory()
    event = _view(post, UserFactory())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Engagement.objects.filter(pk=event.pk).update(kind=Engagement.Kind.LIKE)
    event.refresh_from_db()
    assert event.kind == Engagement.Kind.VIEW


def test_engagement_rows_cannot_be_deleted():
    post = PostFactory()
    event = _view(post, UserFactory())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Engagement.objects.filter(pk=event.pk).delete()
    assert Engagement.objects.filter(pk=event.pk).exists()


def test_an_unlike_is_a_new_row_in_the_log():
    post, reader = PostFactory(), UserFactory()
    for kind in (Engagement.Kind.LIKE, Engagement.Kind.UNLIKE):
        Engagement.objects.create(actor=reader, post=post, creator=post.author, kind=kind)
    kinds = list(Engagement.objects.filter(post=post).order_by("id").values_list("kind", flat=True))
    assert kinds == [Engagement.Kind.LIKE, Engagement.Kind.UNLIKE]


def test_only_time_spent_rows_carry_milliseconds():
    post = PostFactory()
    Engagement.objects.create(
        actor=UserFactory(), post=post, creator=post.author, kind=Engagement.Kind.DWELL, dwell_ms=42_000
    )
    with pytest.raises(IntegrityError, match="engagement_dwell_only_on_dwell"), transaction.atomic():
        Engagement.objects.create(
            actor=UserFactory(), post=post, creator=post.author, kind=Engagement.Kind.LIKE, dwell_ms=5
        )


def test_engagement_has_indexes_for_time_and_creator():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'feed_engagement'")
        indexes = dict(cursor.fetchall())
    assert "USING brin (occurred_at)" in indexes["engagement_time_brin"]
    assert "(creator_id, occurred_at)" in indexes["engagement_creator_time"]
