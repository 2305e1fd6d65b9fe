"""A week's payouts on their way to the exchange: instructions per second, and "Pay" to all confirmed.

    python -m tools.launch bench bench/payouts.py [--creators 10000] [--senders 4] [--confirm-delay-ms 300]
        [--reseed] [--drop]
    make bench-payouts ARGS="--senders 8"

Data. The database orbit_bench_payouts (other sizes get orbit_bench_payouts_<creators>c) on the
server of DATABASE_URL, migrated, with --creators users whose trading profiles are linked to
exchange uids ("uid-bench-<id>"); a later run with the same size reuses it, --reseed rebuilds it,
--drop removes it at the end. Every run writes one approved settlement straight away (no
engagement, no scoring: the point is the money path): 2026-W47 in a fresh database, else the week
after the last one paid there (the ledger is append-only: a paid week stays paid, and the checks
below look at this run's week), a pool of 5.00 USDT per creator split in whole cents on a skewed
curve (a few creators get most), summing exactly to the pool, every payout pending.

Serving. The fake exchange (tools/fake_exchange.py) in threads of this process, its SQLite in a
temporary directory, confirming each transfer --confirm-delay-ms after it accepted it and posting
`payout.completed` to Orbit's webhook, which is served for real: Orbit's WSGI application under
Django's ThreadedWSGIServer on a free loopback port, in a thread. Orbit's EXCHANGE_API_* settings
point at the fake, with its development credentials.

Measured, in this run:
* pay: incentives.settlement.pay_settlement (the ledger's legs, payouts marked paid, one
  PayoutTransfer per payout, and after commit one Celery message per transfer, published to this
  run's own queues, CELERY_QUEUE_PREFIX "<database>-", which no worker reads and which are
  deleted at the end): the bench's senders take the transfer ids instead of workers.
* send: every transfer sent by --senders threads, each with its own database connection, calling
  incentives.transfers.send_payout_transfer as the Celery task does: instructions per second.
* confirmed: from the start of "Pay" until every PayoutTransfer is confirmed by the webhook.
* baseline: the same instructions (same bodies, signed the same way, over kept-alive connections,
  one session per thread as markets/exchange_api.py keeps them) POSTed to a second, fresh fake by
  the same number of threads with nothing else. Orbit's overhead is the ratio of the send rate to it.
Where the time goes: the share of the senders' time spent waiting for the exchange's answer
(inside exchange_api.send_transfer), and the webhook's requests (count, mean time each, and how
busy it was while the last confirmations came in: the fake delivers up to 50 events per request,
one request at a time, so a low figure means the fake is the limit).
Checked: transfers at the fake == creators, the fake's pool paid out exactly the settlement's
total, the ledger's imbalance == 0, exchange:paid == the pool, exchange:in_flight == 0.
Figures are printed; a failed check exits with 1.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

import psycopg2  # noqa: E402
import requests  # noqa: E402

from bench import database  # noqa: E402
from tools import fake_exchange  # noqa: E402
from tools.fake_exchange import FakeExchange  # noqa: E402

if TYPE_CHECKING:
    from django.core.servers.basehttp import ThreadedWSGIServer

Result = TypeVar("Result")

WEEK = "2026-W47"
CURRENCY = "USDT"
DEFAULT_CREATORS = 10_000
POOL_CENTS_PER_CREATOR = 500  # 5.00 USDT each on average
# What the fake's pool account holds at first (tools/fake_exchange.py); a bigger week is refused.
FAKE_POOL_CENTS = fake_exchange.POOL_STARTING_CENTS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creators", type=int, default=DEFAULT_CREATORS)
    parser.add_argument("--senders", type=int, default=4, help="concurrent senders (threads)")
    parser.add_argument(
        "--confirm-delay-ms", type=int, default=300, help="the fake confirms a transfer this long after accepting it"
    )
    parser.add_argument(
        "--confirm-timeout", type=float, default=900, help="give up waiting for confirmations after this many seconds"
    )
    parser.add_argument("--reseed", action="store_true", help="seed again even if the database exists")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()
    if args.creators < 1 or args.senders < 1:
        parser.error("--creators and --senders are at least 1")
    if args.creators * POOL_CENTS_PER_CREATOR > FAKE_POOL_CENTS:
        parser.error(f"the fake exchange's pool pays at most {FAKE_POOL_CENTS // POOL_CENTS_PER_CREATOR:,} creators")
    return args


def database_name(args: argparse.Namespace) -> str:
    return "orbit_bench_payouts" if args.creators == DEFAULT_CREATORS else f"orbit_bench_payouts_{args.creators}c"


def database_state(name: str) -> str:
    """ "missing", "empty" (no finished seed) or "seeded"."""
    if not database.database_exists(name):
        return "missing"
    try:
        with psycopg2.connect(database.url_of(name)) as bench, bench.cursor() as cursor:
            cursor.execute("SELECT value FROM bench_seed_done")
            return "seeded" if cursor.fetchone() else "empty"
    except psycopg2.Error:
        return "empty"


# --- Data -----------------------------------------------------------------------------------------


def seed_creators(count: int) -> None:
    """Migrates, then `count` users with profiles and linked trading profiles, in bulk."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from creators.models import Profile, User
    from markets.models import TradingProfile

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"  migrated in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    unusable_password = make_password(None)
    now = timezone.now()
    users = User.objects.bulk_create(
        (User(username=f"creator{n}", password=unusable_password) for n in range(count)), batch_size=5000
    )
    Profile.objects.bulk_create((Profile(user=user) for user in users), batch_size=5000)
    TradingProfile.objects.bulk_create(
        (
            TradingProfile(user=user, exchange_uid=f"uid-bench-{user.pk}", linked_at=now, account_opened_at=now)
            for user in users
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_seed_done (value text); INSERT INTO bench_seed_done VALUES ('yes')")
        cursor.execute("ANALYZE")
    print(f"  {count:,} creators with linked exchange accounts in {time.perf_counter() - began:.1f} s")


def amounts_in_cents(count: int, pool_cents: int) -> list[int]:
    """`count` positive whole-cent amounts summing exactly to `pool_cents`, skewed: the first few
    get most (weight 1/rank^0.8), everyone at least a cent, the rounding left to the first."""
    weights = [1 / (rank**0.8) for rank in range(1, count + 1)]
    total_weight = sum(weights)
    spare = pool_cents - count  # a cent each first
    cents = [1 + int(spare * weight / total_weight) for weight in weights]
    cents[0] += pool_cents - sum(cents)
    return cents


def approved_week(creator_ids: list[int]) -> tuple[int, str, Decimal]:
    """An approved settlement paying every creator (amounts in a fixed shuffled order): of WEEK in
    a fresh database, else of the week after the last one paid here, since the ledger is
    append-only and a paid week stays paid. An unpaid one a broken run left is written again.
    Returns its id, week and pool."""
    import random

    from django.db import transaction
    from django.utils import timezone

    from incentives.models import Payout, Settlement
    from incentives.weeks import Week

    pool_cents = len(creator_ids) * POOL_CENTS_PER_CREATOR
    pool = Decimal(pool_cents) / 100
    cents = amounts_in_cents(len(creator_ids), pool_cents)
    random.Random(47).shuffle(cents)
    now = timezone.now()
    with transaction.atomic():
        unpaid = Settlement.objects.exclude(status=Settlement.Status.PAID)
        Payout.objects.filter(settlement__in=unpaid).delete()
        unpaid.delete()
        last = Settlement.objects.order_by("-week").values_list("week", flat=True).first()
        week = Week.parse(last, "UTC").next() if last else Week.parse(WEEK, "UTC")
        settlement = Settlement.objects.create(
            week=week.label,
            starts_at=week.starts_at,
            ends_at=week.ends_at,
            status=Settlement.Status.APPROVED,
            currency=CURRENCY,
            pool_amount=pool,
            total_allocated=pool,
            creator_count=len(creator_ids),
            parameters={"bench": "bench/payouts.py", "pool": str(pool), "currency": CURRENCY},
            computed_at=now,
            approved_at=now,
        )
        Payout.objects.bulk_create(
            (
                Payout(settlement=settlement, creator_id=creator_id, amount=Decimal(amount) / 100, currency=CURRENCY)
                for creator_id, amount in zip(creator_ids, cents, strict=True)
            ),
            batch_size=5000,
        )
    return settlement.pk, week.label, pool


class Stopwatch:
    """Calls of the functions it wraps, and the seconds spent inside them, summed over threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.seconds = 0.0

    def wrap(self, function: Callable[..., Result]) -> Callable[..., Result]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Result:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - began
                with self.lock:
                    self.calls += 1
                    self.seconds += elapsed

        return timed


# --- Servers --------------------------------------------------------------------------------------


def start_fake(directory: Path, name: str, *, confirm_delay_ms: int, webhook_url: str = "") -> FakeExchange:
    exchange = FakeExchange(db_path=directory / f"{name}.sqlite3", webhook_url=webhook_url, quiet=True).start()
    exchange.control(confirm_delay_ms=confirm_delay_ms)
    return exchange


def start_webhook_server(stopwatch: Stopwatch) -> ThreadedWSGIServer:
    """Orbit's WSGI application on a free loopback port, in a thread (each request its own thread
    and database connection, closed after it), its requests timed by `stopwatch`. Returns the
    server; stop it with shutdown()."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(stopwatch.wrap(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def exchange_rows(exchange: FakeExchange) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(exchange.db_path)) as db:
        return dict(db.execute("SELECT status, count(*) FROM transfers GROUP BY status").fetchall())


def delete_queues(prefix: str) -> None:
    """Deletes the broker's queues (Redis lists and kombu's bindings) whose names start with `prefix`."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = [*client.scan_iter(match=f"{prefix}*"), *client.scan_iter(match=f"_kombu.binding*.{prefix}*")]
    if keys:
        client.delete(*keys)


# --- Sending --------------------------------------------------------------------------------------


def in_threads(count: int, items: list[Any], work: Callable[[Any], Result]) -> tuple[float, list[Result]]:
    """Runs work(item) for every item on `count` threads; returns wall seconds and the results.
    Each thread closes its own database connection at the end."""
    from django.db import connection

    queue = collections.deque(items)
    results: list[Result] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while not failures:
                try:
                    item = queue.popleft()
                except IndexError:
                    return
                results.append(work(item))
        except BaseException as error:  # a thread would swallow it
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"a sender failed: {failures[0]!r}")
    return time.perf_counter() - began, results


def raw_instructions(creators: list[tuple[str, Decimal]], week: str, prefix: str) -> list[tuple[str, bytes]]:
    """(key, body) for each (uid, amount): the bytes exchange_api.send_transfer sends for a payout."""
    from markets import exchange_api

    instructions = []
    for uid, amount in creators:
        key = f"{prefix}:{week}:{uid}"
        payload = {
            "kind": "payout",
            "amount": exchange_api.wire_amount(amount),
            "currency": CURRENCY,
            "to_uid": uid,
            "from_uid": None,
            "reference": key,
            "memo": f"Orbit creator payout {week}",
        }
        instructions.append((key, json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()))
    return instructions


_baseline_sessions = threading.local()


def raw_post(url: str, key: str, body: bytes) -> int:
    from markets import exchange_api

    # Kept-alive connections, one session per thread, as markets/exchange_api.py keeps them.
    session = getattr(_baseline_sessions, "session", None)
    if session is None:
        session = _baseline_sessions.session = requests.Session()

    timestamp = int(time.time())
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "X-Orbit-Key": fake_exchange.DEV_API_KEY,
        "X-Orbit-Timestamp": str(timestamp),
        "X-Orbit-Signature": exchange_api.sign_request(
            secret=fake_exchange.DEV_API_SECRET, timestamp=timestamp, method="POST", target="/v1/transfers", body=body
        ),
    }
    response = session.post(f"{url}/v1/transfers", data=body, headers=headers, timeout=(3.05, 30))
    if response.status_code != 201:
        raise SystemExit(f"the fake answered {response.status_code}: {response.text[:300]}")
    return response.status_code


def baseline(directory: Path, args: argparse.Namespace, creators: list[tuple[str, Decimal]], week: str) -> float:
    """Seconds for `args.senders` threads to POST every instruction to a fresh fake, nothing else."""
    exchange = start_fake(directory, "baseline", confirm_delay_ms=args.confirm_delay_ms)
    try:
        seconds, _ = in_threads(
            args.senders,
            raw_instructions(creators, week, "baseline"),
            lambda instruction: raw_post(exchange.url, *instruction),
        )
        accepted = sum(exchange_rows(exchange).values())
    finally:
        exchange.stop()
    if accepted != len(creators):
        raise SystemExit(f"the baseline's fake holds {accepted} transfers, not {len(creators)}")
    return seconds


# --- The run --------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    name = database_name(args)
    lock = database.hold_lock(name, bench="bench/payouts.py")  # noqa: F841 - held open for the whole run
    reseed = args.reseed or database_state(name) != "seeded"
    if reseed:
        print(f"Creating {name} next to {database.source_name()}")
        database.recreate_database(name)
    database.use_database(name)
    # The Celery messages pay_settlement publishes go to this run's own queues, which no worker reads
    # (orbit/queues.py); they are deleted at the end.
    os.environ["CELERY_QUEUE_PREFIX"] = f"{name}-"
    os.environ["CACHE_KEY_PREFIX"] = name
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections
    from django.db.models import Count, Sum

    from incentives import ledger, settlement, transfers
    from incentives.models import LedgerEntry, Payout, PayoutTransfer
    from markets import exchange_api
    from markets.models import TradingProfile

    settings.DEBUG = False  # no query log in any thread
    temporary = tempfile.TemporaryDirectory(prefix="orbit-bench-payouts-")
    directory = Path(temporary.name)
    webhook = None
    exchange = None
    try:
        if reseed:
            print(f"Seeding {args.creators:,} creators")
            seed_creators(args.creators)
        else:
            print(f"Reusing {name} (--reseed to rebuild it)")
        creator_ids = list(
            TradingProfile.objects.filter(exchange_uid__startswith="uid-bench-")
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )
        if len(creator_ids) != args.creators:
            raise SystemExit(f"{name} holds {len(creator_ids):,} bench creators, not {args.creators:,}: --reseed")
        began = time.perf_counter()
        settlement_id, week, pool = approved_week(creator_ids)
        print(
            f"  approved settlement of {week}: {pool:,} {CURRENCY} to {len(creator_ids):,} creators, "
            f"written in {time.perf_counter() - began:.1f} s"
        )
        amounts = dict(Payout.objects.filter(settlement_id=settlement_id).values_list("creator_id", "amount"))
        uids = dict(TradingProfile.objects.filter(user_id__in=creator_ids).values_list("user_id", "exchange_uid"))
        creators = [(str(uids[creator_id]), amounts[creator_id]) for creator_id in creator_ids]

        print(f"\nBaseline: raw signed POST /v1/transfers, {args.senders} threads, a fresh fake")
        baseline_seconds = baseline(directory, args, creators, week)

        # Orbit's side: its webhook served for real, the fake posting confirmations to it.
        webhook_watch, exchange_watch = Stopwatch(), Stopwatch()
        published = False
        webhook = start_webhook_server(webhook_watch)
        webhook_url = f"http://127.0.0.1:{webhook.server_address[1]}/api/v1/exchange/events/"
        exchange = start_fake(directory, "exchange", confirm_delay_ms=args.confirm_delay_ms, webhook_url=webhook_url)
        settings.EXCHANGE_API_URL = exchange.url
        settings.EXCHANGE_API_KEY = fake_exchange.DEV_API_KEY
        settings.EXCHANGE_API_SECRET = fake_exchange.DEV_API_SECRET
        settings.EXCHANGE_WEBHOOK_SECRET = fake_exchange.DEV_WEBHOOK_SECRET

        queued: list[int] = []
        publish_watch = Stopwatch()
        publish = publish_watch.wrap(transfers.queue_sends)

        def queue_sends(transfer_ids: list[int]) -> None:
            # Published as in production (to queues nobody reads), and kept: the senders below
            # stand in for the workers.
            queued.extend(transfer_ids)
            publish(transfer_ids)

        transfers.queue_sends = queue_sends
        # Timed only: the time a send waits for the exchange's answer.
        exchange_api.send_transfer = exchange_watch.wrap(exchange_api.send_transfer)
        print(
            f"Paying {week} and sending with {args.senders} senders (confirmations {args.confirm_delay_ms} ms "
            "after acceptance, through the webhook)"
        )
        pay_began = time.perf_counter()
        outcome = settlement.pay_settlement(settlement_id=settlement_id)
        pay_seconds = time.perf_counter() - pay_began
        published = True
        if not outcome.changed or len(queued) != args.creators:
            raise SystemExit(f"pay_settlement: {outcome.message}; {len(queued)} transfers queued")

        this_week = PayoutTransfer.objects.filter(payout__settlement_id=settlement_id)
        send_seconds, attempts = in_threads(
            args.senders, queued, lambda transfer_id: transfers.send_payout_transfer(transfer_id=transfer_id)
        )
        sent_at = time.perf_counter()
        exchange_seconds = exchange_watch.seconds
        webhook_at_sent = (webhook_watch.calls, webhook_watch.seconds)
        counted = collections.Counter(attempts)
        retried = 0
        if counted[transfers.Attempt.UNKNOWN]:
            # The task would retry these after 30 s; here at once, as often as it takes.
            open_ids = list(this_week.filter(state=PayoutTransfer.State.REQUESTED).values_list("pk", flat=True))
            retried = len(open_ids)
            in_threads(
                args.senders, open_ids, lambda transfer_id: transfers.send_payout_transfer(transfer_id=transfer_id)
            )

        confirmed = 0
        deadline = time.monotonic() + args.confirm_timeout
        next_note = time.monotonic() + 30
        while time.monotonic() < deadline:
            confirmed = this_week.filter(state=PayoutTransfer.State.CONFIRMED).count()
            if confirmed == args.creators:
                break
            if time.monotonic() > next_note:
                print(f"  … {confirmed:,} of {args.creators:,} confirmed after {time.perf_counter() - pay_began:.0f} s")
                next_note += 30
            time.sleep(0.1)
        all_confirmed_at = time.perf_counter()
        to_confirmed = all_confirmed_at - pay_began

        # --- Checks
        at_exchange = exchange_rows(exchange)
        states = dict(this_week.values("state").annotate(n=Count("pk")).values_list("state", "n"))
        total = Payout.objects.filter(settlement_id=settlement_id).aggregate(total=Sum("amount"))["total"]
        this_ledger = LedgerEntry.objects.filter(settlement_id=settlement_id, currency=CURRENCY)
        paid_out = this_ledger.filter(account=transfers.PAID_OUT).aggregate(total=Sum("amount"))["total"]
        in_flight = this_ledger.filter(account=transfers.IN_FLIGHT).aggregate(total=Sum("amount"))["total"] or 0
        imbalance = ledger.imbalance()
        fake_pool = Decimal(exchange.balance(fake_exchange.POOL_UID, CURRENCY))
        fake_paid = Decimal(FAKE_POOL_CENTS) / 100 - fake_pool
        total_attempts = this_week.aggregate(n=Sum("attempts"))["n"]
        counts = exchange.event_counts()
    finally:
        if published:
            delete_queues(f"{name}-")
        if exchange is not None:
            exchange.stop()
        if webhook is not None:
            webhook.shutdown()
            webhook.server_close()
        temporary.cleanup()
        connections.close_all()
        if args.drop:
            database.drop_database(name)
            print(f"Dropped {name}")

    n = args.creators
    send_rate = n / send_seconds
    baseline_rate = n / baseline_seconds
    print()
    print(f"{n:,} creators, {pool:,} {CURRENCY}, {args.senders} senders, confirm delay {args.confirm_delay_ms} ms")
    print(f"{'what':<62}{'seconds':>9}{'per second':>12}{'× baseline':>12}")
    print(
        f"{'baseline: raw signed POST, kept-alive connections (as the client)':<62}"
        f"{baseline_seconds:9.2f}{baseline_rate:12,.0f}{1:12.2f}"
    )
    print(
        f"{'pay: pay_settlement (ledger, transfer rows, Celery messages)':<62}{pay_seconds:9.2f}"
        f"{n / pay_seconds:12,.0f}"
    )
    print(f"{'  of which publishing one Celery message per transfer':<62}{publish_watch.seconds:9.2f}")
    print(
        f"{'send: send_payout_transfer for every transfer':<62}"
        f"{send_seconds:9.2f}{send_rate:12,.0f}{send_rate / baseline_rate:12.2f}"
    )
    print(f"{'last send answered → all confirmed (webhook)':<62}{all_confirmed_at - sent_at:9.2f}")
    print(f"{'Pay → all confirmed':<62}{to_confirmed:9.2f}{n / to_confirmed:12,.0f}")
    print()
    print(
        f"send outcomes: {', '.join(f'{attempt} {count:,}' for attempt, count in sorted(counted.items()))}"
        + (f"; {retried:,} requested ones sent again" if retried else "")
    )
    print(
        f"webhook events: {counts['events_delivered']:,} delivered, {counts['events_waiting']:,} waiting, "
        f"{counts['events_given_up']:,} given up"
    )
    print(
        f"Orbit's overhead: sending at {send_rate / baseline_rate:.0%} of the raw POST rate "
        f"({(send_seconds - baseline_seconds) / n * 1000 * args.senders:.1f} ms more per instruction per sender)"
    )
    sender_seconds = send_seconds * args.senders
    print(
        f"a send takes {sender_seconds / n * 1000:.1f} ms of a sender: {exchange_seconds / n * 1000:.1f} waiting for "
        f"the exchange's answer ({exchange_seconds / sender_seconds:.0%}), "
        f"{(sender_seconds - exchange_seconds) / n * 1000:.1f} in Orbit (row lock, uid, ledger, commit)"
    )
    tail = all_confirmed_at - sent_at
    tail_calls, tail_seconds = webhook_watch.calls - webhook_at_sent[0], webhook_watch.seconds - webhook_at_sent[1]
    tail = max(tail, 1e-9)
    mean_ms = webhook_watch.seconds / max(1, webhook_watch.calls) * 1000
    print(
        f"webhook: {webhook_watch.calls:,} requests, {mean_ms:.1f} ms each on average; after the last send "
        f"{tail_calls:,} requests in {tail:.1f} s ({tail_calls / tail:,.0f}/s), the webhook busy "
        f"{tail_seconds / tail:.0%} of that time"
    )

    checks = [
        (f"transfers at the fake == {n:,}", sum(at_exchange.values()) == n, f"{at_exchange}"),
        (f"every PayoutTransfer confirmed ({confirmed:,})", states == {PayoutTransfer.State.CONFIRMED: n}, f"{states}"),
        ("one attempt each", total_attempts == n, f"{total_attempts:,} attempts"),
        ("ledger imbalance == 0", imbalance == 0, f"{imbalance}"),
        (f"exchange:paid == pool ({pool:,})", paid_out == pool == total, f"{paid_out:,}"),
        ("exchange:in_flight == 0", in_flight == 0, f"{in_flight:,}"),
        ("the fake's pool paid out the same", fake_paid == pool, f"{fake_paid:,}"),
    ]
    print()
    for label, passed, figure in checks:
        print(f"{'ok  ' if passed else 'FAIL'} {label}: {figure}")
    return 0 if all(passed for _label, passed, _figure in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
