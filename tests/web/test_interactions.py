"""Like, follow, comment, share, report, mute and block: with HTMX (a fragment) and without (a form and a redirect)."""

import pytest
from django.test import Client
from django.urls import reverse

from creators.models import Block, Follow, Mute
from feed.models import Comment, Engagement, Like, Notification, Post, Report
from tests.factories import PostFactory

from .conftest import HTMX

pytestmark = pytest.mark.django_db


def test_like_without_javascript_redirects_back_and_counts_once(bob_client, bob):
    post = PostFactory()
    back = reverse("feed:latest")
    for _ in range(2):
        response = bob_client.post(reverse("feed:like", args=[post.pk]), {"action": "like", "next": back})
        assert response.status_code == 302
        assert response["Location"] == back
    post.refresh_from_db()
    assert post.like_count == 1
    assert Like.objects.filter(user=bob, post=post).count() == 1
    assert Engagement.objects.filter(kind=Engagement.Kind.LIKE, post=post, actor=bob).count() == 1


def test_like_then_unlike_with_htmx_swaps_the_button(bob_client, bob):
    post = PostFactory()
    back = reverse("feed:latest")
    liked = bob_client.post(reverse("feed:like", args=[post.pk]), {"action": "like", "next": back}, headers=HTMX)
    fragment = liked.content.decode()
    assert f'name="next" value="{back}"' in fragment  # the page it sits on, not the like URL
    assert liked.status_code == 200
    assert fragment.lstrip().startswith("<form") and "<html" not in fragment
    assert 'aria-pressed="true"' in fragment and 'value="unlike"' in fragment
    assert '<span class="count">1</span>' in fragment

    unliked = bob_client.post(reverse("feed:like", args=[post.pk]), {"action": "unlike"}, headers=HTMX)
    assert 'aria-pressed="false"' in unliked.content.decode()
    assert '<span class="count">0</span>' in unliked.content.decode()
    post.refresh_from_db()
    assert post.like_count == 0
    assert Engagement.objects.filter(kind=Engagement.Kind.UNLIKE, post=post).count() == 1


def test_liking_needs_a_login_and_post(client):
    post = PostFactory()
    anonymous = client.post(reverse("feed:like", args=[post.pk]))
    assert anonymous.status_code == 302 and reverse("account_login") in anonymous["Location"]
    htmx = client.post(reverse("feed:like", args=[post.pk]), headers=HTMX)
    assert reverse("account_login") in htmx["HX-Redirect"]
    assert client.get(reverse("feed:like", args=[post.pk])).status_code == 405
    assert not Like.objects.exists()


def test_state_changes_need_the_csrf_token(alice):
    post = PostFactory()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(reverse("feed:like", args=[post.pk])).status_code == 403
    assert not Like.objects.exists()


def test_comment_without_javascript_redirects_to_the_new_comment(bob_client, bob):
    post = PostFactory()
    response = bob_client.post(reverse("feed:comment", args=[post.pk]), {"body": "Nice entry"})
    created = Comment.objects.get(post=post)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('feed:post', args=[post.pk])}#comment-{created.pk}"
    assert created.author == bob and created.body == "Nice entry"
    assert Notification.objects.filter(recipient=post.author, verb="comment").exists()


def test_comment_and_reply_with_htmx_return_the_comments_section(bob_client, bob):
    post = PostFactory()
    first = bob_client.post(reverse("feed:comment", args=[post.pk]), {"body": "Top level"}, headers=HTMX)
    fragment = first.content.decode()
    assert first.status_code == 200
    assert fragment.lstrip().startswith('<section id="comments"') and "Top level" in fragment
    top = Comment.objects.get(body="Top level")
    reply = bob_client.post(
        reverse("feed:comment", args=[post.pk]), {"body": "A reply", "parent": top.pk}, headers=HTMX
    )
    assert 'class="replies"' in reply.content.decode()
    assert Comment.objects.get(body="A reply").parent == top


def test_an_empty_comment_is_a_400_with_the_message_and_stores_nothing(bob_client):
    post = PostFactory()
    plain = bob_client.post(reverse("feed:comment", args=[post.pk]), {"body": "   "})
    assert plain.status_code == 400
    assert "an empty comment cannot be posted" in plain.content.decode()
    htmx = bob_client.post(reverse("feed:comment", args=[post.pk]), {"body": ""}, headers=HTMX)
    assert htmx.status_code == 400
    assert "an empty comment cannot be posted" in htmx.content.decode()
    assert htmx.content.decode().lstrip().startswith('<section id="comments"')
    assert not Comment.objects.exists()


