"""The exchange webhook: signatures, replay, idempotency, refusals, and what the events change."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from creators.privacy import delete_account, export_account_data
from incentives.settlement import ineligible_creators
from markets import exchange
from markets.models import ExchangeEvent, Fill, Position, TradingProfile
from ranking.profiles import trading_interest
from tests.factories import UserFactory

URL = "/api/v1/exchange/events/"
SECRET = "test-webhook-secret"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.EXCHANGE_WEBHOOK_SECRET = SECRET


def deliver(client, events, *, secret=SECRET, timestamp=None, body=None, signature=None):
    body = body if body is not None else json.dumps({"events": events}).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = signature or exchange.sign(body, timestamp=timestamp, secret=secret)
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Orbit-Timestamp": str(timestamp), "X-Orbit-Signature": signature},
    )


def iso(moment) -> str:
    return moment.isoformat()


def linked(event_id="link-1", *, user, uid="U1", opened_days_ago=400, kyc=2):
    return {
        "id": event_id,
        "type": "account.linked",
        "occurred_at": iso(timezone.now() - timedelta(minutes=5)),
        "data": {
            "uid": uid,
            "user_id": user.pk,
            "opened_at": iso(timezone.now() - timedelta(days=opened_days_ago)),
            "kyc_level": kyc,
        },
    }


def fill(
    event_id,
    *,
    uid="U1",
    fill_id=None,
    instrument="BTC-USDT",
    side="buy",
    quantity="0.5",
    price="60000",
    fee="3",
    at=None,
):
    at = at or timezone.now() - timedelta(hours=1)
    return {
        "id": event_id,
        "type": "trade.filled",
        "occurred_at": iso(at),
        "data": {
            "uid": uid,
            "fill_id": fill_id or f"F-{event_id}",
            "instrument": instrument,
            "side": side,
            "quantity": quantity,
            "price": price,
            "fee": fee,
            "fee_currency": "USDT",
            "filled_at": iso(at),
        },
    }


def state(event_id, kind, *, uid="U1", at, **data):
    return {"id": event_id, "type": kind, "occurred_at": iso(at), "data": {"uid": uid, **data}}


def snapshot():
    """Everything the webhook could have changed, to prove a refused request changed nothing."""
    return (
        list(ExchangeEvent.objects.order_by("key").values_list("key", flat=True)),
        list(Fill.objects.order_by("fill_id").values_list("fill_id", "quantity", "price")),
        list(TradingProfile.objects.order_by("user_id").values()),
        list(Position.objects.order_by("pk").values_list("instrument", "side", "quantity")),
    )


@pytest.fixture
def trader(db):
    user = UserFactory()
    response = deliver(Client(), [linked(user=user)])
    assert response.json()["applied"] == 1
    return user


# --- The request as a whole ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_bad_signature_is_refused_whole_and_changes_nothing(client, trader):
    before = snapshot()
    response = deliver(client, [fill("e1")], secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert "HMAC-SHA256" in response.json()["message"]
    assert snapshot() == before


@pytest.mark.django_db
def test_a_body_changed_after_signing_is_refused(client, trader):
    body = json.dumps({"events": [fill("e1", quantity="0.5")]}).encode()
    timestamp = int(time.time())
    signature = exchange.sign(body, timestamp=timestamp, secret=SECRET)
    tampered = body.replace(b'"0.5"', b'"50"')
    before = snapshot()
    response = deliver(client, None, body=tampered, timestamp=timestamp, signature=signature)
    assert response.status_code == 401
    assert snapshot() == before


@pytest.mark.django_db
def test_unsigned_requests_are_refused(client, trader):
    body = json.dumps({"events": [fill("e1")]}).encode()
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "unsigned"
    assert not Fill.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_a_timestamp_outside_the_window_is_refused_as_a_replay(client, trader, skew):
    before = snapshot()
    response = deliver(client, [fill("e1")], timestamp=int(time.time()) - skew)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "stale_timestamp"
    assert "300 seconds" in body["message"]
    assert snapshot() == before


@pytest.mark.django_db
def test_during_a_rotation_both_secrets_are_accepted_and_the_old_one_is_logged(client, trader, settings, caplog):
    settings.EXCHANGE_WEBHOOK_PREVIOUS_SECRET = "the-old-secret"
    old = deliver(client, [fill("e1")], secret="the-old-secret")
    assert old.status_code == 200 and old.json()["applied"] == 1
    assert "signed with EXCHANGE_WEBHOOK_PREVIOUS_SECRET" in caplog.text
    caplog.clear()
    new = deliver(client, [fill("e2", fill_id="F2")])
    assert new.status_code == 200 and new.json()["applied"] == 1
    assert "PREVIOUS_SECRET" not in caplog.text
    before = snapshot()
    neither = deliver(client, [fill("e3", fill_id="F3")], secret="a-third-secret")
    assert (neither.status_code, neither.json()["code"]) == (401, "bad_signature")
    assert snapshot() == before


@pytest.mark.django_db
def test_once_the_rotation_ends_the_old_secret_is_refused(client, trader, settings):
    settings.EXCHANGE_WEBHOOK_PREVIOUS_SECRET = ""
    before = snapshot()
    response = deliver(client, [fill("e1")], secret="the-old-secret")
    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")
    assert snapshot() == before


@pytest.mark.django_db
def test_a_previous_secret_alone_does_not_turn_the_webhook_on(client, settings):
    settings.EXCHANGE_WEBHOOK_SECRET = ""
    settings.EXCHANGE_WEBHOOK_PREVIOUS_SECRET = "the-old-secret"
    response = deliver(client, [fill("e1")], secret="the-old-secret")
    assert response.status_code == 503


@pytest.mark.django_db
def test_the_webhook_is_off_without_a_secret(client, settings):
    settings.EXCHANGE_WEBHOOK_SECRET = ""
    response = deliver(client, [fill("e1")])
    assert response.status_code == 503
    assert "EXCHANGE_WEBHOOK_SECRET" in response.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b'{"events": []}', 400), (b'{"events": {"id": 1}}', 400), (b"[1, 2]", 400)],
)
def test_a_body_that_is_not_a_batch_is_a_400(client, trader, body, status):
    before = snapshot()
    response = deliver(client, None, body=body)
    assert response.status_code == status
    assert response.json()["code"] == "malformed_body"
    assert snapshot() == before


@pytest.mark.django_db
def test_an_oversized_batch_is_refused_with_the_limit(client, trader, settings):
    settings.EXCHANGE_WEBHOOK_MAX_EVENTS = 3
    response = deliver(client, [fill(f"e{n}") for n in range(4)])
    assert response.status_code == 413
    assert "at most 3" in response.json()["message"]
    assert not Fill.objects.exists()


# --- Replay and redelivery -------------------------------------------------------------------------


@pytest.mark.django_db
def test_replaying_a_signed_request_inside_the_window_changes_nothing(client, trader):
    body = json.dumps({"events": [fill("e1"), state("k1", "kyc.changed", at=timezone.now(), level=3)]}).encode()
    timestamp = int(time.time())
    first = deliver(client, None, body=body, timestamp=timestamp)
    assert [r["status"] for r in first.json()["results"]] == ["applied", "applied"]
    # The level moves on; a replay of the old request must not put it back.
    deliver(client, [state("k2", "kyc.changed", at=timezone.now(), level=1)])
    before = snapshot()
    again = deliver(client, None, body=body, timestamp=timestamp)
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert again.json()["results"][0]["code"] == "already_received"
    assert snapshot() == before
    assert TradingProfile.objects.get(user=trader).kyc_level == 1


@pytest.mark.django_db
def test_duplicate_delivery_of_an_event_or_of_a_fill_stores_it_once(client, trader):
    assert deliver(client, [fill("e1", fill_id="F1")]).json()["applied"] == 1
    # The same event again in a later batch, and the same fill under a new event id.
    response = deliver(client, [fill("e1", fill_id="F1"), fill("e2", fill_id="F1"), fill("e3", fill_id="F3")])
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["duplicate", "duplicate", "applied"]
    assert results[1]["code"] == "fill_already_recorded"
    assert Fill.objects.filter(user=trader).count() == 2
    # Twice in one batch: the first wins.
    response = deliver(client, [fill("e4", fill_id="F4"), fill("e4", fill_id="F4")])
    assert [r["status"] for r in response.json()["results"]] == ["applied", "duplicate"]
    assert Fill.objects.filter(fill_id="F4").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_deliveries_of_one_batch_apply_it_once():
    user = UserFactory()
    deliver(Client(), [linked(user=user)])
    events = [fill(f"c{n}", quantity="1", price="100") for n in range(50)]
    barrier = threading.Barrier(3)
    answers = []

    def send():
        barrier.wait()
        try:
            answers.append(deliver(Client(), events).json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer["applied"] for answer in answers) == [0, 0, 50]
    assert sorted(answer["duplicate"] for answer in answers) == [0, 50, 50]
    assert Fill.objects.filter(user=user).count() == 50
    assert TradingProfile.objects.get(user=user).trades_30d == 50


# --- Malformed and unknown events ---------------------------------------------------------------


BAD_EVENTS = [
    ("not an object", "malformed_event"),
    ({"type": "trade.filled", "occurred_at": "2026-11-24T08:00:00Z", "data": {"uid": "U1"}}, "missing_id"),
    (
        {"id": "x1", "type": "trade.exploded", "occurred_at": "2026-11-24T08:00:00Z", "data": {"uid": "U1"}},
        "unknown_type",
    ),
    (
        {"id": "x2", "type": "kyc.changed", "occurred_at": "yesterday", "data": {"uid": "U1", "level": 2}},
        "invalid_field",
    ),
    (
        {"id": "x3", "type": "kyc.changed", "occurred_at": "2026-11-24T08:00:00", "data": {"uid": "U1", "level": 2}},
        "invalid_field",
    ),
    ({"id": "x4", "type": "kyc.changed", "occurred_at": "2026-11-24T08:00:00Z", "data": {"level": 2}}, "missing_field"),
    (
        {"id": "x5", "type": "kyc.changed", "occurred_at": "2026-11-24T08:00:00Z", "data": {"uid": "U1", "level": 7}},
        "invalid_field",
    ),
    (
        {"id": "x6", "type": "kyc.changed", "occurred_at": "2999-01-01T00:00:00Z", "data": {"uid": "U1", "level": 2}},
        "invalid_field",
    ),
    ({"id": "x7", "type": "trade.filled", "occurred_at": "2026-11-24T08:00:00Z", "data": []}, "malformed_event"),
]


@pytest.mark.django_db
def test_malformed_and_unknown_events_are_refused_one_by_one_and_the_rest_applies(client, trader):
    good = fill("good", quantity="2", price="100")
    float_price = fill("float-price")
    float_price["data"]["price"] = 60000.1
    negative = fill("negative", quantity="-1")
    bad_instrument = fill("bad-instrument", instrument="BTC/USDT")
    wrong_side = fill("wrong-side", side="long")
    stranger = fill("stranger", uid="nobody-linked-this")
    events = [event for event, _code in BAD_EVENTS] + [
        float_price,
        negative,
        bad_instrument,
        wrong_side,
        good,
        stranger,
    ]
    response = deliver(client, events)
    assert response.status_code == 200
    results = response.json()["results"]
    expected = [code for _event, code in BAD_EVENTS] + ["invalid_field"] * 4 + [None, "unknown_account"]
    assert [r.get("code") for r in results] == expected
    assert [r["status"] for r in results].count("applied") == 1
    assert all(r["reason"] for r in results if r["status"] == "refused")
    assert "string" in results[len(BAD_EVENTS)]["reason"]  # a float loses the exact price: say how to send it
    assert "account.linked" in results[-1]["reason"]
    assert list(Fill.objects.values_list("fill_id", flat=True)) == ["F-good"]
    # Refused events are not remembered: corrected, the same id goes through.
    assert not ExchangeEvent.objects.filter(key__in=["float-price", "stranger", "x5"]).exists()
    corrected = fill("float-price", price="60000.1")
    assert deliver(client, [corrected]).json()["results"][0]["status"] == "applied"
    assert Fill.objects.get(fill_id="F-float-price").price == Decimal("60000.1")


@pytest.mark.django_db
def test_an_event_before_its_account_is_linked_is_refused_and_after_applies(client):
    user = UserFactory()
    response = deliver(client, [fill("early", uid="U9"), linked(user=user, uid="U9"), fill("late", uid="U9")])
    assert [r["status"] for r in response.json()["results"]] == ["refused", "applied", "applied"]
    assert list(Fill.objects.values_list("fill_id", flat=True)) == ["F-late"]


@pytest.mark.django_db
def test_a_uid_cannot_be_linked_to_a_second_orbit_account(client, trader):
    other = UserFactory()
    response = deliver(client, [linked("link-2", user=other, uid="U1")])
    result = response.json()["results"][0]
    assert (result["status"], result["code"]) == ("refused", "uid_taken")
    assert not TradingProfile.objects.filter(user=other).exists()
    # The same link resent under a new id is harmless.
    response = deliver(client, [linked("link-3", user=trader, uid="U1")])
    assert response.json()["results"][0]["status"] == "outdated"


# --- What events change ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_linking_sets_the_account_age_and_kyc_level(client):
    user = UserFactory()
    deliver(client, [linked(user=user, uid="U5", opened_days_ago=1000, kyc=3)])
    profile = TradingProfile.objects.get(user=user)
    assert profile.exchange_uid == "U5"
    assert profile.kyc_level == 3
    assert (timezone.now() - profile.account_opened_at).days == 1000
    assert profile.linked_at is not None


@pytest.mark.django_db
def test_trading_profiles_follow_the_fills(client, trader):
    now = timezone.now()
    deliver(
        client,
        [
            fill("b1", instrument="BTC-USDT", quantity="0.1", price="60000", at=now - timedelta(days=2)),  # 6,000
            fill("b2", instrument="BTC-USDT", side="sell", quantity="0.05", price="62000", at=now - timedelta(days=1)),
            fill("e1", instrument="ETH-USDT-SWAP", quantity="10", price="3000", at=now - timedelta(days=3)),  # 30,000
            fill("s1", instrument="SOL-USDC", quantity="3", price="150", at=now - timedelta(days=40)),  # too old
            fill("o1", instrument="BTC-USD-261225-100000-C", quantity="1", price="1500.5", at=now - timedelta(days=60)),
        ],
    )
    profile = TradingProfile.objects.get(user=trader)
    assert profile.volume_by_asset == {"ETH": "30000.00", "BTC": "9100.00"}
    assert profile.traded_assets == ["ETH", "BTC"]
    assert profile.volume_30d_usd == Decimal("39100.00")
    assert profile.trades_30d == 3
    assert profile.volume_tier == TradingProfile.VolumeTier.REGULAR  # 10k ≤ 39.1k < 100k
    assert profile.instruments == ["options", "perpetual", "spot"]
    assert profile.last_trade_at == now - timedelta(days=1)
    # Ranking reads it: the asset traded most weighs most.
    interest = trading_interest(profile)
    assert interest["asset:ETH"] > interest["asset:BTC"] > 0
    assert "asset:SOL" not in interest

    # A month later the window has slid past every fill.
    assert exchange.refresh_trading_profiles(now=now + timedelta(days=31)) == 1
    profile.refresh_from_db()
    assert (profile.volume_30d_usd, profile.trades_30d, profile.volume_tier, profile.traded_assets) == (0, 0, 0, [])
    assert profile.last_trade_at == now - timedelta(days=1)


@pytest.mark.django_db
def test_a_profile_without_fills_keeps_what_it_holds(client):
    user = UserFactory()
    TradingProfile.objects.create(user=user, volume_tier=3, traded_assets=["BTC"], volume_30d_usd=Decimal("5"))
    exchange.refresh_trading_profiles()
    profile = TradingProfile.objects.get(user=user)
    assert (profile.volume_tier, profile.traded_assets) == (3, ["BTC"])


@pytest.mark.django_db
def test_a_kyc_change_delivered_late_does_not_overwrite_a_newer_one(client, trader):
    now = timezone.now()
    deliver(client, [state("k-new", "kyc.changed", at=now - timedelta(minutes=1), level=3)])
    response = deliver(client, [state("k-old", "kyc.changed", at=now - timedelta(minutes=30), level=0)])
    result = response.json()["results"][0]
    assert (result["status"], result["code"]) == ("outdated", "newer_state")
    assert TradingProfile.objects.get(user=trader).kyc_level == 3


@pytest.mark.django_db
def test_a_frozen_account_earns_nothing_until_it_is_unfrozen(client, trader):
    now = timezone.now()
    deliver(client, [state("fz", "account.frozen", at=now - timedelta(minutes=2), reason="compliance review")])
    assert TradingProfile.objects.get(user=trader).is_frozen
    assert ineligible_creators([trader.pk]) == {trader.pk: "account_frozen"}
    # An unfreeze from before the freeze is stale; a later one lifts it.
    stale = deliver(client, [state("uf0", "account.unfrozen", at=now - timedelta(minutes=10))])
    assert stale.json()["outdated"] == 1
    assert TradingProfile.objects.get(user=trader).is_frozen
    deliver(client, [state("uf1", "account.unfrozen", at=now - timedelta(minutes=1))])
    assert not TradingProfile.objects.get(user=trader).is_frozen
    assert ineligible_creators([trader.pk]) == {}


@pytest.mark.django_db
def test_a_position_snapshot_replaces_the_open_positions(client, trader):
    now = timezone.now()
    first = [
        {"instrument": "BTC-USDT-SWAP", "side": "long", "quantity": "0.2", "entry_price": "61000"},
        {"instrument": "USDT-EARN", "instrument_type": "earn", "side": "long", "quantity": "500"},
    ]
    deliver(client, [state("p1", "position.snapshot", at=now - timedelta(minutes=5), positions=first)])
    assert sorted(Position.objects.filter(user=trader).values_list("instrument", "side")) == [
        ("BTC-USDT-SWAP", "long"),
        ("USDT-EARN", "long"),
    ]
    assert TradingProfile.objects.get(user=trader).instruments == ["earn", "perpetual"]
    # A later snapshot holds only what is still open; an earlier one arriving late is ignored.
    second = [{"instrument": "ETH-USDT-SWAP", "side": "short", "quantity": "3", "entry_price": "3100"}]
    deliver(client, [state("p2", "position.snapshot", at=now - timedelta(minutes=1), positions=second)])
    late = deliver(client, [state("p0", "position.snapshot", at=now - timedelta(minutes=30), positions=first)])
    assert late.json()["outdated"] == 1
    assert list(Position.objects.filter(user=trader).values_list("instrument", "side", "quantity")) == [
        ("ETH-USDT-SWAP", "short", Decimal("3")),
    ]
    doubled = deliver(client, [state("p3", "position.snapshot", at=now, positions=second + second)])
    assert doubled.json()["results"][0]["code"] == "invalid_field"
    assert Position.objects.filter(user=trader).count() == 1


@pytest.mark.django_db
def test_the_command_rebuilds_profiles_from_fills(client, trader):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    deliver(client, [fill("c1", quantity="1", price="20000")])
    TradingProfile.objects.filter(user=trader).update(volume_30d_usd=0, volume_tier=0, traded_assets=[])
    out = StringIO()
    call_command("refresh_trading_profiles", trader.username, stdout=out)
    assert "1 trading profile(s) rebuilt" in out.getvalue()
    profile = TradingProfile.objects.get(user=trader)
    assert (profile.volume_30d_usd, profile.volume_tier, profile.traded_assets) == (Decimal("20000.00"), 2, ["BTC"])
    with pytest.raises(CommandError, match="No such user: ghost"):
        call_command("refresh_trading_profiles", "ghost")


# --- The KYC identity hash: one person behind several accounts ------------------------------------

IDENTITY = "kyc-7f3a9c0e5b1d4e2f8a6c"
NEWER_IDENTITY = "kyc-0b1c2d3e4f5a6b7c8d9e"


def identified(event_id="link-id", *, user, uid="U7", identity=IDENTITY, minutes_ago=5):
    event = linked(event_id, user=user, uid=uid)
    event["occurred_at"] = iso(timezone.now() - timedelta(minutes=minutes_ago))
    event["data"]["kyc_identity"] = identity
    return event


@pytest.mark.django_db
def test_linking_stores_the_identity_hash_privately_and_erasing_the_account_removes_it(client):
    user = UserFactory()
    response = deliver(client, [identified(user=user)])

    assert response.json()["results"][0]["status"] == "applied"
    profile = TradingProfile.objects.get(user=user)
    assert profile.kyc_identity == IDENTITY and profile.kyc_identity_changed_at is not None
    # Theirs to see in their export; on no page or API answer, not even their own.
    assert export_account_data(user=user)["trading_profile"]["kyc_identity"] == IDENTITY
    client.force_login(user)
    for url in (
        f"/@{user.username}/",
        f"/api/v1/users/{user.username}/",
        f"/api/v1/users/{user.username}/performance/",
    ):
        page = client.get(url)
        assert page.status_code == 200 and IDENTITY not in page.content.decode()
    delete_account(user=user)
    assert not TradingProfile.objects.filter(kyc_identity=IDENTITY).exists()


@pytest.mark.django_db
def test_a_link_without_an_identity_hash_stores_none(client, trader):
    assert TradingProfile.objects.get(user=trader).kyc_identity is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "identity",
    [
        "",
        "fifteen-chars-x",
        "a" * 129,
        "has spaces in the middle",
        "base64+with/slash=padding",
        "Zhang San 110101199003077777",
        "kyc-7f3a9c0e5b1d4e2f8a6c\n",
        "ünïcödé-identity-hash",
        12345678901234567890,
        ["kyc-7f3a9c0e5b1d4e2f8a6c"],
        True,
    ],
)
def test_a_malformed_identity_hash_is_refused_with_a_reason_and_changes_nothing(client, identity):
    user = UserFactory()
    before = snapshot()

    response = deliver(client, [identified(user=user, identity=identity)])

    result = response.json()["results"][0]
    assert (result["status"], result["code"]) == ("refused", "invalid_field")
    assert "data.kyc_identity" in result["reason"] and "16 to 128" in result["reason"]
    assert snapshot() == before


@pytest.mark.django_db
def test_a_null_identity_hash_is_no_identity(client):
    user = UserFactory()
    assert deliver(client, [identified(user=user, identity=None)]).json()["applied"] == 1
    assert TradingProfile.objects.get(user=user).kyc_identity is None


@pytest.mark.django_db
def test_a_kyc_change_may_carry_the_identity_hash_and_a_late_one_never_rolls_it_back(client):
    user = UserFactory()
    now = timezone.now()
    deliver(client, [identified(user=user, minutes_ago=60)])

    newer = state(
        "k-id-new", "kyc.changed", uid="U7", at=now - timedelta(minutes=1), level=2, kyc_identity=NEWER_IDENTITY
    )
    late = state("k-id-old", "kyc.changed", uid="U7", at=now - timedelta(minutes=30), level=1, kyc_identity=IDENTITY)
    level_only = state("k-level", "kyc.changed", uid="U7", at=now, level=3)
    results = deliver(client, [newer, late, level_only]).json()["results"]

    assert [(r["status"], r.get("code")) for r in results] == [
        ("applied", None),
        ("outdated", "newer_state"),
        ("applied", None),
    ]
    profile = TradingProfile.objects.get(user=user)
    # The level-only event moved the level and left the identity as the newest event with one set it.
    assert (profile.kyc_identity, profile.kyc_level) == (NEWER_IDENTITY, 3)
    assert profile.kyc_identity_changed_at == now - timedelta(minutes=1)


@pytest.mark.django_db
def test_the_identity_and_the_level_each_keep_their_own_time(client):
    user = UserFactory()
    now = timezone.now()
    deliver(client, [identified(user=user, minutes_ago=60)])
    deliver(client, [state("k-level", "kyc.changed", uid="U7", at=now - timedelta(minutes=1), level=3)])

    # Older than the level, newer than the identity: the identity moves, the level stays.
    mixed = state(
        "k-mixed", "kyc.changed", uid="U7", at=now - timedelta(minutes=10), level=0, kyc_identity=NEWER_IDENTITY
    )
    result = deliver(client, [mixed]).json()["results"][0]

    assert result["status"] == "applied"
    profile = TradingProfile.objects.get(user=user)
    assert (profile.kyc_identity, profile.kyc_level) == (NEWER_IDENTITY, 3)


@pytest.mark.django_db
def test_a_link_sent_again_updates_the_identity_only_when_it_is_newer(client):
    user = UserFactory()
    deliver(client, [identified(user=user, minutes_ago=30)])

    older = deliver(client, [identified("relink-old", user=user, identity=NEWER_IDENTITY, minutes_ago=45)])
    assert TradingProfile.objects.get(user=user).kyc_identity == IDENTITY
    same_hash = deliver(client, [identified("relink-same", user=user, minutes_ago=20)])
    newer = deliver(client, [identified("relink-new", user=user, identity=NEWER_IDENTITY, minutes_ago=10)])

    assert [r.json()["results"][0]["status"] for r in (older, same_hash, newer)] == ["outdated", "applied", "applied"]
    assert TradingProfile.objects.get(user=user).kyc_identity == NEWER_IDENTITY
