"""Pages write numbers and dates the way their readers do: 105,820 and 2025年9月5日 in Chinese,
105,820 and Sept. 5, 2025 in English (orbit/formats/, the price, ago and intcomma filters).

Every number a reader sees goes through a filter that groups it (intcomma, price, floatformat "g");
USE_THOUSAND_SEPARATOR stays off, because it would also group the ids and sizes templates write into
attributes (data-dwell-post="1,204", width="1,600").
"""

from datetime import UTC, datetime

import pytest
from django.conf import settings

from feed.models import Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

LONG_AGO = datetime(2025, 9, 5, 8, 30, tzinfo=UTC)


@pytest.fixture
def old_busy_post():
    post = PostFactory(body="Range high held. #breakout")
    Post.objects.filter(pk=post.pk).update(created_at=LONG_AGO, comment_count=105_820)
    return post


def read(client, path: str, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_a_chinese_page_groups_thousands_and_dates_the_chinese_way(client, old_busy_post):
    page = read(client, f"/posts/{old_busy_post.pk}/", "zh-hans")
    assert '<html lang="zh-hans"' in page
    assert ">105,820<" in page  # the comment count
    assert ">2025年9月5日</time>" in page  # a post from another year: the full date, no "09月"
    assert 'title="2025年9月5日 08:30"' in page


def test_an_english_page_groups_thousands_and_dates_the_english_way(client, old_busy_post):
    page = read(client, f"/posts/{old_busy_post.pk}/", "en")
    assert ">105,820<" in page
    assert ">Sept. 5, 2025</time>" in page


@pytest.mark.parametrize(("language", "shown"), [("zh-hans", "2025年9月5日"), ("en", "Sept. 5, 2025")])
def test_lists_of_posts_date_old_posts_in_the_readers_language(client, old_busy_post, language, shown):
    page = read(client, "/tags/breakout/", language)
    assert f">{shown}</time>" in page