def test_comment_text_is_escaped(bob_client):
    post = PostFactory()
    bob_client.post(reverse("feed:comment", args=[post.pk]), {"body": "<img src=x onerror=alert(1)>"})
    page = bob_client.get(reverse("feed:post", args=[post.pk])).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_follow_and_unfollow_without_javascript(client, alice, bob):
    client.force_login(bob)
    response = client.post(reverse("creators:follow", args=["alice"]), {"action": "follow"})
    assert response.status_code == 302 and response["Location"] == reverse("feed:profile", args=["alice"])
    assert Follow.objects.filter(follower=bob, followee=alice).exists()
    assert Notification.objects.filter(recipient=alice, verb="follow").exists()
    client.post(reverse("creators:follow", args=["alice"]), {"action": "unfollow"})
    assert not Follow.objects.exists()


def test_follow_with_htmx_swaps_the_button(client, alice, bob):
    client.force_login(bob)
    response = client.post(reverse("creators:follow", args=["alice"]), {"action": "follow"}, headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert 'value="unfollow"' in fragment
    assert Follow.objects.filter(follower=bob, followee=alice).count() == 1


def test_following_yourself_is_refused_with_the_message(alice_client):
    response = alice_client.post(reverse("creators:follow", args=["alice"]), {"action": "follow"})
    assert response.status_code == 400
    assert "You cannot follow yourself." in response.content.decode()
    with_htmx = alice_client.post(reverse("creators:follow", args=["alice"]), headers=HTMX)
    assert with_htmx.status_code == 400 and with_htmx["HX-Retarget"] == "#flash"
    assert not Follow.objects.exists()


def test_share_creates_a_link_whose_opening_is_recorded(client, alice, bob):
    post = PostFactory(author=alice)
    client.force_login(bob)
    response = client.post(reverse("feed:share", args=[post.pk]))
    assert response.status_code == 200
    share_url = response.context["share_url"]
    assert "/s/" in share_url and share_url in response.content.decode()
    with_htmx = client.post(reverse("feed:share", args=[post.pk]), headers=HTMX)
    assert "<html" not in with_htmx.content.decode() and "/s/" in with_htmx.content.decode()

    reader = Client()
    opened = reader.get(share_url)
    assert opened.status_code == 302 and opened["Location"] == reverse("feed:post", args=[post.pk])
    assert Engagement.objects.filter(kind=Engagement.Kind.SHARE_OPEN, post=post).count() == 1
    assert reader.get("/s/not-a-code/").status_code == 404


def test_report_with_a_reason_and_only_once(client, alice, bob):
    post = PostFactory(author=alice)
    client.force_login(bob)
    assert client.get(reverse("feed:report", args=[post.pk])).status_code == 200
    response = client.post(reverse("feed:report", args=[post.pk]), {"reason": "scam", "details": "fake giveaway"})
    assert response.status_code == 302
    assert Report.objects.get().reason == "scam"
    again = client.post(reverse("feed:report", args=[post.pk]), {"reason": "spam"})
    assert again.status_code == 400
    assert "You already reported this post" in again.content.decode()
    bad = client.post(reverse("feed:report", args=[post.pk]), {"reason": "not-a-reason"})
    assert bad.status_code == 400
    assert Report.objects.count() == 1


def test_you_cannot_report_your_own_post(alice_client, alice):
    post = PostFactory(author=alice)
    response = alice_client.post(reverse("feed:report", args=[post.pk]), {"reason": "spam"})
    assert response.status_code == 400
    assert "You cannot report your own post" in response.content.decode()
    assert not Report.objects.exists()


def test_mute_and_block_buttons(client, alice, bob):
    client.force_login(alice)
    client.post(reverse("creators:mute", args=["bob"]), {"action": "mute"})
    assert Mute.objects.filter(user=alice, target=bob).exists()
    client.post(reverse("creators:mute", args=["bob"]), {"action": "unmute"})
    assert not Mute.objects.exists()
    Follow.objects.create(follower=bob, followee=alice)
    response = client.post(reverse("creators:block", args=["bob"]), {"action": "block"})
    assert response.status_code == 302
    assert Block.objects.filter(user=alice, target=bob).exists()
    assert not Follow.objects.exists()  # a block ends follows both ways
    profile = client.get(reverse("feed:profile", args=["bob"])).content.decode()
    assert "You blocked this account" in profile


def test_a_blocked_reader_cannot_comment(client, alice, bob):
    post = PostFactory(author=alice)
    Block.objects.create(user=alice, target=bob)
    client.force_login(bob)
    response = client.post(reverse("feed:comment", args=[post.pk]), {"body": "hello?"})
    assert response.status_code == 403
    assert "You cannot see this post." in response.content.decode()
    assert not Comment.objects.exists()


def test_reactions_are_rate_limited_per_user(bob_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "react": "3/hour"},
    }
    post = PostFactory()
    url = reverse("feed:like", args=[post.pk])
    statuses = [bob_client.post(url, {"action": action}).status_code for action in ["like", "unlike", "like"]]
    assert statuses == [302, 302, 302]
    limited = bob_client.post(url, {"action": "unlike"})
    assert limited.status_code == 429
    assert "You are doing that too often" in limited.content.decode()
    assert int(limited["Retry-After"]) > 0
    assert Post.objects.get(pk=post.pk).like_count == 1  # the refused unlike changed nothing
