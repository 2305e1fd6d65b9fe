"""Who may see whom: the rule once (creators.selectors), and every reader of posts honouring it.

A viewer never sees people they muted, people they blocked, or people who blocked them. Each
caller is checked with a block both ways: the viewer blocking the author, and the author blocking
the viewer.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from creators.models import Block, Mute
from creators.selectors import hidden_author_id_set, hidden_author_ids, hidden_authors_sql, hidden_pairs_sql
from feed import selectors as feed_selectors
from ranking import cards, evaluation, scoring
from tests.factories import PostFactory
from tests.ranking.world import creator, reader, tagged_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    viewer, muted, blocked, blocker, bystander = (
        creator(name) for name in ("viewer", "muted", "blocked", "blocker", "bystander")
    )
    Mute.objects.create(user=viewer, target=muted)
    Block.objects.create(user=viewer, target=blocked)
    Block.objects.create(user=blocker, target=viewer)
    return viewer, muted, blocked, blocker, bystander


def test_a_viewer_does_not_see_the_muted_the_blocked_or_the_blocking(people):
    viewer, muted, blocked, blocker, bystander = people

    assert hidden_author_id_set(viewer) == {muted.pk, blocked.pk, blocker.pk}
    assert set(hidden_author_ids(viewer.pk)) == {muted.pk, blocked.pk, blocker.pk}  # a user or an id
    # A mute is one way; a block is both ways; a third person sees everyone.
    assert hidden_author_id_set(muted) == set()
    assert hidden_author_id_set(blocked) == {viewer.pk}
    assert hidden_author_id_set(blocker) == {viewer.pk}
    assert hidden_author_id_set(bystander) == set()


def test_the_sql_fragments_say_the_same_as_the_orm(people):
    viewer, *_others, bystander = people
    everyone = [user.pk for user in people]
    with connection.cursor() as cursor:
        cursor.execute(hidden_authors_sql("%(me)s"), {"me": viewer.pk})
        single = {row[0] for row in cursor.fetchall()}
        cursor.execute(hidden_pairs_sql("%(users)s"), {"users": everyone})
        pairs = cursor.fetchall()

    assert single == hidden_author_id_set(viewer)
    for user in people:
        assert {author for who, author in pairs if who == user.pk} == hidden_author_id_set(user)
    assert not [pair for pair in pairs if bystander.pk in pair]


def test_hiding_in_a_feed_costs_no_extra_query(people, django_assert_num_queries):
    viewer, *_ = people
    PostFactory.create_batch(3)
    # The page with the hidden people as a subquery, then assets and images: no query of its own.
    with django_assert_num_queries(3):
        list(feed_selectors._post_cards(viewer)[:20])


# --- Every caller, with a block made in either direction ---------------------------------------

DIRECTIONS = ["viewer_blocks_author", "author_blocks_viewer"]


def block(direction: str, *, viewer, author) -> None:
    if direction == "viewer_blocks_author":
        Block.objects.create(user=viewer, target=author)
    else:
        Block.objects.create(user=author, target=viewer)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_latest_and_comments_leave_out_a_block_either_way(direction):
    viewer, author, other = (creator(name) for name in ("viewer", "author", "other"))
    blocked_post, shown = PostFactory(author=author), PostFactory(author=other)
    block(direction, viewer=viewer, author=author)

    assert [post.pk for post in feed_selectors.latest_posts(viewer=viewer).items] == [shown.pk]
    assert [post.pk for post in feed_selectors.latest_posts(viewer=other).items] == [shown.pk, blocked_post.pk]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_for_you_scoring_and_its_fill_leave_out_a_block_either_way(direction):
    viewer = reader("viewer", trades=["ETH"])
    author, other = creator("author"), creator("other")
    blocked_post, shown = tagged_post(author, assets=["ETH"]), tagged_post(other, assets=["ETH"])
    block(direction, viewer=viewer, author=author)

    ranked = [item.post_id for item in scoring.rank_for_user(viewer.pk)]
    filled = [item.post_id for item in scoring.latest_fill(viewer.pk, exclude=set(), limit=10, allow_seen=True)]

    assert shown.pk in ranked and blocked_post.pk not in ranked
    assert filled == [shown.pk]


@pytest.mark.parametrize("renderer", ["post_objects", "cached_cards"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_for_you_cards_leave_out_a_block_either_way(direction, renderer):
    viewer, author, other = (creator(name) for name in ("viewer", "author", "other"))
    blocked_post, shown = PostFactory(author=author), PostFactory(author=other)
    block(direction, viewer=viewer, author=author)
    if renderer == "post_objects":
        render = cards.PostObjects(user=viewer)
    else:
        render = cards.CachedCards(user=viewer, request=RequestFactory().get("/"))

    assert list(render.visible([blocked_post.pk, shown.pk])) == [shown.pk]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_offline_evaluation_leaves_out_a_block_either_way(direction):
    cutoff = timezone.now() - timedelta(days=1)
    viewer, bystander = reader("viewer"), reader("bystander")
    author, other = creator("author"), creator("other")
    blocked_post, shown = tagged_post(author, hours_ago=30), tagged_post(other, hours_ago=31)
    block(direction, viewer=viewer, author=author)
    audience = evaluation.Audience(
        user_ids=[viewer.pk, bystander.pk], cutoff=cutoff, horizon=timedelta(days=3), list_length=10
    )

    assert evaluation.chronological(audience) == {viewer.pk: [shown.pk], bystander.pk: [blocked_post.pk, shown.pk]}
