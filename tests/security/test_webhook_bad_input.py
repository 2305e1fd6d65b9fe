"""The exchange webhook under hostile or broken input: one bad event never fails its batch.

A batch answered 500 is retried by the exchange, fails the same way, and blocks every good event
in it forever; so each event is refused on its own, with a reason, and the batch answers 200.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from markets.models import ExchangeEvent, Fill
from tests.factories import UserFactory
from tests.markets.test_exchange import SECRET, deliver, fill, linked


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.EXCHANGE_WEBHOOK_SECRET = SECRET


@pytest.fixture
def trader(db):
    user = UserFactory()
    assert deliver(Client(), [linked(user=user)]).json()["applied"] == 1
    return user


@pytest.mark.django_db
def test_amounts_the_columns_cannot_hold_are_refused_one_by_one_and_the_rest_applies(client, trader):
    events = [
        fill("good-before", quantity="2", price="100"),
        fill("tiny-quantity", quantity="1e-30"),
        fill("tiny-price", price="1e-13"),
        fill("too-precise", quantity="0.1234567890123"),
        fill("dust", quantity="0.001", price="1"),
        fill("huge-notional", quantity="99999999999999999999", price="99999999999999999999"),
        fill("good-after", quantity="1", price="50"),
    ]
    response = deliver(client, events)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied"] + ["refused"] * 5 + ["applied"]
    assert {r["code"] for r in results[1:-1]} == {"invalid_field"}
    assert "decimal places" in results[1]["reason"] and "data.quantity" in results[1]["reason"]
    assert "decimal places" in results[2]["reason"] and "data.price" in results[2]["reason"]
    assert "cent" in results[4]["reason"]
    assert "10^22" in results[5]["reason"]
    assert sorted(Fill.objects.values_list("fill_id", flat=True)) == ["F-good-after", "F-good-before"]
    refused = [event["id"] for event in events[1:-1]]
    assert not ExchangeEvent.objects.filter(key__in=refused).exists()


@pytest.mark.django_db
def test_an_event_the_database_refuses_is_refused_alone_with_a_reason(client, trader):
    # A rule only the database knows stands for any constraint the shape checks might miss.
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {Fill._meta.db_table} ADD CONSTRAINT test_no_doge CHECK (asset <> 'DOGE')")
    events = [
        fill("btc", quantity="1", price="100"),
        fill("doge", instrument="DOGE-USDT", quantity="10", price="0.1"),
        fill("eth", instrument="ETH-USDT", quantity="1", price="3000"),
    ]
    response = deliver(client, events)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "refused", "applied"]
    assert results[1]["code"] == "rejected_by_database"
    assert "resend" in results[1]["reason"]
    assert sorted(Fill.objects.values_list("fill_id", flat=True)) == ["F-btc", "F-eth"]
    assert not ExchangeEvent.objects.filter(key="doge").exists()
    assert Fill.objects.get(fill_id="F-eth").notional_usd == Decimal("3000.00")


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [40, 5000, 100_000])
def test_signed_json_nested_too_deep_is_a_400_and_changes_nothing(client, trader, depth):
    before = ExchangeEvent.objects.count()
    if depth < 1000:
        # Deep inside one event's data, where only a check of the parsed structure sees it.
        nested: list = []
        for _level in range(depth):
            nested = [nested]
        event = fill("deep")
        event["data"]["note"] = nested
        body = json.dumps({"events": [event]}).encode()
    else:
        # So deep that Python's parser itself gives up (RecursionError).
        body = b'{"events": [' + b"[" * depth + b"]" * depth + b"]}"
    response = deliver(client, None, body=body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "malformed_body"
    assert "nested deeper than 32" in response.json()["message"]
    assert ExchangeEvent.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("number", [b"1e999", b"NaN", b"-Infinity"])
def test_signed_json_with_numbers_out_of_range_is_a_400(client, trader, number):
    body = b'{"events": [{"id": "n", "type": "kyc.changed", "data": {"uid": "U1", "level": ' + number + b"}}]}"
    response = deliver(client, None, body=body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "malformed_body"
