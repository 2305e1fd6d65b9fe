"""Export and deletion of an account (creators.privacy): everything personal goes, the money stays exact.

The world is built the way people build it (services, the login form, the webhook's rows), with the
person's own words (posts, comments, reports, an appeal) holding their name, e-mail and bio, so that
the search of every text column of every table after the deletion means something.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from axes.models import AccessAttempt, AccessLog
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import ProtectedError, Sum
from django.test import Client

from creators import privacy, services
from creators.models import Follow, Profile, User
from feed import moderation
from feed import selectors as feed_selectors
from feed import services as feed_services
from feed.models import Comment, Engagement, Notification, Post, PostImage, PostRevision, Report
from incentives import ledger, settlement
from incentives.models import IncentivePolicy, LedgerEntry, Payout
from incentives.weeks import Week
from markets.models import Asset, ExchangeEvent, Fill, Position, TradingProfile
from ranking.models import UserInterest
from tests.api.conftest import client_for
from tests.factories import FillFactory, PostFactory, PrizePoolFactory, TradingProfileFactory, UserFactory
from tests.security.helpers import PASSWORD, activate_totp, client_from_new_ip, sign_in
from tests.web.conftest import png_upload

pytestmark = pytest.mark.django_db

WEEK = Week.parse("2026-W47", "UTC")
NEXT_WEEK = Week.parse("2026-W48", "UTC")
Kind = Engagement.Kind

USERNAME = "alicew"
EMAIL = "alice.wonder@example.org"
DISPLAY_NAME = "Alice Wonderland"
FIRST_NAME, LAST_NAME = "Alicia", "Wonderland"
BIO = "Swing trader from Lisbon; ex-quant at Kappa Capital."
# What must be nowhere after the deletion (matched case-insensitively, anywhere in a value).
TRACES = [USERNAME, EMAIL, DISPLAY_NAME, FIRST_NAME, LAST_NAME, BIO, "Kappa Capital"]


def trader(**fields):
    """A reader whose reads are worth money: verified, trading, a year old."""
    user = UserFactory(date_joined=WEEK.starts_at - timedelta(days=365), **fields)
    TradingProfileFactory(
        user=user, kyc_level=2, volume_tier=2, trades_30d=20, last_trade_at=WEEK.starts_at + timedelta(days=1)
    )
    # Reader value comes from the fees of the reader's own fills before the week's end.
    for days_before in (1, 8, 15):
        FillFactory(user=user, fee=Decimal(5), filled_at=WEEK.starts_at - timedelta(days=days_before))
    return user


def engage(readers, post, when):
    Engagement.objects.bulk_create(
        Engagement(
            actor=reader,
            post=post,
            creator_id=post.author_id,
            kind=kind,
            occurred_at=when + timedelta(minutes=index * 9),
            fingerprint=f"device-{reader.pk}",
        )
        for index, reader in enumerate(readers)
        for kind in (Kind.VIEW, Kind.LIKE)
    )


def post_in(week, author, **fields):
    return PostFactory(author=author, created_at=week.starts_at + timedelta(hours=1), **fields)


@pytest.fixture(autouse=True)
def no_cap():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"max_share": None})


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})
    alice = UserFactory(username=USERNAME, email=EMAIL, first_name=FIRST_NAME, last_name=LAST_NAME)
    services.update_profile(user=alice, display_name=DISPLAY_NAME, bio=BIO, avatar=png_upload("me.png"))
    bob = trader(username="bob")
    operator = UserFactory(username="ops", is_staff=True, is_superuser=True)
    readers = [trader() for _ in range(3)]

    # Her own words, holding her names and bio.
    post = feed_services.publish_post(
        author=alice,
        body=f"{DISPLAY_NAME} here. {BIO} Long $BTC",
        content_type="trade_share",
        images=[png_upload("chart.png")],
        trade_card=feed_services.TradeCardInput(instrument="BTC-USDT", side="long", entry_price="64000"),
    )
    feed_services.edit_post(editor=alice, post_id=post.pk, body=f"Edited by {USERNAME} ({EMAIL}): still long $BTC")
    Post.objects.filter(pk=post.pk).update(created_at=WEEK.starts_at + timedelta(hours=1))
    bobs_post = post_in(WEEK, bob, body="$BTC range trading until the CPI print")
    feed_services.comment_on_post(author=alice, post_id=bobs_post.pk, body=f"Agreed. — {FIRST_NAME} {LAST_NAME}")
    feed_services.comment_on_post(author=bob, post_id=post.pk, body="Nice entry")
    feed_services.like_post(user=alice, post_id=bobs_post.pk)
    feed_services.like_post(user=bob, post_id=post.pk)
    feed_services.report_post(reporter=alice, post_id=bobs_post.pk, reason="spam", details=f"Reported by {EMAIL}")
    report = feed_services.report_post(
        reporter=bob, post_id=post.pk, reason="misleading", details=f"{USERNAME} shills her own bags"
    )
    moderation.warn_user(moderator=operator, user_id=alice.pk, report_id=report.pk, note=f"Warned {DISPLAY_NAME}")
    services.follow_user(follower=bob, username=USERNAME)
    services.follow_user(follower=alice, username="bob")
    services.mute_user(user=alice, username="ops")

    # Signing in: an e-mail address, an authenticator, a token, failed and good logins.
    EmailAddress.objects.create(user=alice, email=EMAIL, verified=True, primary=True)
    activate_totp(alice)
    client_for(alice)
    sign_in(client_from_new_ip(), EMAIL, "wrong password")
    sign_in(client_from_new_ip(), USERNAME, "wrong password")
    assert AccessAttempt.objects.filter(username__iexact=USERNAME).exists()
    LogEntry.objects.create(
        user=operator,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(alice.pk),
        object_repr=USERNAME,
        action_flag=CHANGE,
        change_message=f"Checked the e-mail {EMAIL}",
    )

    # What the exchange told us, and what ranking learnt.
    TradingProfile.objects.create(user=alice, exchange_uid="uid-alice", kyc_level=2)
    FillFactory(user=alice, price=Decimal(64000), filled_at=WEEK.starts_at)
    Position.objects.create(
        user=alice, instrument="BTC-USDT-SWAP", instrument_type="perpetual", asset="BTC", side="long",
        quantity=Decimal(1), taken_at=WEEK.starts_at,
    )  # fmt: skip
    ExchangeEvent.objects.create(
        key="evt-alice-1", type="trade.filled", exchange_uid="uid-alice", occurred_at=WEEK.starts_at, payload={}
    )
    UserInterest.objects.create(user=alice, engagement={f"creator:{bob.pk}": 1.5})

    # A settled week in which she earned, and her appeal about it.
    engage(readers, Post.objects.get(pk=post.pk), WEEK.starts_at + timedelta(hours=2))
    engage(readers[:1], bobs_post, WEEK.starts_at + timedelta(hours=2))
    PrizePoolFactory(week=WEEK.label, amount=Decimal("100.00"))
    settlement.settle_week(week=WEEK, now=WEEK.ends_at + timedelta(hours=1))
    Payout.objects.filter(creator=alice).update(appeal_message=f"I am {DISPLAY_NAME}; {BIO}")
    return {"alice": alice, "bob": bob, "operator": operator, "post": post, "readers": readers, "bobs_post": bobs_post}


def text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name
            FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'tsvector')
                   OR c.udt_name IN ('_text', '_varchar'))
            ORDER BY 1, 2
            """
        )
        return cursor.fetchall()


