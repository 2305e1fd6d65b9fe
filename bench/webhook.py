"""The exchange webhook's throughput: accepted events per second in signed batches of 1,000.

    python -m tools.launch bench bench/webhook.py [--batches 20] [--batch-size 1000] [--accounts 5000]
        [--senders 1 2] [--workers 2]
    make bench-webhook

Data. The database orbit_bench_webhook on the server of DATABASE_URL, created afresh and migrated
each run, with --accounts users linked to exchange uids. Each batch is --batch-size events: 95%
trade.filled (spot and perpetual fills of 12 assets), 3% kyc.changed, 2% position.snapshot (two
positions each), spread over the accounts, every id new.

Serving. gunicorn as the Procfile's web line starts it (gunicorn.conf.py's threaded workers,
--workers, DEBUG off) on the loopback; the exchange side signs each batch when it sends it and
POSTs it with `requests`, one batch at a time per sender. For each --senders count: the wall time
from the first request to the last answer, and accepted (applied) events per second. Then every
batch is delivered again: all duplicates, nothing changes, and that rate too.

Baseline, measured in this run: the least any webhook must do with the same batches in this
process: parse the JSON, check the HMAC, and INSERT the same fill rows with one multi-row
statement into an unindexed copy of the fill table (no checks, no idempotency, no HTTP).

Target: over 2,000 accepted events per second. Figures are printed; the exit code is 0.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from bench import database  # noqa: E402

BENCH_DATABASE = "orbit_bench_webhook"
SECRET = secrets.token_urlsafe(32)
ASSETS = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "TON", "ARB", "OP"]
# Before Django reads its settings: this process and the web server it starts use the bench database.
database.use_database(BENCH_DATABASE)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")
os.environ.setdefault("DEBUG", "1")
os.environ["EXCHANGE_WEBHOOK_SECRET"] = SECRET

import requests  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", 2)))
    return parser.parse_args()


def create_accounts(count: int) -> list[str]:
    from django.contrib.auth.hashers import make_password

    from creators.models import Profile, User
    from markets.models import TradingProfile

    unusable_password = make_password(None)

    now = datetime.now(UTC)
    users = User.objects.bulk_create(User(username=f"bench{n}", password=unusable_password) for n in range(count))
    Profile.objects.bulk_create(Profile(user=user) for user in users)
    TradingProfile.objects.bulk_create(
        TradingProfile(user=user, exchange_uid=f"UID{user.pk}", linked_at=now, account_opened_at=now) for user in users
    )
    return [f"UID{user.pk}" for user in users]


class Events:
    """Deterministic event batches; every id and fill id new."""

    def __init__(self, uids: list[str], seed: int = 7):
        import random

        self.uids = uids
        self.rand = random.Random(seed)
        self.serial = 0
        self.start = datetime.now(UTC) - timedelta(days=5)

    def batch(self, size: int) -> list[dict]:
        return [self.event() for _ in range(size)]

    def event(self) -> dict:
        self.serial += 1
        rand = self.rand
        uid = rand.choice(self.uids)
        at = (self.start + timedelta(seconds=self.serial * 3)).isoformat()
        roll = rand.random()
        if roll < 0.95:
            asset = rand.choice(ASSETS)
            instrument = f"{asset}-USDT" + ("-SWAP" if rand.random() < 0.4 else "")
            data = {
                "uid": uid,
                "fill_id": f"T{self.serial}",
                "instrument": instrument,
                "side": rand.choice(["buy", "sell"]),
                "quantity": f"{rand.uniform(0.001, 50):.6f}",
                "price": f"{rand.uniform(0.1, 90000):.4f}",
                "fee": f"{rand.uniform(0, 5):.6f}",
                "fee_currency": "USDT",
                "filled_at": at,
            }
            kind = "trade.filled"
        elif roll < 0.98:
            kind, data = "kyc.changed", {"uid": uid, "level": rand.randint(0, 3)}
        else:
            kind = "position.snapshot"
            data = {
                "uid": uid,
                "positions": [
                    {"instrument": "BTC-USDT-SWAP", "side": "long", "quantity": "0.5", "entry_price": "61000"},
                    {"instrument": "ETH-USDT-SWAP", "side": "short", "quantity": "4", "entry_price": "3100"},
                ],
            }
        return {"id": f"E{self.serial}", "type": kind, "occurred_at": at, "data": data}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(workers: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environ = dict(os.environ)
    environ.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on the loopback; behind a proxy in production
    )
    command = [str(BIN / "gunicorn"), "orbit.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            requests.get(f"{url}/healthz", timeout=2)
            return process, url
        except requests.RequestException:  # not listening yet, or busy starting
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


def send(session: requests.Session, url: str, body: bytes) -> dict:
    from markets.exchange import sign

    timestamp = int(time.time())
    response = session.post(
        f"{url}/api/v1/exchange/events/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Orbit-Timestamp": str(timestamp),
            "X-Orbit-Signature": sign(body, timestamp=timestamp, secret=SECRET),
        },
        timeout=120,
    )
    if response.status_code != 200:
        raise SystemExit(f"webhook answered {response.status_code}: {response.text[:500]}")
    return response.json()


def deliver_all(url: str, bodies: list[bytes], senders: int) -> tuple[float, dict]:
    """Sends the batches with `senders` concurrent senders; returns wall seconds and summed counts."""
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    totals = {"applied": 0, "duplicate": 0, "outdated": 0, "refused": 0}

    failures = []

    def sender():
        session = requests.Session()
        while True:
            with lock:
                if not queue or failures:
                    return
                _index, body = queue.pop(0)
            try:
                answer = send(session, url, body)
            except BaseException as error:  # SystemExit included: a thread would swallow it
                failures.append(error)
                return
            with lock:
                for key in totals:
                    totals[key] += answer[key]

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"a delivery failed: {failures[0]}")
    return time.perf_counter() - began, totals


def baseline(bodies: list[bytes]) -> float:
    """Seconds to parse, check the HMAC of, and bulk-insert the fills of every batch, nothing more."""
    import hashlib
    import hmac
    from decimal import Decimal

    from django.db import connection, transaction
    from psycopg2.extras import execute_values

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_fill_floor")
        cursor.execute("CREATE UNLOGGED TABLE bench_fill_floor (LIKE creators_fill)")
    began = time.perf_counter()
    for body in bodies:
        timestamp = int(time.time())
        hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        events = json.loads(body)["events"]
        rows = [
            (
                0,
                event["data"]["fill_id"],
                1,
                event["data"]["instrument"],
                "spot",
                event["data"]["instrument"].split("-")[0],
                "USDT",
                event["data"]["side"],
                Decimal(event["data"]["quantity"]),
                Decimal(event["data"]["price"]),
                Decimal(event["data"]["fee"]),
                "USDT",
                None,
                event["data"]["filled_at"],
            )
            for event in events
            if event["type"] == "trade.filled"
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            execute_values(
                cursor,
                "INSERT INTO bench_fill_floor (id, fill_id, user_id, instrument, instrument_type, asset, quote, side, "
                "quantity, price, fee, fee_currency, notional_usd, filled_at) VALUES %s",
                rows,
                page_size=len(rows),
            )
    elapsed = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_fill_floor")
    return elapsed


def main() -> None:
    args = parse_args()
    lock = database.hold_lock(BENCH_DATABASE, bench="bench/webhook.py")  # noqa: F841 - held open for the whole run
    print(f"Database {BENCH_DATABASE}: creating and migrating…")
    database.recreate_database(BENCH_DATABASE)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    uids = create_accounts(args.accounts)
    print(f"  {len(uids):,} linked accounts")

    events = Events(uids)
    runs = {senders: [events.batch(args.batch_size) for _ in range(args.batches)] for senders in args.senders}
    warmup = [json.dumps({"events": events.batch(args.batch_size)}).encode()]
    encoded = {senders: [json.dumps({"events": batch}).encode() for batch in runs[senders]] for senders in runs}
    total = args.batches * args.batch_size
    print(f"  {len(runs)} runs of {args.batches} batches × {args.batch_size:,} events ({total:,} events each)")

    floor_seconds = baseline(encoded[args.senders[0]])
    floor_rate = total / floor_seconds

    log_path = Path(tempfile.gettempdir()) / "orbit-bench-webhook-gunicorn.log"
    process, url = start_gunicorn(args.workers, log_path)
    try:
        deliver_all(url, warmup, 1)
        print()
        print(f"{'what':<46} {'seconds':>8} {'events/s':>10} {'applied':>8} {'dup':>7} {'outdated':>8} {'refused':>7}")
        print(f"{'baseline: parse + HMAC + bare INSERT of fills':<46} {floor_seconds:8.2f} {floor_rate:10,.0f}")
        rates = {}
        for senders, bodies in encoded.items():
            seconds, counts = deliver_all(url, bodies, senders)
            rate = counts["applied"] / seconds
            rates[senders] = rate
            label = f"webhook, {senders} sender{'s' if senders > 1 else ''}: new events"
            print(
                f"{label:<46} {seconds:8.2f} {rate:10,.0f} {counts['applied']:8,} {counts['duplicate']:7,} "
                f"{counts['outdated']:8,} {counts['refused']:7,}"
            )
        first = encoded[args.senders[0]]
        seconds, counts = deliver_all(url, first, 1)
        label = "webhook, 1 sender: the same batches again"
        print(
            f"{label:<46} {seconds:8.2f} {total / seconds:10,.0f} {counts['applied']:8,} {counts['duplicate']:7,} "
            f"{counts['outdated']:8,} {counts['refused']:7,}"
        )
    finally:
        process.terminate()
        process.wait(timeout=30)

    from markets.models import Fill

    stored = Fill.objects.count()
    best = max(rates.values())
    print()
    print(f"fills stored: {stored:,} (each delivered once or more, stored once)")
    print(
        f"accepted events/s: {', '.join(f'{rates[s]:,.0f} with {s} sender(s)' for s in rates)}; "
        f"target > 2,000: {'met' if best > 2000 else 'MISSED'}; "
        f"baseline {floor_rate:,.0f}/s, the webhook at {statistics.median(rates.values()) / floor_rate:.0%} of it"
    )


if __name__ == "__main__":
    main()
