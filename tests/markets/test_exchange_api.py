"""Orbit's money client against the fake exchange, over real HTTP on 127.0.0.1.

The fake (tools/fake_exchange.py) runs in threads of this process, with its state in a fresh SQLite
file per test; the last test runs it as its own process to show that state survives a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from markets import exchange, exchange_api
from markets.exchange_api import ExchangeError, TransferOutcomeUnknown, TransferRefused
from tests.markets.okx_fake import closed_port_url
from tools import fake_exchange
from tools.fake_exchange import FakeExchange

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], object], *, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"still not true after {seconds} s")


class Receiver:
    """A stand-in for Orbit's webhook: keeps every request it gets and answers 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/exchange/events/"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def events(self) -> list[dict]:
        return [event for request in self.requests for event in json.loads(request["body"])["events"]]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def fake(exchange_server):
    return exchange_server


def payout(key: str = "payout:2026-W47:42", *, to_uid: str = "uid-creator-42", amount: str = "12.34"):
    return exchange_api.send_transfer(
        idempotency_key=key,
        kind="payout",
        amount=Decimal(amount),
        currency="USDT",
        to_uid=to_uid,
        reference=key,
        memo="Orbit creator payout",
    )


def tip(key: str, *, amount: str, from_uid: str = "uid-reader-7", to_uid: str = "uid-creator-42"):
    return exchange_api.send_transfer(
        idempotency_key=key,
        kind="tip",
        amount=Decimal(amount),
        currency="USDT",
        to_uid=to_uid,
        from_uid=from_uid,
        reference=key,
    )


def report_keys(day=None) -> list[str]:
    return [line.idempotency_key for line in exchange_api.transfers_report(day or datetime.now(UTC).date())]


# --- Signing ----------------------------------------------------------------------------------


def test_a_signed_transfer_is_accepted_pending(fake):
    transfer = payout()

    assert transfer.transfer_id.startswith("ex-")
    assert (transfer.status, transfer.amount, transfer.currency, transfer.replayed) == (
        "pending",
        Decimal("12.34"),
        "USDT",
        False,
    )


def test_a_request_signed_with_the_wrong_secret_is_refused_with_401_and_moves_nothing(fake, settings):
    settings.EXCHANGE_API_SECRET = "not-the-shared-secret"

    with pytest.raises(ExchangeError) as raised:
        payout()

    assert type(raised.value) is ExchangeError  # neither a refusal of the transfer nor an unknown outcome
    assert "401" in str(raised.value) and "bad_signature" in str(raised.value)
    settings.EXCHANGE_API_SECRET = fake_exchange.DEV_API_SECRET
    assert exchange_api.transfer_status("payout:2026-W47:42") is None


def test_a_stale_timestamp_is_refused_with_401_even_when_signed_correctly(fake):
    body = b'{"kind":"payout"}'
    stale = str(int(time.time()) - 301)
    signature = fake_exchange.request_signature(
        secret=fake_exchange.DEV_API_SECRET, timestamp=stale, method="POST", target="/v1/transfers", body=body
    )
    headers = {"X-Orbit-Key": "orbit-dev", "X-Orbit-Timestamp": stale, "X-Orbit-Signature": signature}

    answer = requests.post(f"{fake.url}/v1/transfers", data=body, headers=headers, timeout=5)

    assert (answer.status_code, answer.json()["code"]) == (401, "stale_timestamp")


def test_the_client_and_the_fake_sign_the_same_way():
    assert exchange_api.sign_request(
        secret="s", timestamp=1764057600, method="GET", target="/v1/transfers/k", body=b""
    ) == fake_exchange.request_signature(
        secret="s", timestamp="1764057600", method="GET", target="/v1/transfers/k", body=b""
    )


# --- Idempotency ------------------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_same_transfer(fake):
    first = payout()
    second = payout()

    assert second.transfer_id == first.transfer_id
    assert (first.replayed, second.replayed) == (False, True)
    assert exchange_api.transfer_status(first.idempotency_key).transfer_id == first.transfer_id


