from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from feed import render_tokens
from feed.models import Comment, Engagement, Like, Notification, Post, Report, Share
from tests.factories import PostFactory, TradeCardFactory

from .test_posts import error_of

pytestmark = pytest.mark.django_db


def test_liking_twice_counts_once_and_unliking_is_logged(alice, bob, as_bob):
    post = PostFactory(author=alice)
    first = as_bob.post(f"/api/v1/posts/{post.pk}/like/")
    again = as_bob.post(f"/api/v1/posts/{post.pk}/like/")
    assert first.json() == again.json() == {"liked": True, "like_count": 1}
    assert as_bob.get(f"/api/v1/posts/{post.pk}/").json()["liked"] is True
    assert Notification.objects.get(recipient=alice).verb == "like"
    assert as_bob.delete(f"/api/v1/posts/{post.pk}/like/").json() == {"liked": False, "like_count": 0}
    assert not Like.objects.exists()
    kinds = list(Engagement.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == [Engagement.Kind.LIKE, Engagement.Kind.UNLIKE]


def test_anonymous_cannot_react(anon):
    post = PostFactory()
    for path in ("like/", "comments/", "share/", "report/"):
        response = anon.post(f"/api/v1/posts/{post.pk}/{path}", {"body": "x", "reason": "spam"}, format="json")
        assert response.status_code == 401, path
        error_of(response)
    assert anon.delete(f"/api/v1/posts/{post.pk}/like/").status_code == 401
    assert not (Like.objects.exists() or Comment.objects.exists() or Share.objects.exists() or Report.objects.exists())


def test_reacting_to_a_missing_post_is_not_found(as_bob):
    for path in ("like/", "share/", "view/", "trade-click/"):
        response = as_bob.post(f"/api/v1/posts/987654321/{path}")
        assert response.status_code == 404, path
        error_of(response)


def test_a_hidden_post_takes_no_likes(as_bob, alice):
    post = PostFactory(author=alice, status="hidden")
    assert as_bob.post(f"/api/v1/posts/{post.pk}/like/").status_code == 404
    assert not Like.objects.exists()


def test_comments_and_one_level_of_replies(alice, bob, as_alice, as_bob, anon):
    post = PostFactory(author=alice)
    top = as_bob.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "Nice call"}, format="json")
    assert top.status_code == 201
    assert top.json()["replies"] == []
    reply = as_alice.post(
        f"/api/v1/posts/{post.pk}/comments/", {"body": "Thanks!", "parent": top.json()["id"]}, format="json"
    )
    # Answering a reply threads under the top-level comment.
    deeper = as_bob.post(
        f"/api/v1/posts/{post.pk}/comments/", {"body": "Welcome", "parent": reply.json()["id"]}, format="json"
    )
    assert deeper.json()["parent"] == top.json()["id"]
    listing = anon.get(f"/api/v1/posts/{post.pk}/comments/").json()["results"]
    assert [c["body"] for c in listing] == ["Nice call"]
    assert [r["body"] for r in listing[0]["replies"]] == ["Thanks!", "Welcome"]
    post.refresh_from_db()
    assert post.comment_count == 3
    assert set(Notification.objects.values_list("recipient__username", "verb")) == {
        ("alice", "comment"),
        ("bob", "reply"),
    }


@pytest.mark.parametrize(
    ("payload", "words"),
    [({"body": ""}, "blank"), ({"body": "x" * 2001}, "2000"), ({"body": "hi", "parent": "first"}, "valid integer")],
)
def test_bad_comments_are_refused(as_bob, payload, words):
    post = PostFactory()
    response = as_bob.post(f"/api/v1/posts/{post.pk}/comments/", payload, format="json")
    assert response.status_code == 400
    assert words in str(error_of(response))
    assert not Comment.objects.exists()


def test_a_reply_to_a_comment_of_another_post_is_refused(as_bob):
    other = PostFactory()
    foreign = Comment.objects.create(post=other, author=other.author, body="elsewhere")
    post = PostFactory()
    response = as_bob.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "hi", "parent": foreign.pk}, format="json")
    assert response.status_code == 400
    assert "not on this post" in error_of(response)["message"]
    assert Comment.objects.count() == 1


