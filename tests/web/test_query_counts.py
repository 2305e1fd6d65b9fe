"""Each list page costs a fixed number of queries, however many posts it shows."""

import pytest
from django.urls import reverse

from creators.models import Follow
from feed import services
from markets.models import Asset
from tests.factories import PostFactory, UserFactory

from .conftest import png_upload

pytestmark = pytest.mark.django_db

# A signed-in request always pays for: the session, the user, and the unread-notification badge
# (feed.context_processors.site).
SIGNED_IN = 3


@pytest.fixture
def reader(client):
    user = UserFactory(username="reader")
    client.force_login(user)
    return user


def _seed(count, *, author=None, asset=None):
    for n in range(count):
        post = PostFactory(author=author or UserFactory(), body=f"$BTC note {n} #btc")
        if asset is not None:
            post.assets.add(asset)
        if n % 3 == 0:
            post.images.create(image=png_upload(f"{n}.png"), position=0)


@pytest.mark.parametrize("count", [3, 20])
def test_latest_query_count_is_fixed(client, reader, django_assert_num_queries, count):
    _seed(count, asset=Asset.objects.create(symbol="BTC", name="Bitcoin"))
    # The page of posts (authors, profiles, content types, trade cards and calls joined in; liked and
    # the hidden authors as subqueries), then one prefetch each for assets and images, then the
    # authors' trades of those assets around posting (disclosures). No card or call: no quote query.
    with django_assert_num_queries(SIGNED_IN + 4):
        response = client.get(reverse("feed:latest"))
    assert len(response.context["page"].items) == count


def test_latest_for_an_anonymous_reader_needs_no_session_queries(client, django_assert_num_queries):
    _seed(20)
    # The page of posts, its assets, its images: nothing for a session nobody has.
    with django_assert_num_queries(3):
        client.get(reverse("feed:latest"))


@pytest.mark.parametrize("count", [3, 20])
def test_following_query_count_is_fixed(client, reader, django_assert_num_queries, count):
    followed = UserFactory()
    Follow.objects.create(follower=reader, followee=followed)
    _seed(count, author=followed)
    # The followed ids as a list, then the page of posts, assets, images.
    with django_assert_num_queries(SIGNED_IN + 4):
        response = client.get(reverse("feed:following"))
    assert len(response.context["page"].items) == count


@pytest.mark.parametrize("count", [3, 20])
def test_asset_page_query_count_is_fixed(client, reader, django_assert_num_queries, count):
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin")
    _seed(count, asset=btc)
    # The asset, its market quote, the page of its posts, assets, images, disclosures.
    with django_assert_num_queries(SIGNED_IN + 7):  # + today's vote split
        response = client.get(reverse("feed:asset", args=["BTC"]))
    assert len(response.context["page"].items) == count


@pytest.mark.parametrize("comments", [1, 12])
def test_post_page_query_count_is_fixed(client, reader, django_assert_num_queries, comments):
    Asset.objects.create(symbol="BTC", name="Bitcoin")
    author = UserFactory()
    post = services.publish_post(
        author=author,
        body="$BTC breakout #btc",
        content_type="trade_share",
        trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="60000"),
    )
    for n in range(comments):
        top = services.comment_on_post(author=UserFactory(), post_id=post.pk, body=f"comment {n}")
        services.comment_on_post(author=UserFactory(), post_id=post.pk, body=f"reply {n}", parent_id=top.pk)
    # readable_post: the post, then whether a block stands between reader and author (2);
    # post_page: the post with author, profile, type, card, call, revision count and liked, then
    # assets, hashtags, images, the card's market quote and the disclosures (6); the comments and
    # their replies (2); record_view: a savepoint, the advisory lock, the same-day check, the
    # insert, the post's view count, the savepoint's release (6). (A verified card adds one for its
    # closing fills.)
    with django_assert_num_queries(SIGNED_IN + 2 + 6 + 2 + 6):
        response = client.get(reverse("feed:post", args=[post.pk]))
    assert len(response.context["comments"].items) == comments
