import pytest

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


def test_home_page_speaks_chinese_when_asked(client):
    PostFactory()
    response = client.get("/", headers={"accept-language": "zh-hans"})
    page = response.content.decode()
    assert "最新帖子" in page
    assert 'lang="zh-hans"' in page
