"""The exchange's side of money tests: what the fake exchange holds and sends, and delivering its
confirmations to Orbit's real webhook endpoint, signed as the exchange signs them."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from decimal import Decimal

from incentives import ledger
from markets import exchange
from tools import fake_exchange
from tools.fake_exchange import FakeExchange

URL = "/api/v1/exchange/events/"


def transfers_at_exchange(fake: FakeExchange) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(fake.db_path)) as db:
        return db.execute("SELECT idempotency_key, status FROM transfers ORDER BY idempotency_key").fetchall()


def confirmations(fake: FakeExchange) -> list[dict]:
    """The events the fake queued for Orbit's webhook (its URL is unset, so they wait)."""
    with contextlib.closing(sqlite3.connect(fake.db_path)) as db:
        return [json.loads(event) for (event,) in db.execute("SELECT event FROM events ORDER BY id")]


def deliver(client, events: list[dict]) -> list[dict]:
    """Posts `events` to the real endpoint, signed as the exchange signs them."""
    body = json.dumps({"events": events}).encode()
    timestamp = int(time.time())
    signature = exchange.sign(body, timestamp=timestamp, secret=fake_exchange.DEV_WEBHOOK_SECRET)
    answer = client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Orbit-Timestamp": str(timestamp), "X-Orbit-Signature": signature},
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def balance(account: str) -> Decimal:
    return ledger.balance(account, "USDT")