def test_one_key_sent_by_many_threads_at_once_makes_one_transfer_and_one_debit(fake):
    barrier = threading.Barrier(8)
    answers = []

    def send() -> None:
        barrier.wait()
        answers.append(tip("tip:raced", amount="100.00"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({answer.transfer_id for answer in answers}) == 1
    assert sorted(answer.replayed for answer in answers) == [False] + [True] * 7
    assert fake.balance("uid-reader-7", "USDT") == "900.00"


def test_amounts_are_sent_with_two_decimals_so_12_3_and_12_30_are_one_body(fake):
    first = payout(amount="12.3")

    assert payout(amount="12.30").transfer_id == first.transfer_id


def test_the_same_key_with_another_body_is_a_409_conflict(fake):
    payout(amount="12.34")

    with pytest.raises(TransferRefused) as raised:
        payout(amount="99.00")

    assert raised.value.code == "idempotency_conflict"


def test_an_amount_with_fractions_of_a_cent_is_refused_before_sending(fake):
    with pytest.raises(ValueError, match="at most two decimals"):
        payout(amount="1.001")


# --- Refusals ---------------------------------------------------------------------------------


def test_the_exchanges_own_numeric_uids_exist_as_the_demo_communitys_do(fake):
    # The demo seeds numeric uids (demo/people.py): its payouts and tips must reach them offline.
    assert payout(to_uid="4821337705").status == "pending"


@pytest.mark.parametrize(
    ("to_uid", "code"),
    [
        ("uid-creator-frozen", "account_frozen"),
        ("uid-creator-closed", "account_closed"),
        ("creator-42", "unknown_account"),
    ],
)
def test_a_refused_account_is_a_definite_refusal_repeated_for_the_same_key(fake, to_uid, code):
    for _attempt in range(2):
        with pytest.raises(TransferRefused) as raised:
            payout(to_uid=to_uid)
        assert raised.value.code == code
    with pytest.raises(TransferRefused):
        exchange_api.transfer_status("payout:2026-W47:42")


def test_a_tip_above_the_readers_balance_is_refused_for_insufficient_funds(fake):
    tip("tip:1", amount="600.00")

    with pytest.raises(TransferRefused) as raised:
        tip("tip:2", amount="400.01")

    assert raised.value.code == "insufficient_funds"
    assert tip("tip:3", amount="400.00").status == "pending"


def test_a_payout_naming_a_payer_is_invalid(fake):
    with pytest.raises(TransferRefused) as raised:
        exchange_api.send_transfer(
            idempotency_key="payout:x",
            kind="payout",
            amount=Decimal(1),
            currency="USDT",
            to_uid="uid-creator-42",
            from_uid="uid-reader-7",
            reference="payout:x",
        )

    assert raised.value.code == "invalid"


# --- Unknown outcomes -------------------------------------------------------------------------


def test_a_lost_answer_is_an_unknown_outcome_and_the_retry_finds_the_first_transfer(fake):
    fake.control(lose_answers=1)

    with pytest.raises(TransferOutcomeUnknown):
        tip("tip:lost", amount="10.00")
    retried = tip("tip:lost", amount="10.00")

    assert retried.replayed
    assert exchange_api.transfer_status("tip:lost").transfer_id == retried.transfer_id
    wait_for(lambda: exchange_api.transfer_status("tip:lost").status == "completed")
    assert report_keys() == ["tip:lost"]
    # The reader paid once, and the creator was paid once.
    assert fake.balance("uid-reader-7", "USDT") == "990.00"
    assert fake.balance("uid-creator-42", "USDT") == "1010.00"


def test_a_down_exchange_is_an_unknown_outcome_and_nothing_moves(fake):
    fake.control(down=True)

    with pytest.raises(TransferOutcomeUnknown):
        payout()

    fake.control(down=False)
    assert exchange_api.transfer_status("payout:2026-W47:42") is None
    assert not payout().replayed


def test_an_answer_slower_than_the_timeout_is_an_unknown_outcome(fake, settings):
    settings.EXCHANGE_API_TIMEOUT = 0.3
    fake.control(delay_ms=800)

    started = time.monotonic()
    with pytest.raises(TransferOutcomeUnknown):
        payout()
    assert time.monotonic() - started < 0.8

    fake.control(delay_ms=0)
    time.sleep(0.8)  # the slow request is still applied once its wait is over
    assert payout().replayed
    wait_for(lambda: exchange_api.transfer_status("payout:2026-W47:42").status == "completed")
    assert report_keys() == ["payout:2026-W47:42"]


def test_an_exchange_nobody_listens_on_is_an_unknown_outcome(fake, settings):
    settings.EXCHANGE_API_URL = closed_port_url()

    with pytest.raises(TransferOutcomeUnknown):
        payout()


def test_no_url_means_transfers_are_off(settings):
    settings.EXCHANGE_API_URL = ""

    with pytest.raises(exchange_api.ExchangeNotConfigured):
        payout()


# --- Confirmations ----------------------------------------------------------------------------


def test_confirmations_reach_the_webhook_signed_as_orbit_checks_them(fake, receiver):
    fake.control(webhook_url=receiver.url)

    completed = payout("payout:ok")
    failed = payout("payout:bounce", to_uid="uid-creator-bounce")

    events = wait_for(lambda: len(receiver.events()) == 2 and receiver.events())
    for request in receiver.requests:
        exchange.verify_request(
            body=request["body"],
            timestamp=request["headers"]["X-Orbit-Timestamp"],
            signature=request["headers"]["X-Orbit-Signature"],
        )
    by_type = {event["type"]: event for event in events}
    assert by_type["payout.completed"]["data"]["transfer_id"] == completed.transfer_id
    assert by_type["payout.completed"]["data"]["failure_code"] is None
    assert by_type["payout.failed"]["data"]["transfer_id"] == failed.transfer_id
    assert by_type["payout.failed"]["data"]["failure_code"] == "account_closed"
    assert set(by_type["payout.completed"]["data"]) >= {
        "transfer_id",
        "idempotency_key",
        "kind",
        "amount",
        "currency",
        "to_uid",
        "from_uid",
        "failure_code",
    }
    assert report_keys() == ["payout:ok"]


def test_confirmations_signed_with_another_secret_are_refused_by_orbit(fake, receiver, tmp_path):
    impostor = FakeExchange(db_path=tmp_path / "impostor.sqlite3", webhook_secret="guessed", quiet=True).start()
    try:
        impostor.control(webhook_url=receiver.url, confirm_delay_ms=0)
        body = json.dumps(
            {
                "kind": "payout",
                "amount": "1.00",
                "currency": "USDT",
                "to_uid": "uid-creator-1",
                "from_uid": None,
                "reference": "r",
                "memo": "",
            }
        ).encode()
        timestamp = str(int(time.time()))
        signature = fake_exchange.request_signature(
            secret=fake_exchange.DEV_API_SECRET, timestamp=timestamp, method="POST", target="/v1/transfers", body=body
        )
        headers = {
            "X-Orbit-Key": "orbit-dev",
            "X-Orbit-Timestamp": timestamp,
            "X-Orbit-Signature": signature,
            "Idempotency-Key": "k1",
        }
        assert requests.post(f"{impostor.url}/v1/transfers", data=body, headers=headers, timeout=5).status_code == 201
        wait_for(lambda: receiver.requests)
    finally:
        impostor.stop()
    request = receiver.requests[0]

    with pytest.raises(exchange.WebhookRefused) as raised:
        exchange.verify_request(
            body=request["body"],
            timestamp=request["headers"]["X-Orbit-Timestamp"],
            signature=request["headers"]["X-Orbit-Signature"],
        )
    assert raised.value.code == "bad_signature"


def test_duplicate_confirmations_repeat_the_same_event_id(fake, receiver):
    fake.control(webhook_url=receiver.url, duplicate_confirmations=1)

    payout()

    events = wait_for(lambda: len(receiver.events()) == 2 and receiver.events())
    assert events[0] == events[1]


def test_manual_confirmation_holds_a_transfer_pending_until_told_and_a_failure_refunds_the_tip(fake):
    fake.control(confirm="manual")
    tip("tip:manual", amount="25.00")
    time.sleep(0.2)
    assert exchange_api.transfer_status("tip:manual").status == "pending"
    assert fake.balance("uid-reader-7", "USDT") == "975.00"

    answer = requests.post(
        f"{fake.url}/_control/confirm",
        json={"idempotency_key": "tip:manual", "outcome": "failed", "failure_code": "account_frozen"},
        timeout=5,
    )

    assert answer.status_code == 200
    status = exchange_api.transfer_status("tip:manual")
    assert (status.status, status.failure_code) == ("failed", "account_frozen")
    assert fake.balance("uid-reader-7", "USDT") == "1000.00"
    assert report_keys() == []


# --- The report -------------------------------------------------------------------------------


def test_the_report_lists_the_transfers_completed_that_day(fake):
    fake.control(confirm="manual")
    payout("payout:a")
    tip("tip:b", amount="5.00")
    payout("payout:still-pending")
    for key in ("payout:a", "tip:b"):
        fake.settle(key, outcome="completed")

    lines = exchange_api.transfers_report(datetime.now(UTC).date())

    assert sorted(line.idempotency_key for line in lines) == ["payout:a", "tip:b"]
    tipped = next(line for line in lines if line.kind == "tip")
    assert (tipped.amount, tipped.from_uid, tipped.to_uid) == (Decimal("5.00"), "uid-reader-7", "uid-creator-42")
    assert report_keys(datetime.now(UTC).date() - timedelta(days=1)) == []


# --- The process ------------------------------------------------------------------------------


def start_process(db: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.fake_exchange", "--port", "0", "--db", str(db), "--webhook-url", "", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    first_line = process.stdout.readline()
    assert "listening on" in first_line, first_line
    return process, first_line.split("listening on ")[1].split()[0]


def test_the_fake_as_a_process_keeps_its_transfers_across_a_restart(settings, tmp_path):
    settings.EXCHANGE_API_TIMEOUT = 5.0
    process, settings.EXCHANGE_API_URL = start_process(tmp_path / "exchange.sqlite3")
    try:
        first = payout()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0

    process, settings.EXCHANGE_API_URL = start_process(tmp_path / "exchange.sqlite3")
    try:
        assert exchange_api.transfer_status(first.idempotency_key).transfer_id == first.transfer_id
        assert payout().transfer_id == first.transfer_id
    finally:
        process.terminate()
        process.wait(timeout=10)


def _check_settings(**environ) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "DEBUG"}}
    env.update(environ)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_an_exchange_api_over_plain_http_or_without_its_secret():
    production = {"DEBUG": "0", "SECRET_KEY": "a-long-random-production-secret-" + "x7Qp2" * 10}

    plain_http = _check_settings(
        **production, EXCHANGE_API_URL="http://exchange.example", EXCHANGE_API_KEY="k", EXCHANGE_API_SECRET="s"
    )
    no_secret = _check_settings(**production, EXCHANGE_API_URL="https://exchange.example", EXCHANGE_API_KEY="k")

    published = _check_settings(
        **production,
        EXCHANGE_API_URL="https://exchange.example",
        EXCHANGE_API_KEY="k",
        EXCHANGE_API_SECRET=fake_exchange.DEV_API_SECRET,
    )

    assert "EXCHANGE_API_URL must be an https:// base URL" in plain_http.stderr
    assert "the published development secret" in published.stderr
    assert "set EXCHANGE_API_KEY and EXCHANGE_API_SECRET too" in no_secret.stderr