def test_sharing_gives_a_link_whose_opening_is_recorded(as_bob, client):
    post = PostFactory()
    response = as_bob.post(f"/api/v1/posts/{post.pk}/share/", {"channel": "telegram"}, format="json")
    assert response.status_code == 201
    share = Share.objects.get()
    assert share.channel == "telegram"
    assert response.json()["url"] == f"http://testserver/s/{share.code}/"
    client.get(f"/s/{share.code}/")
    assert Engagement.objects.filter(kind=Engagement.Kind.SHARE_OPEN, share=share).count() == 1


def test_reporting_once_with_a_reason(alice, as_bob, as_alice):
    post = PostFactory(author=alice)
    response = as_bob.post(f"/api/v1/posts/{post.pk}/report/", {"reason": "scam", "details": "fake"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "open"
    again = as_bob.post(f"/api/v1/posts/{post.pk}/report/", {"reason": "scam"}, format="json")
    assert again.status_code == 400
    assert "already reported" in error_of(again)["message"]
    own = as_alice.post(f"/api/v1/posts/{post.pk}/report/", {"reason": "spam"}, format="json")
    assert own.status_code == 400
    unknown = as_bob.post(f"/api/v1/posts/{post.pk}/report/", {"reason": "ugly"}, format="json")
    assert unknown.status_code == 400
    assert Report.objects.count() == 1


def test_a_trade_click_is_recorded_and_goes_to_the_exchange(anon, btc, settings):
    post = PostFactory()
    TradeCardFactory(post=post, instrument="BTC-USDT", side="long", entry_price=Decimal("60000"))
    response = anon.post(f"/api/v1/posts/{post.pk}/trade-click/")
    assert response.status_code == 200
    assert response.json() == {"url": settings.EXCHANGE_TRADE_URL.format(instrument="BTC-USDT")}
    assert Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK, post=post).count() == 1


def test_a_delisted_instrument_leads_nowhere(as_bob, btc):
    post = PostFactory()
    TradeCardFactory(post=post, instrument="BTC-USDT", side="long", entry_price=Decimal("60000"))
    btc.is_listed = False
    btc.save()
    response = as_bob.post(f"/api/v1/posts/{post.pk}/trade-click/")
    assert response.status_code == 400
    assert "not an instrument" in error_of(response)["message"]
    assert not Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK).exists()


def test_a_post_without_a_card_has_no_trade_button(as_bob):
    post = PostFactory()
    response = as_bob.post(f"/api/v1/posts/{post.pk}/trade-click/")
    assert response.status_code == 404
    assert "no trade card" in error_of(response)["message"]


def test_a_view_is_counted_once_per_viewer_and_day(as_bob, anon):
    post = PostFactory()
    assert as_bob.post(f"/api/v1/posts/{post.pk}/view/").json() == {"recorded": True}
    assert as_bob.post(f"/api/v1/posts/{post.pk}/view/").json() == {"recorded": False}
    assert anon.post(f"/api/v1/posts/{post.pk}/view/").json() == {"recorded": True}
    assert Engagement.objects.filter(kind=Engagement.Kind.VIEW).count() == 2


def test_dwell_reports_are_recorded_and_capped(as_bob, bob):
    first, second = PostFactory(), PostFactory()
    # Tokens as the API gave them with the posts a while ago: 29 and 20 minutes.
    now = timezone.now()
    first_token = render_tokens.issue(reader=bob, post_id=first.pk, now=now - timedelta(minutes=29))
    second_token = render_tokens.issue(reader=bob, post_id=second.pk, now=now - timedelta(minutes=20))
    unknown_token = render_tokens.issue(reader=bob, post_id=987654321, now=now - timedelta(seconds=10))
    items = [
        {"post": first.pk, "ms": 4000, "token": first_token},
        {"post": first.pk, "ms": 1000, "token": first_token},
        {"post": second.pk, "ms": 99_000_000, "token": second_token},
        {"post": 987654321, "ms": 1000, "token": unknown_token},
    ]
    response = as_bob.post("/api/v1/engagement/dwell/", {"items": items}, format="json")
    assert response.json() == {"recorded": 2}
    dwell = dict(Engagement.objects.filter(kind=Engagement.Kind.DWELL).values_list("post_id", "dwell_ms"))
    assert dwell[first.pk] == 5000
    # Claimed 27 hours: counted no more than the 20 minutes since the token was issued, less the
    # 5 seconds of them already counted on the first post (one reader reads one post at a time).
    assert 20 * 60 * 1000 - 5000 <= dwell[second.pk] < 20 * 60 * 1000


