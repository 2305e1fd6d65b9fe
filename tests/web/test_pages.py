"""Every page renders, lists the right posts, pages with a cursor and speaks Chinese when asked."""

import pytest
from django.urls import reverse

from creators.models import Mute
from feed import selectors, services
from feed.models import Hashtag, Notification
from tests.factories import FollowFactory, PostFactory, UserFactory

from .conftest import HTMX

pytestmark = pytest.mark.django_db


def _cards(response) -> int:
    return response.content.decode().count('<article class="post"')


def test_latest_lists_published_posts_newest_first_and_escapes_text(client):
    older = PostFactory(body="older take on the weekly close")
    newer = PostFactory(body='newer take <script>alert("x")</script>')
    PostFactory(body="removed by moderation", status="hidden")
    page = client.get(reverse("feed:latest")).content.decode()
    assert page.index("newer take") < page.index(older.body)
    assert "removed by moderation" not in page
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page
    assert newer.author.username in page


def test_latest_load_more_link_returns_the_next_page(client):
    posts = [PostFactory(body=f"numbered note {n:02d}") for n in range(selectors.PAGE_SIZE + 5)]
    first = client.get(reverse("feed:latest"))
    assert _cards(first) == selectors.PAGE_SIZE
    assert first.context["page"].next_cursor
    assert 'class="load-more"' in first.content.decode()
    assert 'hx-swap="outerHTML"' in first.content.decode()

    second = client.get(reverse("feed:latest"), {"cursor": first.context["page"].next_cursor})
    assert second.status_code == 200
    assert [p.pk for p in second.context["page"].items] == [p.pk for p in reversed(posts[:5])]
    assert "<html" in second.content.decode()  # without HTMX, a whole page
    assert 'class="load-more"' not in second.content.decode()  # the last page


