"""The compact post card: every action on one row, the disclosure as one line that opens, view
counts the server recorded, share links that are tracked, and the "N new posts" poll."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from feed import services
from feed.models import Engagement, Post, Share
from feed.templatetags.orbit_ui import compact_count
from markets.models import Fill
from tests.factories import FillFactory, MuteFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def reader(client):
    user = UserFactory(username="reader")
    client.force_login(user)
    return user


# --- Compact counts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, "0"), (999, "999"), (1_000, "1K"), (1_250, "1.2K"), (999_999, "999K"), (1_200_000, "1.2M"), (3 * 10**9, "3B")],
)
def test_counts_are_compact_in_english(count, shown):
    with translation.override("en"):
        assert compact_count(count) == shown


@pytest.mark.parametrize(("count", "shown"), [(9_999, "9,999"), (12_000, "1.2万"), (350_000_000, "3.5亿")])
def test_counts_are_compact_the_chinese_way_in_chinese(count, shown):
    with translation.override("zh-hans"):
        assert compact_count(count) == shown


# --- The card ---------------------------------------------------------------------------------------


def test_a_signed_in_card_has_like_comment_repost_quote_save_share_and_views(client, reader):
    post = PostFactory()
    Post.objects.filter(pk=post.pk).update(view_count=12_345)

    card = client.get(reverse("feed:latest")).content.decode()

    assert f'action="{reverse("feed:like", args=[post.pk])}"' in card
    assert f"{reverse('feed:post', args=[post.pk])}#comments" in card
    assert f'action="{reverse("feed:repost", args=[post.pk])}"' in card
    assert f'href="{reverse("feed:quote", args=[post.pk])}"' in card
    assert f'action="{reverse("feed:bookmark", args=[post.pk])}"' in card
    assert 'class="share-menu"' in card and f'action="{reverse("feed:share", args=[post.pk])}"' in card
    assert '<span class="count">12.3K</span>' in card


def test_a_signed_out_card_sends_each_action_to_the_login_page(client):
    PostFactory()
    card = client.get(reverse("feed:latest")).content.decode()
    assert "Log in to like" in card and "Log in to repost" in card and "Log in to save" in card
    assert "Log in to share" in card


def test_the_disclosure_is_one_line_that_opens_to_the_full_text(client, btc):
    post = PostFactory(body="Watching $BTC")
    FillFactory(
        user=post.author, asset="BTC", side=Fill.Side.BUY, filled_at=post.created_at - timedelta(days=2, hours=1)
    )

    card = client.get(reverse("feed:latest")).content.decode()

    disclosure = card.split('<details class="disclosure">')[1].split("</details>")[0]
    summary, full = disclosure.split("</summary>")
    assert "Disclosure" in summary and "Author bought $BTC ±2 days" in summary
    assert "The author bought $BTC 2 days before posting." in full


def test_liking_from_a_card_still_swaps_the_button(client, reader):
    post = PostFactory()
    html = client.post(reverse("feed:like", args=[post.pk]), {"action": "like"}, headers=HTMX).content.decode()
    assert 'aria-pressed="true"' in html and '<span class="count">1</span>' in html


# --- Views -----------------------------------------------------------------------------------------


def test_a_view_counts_once_per_reader_and_day():
    post, reader = PostFactory(), UserFactory()

    assert services.record_view(viewer=reader, post=post) is True
    assert services.record_view(viewer=reader, post=post) is False
    services.record_view(viewer=UserFactory(), post=post)

    post.refresh_from_db()
    assert post.view_count == 2 == Engagement.objects.filter(post=post, kind=Engagement.Kind.VIEW).count()


def test_a_signed_out_view_counts_once_per_network_and_none_without_one():
    post = PostFactory()

    services.record_view(viewer=None, post=post, fp="network-a")
    services.record_view(viewer=None, post=post, fp="network-a")
    services.record_view(viewer=None, post=post, fp="")

    post.refresh_from_db()
    assert post.view_count == 1


def test_opening_a_post_page_counts_a_view(client, reader):
    post = PostFactory()
    client.get(reverse("feed:post", args=[post.pk]))
    client.get(reverse("feed:post", args=[post.pk]))
    post.refresh_from_db()
    assert post.view_count == 1


# --- Share -----------------------------------------------------------------------------------------


def test_the_share_menu_makes_a_tracked_link_with_x_and_telegram_buttons(client, reader):
    post = PostFactory(body="Funding flipped negative")

    html = client.post(reverse("feed:share", args=[post.pk]), headers=HTMX).content.decode()

    share = Share.objects.get(post=post, user=reader)
    link = f"http://testserver{reverse('feed:open_share', args=[share.code])}"
    assert f'value="{link}"' in html and "data-copy-target" in html and 'role="status"' in html
    hrefs = [part.split('"')[0].replace("&amp;", "&") for part in html.split('href="')[1:]]
    x = next(href for href in hrefs if href.startswith("https://twitter.com/intent/tweet?"))
    telegram = next(href for href in hrefs if href.startswith("https://t.me/share/url?"))
    for href in (x, telegram):
        query = parse_qs(urlsplit(href).query)
        assert query["url"] == [link] and query["text"] == ["Funding flipped negative"]
    assert html.count('rel="noopener noreferrer"') == 2


# --- "N new posts" ----------------------------------------------------------------------------------


def new_count(client, feed, newest):
    since = newest.created_at.isoformat()
    return client.get(reverse("feed:new_count"), {"feed": feed, "since": since, "id": newest.pk}, headers=HTMX)


def test_latest_polls_for_new_posts_from_its_newest_post(client):
    newest = PostFactory()
    page = client.get(reverse("feed:latest")).content.decode()
    assert 'hx-trigger="every 30s"' in page and f"id={newest.pk}" in page


def test_the_new_posts_count_says_nothing_until_something_is_new(client, reader):
    newest = PostFactory()

    assert "new post" not in new_count(client, "latest", newest).content.decode()

    later = timezone.now() + timedelta(seconds=5)
    for _ in range(3):
        PostFactory(created_at=later)
    html = new_count(client, "latest", newest).content.decode()
    assert "3 new posts" in html and f'href="{reverse("feed:latest")}"' in html


def test_the_new_posts_count_leaves_out_reposts_on_latest_and_muted_people(client, reader):
    newest = PostFactory()
    services.repost(user=UserFactory(), post_id=newest.pk)
    muted = UserFactory()
    MuteFactory(user=reader, target=muted)
    PostFactory(author=muted, created_at=timezone.now() + timedelta(seconds=5))

    assert "new post" not in new_count(client, "latest", newest).content.decode()


def test_the_following_count_counts_only_people_i_follow(client, reader):
    from creators.models import Follow

    friend = UserFactory()
    Follow.objects.create(follower=reader, followee=friend)
    newest = PostFactory(author=friend)
    PostFactory(created_at=timezone.now() + timedelta(seconds=5))
    PostFactory(author=friend, created_at=timezone.now() + timedelta(seconds=5))

    assert "1 new post" in new_count(client, "following", newest).content.decode()


def test_a_bad_new_posts_anchor_is_a_clear_400(client):
    response = client.get(reverse("feed:new_count"), {"feed": "latest", "since": "yesterday", "id": "1"})
    assert response.status_code == 400 and b"newest post" in response.content


def test_the_new_posts_count_is_one_query(client, django_assert_num_queries):
    newest = PostFactory()
    # Anonymous: the capped count only.
    with django_assert_num_queries(1):
        new_count(client, "latest", newest)


# --- API ---------------------------------------------------------------------------------------------


def test_the_api_reposts_quotes_and_saves_with_the_same_services(client, reader):
    post = PostFactory()
    base = f"/api/v1/posts/{post.pk}"

    assert client.post(f"{base}/repost/").json() == {"reposted": True, "repost_count": 1}
    assert client.post(f"{base}/repost/").json() == {"reposted": True, "repost_count": 1}
    assert client.delete(f"{base}/repost/").json() == {"reposted": False, "repost_count": 0}
    quoted = client.post(f"{base}/quote/", {"body": "Quoting", "content_type": "chat"}, content_type="application/json")
    assert quoted.status_code == 201 and Post.objects.get(pk=quoted.json()["id"]).quote_of_id == post.pk
    assert client.post(f"{base}/bookmark/").json() == {"bookmarked": True}
    assert [item["id"] for item in client.get("/api/v1/me/bookmarks/").json()["results"]] == [post.pk]
    assert client.delete(f"{base}/bookmark/").json() == {"bookmarked": False}