def test_posts_come_with_a_render_token_and_time_counts_only_against_it(as_bob, bob, anon):
    post = PostFactory()
    token = as_bob.get(f"/api/v1/posts/{post.pk}/").json()["dwell_token"]
    listed = {item["id"]: item["dwell_token"] for item in as_bob.get("/api/v1/posts/").json()["results"]}
    assert render_tokens.issued_at(token, reader=bob, post_id=post.pk, now=timezone.now())
    assert render_tokens.issued_at(listed[post.pk], reader=bob, post_id=post.pk, now=timezone.now())
    signed_out = anon.get(f"/api/v1/posts/{post.pk}/").json()["dwell_token"]
    assert render_tokens.issued_at(signed_out, reader=None, post_id=post.pk, now=timezone.now())

    claim = {"items": [{"post": post.pk, "ms": 30 * 60 * 1000, "token": token}]}
    for _ in range(3):  # a replay adds only the time that passed since
        assert as_bob.post("/api/v1/engagement/dwell/", claim, format="json").status_code == 200
    without = {"items": [{"post": post.pk, "ms": 30 * 60 * 1000}]}
    assert as_bob.post("/api/v1/engagement/dwell/", without, format="json").json() == {"recorded": 0}
    someone_elses = {"items": [{"post": post.pk, "ms": 30 * 60 * 1000, "token": signed_out}]}
    assert as_bob.post("/api/v1/engagement/dwell/", someone_elses, format="json").json() == {"recorded": 0}

    counted = sum(Engagement.objects.filter(kind=Engagement.Kind.DWELL).values_list("dwell_ms", flat=True))
    assert counted < 5_000


@pytest.mark.parametrize(
    "payload",
    [
        {"items": [{"post": 1}]},
        {"items": [{"post": "x", "ms": 1}]},
        {"items": [{"post": 1, "ms": -5}]},
        {"items": [{"post": 1, "ms": 1}] * 51},
        {"items": "everything"},
    ],
)
def test_bad_dwell_reports_are_refused(anon, payload):
    response = anon.post("/api/v1/engagement/dwell/", payload, format="json")
    assert response.status_code == 400
    error_of(response)
    assert not Engagement.objects.exists()


def test_nothing_happens_to_a_post_when_reactions_are_refused(as_bob):
    post = PostFactory(status="hidden")
    for path in ("like/", "share/"):
        as_bob.post(f"/api/v1/posts/{post.pk}/{path}")
    assert Post.objects.get(pk=post.pk).like_count == 0
    assert not Engagement.objects.exists()


def test_a_suspended_user_cannot_react_or_follow(alice, bob, as_bob):
    from creators.models import Follow, User

    post = PostFactory(author=alice)
    User.objects.filter(pk=bob.pk).update(suspended_at="2026-01-01T00:00:00Z")
    attempts = [
        as_bob.post(f"/api/v1/posts/{post.pk}/like/"),
        as_bob.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "hi"}, format="json"),
        as_bob.post(f"/api/v1/posts/{post.pk}/share/", {}, format="json"),
        as_bob.post(f"/api/v1/posts/{post.pk}/report/", {"reason": "spam"}, format="json"),
        as_bob.post("/api/v1/users/alice/follow/"),
        as_bob.patch("/api/v1/me/", {"bio": "appeal"}, format="json"),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert all("suspended" in error_of(response)["message"] for response in attempts)
    assert not (Like.objects.exists() or Comment.objects.exists() or Share.objects.exists())
    assert not (Report.objects.exists() or Follow.objects.exists() or Engagement.objects.exists())
