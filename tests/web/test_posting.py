"""Compose, edit, delete and the trade button: what gets stored, and what is refused with which message."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from feed import services
from feed.models import Engagement, Post, PostImage, PostRevision, TradeCard
from tests.factories import PostFactory

from .conftest import png_upload

pytestmark = pytest.mark.django_db


def _compose(client, **fields):
    data = {"body": "$BTC reclaimed the weekly open #btc", "content_type": "analysis", **fields}
    return client.post(reverse("feed:compose"), data)


def test_compose_page_offers_content_types_and_trade_card_fields(alice_client):
    page = alice_client.get(reverse("feed:compose")).content.decode()
    assert 'name="body"' in page and 'name="images"' in page and "multiple" in page
    assert 'value="education"' in page and "Education" in page
    assert 'name="instrument"' in page and 'name="pnl_percent"' in page


def test_compose_needs_login(client):
    response = client.get(reverse("feed:compose"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_compose_publishes_markdown_with_cashtag_hashtag_images_and_trade_card(alice_client, alice, btc):
    response = alice_client.post(
        reverse("feed:compose"),
        {
            "body": "**Long** $BTC into the close #breakout",
            "content_type": "trade_share",
            "images": [png_upload("one.png"), png_upload("two.png")],
            "instrument": "btc-usdt",
            "side": "long",
            "entry_price": "64250.5",
            "mark_price": "65100",
            "leverage": "5",
            "pnl_percent": "6.6",
        },
    )
    post = Post.objects.get(author=alice)
    assert response.status_code == 302 and response["Location"] == reverse("feed:post", args=[post.pk])
    assert post.content_type_id == "trade_share"
    assert "<strong>Long</strong>" in post.body_html
    assert list(post.assets.values_list("symbol", flat=True)) == ["BTC"]
    assert list(post.hashtags.values_list("name", flat=True)) == ["breakout"]
    assert PostImage.objects.filter(post=post).count() == 2
    card = TradeCard.objects.get(post=post)
    assert (card.instrument, card.side, str(card.leverage)) == ("BTC-USDT", "long", "5.00")
    page = alice_client.get(response["Location"]).content.decode()
    assert "Your post is live." in page and "Trade BTC-USDT" in page


def test_an_empty_post_is_a_400_with_the_message_and_nothing_is_stored(alice_client):
    response = _compose(alice_client, body="   ")
    assert response.status_code == 400
    assert "an empty post cannot be posted" in response.content.decode()
    assert not Post.objects.exists()


def test_an_oversized_post_is_a_400_with_the_message_and_nothing_is_stored(alice_client):
    response = _compose(alice_client, body="x" * (services.MAX_POST_CHARS + 1))
    assert response.status_code == 400
    assert "the limit is 10000" in response.content.decode()
    assert not Post.objects.exists()


def test_a_non_image_upload_is_a_400_and_nothing_is_stored(alice_client):
    fake = SimpleUploadedFile("chart.png", b"#!/bin/sh\necho not an image\n", content_type="image/png")
    response = _compose(alice_client, images=[fake])
    assert response.status_code == 400
    assert "chart.png is not an image Orbit can show" in response.content.decode()
    assert not Post.objects.exists() and not PostImage.objects.exists()


def test_more_than_four_images_is_a_400(alice_client):
    response = _compose(alice_client, images=[png_upload(f"{n}.png") for n in range(5)])
    assert response.status_code == 400
    assert "Attach at most 4 images." in response.content.decode()
    assert not Post.objects.exists()


def test_an_unknown_instrument_is_a_400_on_the_instrument_field(alice_client, btc):
    response = _compose(alice_client, instrument="NOPE-USDT", side="long", entry_price="1")
    assert response.status_code == 400
    form = response.context["form"]
    assert "is not an instrument of the exchange" in form.errors["instrument"][0]
    assert not Post.objects.exists() and not TradeCard.objects.exists()


def test_an_unknown_content_type_is_a_400(alice_client):
    response = _compose(alice_client, content_type="shilling")
    assert response.status_code == 400
    assert not Post.objects.exists()


def test_a_suspended_user_cannot_post_and_is_told_why(alice_client, alice):
    alice.suspended_at = timezone.now()
    alice.save()
    notice = alice_client.get(reverse("feed:compose")).content.decode()
    assert "Your account is suspended" in notice
    response = _compose(alice_client)
    assert response.status_code == 403
    assert "Your account is suspended, so you cannot post or react." in response.content.decode()
    assert not Post.objects.exists()


def test_posting_is_rate_limited(alice_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "post": "2/hour"},
    }
    assert [_compose(alice_client, body=f"take {n}").status_code for n in range(2)] == [302, 302]
    limited = _compose(alice_client, body="one too many")
    assert limited.status_code == 429
    assert Post.objects.count() == 2


def test_the_author_edits_with_history_kept(alice_client, alice):
    post = services.publish_post(author=alice, body="first draft", content_type="chat")
    form = alice_client.get(reverse("feed:edit", args=[post.pk]))
    assert "first draft" in form.content.decode()
    response = alice_client.post(
        reverse("feed:edit", args=[post.pk]), {"body": "better draft", "content_type": "analysis"}
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.body, post.content_type_id) == ("better draft", "analysis")
    assert post.edited_at is not None
    assert list(PostRevision.objects.filter(post=post).values_list("body", flat=True)) == ["first draft"]


def test_an_empty_edit_is_a_400_and_changes_nothing(alice_client, alice):
    post = services.publish_post(author=alice, body="keep me", content_type="chat")
    response = alice_client.post(reverse("feed:edit", args=[post.pk]), {"body": "", "content_type": "chat"})
    assert response.status_code == 400
    assert "an empty post cannot be posted" in response.content.decode()
    post.refresh_from_db()
    assert post.body == "keep me" and not PostRevision.objects.exists()


def test_another_user_cannot_edit_or_delete_a_post(bob_client, alice):
    post = services.publish_post(author=alice, body="alice's words", content_type="chat")
    assert bob_client.get(reverse("feed:edit", args=[post.pk])).status_code == 403
    edit = bob_client.post(reverse("feed:edit", args=[post.pk]), {"body": "bob's words", "content_type": "chat"})
    assert edit.status_code == 403
    assert "Only the author can change this post." in edit.content.decode()
    assert bob_client.get(reverse("feed:delete", args=[post.pk])).status_code == 403
    delete = bob_client.post(reverse("feed:delete", args=[post.pk]))
    assert delete.status_code == 403
    post.refresh_from_db()
    assert (post.body, post.status) == ("alice's words", "published")
    assert not PostRevision.objects.exists()


def test_the_author_deletes_after_confirming(alice_client, alice):
    post = services.publish_post(author=alice, body="regrettable take", content_type="chat")
    assert "Delete this post?" in alice_client.get(reverse("feed:delete", args=[post.pk])).content.decode()
    response = alice_client.post(reverse("feed:delete", args=[post.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("feed:profile", args=["alice"])
    post.refresh_from_db()
    assert post.status == "deleted" and post.deleted_at is not None
    assert alice_client.get(reverse("feed:post", args=[post.pk])).status_code == 404
    assert "regrettable take" not in alice_client.get(reverse("feed:latest")).content.decode()


def _post_with_card(author, btc):
    return services.publish_post(
        author=author,
        body="$BTC long",
        content_type="trade_share",
        trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="60000"),
    )


def test_trade_button_records_a_click_and_redirects_to_the_exchange(client, alice, bob, btc, settings):
    post = _post_with_card(alice, btc)
    client.force_login(bob)
    response = client.post(reverse("feed:trade", args=[post.pk]))
    assert response.status_code == 302
    assert response["Location"] == settings.EXCHANGE_TRADE_URL.format(instrument="BTC-USDT")
    click = Engagement.objects.get(kind=Engagement.Kind.TRADE_CLICK)
    assert (click.post_id, click.actor_id, click.creator_id) == (post.pk, bob.pk, alice.pk)
    assert click.fingerprint


def test_trade_button_refuses_get(client, alice, btc):
    post = _post_with_card(alice, btc)
    assert client.get(reverse("feed:trade", args=[post.pk])).status_code == 405
    assert not Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK).exists()


def test_trade_button_of_a_delisted_instrument_goes_nowhere(client, alice, btc):
    post = _post_with_card(alice, btc)
    btc.is_listed = False
    btc.save()
    response = client.post(reverse("feed:trade", args=[post.pk]))
    assert response.status_code == 400
    assert "is not an instrument of the exchange" in response.content.decode()
    assert not Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK).exists()


def test_trade_button_on_a_post_without_a_card_is_404(client):
    post = PostFactory()
    assert client.post(reverse("feed:trade", args=[post.pk])).status_code == 404


def test_pages_with_trade_buttons_allow_the_exchange_as_form_target(client, alice, btc, settings):
    post = _post_with_card(alice, btc)
    csp = client.get(reverse("feed:post", args=[post.pk]))["Content-Security-Policy"]
    form_action = next(part for part in csp.split(";") if "form-action" in part)
    assert "'self'" in form_action and "https://www.example-exchange.com" in form_action
