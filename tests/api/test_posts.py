import json

import pytest

from feed.models import Engagement, Post, PostImage, PostRevision, TradeCard
from tests.factories import PostFactory, UserFactory

from .conftest import client_for, png_bytes, upload

pytestmark = pytest.mark.django_db

TRADE_CARD = {
    "instrument": "btc-usdt",
    "side": "long",
    "entry_price": "64250.5",
    "mark_price": "0.00000001",
    "leverage": "10",
    "pnl_percent": "12.5",
}


def error_of(response) -> dict:
    """Every API error is JSON with a human message and the status repeated."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert body["status"] == response.status_code
    assert body["message"]
    return body


# --- Publishing ------------------------------------------------------------------------


def test_publishing_a_post_with_a_trade_card_returns_it_rendered(as_alice, btc):
    response = as_alice.post(
        "/api/v1/posts/",
        {"body": "Long $BTC into the weekly close #macro", "content_type": "trade_share", "trade_card": TRADE_CARD},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["author"]["username"] == "alice"
    assert body["assets"] == ["BTC"]
    assert 'href="/assets/BTC/"' in body["body_html"]
    assert body["trade_card"] == {
        "instrument": "BTC-USDT",
        "side": "long",
        "entry_price": "64250.50000000",
        "exit_price": None,
        "mark_price": "0.00000001",
        "leverage": "10.00",
        "pnl_percent": "12.50",
        # No fills of Alice's match it and no candles are stored: unverified, without a market quote.
        "verified": False,
        "verified_at": None,
        "verified_entry_price": None,
        "pnl": None,
        "quote": None,
    }
    assert body["url"].endswith(f"/posts/{body['id']}/")
    assert Post.objects.get(pk=body["id"]).hashtags.get().name == "macro"


def test_publishing_with_images_and_a_trade_card_in_multipart(as_alice, btc):
    response = as_alice.post(
        "/api/v1/posts/",
        {
            "body": "Chart attached $BTC",
            "content_type": "analysis",
            "trade_card": json.dumps(TRADE_CARD),
            "images": [upload("one.png", png_bytes()), upload("two.png", png_bytes())],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["images"]) == 2
    assert body["images"][0].startswith("http://testserver/media/posts/")
    assert body["trade_card"]["instrument"] == "BTC-USDT"
    assert PostImage.objects.filter(post_id=body["id"]).count() == 2


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"body": ""}, "body", "blank"),
        ({"body": "   "}, "body", "blank"),
        ({"body": "x" * 10_001}, "body", "10000"),
        ({"content_type": "shitpost"}, "content_type", "choose one of"),
        ({"trade_card": {**TRADE_CARD, "instrument": "DOGE-USDT"}}, "instrument", "not an instrument"),
        ({"trade_card": {**TRADE_CARD, "instrument": "BTC-EUR"}}, "instrument", "not an instrument"),
        ({"trade_card": {**TRADE_CARD, "entry_price": "sixty"}}, "entry_price", "valid number"),
        ({"trade_card": {**TRADE_CARD, "entry_price": "NaN"}}, "entry_price", "valid number"),
        ({"trade_card": {**TRADE_CARD, "entry_price": "Infinity"}}, "entry_price", "valid number"),
        ({"trade_card": {**TRADE_CARD, "entry_price": "-5"}}, "entry_price", "above zero"),
        ({"trade_card": {**TRADE_CARD, "exit_price": "0"}}, "exit_price", "above zero"),
        ({"trade_card": {**TRADE_CARD, "entry_price": "1e30"}}, "entry_price", "digits"),
        ({"trade_card": {**TRADE_CARD, "leverage": "500"}}, "leverage", "less than or equal"),
        ({"trade_card": {**TRADE_CARD, "side": "sideways"}}, "side", "valid choice"),
        ({"trade_card": "BTC-USDT"}, "trade_card", "dictionary"),
    ],
)
def test_bad_posts_are_refused_with_a_message_and_nothing_is_saved(as_alice, btc, payload, field, words):
    data = {"body": "A fine $BTC take", "content_type": "analysis", **payload}
    response = as_alice.post("/api/v1/posts/", data, format="json")
    assert response.status_code == 400
    body = error_of(response)
    assert field in json.dumps(body["errors"])
    assert words in json.dumps(body).lower()
    assert not Post.objects.exists()
    assert not TradeCard.objects.exists()


def test_nan_as_a_json_literal_is_refused(as_alice, btc):
    raw = '{"body": "x", "content_type": "analysis", "trade_card": {"instrument": "BTC-USDT", "side": "long", '
    raw += '"entry_price": NaN}}'
    response = as_alice.post("/api/v1/posts/", raw, content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in error_of(response)["message"]
    assert not Post.objects.exists()


def test_a_file_that_is_not_an_image_is_refused(as_alice):
    response = as_alice.post(
        "/api/v1/posts/",
        {
            "body": "see attachment",
            "content_type": "chat",
            "images": [upload("evil.png", b"<script>alert(1)</script>")],
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "not an image" in error_of(response)["message"]
    assert not Post.objects.exists()


def test_more_than_four_images_are_refused(as_alice):
    images = [upload(f"{n}.png", png_bytes()) for n in range(5)]
    response = as_alice.post(
        "/api/v1/posts/", {"body": "gallery", "content_type": "chat", "images": images}, format="multipart"
    )
    assert response.status_code == 400
    assert "images" in error_of(response)["errors"]
    assert not Post.objects.exists()


def test_anonymous_cannot_post(anon):
    response = anon.post("/api/v1/posts/", {"body": "hi", "content_type": "chat"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    error_of(response)
    assert not Post.objects.exists()


def test_a_suspended_user_cannot_post(alice, as_alice):
    alice.suspended_at = "2026-01-01T00:00:00Z"
    alice.save()
    response = as_alice.post("/api/v1/posts/", {"body": "hi", "content_type": "chat"}, format="json")
    assert response.status_code == 403
    assert "suspended" in error_of(response)["message"]
    assert not Post.objects.exists()


def test_html_in_a_post_comes_back_inert(as_alice):
    response = as_alice.post(
        "/api/v1/posts/",
        {"body": '<img src=x onerror="alert(1)"> [x](javascript:alert(1))', "content_type": "chat"},
        format="json",
    )
    assert response.status_code == 201
    html = response.json()["body_html"]
    assert "<img" not in html
    assert 'href="javascript' not in html


# --- Reading ---------------------------------------------------------------------------


def test_anyone_can_read_a_post(anon):
    post = PostFactory()
    response = anon.get(f"/api/v1/posts/{post.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == post.pk
    assert response.json()["liked"] is False


@pytest.mark.parametrize("status", ["hidden", "deleted"])
def test_hidden_and_deleted_posts_are_not_found(anon, status):
    post = PostFactory(status=status, deleted_at="2026-01-01T00:00:00Z" if status == "deleted" else None)
    response = anon.get(f"/api/v1/posts/{post.pk}/")
    assert response.status_code == 404
    error_of(response)


def test_a_missing_post_is_not_found_even_past_the_largest_id(anon):
    for post_id in (999_999_999, 10**30):
        response = anon.get(f"/api/v1/posts/{post_id}/")
        assert response.status_code == 404
        assert "does not exist" in error_of(response)["message"]


# --- Editing and deleting ----------------------------------------------------------------


def test_the_author_edits_a_post_and_the_old_text_is_kept(alice, as_alice):
    post = PostFactory(author=alice, body="first take")
    response = as_alice.patch(f"/api/v1/posts/{post.pk}/", {"body": "second take"}, format="json")
    assert response.status_code == 200
    assert response.json()["body"] == "second take"
    assert response.json()["edited_at"] is not None
    assert PostRevision.objects.get(post=post).body == "first take"


def test_changing_only_the_content_type_keeps_the_body(alice, as_alice):
    post = PostFactory(author=alice, body="keep me")
    response = as_alice.patch(f"/api/v1/posts/{post.pk}/", {"content_type": "education"}, format="json")
    assert response.status_code == 200
    post.refresh_from_db()
    assert (post.body, post.content_type_id) == ("keep me", "education")


def test_an_empty_edit_is_refused(alice, as_alice):
    post = PostFactory(author=alice)
    response = as_alice.patch(f"/api/v1/posts/{post.pk}/", {}, format="json")
    assert response.status_code == 400
    assert "Send at least one of body, content_type and trade_card" in error_of(response)["message"]


def test_nobody_else_can_edit_or_delete_a_post(alice, as_bob):
    post = PostFactory(author=alice, body="mine")
    edit = as_bob.patch(f"/api/v1/posts/{post.pk}/", {"body": "hijacked"}, format="json")
    assert edit.status_code == 403
    assert "Only the author" in error_of(edit)["message"]
    delete = as_bob.delete(f"/api/v1/posts/{post.pk}/")
    assert delete.status_code == 403
    post.refresh_from_db()
    assert (post.body, post.status, post.edited_at) == ("mine", "published", None)
    assert not PostRevision.objects.exists()


def test_anonymous_cannot_edit_or_delete(anon):
    post = PostFactory(body="mine")
    assert anon.patch(f"/api/v1/posts/{post.pk}/", {"body": "x"}, format="json").status_code == 401
    assert anon.delete(f"/api/v1/posts/{post.pk}/").status_code == 401
    post.refresh_from_db()
    assert (post.body, post.status) == ("mine", "published")


def test_the_author_deletes_a_post_softly(alice, as_alice, anon):
    post = PostFactory(author=alice)
    assert as_alice.delete(f"/api/v1/posts/{post.pk}/").status_code == 204
    post.refresh_from_db()
    assert post.status == "deleted"
    assert anon.get(f"/api/v1/posts/{post.pk}/").status_code == 404
    assert as_alice.delete(f"/api/v1/posts/{post.pk}/").status_code == 404


def test_a_post_from_a_blocked_person_is_refused(alice, bob, as_bob):
    from creators.services import block_user

    post = PostFactory(author=alice)
    block_user(user=alice, username="bob")
    response = as_bob.get(f"/api/v1/posts/{post.pk}/")
    assert response.status_code == 403
    error_of(response)


def test_a_post_creates_no_engagement_by_being_read(anon):
    post = PostFactory()
    anon.get(f"/api/v1/posts/{post.pk}/")
    assert not Engagement.objects.exists()


def test_token_of_one_user_never_acts_as_another(alice):
    mallory = UserFactory(username="mallory")
    post = PostFactory(author=alice)
    response = client_for(mallory).delete(f"/api/v1/posts/{post.pk}/")
    assert response.status_code == 403
