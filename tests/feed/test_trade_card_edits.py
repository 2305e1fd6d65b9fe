"""Editing a post's trade card, on the web and through the API: the card is verified again against
the author's fills, the card it replaces is kept with the post's revisions, and a refused card
changes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from feed import services
from feed.models import Post, PostRevision, TradeCard
from markets.models import Fill
from tests.api.conftest import client_for
from tests.factories import FillFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("btc")]


@pytest.fixture
def author():
    return UserFactory(username="carol")


@pytest.fixture
def bought(author):
    """Carol bought 1 BTC at 64,000 an hour ago: a long card entered near that is verified."""
    return FillFactory(user=author, price=Decimal("64000"), filled_at=timezone.now() - timedelta(hours=1))


def _card_post(author, *, entry="64000", **card) -> Post:
    return services.publish_post(
        author=author,
        body="Long $BTC from the range low",
        content_type="trade_share",
        trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price=entry, **card),
    )


def _card(post) -> TradeCard | None:
    return TradeCard.objects.filter(post=post).first()


# --- The service ---------------------------------------------------------------------------------


def test_an_entry_edited_away_from_the_fills_loses_the_badge_and_the_old_card_is_kept(author, bought):
    post = _card_post(author)
    first = _card(post)
    assert first.is_verified and list(first.fills.all()) == [bought]

    services.edit_post(
        editor=author,
        post_id=post.pk,
        body=post.body,
        trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="61000"),
    )
    card = _card(post)
    assert (card.entry_price, card.is_verified, card.verified_entry_price) == (Decimal("61000"), False, None)
    assert list(card.fills.all()) == []
    revision = PostRevision.objects.get(post=post)
    assert revision.trade_card == {
        "instrument": "BTC-USDT",
        "side": "long",
        "entry_price": "64000.00000000",
        "exit_price": None,
        "mark_price": None,
        "leverage": "1.00",
        "pnl_percent": None,
        "verified_entry_price": "64000.000000000000",
        "verified": True,
    }


def test_a_card_corrected_onto_the_fills_is_verified_and_one_still_matching_keeps_its_time(author, bought):
    post = _card_post(author, entry="70000")
    assert not _card(post).is_verified

    services.edit_post(
        editor=author,
        post_id=post.pk,
        body=post.body,
        trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="64100"),
    )
    verified_at = _card(post).verified_at
    assert verified_at is not None

    # Closing the trade: the exit is added, the entry still matches, the badge keeps its time.
    services.edit_post(
        editor=author,
        post_id=post.pk,
        body=post.body,
        trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="64100", exit_price="66000"),
    )
    card = _card(post)
    assert (card.exit_price, card.verified_at) == (Decimal("66000"), verified_at)
    assert [r.trade_card["verified"] for r in PostRevision.objects.filter(post=post).order_by("pk")] == [False, True]


def test_a_card_can_be_added_by_an_edit_and_removed_by_one(author, bought):
    post = services.publish_post(author=author, body="$BTC bid", content_type="analysis")
    services.edit_post(
        editor=author,
        post_id=post.pk,
        body=post.body,
        trade_card=services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="64000"),
    )
    assert _card(post).is_verified

    services.edit_post(editor=author, post_id=post.pk, body=post.body, remove_trade_card=True)
    assert _card(post) is None
    assert [r.trade_card is None for r in PostRevision.objects.filter(post=post).order_by("pk")] == [True, False]
    # The fills stay the author's; only the card's link to them went with it.
    assert list(Fill.objects.filter(user=author)) == [bought]


def test_a_refused_card_leaves_the_post_text_and_card_as_they_were(author, bought):
    post = _card_post(author)
    with pytest.raises(services.ValidationError) as refused:
        services.edit_post(
            editor=author,
            post_id=post.pk,
            body="A new text that must not land",
            trade_card=services.TradeCardInput(instrument="NOPE-USDT", side="long", entry_price="1"),
        )
    assert "instrument" in refused.value.message_dict
    post.refresh_from_db()
    assert (post.body, post.edited_at) == ("Long $BTC from the range low", None)
    assert _card(post).entry_price == Decimal("64000") and _card(post).is_verified
    assert not PostRevision.objects.exists()


# --- The API -------------------------------------------------------------------------------------


def test_patch_replaces_the_card_and_answers_with_it_verified_again(author, bought):
    post = _card_post(author, entry="70000")
    response = client_for(author).patch(
        f"/api/v1/posts/{post.pk}/",
        {"trade_card": {"instrument": "btc-usdt", "side": "long", "entry_price": "64000", "exit_price": "65000"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    card = response.json()["trade_card"]
    assert (card["entry_price"], card["exit_price"], card["verified"]) == ("64000.00000000", "65000.00000000", True)
    assert response.json()["body"] == "Long $BTC from the range low"  # the text was not sent, so kept


def test_patch_with_a_null_card_removes_it(author, bought):
    post = _card_post(author)
    response = client_for(author).patch(f"/api/v1/posts/{post.pk}/", {"trade_card": None}, format="json")
    assert response.status_code == 200
    assert response.json()["trade_card"] is None
    assert _card(post) is None


def test_patch_with_only_a_body_leaves_the_card_alone(author, bought):
    post = _card_post(author)
    verified_at = _card(post).verified_at
    response = client_for(author).patch(
        f"/api/v1/posts/{post.pk}/", {"body": "Long $BTC, stop under 63k"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["trade_card"]["verified"] is True
    assert _card(post).verified_at == verified_at


@pytest.mark.parametrize(
    ("card", "field", "message"),
    [
        ({"instrument": "NOPE-USDT", "side": "long", "entry_price": "1"}, "instrument", "not an instrument"),
        ({"instrument": "BTC-USDT", "side": "sideways", "entry_price": "1"}, "side", "not a valid choice"),
        ({"instrument": "BTC-USDT", "side": "long", "entry_price": "-5"}, "entry_price", "above zero"),
        ({"instrument": "BTC-USDT", "side": "long"}, "entry_price", "required"),
        ({"instrument": "BTC-USDT", "side": "long", "entry_price": "1", "leverage": "500"}, "leverage", "less than"),
    ],
)
def test_patch_with_a_bad_card_is_a_400_naming_the_field_and_changes_nothing(author, bought, card, field, message):
    post = _card_post(author)
    response = client_for(author).patch(
        f"/api/v1/posts/{post.pk}/", {"body": "must not land", "trade_card": card}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert message in body["message"]
    assert field in str(body["errors"])
    post.refresh_from_db()
    assert post.body == "Long $BTC from the range low"
    assert _card(post).entry_price == Decimal("64000") and _card(post).is_verified
    assert not PostRevision.objects.exists()


def test_nobody_else_can_change_or_remove_a_card(author, bought):
    post = _card_post(author)
    intruder = client_for(UserFactory())
    replaced = intruder.patch(
        f"/api/v1/posts/{post.pk}/",
        {"trade_card": {"instrument": "BTC-USDT", "side": "short", "entry_price": "1"}},
        format="json",
    )
    removed = intruder.patch(f"/api/v1/posts/{post.pk}/", {"trade_card": None}, format="json")
    assert (replaced.status_code, removed.status_code) == (403, 403)
    assert _card(post).side == "long" and _card(post).is_verified


# --- The web edit form ---------------------------------------------------------------------------


@pytest.fixture
def author_client(client, author):
    client.force_login(author)
    return client


def _form(post, **fields) -> dict:
    data = {
        "body": post.body,
        "content_type": post.content_type_id,
        "instrument": "BTC-USDT",
        "side": "long",
        "entry_price": "64000",
        "exit_price": "",
        "mark_price": "",
        "leverage": "1.00",
        "pnl_percent": "",
    }
    return {**data, **fields}


def test_the_edit_form_shows_the_card_as_stored(author_client, author, bought):
    post = _card_post(author, entry="64000", pnl_percent="3.5")
    page = author_client.get(reverse("feed:edit", args=[post.pk])).content.decode()
    assert 'name="instrument" value="BTC-USDT"' in page
    assert 'name="entry_price" value="64000"' in page  # as typed, without the stored trailing zeros
    assert 'name="pnl_percent" value="3.5"' in page and 'name="leverage" value="1"' in page
    assert "Clear every field to remove the card." in page


def test_saving_the_text_alone_does_not_touch_the_card(author_client, author, bought):
    post = _card_post(author)
    verified_at = _card(post).verified_at
    response = author_client.post(reverse("feed:edit", args=[post.pk]), _form(post, body="Long $BTC, adding"))
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.body == "Long $BTC, adding"
    assert _card(post).verified_at == verified_at
    assert PostRevision.objects.get(post=post).trade_card["verified"] is True


def test_an_edited_entry_is_checked_again_and_the_post_page_says_unverified(author_client, author, bought):
    post = _card_post(author)
    response = author_client.post(reverse("feed:edit", args=[post.pk]), _form(post, entry_price="60000"))
    assert response.status_code == 302
    assert not _card(post).is_verified
    page = author_client.get(reverse("feed:post", args=[post.pk])).content.decode()
    assert "Unverified: the author" in page and "Verified by exchange fills" not in page


def test_clearing_every_card_field_removes_the_card(author_client, author, bought):
    post = _card_post(author)
    empty = {name: "" for name in ("instrument", "side", "entry_price", "leverage")}
    response = author_client.post(reverse("feed:edit", args=[post.pk]), _form(post, **empty))
    assert response.status_code == 302
    assert _card(post) is None


def test_a_card_added_on_the_edit_form_is_verified(author_client, author, bought):
    post = services.publish_post(author=author, body="$BTC bid", content_type="analysis")
    page = author_client.get(reverse("feed:edit", args=[post.pk])).content.decode()
    assert "Orbit checks it against your exchange fills" in page
    response = author_client.post(reverse("feed:edit", args=[post.pk]), _form(post))
    assert response.status_code == 302
    assert _card(post).is_verified


def test_a_bad_card_on_the_edit_form_is_a_400_on_its_field_and_changes_nothing(author_client, author, bought):
    post = _card_post(author)
    response = author_client.post(
        reverse("feed:edit", args=[post.pk]), _form(post, body="must not land", instrument="NOPE-USDT")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "is not an instrument of the exchange" in page
    assert 'value="NOPE-USDT"' in page  # what was typed is kept for correcting
    post.refresh_from_db()
    assert post.body == "Long $BTC from the range low"
    assert _card(post).instrument == "BTC-USDT" and _card(post).is_verified
    assert not PostRevision.objects.exists()