def traces_in_database(needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a text, varchar, array, JSON or tsvector value holds the
    needle, case-insensitively (SQL ILIKE)."""
    found = []
    with connection.cursor() as cursor:
        for table, column in text_columns():
            for needle in needles:
                pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                cursor.execute(f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE %s LIMIT 1', [pattern])  # noqa: S608
                if cursor.fetchone():
                    found.append((table, column, needle))
    return found


def ledger_state():
    return (
        sorted(LedgerEntry.objects.values_list("transfer_id", "account", "amount", "currency", "memo", "payout_id")),
        sorted(Payout.objects.values_list("settlement__week", "creator_id", "amount", "status")),
        list(Engagement.objects.order_by("id").values_list("id", "actor_id", "creator_id", "post_id", "kind")),
    )


# --- Deletion -----------------------------------------------------------------------------------


def test_today_a_person_with_posts_and_earnings_cannot_be_deleted_at_all(world):
    # Why the tombstone: the log and the ledger protect the row from a plain delete.
    with pytest.raises(ProtectedError):
        User.objects.get(pk=world["alice"].pk).delete()


def test_after_deletion_no_table_holds_the_persons_name_email_display_name_or_bio(world):
    before = traces_in_database(TRACES)
    assert {table for table, _column, _needle in before} >= {
        "creators_user", "creators_profile", "feed_post", "feed_postrevision", "feed_comment", "feed_report",
        "feed_moderationaction", "account_emailaddress", "axes_accessattempt", "django_admin_log",
        "incentives_payout",
    }  # fmt: skip

    privacy.delete_account(user=world["alice"])

    assert traces_in_database(TRACES) == []


def test_deletion_erases_rows_and_files_and_keeps_anchors_for_counts(world, django_capture_on_commit_callbacks):
    alice, post = world["alice"], world["post"]
    avatar = Profile.objects.get(user=alice).avatar
    image = PostImage.objects.get(post=post).image
    storage = image.storage
    assert storage.exists(avatar.name) and storage.exists(image.name)

    with django_capture_on_commit_callbacks(execute=True):
        privacy.delete_account(user=alice)

    tombstone = User.objects.get(pk=alice.pk)
    assert tombstone.username.startswith("deleted-") and tombstone.deleted_at is not None
    assert (tombstone.email, tombstone.first_name, tombstone.last_name) == ("", "", "")
    assert not tombstone.is_active and not tombstone.has_usable_password()
    assert not storage.exists(avatar.name) and not storage.exists(image.name)
    for model, lookup in [
        (Follow, {"follower": alice}), (Follow, {"followee": alice}), (Fill, {"user": alice}),
        (Position, {"user": alice}), (TradingProfile, {"user": alice}), (EmailAddress, {"user": alice}),
        (Notification, {"recipient": alice}), (UserInterest, {"user": alice}), (PostRevision, {"post": post}),
        (ExchangeEvent, {"exchange_uid": "uid-alice"}),
    ]:  # fmt: skip
        assert not model.objects.filter(**lookup).exists(), model
    assert not AccessAttempt.objects.filter(username__iexact=EMAIL).exists()
    assert not AccessLog.objects.filter(username__iexact=USERNAME).exists()
    # The rows others' counts and the log point at stay, blank.
    stored = Post.objects.get(pk=post.pk)
    assert (stored.status, stored.body, stored.body_html) == (Post.Status.DELETED, "", "")
    assert stored.like_count == 1 and Comment.objects.filter(post=post).count() == 1
    assert Comment.objects.get(author=alice).body == ""
    assert Report.objects.filter(reporter=alice).get().details == ""


def test_settled_money_and_the_log_are_unchanged_and_a_later_week_still_settles(world):
    alice, bob, readers = world["alice"], world["bob"], world["readers"]
    earned = Payout.objects.get(creator=alice).amount
    assert earned > 0 and ledger.balance(ledger.creator_account(alice.pk)) == earned
    # The next week: readers read both, and she read bob, before she left.
    engage(readers, world["post"], NEXT_WEEK.starts_at + timedelta(hours=2))
    engage([*readers, alice], post_in(NEXT_WEEK, bob), NEXT_WEEK.starts_at + timedelta(hours=3))
    before = ledger_state()

    privacy.delete_account(user=alice)

    assert ledger_state() == before
    assert ledger.balance(ledger.creator_account(alice.pk)) == earned
    assert ledger.imbalance() == 0
    PrizePoolFactory(week=NEXT_WEEK.label, amount=Decimal("50.00"))
    paid = settlement.settle_week(week=NEXT_WEEK, now=NEXT_WEEK.ends_at + timedelta(hours=1)).settlement
    payouts = dict(paid.payouts.values_list("creator_id", "amount"))
    assert alice.pk not in payouts and payouts[bob.pk] > 0
    assert ledger.imbalance() == 0
    assert LedgerEntry.objects.filter(settlement=paid).aggregate(total=Sum("amount"))["total"] == 0


def test_the_tombstone_cannot_sign_in_be_found_followed_mentioned_or_visited(world):
    alice, bob = world["alice"], world["bob"]
    signed_in = client_from_new_ip()
    signed_in.force_login(alice)
    api = client_for(alice)
    assert signed_in.get("/settings/profile/").status_code == 200

    privacy.delete_account(user=alice)

    tombstone = User.objects.get(pk=alice.pk)
    assert signed_in.get("/settings/profile/").status_code == 302  # that session ended
    assert api.get("/api/v1/me/").status_code == 401  # and that token
    assert sign_in(client_from_new_ip(), USERNAME).status_code == 200  # the form again: refused
    assert sign_in(client_from_new_ip(), tombstone.username).status_code == 200
    assert Client().get(f"/@{tombstone.username}/").status_code == 404
    assert Client().get(f"/@{USERNAME}/").status_code == 404
    assert feed_selectors.search_people(query="deleted") == []
    with pytest.raises(User.DoesNotExist):
        services.follow_user(follower=bob, username=tombstone.username)
    feed_services.publish_post(author=bob, body=f"hi @{tombstone.username}", content_type="chat")
    assert not Notification.objects.filter(recipient=tombstone).exists()


def test_a_second_deletion_and_staff_self_deletion_are_refused(world):
    privacy.delete_account(user=world["alice"])
    with pytest.raises(ValidationError, match="deleted already"):
        privacy.delete_account(user=User.objects.get(pk=world["alice"].pk))
    with pytest.raises(PermissionDenied, match="Ask another operator"):
        privacy.delete_account(user=world["operator"])
    assert User.objects.get(pk=world["operator"].pk).is_active


def test_a_mention_by_someone_else_stays_their_text_and_links_nowhere(world):
    mention = feed_services.publish_post(author=world["bob"], body=f"cc @{USERNAME}", content_type="chat")
    privacy.delete_account(user=world["alice"])
    assert Post.objects.get(pk=mention.pk).body == f"cc @{USERNAME}"
    assert Client().get(f"/@{USERNAME}/").status_code == 404


# --- Export -------------------------------------------------------------------------------------


def test_the_export_holds_the_persons_data_from_every_app_and_nobody_elses_private_data(world):
    alice, bob = world["alice"], world["bob"]

    data = privacy.export_account_data(user=alice)

    assert data["account"]["username"] == USERNAME and data["account"]["email"] == EMAIL
    assert data["account"]["email_addresses"][0]["email"] == EMAIL
    assert data["account"]["two_factor_methods"][0]["type"] == "totp"
    assert data["profile"]["bio"] == BIO and data["profile"]["display_name"] == DISPLAY_NAME
    assert [row["followee__username"] for row in data["following"]] == ["bob"]
    assert [row["follower__username"] for row in data["followers"]] == ["bob"]
    [post] = data["posts"]
    assert post["body"].startswith("Edited by") and post["revisions"][0]["body"].startswith(DISPLAY_NAME)
    assert post["trade_card"]["instrument"] == "BTC-USDT" and post["images"]
    assert data["comments"][0]["body"] == f"Agreed. — {FIRST_NAME} {LAST_NAME}"
    assert [like["post_id"] for like in data["likes"]] == [world["bobs_post"].pk]
    assert data["reports"][0]["details"] == f"Reported by {EMAIL}"
    assert {row["kind"] for row in data["engagement"]} >= {"like", "comment", "follow", "report"}
    assert data["trading_profile"]["exchange_uid"] == "uid-alice" and len(data["fills"]) == 1
    assert data["positions"][0]["instrument"] == "BTC-USDT-SWAP"
    assert data["interests"]["engagement"] == {f"creator:{bob.pk}": 1.5}
    [payout] = data["payouts"]
    assert Decimal(payout["amount"]) > 0 and payout["appeal_message"].startswith("I am")
    assert sum(Decimal(line["amount"]) for line in data["ledger"]) == Decimal(payout["amount"])
    assert data["contributions"][0]["settlement__week"] == WEEK.label
    text = str(data)
    assert bob.email not in text and PASSWORD not in text
    assert "password" not in data["account"]
