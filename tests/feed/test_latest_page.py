import pytest

from feed.models import Asset
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_home_page_lists_the_newest_posts_first(client):
    older = PostFactory(body="Older note on $ETH")
    newer = PostFactory(body="Newer note on $SOL")
    page = client.get("/").content.decode()
    assert page.index(newer.body) < page.index(older.body)


def test_home_page_escapes_post_text(client):
    PostFactory(body='<script>alert("pwned")</script> $BTC')
    page = client.get("/").content.decode()
    assert '<script>alert("pwned")</script>' not in page
    assert "&lt;script&gt;" in page


def test_home_page_hides_posts_removed_by_moderation(client):
    PostFactory(body="visible take", status="published")
    PostFactory(body="hidden take", status="hidden")
    page = client.get("/").content.decode()
    assert "visible take" in page
    assert "hidden take" not in page


def test_home_page_query_count_does_not_grow_with_posts(client, django_assert_num_queries):
    btc = Asset.objects.create(symbol="BTC", name="Bitcoin")
    for _ in range(25):
        PostFactory().assets.add(btc)
    # One query for the posts with author, profile and content type; one for their assets.
    with django_assert_num_queries(2):
        response = client.get("/")
    assert response.content.decode().count('class="post"') == 25


def test_home_page_speaks_chinese_when_asked(client):
    PostFactory()
    response = client.get("/", headers={"accept-language": "zh-hans"})
    page = response.content.decode()
    assert "最新帖子" in page
    assert 'lang="zh-hans"' in page