def test_load_more_with_htmx_returns_only_the_list_fragment(client):
    for n in range(selectors.PAGE_SIZE + 2):
        PostFactory(body=f"fragment note {n}")
    cursor = client.get(reverse("feed:latest")).context["page"].next_cursor
    response = client.get(reverse("feed:latest"), {"cursor": cursor}, headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment and '<header class="topbar"' not in fragment
    assert _cards(response) == 2


def test_a_broken_cursor_is_a_400_with_a_message(client):
    response = client.get(reverse("feed:latest"), {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert "That page link is broken" in response.content.decode()


def test_following_needs_login_and_shows_only_followed_authors(client, alice, bob):
    assert client.get(reverse("feed:following")).status_code == 302
    followed = PostFactory(author=bob, body="from someone alice follows")
    PostFactory(body="from a stranger")
    FollowFactory(follower=alice, followee=bob)
    client.force_login(alice)
    response = client.get(reverse("feed:following"))
    assert [p.pk for p in response.context["page"].items] == [followed.pk]
    assert "from a stranger" not in response.content.decode()


def test_asset_page_shows_the_asset_and_its_posts(client, btc):
    on_btc = PostFactory(body="about bitcoin")
    on_btc.assets.add(btc)
    PostFactory(body="about something else")
    response = client.get(reverse("feed:asset", args=["btc"]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Bitcoin" in page and "$BTC" in page
    assert [p.pk for p in response.context["page"].items] == [on_btc.pk]
    assert client.get(reverse("feed:asset", args=["NOPE"])).status_code == 404


def test_hashtag_page_lists_tagged_posts(client, alice):
    post = services.publish_post(author=alice, body="Funding flipped negative #perps", content_type="analysis")
    PostFactory(body="untagged")
    response = client.get(reverse("feed:hashtag", args=["PERPS"]))
    assert response.status_code == 200
    assert [p.pk for p in response.context["page"].items] == [post.pk]
    assert Hashtag.objects.filter(name="perps").exists()
    assert client.get(reverse("feed:hashtag", args=["unknown"])).status_code == 404


def test_post_page_shows_rendered_markdown_trade_card_comments_and_replies(client, alice, bob, btc):
    post = services.publish_post(
        author=alice,
        body="**Long** $BTC here #btc <img src=x onerror=alert(1)>",
        content_type="trade_share",
        trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="64250.5", leverage="10"),
    )
    top = services.comment_on_post(author=bob, post_id=post.pk, body="Where is your stop?")
    services.comment_on_post(author=alice, post_id=post.pk, body="Below 62k", parent_id=top.pk)
    page = client.get(reverse("feed:post", args=[post.pk])).content.decode()
    assert "<strong>Long</strong>" in page
    assert f'href="{reverse("feed:asset", args=["BTC"])}"' in page
    assert "<img src=x" not in page and "onerror=alert" not in page.replace("&lt;img src=x onerror=alert", "")
    assert "Trade BTC-USDT" in page
    assert f'action="{reverse("feed:trade", args=[post.pk])}"' in page
    assert "64,250.5" in page
    assert "Where is your stop?" in page and "Below 62k" in page
    assert 'class="replies"' in page


def test_post_page_of_a_deleted_post_is_404(client):
    post = PostFactory(status="deleted", deleted_at="2026-01-01T00:00:00Z")
    response = client.get(reverse("feed:post", args=[post.pk]))
    assert response.status_code == 404
    assert "does not exist or was deleted" in response.content.decode()


def test_edited_post_shows_the_edited_mark_with_the_revision_count(client, alice):
    post = services.publish_post(author=alice, body="first version", content_type="chat")
    services.edit_post(editor=alice, post_id=post.pk, body="second version")
    services.edit_post(editor=alice, post_id=post.pk, body="third version")
    page = client.get(reverse("feed:post", args=[post.pk])).content.decode()
    assert "third version" in page
    assert "Edited · 2 earlier versions" in page


def test_profile_page_shows_name_bio_counts_and_posts(client, alice, bob):
    alice.profile.bio = "Swing trader <b>not bold</b>"
    alice.profile.save()
    FollowFactory(follower=bob, followee=alice)
    mine = PostFactory(author=alice, body="alice's own post")
    PostFactory(author=bob, body="bob's post")
    response = client.get(reverse("feed:profile", args=["alice"]))
    page = response.content.decode()
    assert "Swing trader &lt;b&gt;not bold&lt;/b&gt;" in page
    assert [p.pk for p in response.context["page"].items] == [mine.pk]
    assert response.context["creator"].follower_count == 1
    assert response.context["creator"].following_count == 0
    assert client.get(reverse("feed:profile", args=["nobody"])).status_code == 404


def test_follower_and_following_lists(client, alice, bob):
    carol = UserFactory(username="carol")
    FollowFactory(follower=bob, followee=alice)
    FollowFactory(follower=carol, followee=alice)
    FollowFactory(follower=alice, followee=carol)
    followers = client.get(reverse("creators:followers", args=["alice"]))
    assert [f.follower.username for f in followers.context["page"].items] == ["carol", "bob"]
    following = client.get(reverse("creators:following", args=["alice"]))
    assert [f.followee.username for f in following.context["page"].items] == ["carol"]
    assert "@carol" in following.content.decode()


def test_muted_authors_disappear_for_the_one_who_muted(client, alice, bob):
    PostFactory(author=bob, body="bob is loud")
    Mute.objects.create(user=alice, target=bob)
    client.force_login(alice)
    assert "bob is loud" not in client.get(reverse("feed:latest")).content.decode()
    client.logout()
    assert "bob is loud" in client.get(reverse("feed:latest")).content.decode()


def test_search_finds_english_words_chinese_text_and_people(client, alice):
    PostFactory(body="Bitcoin halving is priced in")
    PostFactory(body="以太坊的质押收益率正在下降")
    PostFactory(body="unrelated text")
    english = client.get(reverse("feed:search"), {"q": "halving"})
    assert [p.body for p in english.context["page"].items] == ["Bitcoin halving is priced in"]
    chinese = client.get(reverse("feed:search"), {"q": "质押收益"})
    assert [p.body for p in chinese.context["page"].items] == ["以太坊的质押收益率正在下降"]
    people = client.get(reverse("feed:search"), {"q": "alic"})
    assert [u.username for u in people.context["people"]] == ["alice"]
    assert "@alice" in people.content.decode()


def test_notifications_page_lists_them_and_a_post_marks_them_read(client, alice, bob):
    post = PostFactory(author=alice)
    services.like_post(user=bob, post_id=post.pk)
    services.comment_on_post(author=bob, post_id=post.pk, body="nice")
    client.force_login(alice)
    response = client.get(reverse("feed:notifications"))
    page = response.content.decode()
    assert "liked your post" in page and "commented on your post" in page
    assert page.count('class="notification unread"') == 2
    assert '<span class="badge"' in page
    assert 'hx-trigger="load"' in page  # the page marks them read by itself, with a POST
    # Reading the list is a GET and changes nothing.
    assert Notification.objects.filter(recipient=alice, read_at__isnull=True).count() == 2

    up_to = response.context["page"].items[0].created_at.isoformat()
    marked = client.post(reverse("feed:notifications"), {"up_to": up_to}, headers=HTMX)
    assert marked.status_code == 200
    assert 'id="unread-badge" hx-swap-oob="true"' in marked.content.decode()
    assert '<span class="badge"' not in marked.content.decode()
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()


def test_marking_read_spares_what_arrived_after_the_page_was_shown(client, alice, bob):
    post = PostFactory(author=alice)
    services.like_post(user=bob, post_id=post.pk)
    client.force_login(alice)
    shown = client.get(reverse("feed:notifications")).context["page"].items[0].created_at.isoformat()
    services.comment_on_post(author=bob, post_id=post.pk, body="arrived later")
    response = client.post(reverse("feed:notifications"), {"up_to": shown})
    assert response.status_code == 302
    assert list(Notification.objects.filter(recipient=alice, read_at__isnull=True).values_list("verb", flat=True)) == [
        "comment"
    ]


def test_header_shows_account_links_and_admin_only_for_staff(client, alice):
    anonymous = client.get(reverse("feed:latest")).content.decode()
    assert reverse("account_login") in anonymous and reverse("account_signup") in anonymous
    assert reverse("feed:compose") not in anonymous
    client.force_login(alice)
    signed_in = client.get(reverse("feed:latest")).content.decode()
    assert reverse("account_logout") in signed_in and reverse("feed:compose") in signed_in
    assert reverse("admin:index") not in signed_in
    alice.is_staff = True
    alice.save()
    assert reverse("admin:index") in client.get(reverse("feed:latest")).content.decode()


def test_pages_carry_no_inline_script_and_csrf_for_htmx(client):
    PostFactory()
    response = client.get(reverse("feed:latest"))
    page = response.content.decode()
    assert "<script>" not in page and "onclick" not in page and "style=" not in page
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    assert "'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("how", ["header", "cookie"])
def test_pages_speak_chinese(client, alice, btc, how):
    post = PostFactory(author=alice, content_type_id="education")
    post.assets.add(btc)
    if how == "header":
        headers = {"accept-language": "zh-hans"}
    else:
        client.cookies["django_language"] = "zh-hans"
        headers = {}
    client.force_login(alice)
    latest = client.get(reverse("feed:latest"), headers=headers).content.decode()
    assert "最新帖子" in latest and "关注" in latest and "发帖" in latest
    assert 'lang="zh-hans"' in latest
    assert "新手教程" in latest  # the content type's Chinese name
    post_page = client.get(reverse("feed:post", args=[post.pk]), headers=headers).content.decode()
    assert "评论" in post_page
    compose = client.get(reverse("feed:compose"), headers=headers).content.decode()
    assert "发布" in compose and "交易卡片" in compose
    profile = client.get(reverse("feed:profile", args=["alice"]), headers=headers).content.decode()
    assert "粉丝" in profile
