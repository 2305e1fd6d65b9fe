"""Conflict-of-interest disclosures: the author's trades of the assets a post names, around posting."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feed import selectors
from feed.disclosures import attach_disclosures
from feed.models import Post
from markets.models import Fill
from tests.api.conftest import client_for
from tests.factories import FillFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def post_naming(*assets, author=None, days_ago=0) -> Post:
    post = PostFactory(author=author or UserFactory(), body=" ".join(f"${asset.symbol}" for asset in assets))
    post.assets.add(*assets)
    if days_ago:
        Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    post.refresh_from_db()
    return post


def traded(user, symbol, *, side="buy", at) -> Fill:
    return FillFactory(user=user, instrument=f"{symbol}-USDT", side=side, filled_at=at)


def disclosures_of(post) -> list[tuple]:
    post = Post.objects.prefetch_related("assets").get(pk=post.pk)
    attach_disclosures([post])
    return [(d.asset, d.side, d.relation, d.days) for d in post.disclosures]


def test_a_purchase_before_posting_is_disclosed_with_the_days_before(btc):
    post = post_naming(btc)
    traded(post.author, "BTC", at=post.created_at - timedelta(days=2, hours=3))
    assert disclosures_of(post) == [("BTC", "bought", "before", 2)]


def test_a_sale_after_posting_is_disclosed_with_the_days_after(btc):
    post = post_naming(btc, days_ago=5)
    traded(post.author, "BTC", side="sell", at=post.created_at + timedelta(days=1, hours=2))
    traded(post.author, "BTC", side="buy", at=post.created_at - timedelta(hours=3))
    assert disclosures_of(post) == [("BTC", "bought", "before", 0), ("BTC", "sold", "after", 1)]


def test_trades_outside_the_disclosure_window_are_not_disclosed(btc, settings):
    post = post_naming(btc, days_ago=10)
    days = settings.ORBIT_DISCLOSURE_DAYS
    traded(post.author, "BTC", at=post.created_at - timedelta(days=days, hours=1))
    traded(post.author, "BTC", side="sell", at=post.created_at + timedelta(days=days, hours=1))
    assert disclosures_of(post) == []


def test_trades_of_an_asset_the_post_does_not_name_or_by_someone_else_are_not_disclosed(btc, eth):
    post = post_naming(btc)
    traded(post.author, "ETH", at=post.created_at - timedelta(days=1))
    traded(UserFactory(), "BTC", at=post.created_at - timedelta(days=1))
    assert disclosures_of(post) == []


def test_many_trades_make_one_line_per_asset_side_and_before_or_after(btc, eth):
    post = post_naming(btc, eth, days_ago=3)
    for hours in (100, 50, 30):
        traded(post.author, "BTC", at=post.created_at - timedelta(hours=hours))
    traded(post.author, "ETH", side="sell", at=post.created_at - timedelta(hours=1))
    post = Post.objects.prefetch_related("assets").get(pk=post.pk)
    attach_disclosures([post])
    bought, sold = post.disclosures
    # The days count to the purchase nearest to posting (30 hours before).
    assert (bought.asset, bought.side, bought.relation, bought.days) == ("BTC", "bought", "before", 1)
    assert bought.first_filled_at == post.created_at - timedelta(hours=100)
    assert bought.last_filled_at == post.created_at - timedelta(hours=30)
    assert (sold.asset, sold.side, sold.relation, sold.days) == ("ETH", "sold", "before", 0)


def test_every_reader_sees_the_disclosure_on_the_post_card(client, btc):
    post = post_naming(btc, days_ago=5)
    traded(post.author, "BTC", at=post.created_at - timedelta(days=2, hours=1))
    traded(post.author, "BTC", side="sell", at=post.created_at + timedelta(days=1, hours=1))
    for reader in (client, client_for(post.author), client_for(UserFactory())):
        page = reader.get("/latest/").content.decode()
        assert "The author bought $BTC 2 days before posting." in page
        assert "The author sold $BTC 1 day after posting." in page
        assert "the author cannot edit it" in page


def test_the_api_lists_a_posts_disclosures(btc):
    post = post_naming(btc)
    moment = post.created_at - timedelta(days=3)
    traded(post.author, "BTC", at=moment)
    body = client_for(UserFactory()).get(f"/api/v1/posts/{post.pk}/").json()
    assert body["disclosures"] == [
        {
            "asset": "BTC",
            "side": "bought",
            "relation": "before",
            "days": 3,
            "first_filled_at": moment.isoformat().replace("+00:00", "Z"),
            "last_filled_at": moment.isoformat().replace("+00:00", "Z"),
        }
    ]


@pytest.mark.parametrize("count", [3, 20])
def test_a_page_of_posts_naming_assets_costs_one_query_for_disclosures(btc, eth, django_assert_num_queries, count):
    for n in range(count):
        post = post_naming(btc, eth) if n % 2 else post_naming(btc)
        traded(post.author, "BTC", at=post.created_at - timedelta(hours=n + 1))
    # The page of posts, its assets, its images, then one query for every disclosure on it.
    with django_assert_num_queries(4):
        page = selectors.latest_posts()
    assert sum(len(post.disclosures) for post in page.items) == count


def test_a_page_where_no_post_names_an_asset_costs_no_disclosure_query(django_assert_num_queries):
    for _n in range(5):
        post = PostFactory(body="no cashtags here")
        traded(post.author, "BTC", at=post.created_at - timedelta(hours=1))
    # The page of posts, its assets, its images.
    with django_assert_num_queries(3):
        page = selectors.latest_posts()
    assert all(post.disclosures == [] for post in page.items)
