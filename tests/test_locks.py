"""Advisory-lock namespaces: distinct, keys folded into int4 the same way every time, and on real
Postgres, the same key in two namespaces never waits while the same namespace and key does."""

import threading
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection, transaction

from feed import services as feed_services
from feed.models import Engagement
from orbit import locks
from orbit.locks import INT4_MAX, INT4_MIN, Namespace, fold
from tests.factories import PostFactory, UserFactory


def test_namespaces_are_distinct_int4_values():
    values = [member.value for member in Namespace.__members__.values()]  # aliases included
    assert len(values) == len(set(values))
    assert all(INT4_MIN <= value <= INT4_MAX for value in values)


def test_keys_fold_into_int4_deterministically():
    assert fold(42) == 42 and fold(INT4_MAX) == INT4_MAX and fold(-7) == -7  # int4 keys as they are
    assert fold(Engagement.Kind.VIEW) == int(Engagement.Kind.VIEW)
    for key in (2**40, "2026-W47", (7401, 12), ("fp", 12, 1)):
        assert INT4_MIN <= fold(key) <= INT4_MAX
        assert fold(key) == fold(key)
    # An enum member locks what its value locks; different tuples lock different keys (here).
    assert fold(("fp", 12, Engagement.Kind.VIEW)) == fold(("fp", 12, int(Engagement.Kind.VIEW)))
    assert fold((7401, 12)) != fold((12, 7401))
    assert fold(("ab", 1)) != fold(("a", "b1"))
    # Stable across processes and releases: a fold must never change under running code.
    assert fold("2026-W47") == -1049929254


def test_a_key_that_is_not_an_int_a_str_or_a_tuple_is_refused():
    with pytest.raises(TypeError):
        fold(True)
    with pytest.raises(TypeError):
        fold(1.5)


def test_a_transaction_lock_outside_a_transaction_is_refused():
    # In autocommit Postgres would release it when the statement ends: refused before any query.
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="released at once"):
        locks.lock(Namespace.VIEW, 1)


# --- On real Postgres, with a second connection ------------------------------------------------


@contextmanager
def held_elsewhere(take):
    """Run `take()` in a transaction on another connection (another thread) and keep it open."""
    taken, release, failure = threading.Event(), threading.Event(), []

    def holder():
        try:
            with transaction.atomic():
                take()
                taken.set()
                release.wait(timeout=30)
        except Exception as exc:
            failure.append(exc)
            taken.set()
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert taken.wait(timeout=30)
    assert not failure, failure
    try:
        yield
    finally:
        release.set()
        thread.join(timeout=30)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_key_in_another_namespace_does_not_wait_and_in_the_same_one_does():
    with held_elsewhere(lambda: locks.lock(Namespace.CARD_VERIFICATION, 7401)), transaction.atomic():
        assert locks.try_lock(Namespace.VIEW, 7401)
        assert locks.try_lock(Namespace.SETTLEMENT_WEEK, 7401)
        assert not locks.try_lock(Namespace.CARD_VERIFICATION, 7401)
        assert locks.try_lock(Namespace.CARD_VERIFICATION, 7402)
    with transaction.atomic():  # released with the holder's transaction
        assert locks.try_lock(Namespace.CARD_VERIFICATION, 7401)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_lock_waits_for_the_holder_of_the_same_namespace_and_key():
    weeks = ["2026-W47", "2026-W48"]
    with (
        held_elsewhere(lambda: locks.lock_many(Namespace.SETTLEMENT_WEEK, weeks)),
        pytest.raises(OperationalError, match="lock timeout"),
        transaction.atomic(),
    ):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '300ms'")
        locks.lock(Namespace.SETTLEMENT_WEEK, "2026-W48")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_recording_a_view_does_not_wait_for_card_verification_of_a_user_whose_id_is_the_post_id():
    """A view by user 7401 of post N used to lock (7401, N): exactly card verification's lock on
    user N's fills (namespace 7401). Now the view lock has a namespace of its own."""
    viewer, post = UserFactory(id=7401), PostFactory()
    with held_elsewhere(lambda: locks.lock_many(Namespace.CARD_VERIFICATION, [post.pk])), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        assert feed_services.record_view(viewer=viewer, post=post)
    assert Engagement.objects.filter(actor=viewer, post=post, kind=Engagement.Kind.VIEW).count() == 1
