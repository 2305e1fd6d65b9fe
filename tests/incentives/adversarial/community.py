"""A deterministic honest community for one settlement week, built with bulk inserts.

60 creators whose audiences follow a Zipf-like popularity, 300 readers who trade (eight weeks of
fills paying 0.1% of notional in USDT, KYC'd trading profiles) and read on their own devices, a
10,000 USDT pool for the week and the payout policy's defaults. `settle()` runs the real weekly
settlement (`incentives.settlement.draft_settlement`, inside the test's transaction) and reads
its payouts.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from psycopg2.extras import execute_values

from creators.models import Profile, User
from feed.models import Engagement, Post, TradeCard
from incentives.models import ActionWeight, IncentivePolicy, IntegrityFlag, Payout, PrizePool
from incentives.settlement import draft_settlement
from incentives.weeks import Week
from markets.models import Fill, TradingProfile
from orbit.fingerprints import Fingerprint, fingerprint, network_prefix, network_prefix_of
from tests.incentives.world import event

Kind = Engagement.Kind
WEEK = Week.parse("2026-W47", "UTC")
SETTLED_AT = WEEK.ends_at + timedelta(hours=1)
POOL = Decimal("10000.00")
FEE_RATE = Decimal("0.001")  # 0.1% of notional, paid in USDT
SEED = 47
N_CREATORS = 60
N_READERS = 300
INSTRUMENTS = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
PRICES = {"BTC": Decimal("64000"), "ETH": Decimal("3200"), "SOL": Decimal("150")}


@dataclass
class Community:
    creators: list[User]  # by popularity, most popular first
    readers: list[User]
    posts: dict[int, list[Post]]  # by creator id
    rng: random.Random


def at(day: float, hour: float = 12, minute: float = 0) -> datetime:
    """An instant of the settlement week; day 0 is its Monday."""
    return WEEK.starts_at + timedelta(days=day, hours=hour, minutes=minute)


def device_of(label: str, *, ip: str | None = None) -> Fingerprint:
    """The fingerprint a server-issued device `label` on `ip` records, carrying the address's network
    prefix as the feed's does (orbit.fingerprints)."""
    digest = hashlib.sha256(label.encode()).digest()
    ip = ip or f"100.{64 + digest[0] % 64}.{digest[1]}.{1 + digest[2] % 254}"
    device = hashlib.md5(label.encode()).hexdigest()  # noqa: S324 (an id, not security)
    return Fingerprint(fingerprint(ip=ip, device_id=device), network_prefix=network_prefix(ip=ip))


def identity_of(label: str) -> str:
    return hashlib.sha256(f"kyc|{label}".encode()).hexdigest()[:40]


# --- people ----------------------------------------------------------------------------------


def accounts(prefix: str, joined: list[datetime]) -> list[User]:
    users = User.objects.bulk_create(
        [
            User(username=f"{prefix}{i:03d}", email=f"{prefix}{i:03d}@example.com", password="!", date_joined=when)
            for i, when in enumerate(joined)
        ]
    )
    Profile.objects.bulk_create([Profile(user=user, display_name=user.username.title()) for user in users])
    return users


def trading_profiles(
    users: list[User], *, kyc_levels: list[int], opened_at: list[datetime], identities: list[str | None]
) -> None:
    TradingProfile.objects.bulk_create(
        [
            TradingProfile(
                user=user,
                kyc_level=kyc,
                volume_tier=TradingProfile.VolumeTier.REGULAR,
                account_opened_at=opened,
                kyc_identity=identity,
            )
            for user, kyc, opened, identity in zip(users, kyc_levels, opened_at, identities, strict=True)
        ]
    )


def fill(user: User, *, notional_usd: Decimal, when: datetime, instrument: str = "BTC-USDT", n: int = 0) -> Fill:
    """One fill of `notional_usd` paying 0.1% of it in USDT."""
    asset, quote = instrument.split("-")[:2]
    price = PRICES.get(asset, Decimal(100))
    return Fill(
        fill_id=f"f-{user.pk}-{int(when.timestamp())}-{n}",
        user=user,
        instrument=instrument,
        instrument_type="spot",
        asset=asset,
        quote=quote,
        side="buy",
        quantity=(notional_usd / price).quantize(Decimal("1e-12")),
        price=price,
        fee=(notional_usd * FEE_RATE).quantize(Decimal("1e-8")),
        fee_currency="USDT",
        notional_usd=notional_usd.quantize(Decimal("0.01")),
        filled_at=when,
    )


def publish(author: User, whens: list[datetime], *, cards: bool = False) -> list[Post]:
    return publish_many([(author, when, cards) for when in whens])


def publish_many(specs: list[tuple[User, datetime, bool]]) -> list[Post]:
    """Posts of (author, published at, with a trade card?), in one insert."""
    posts = Post.objects.bulk_create(
        [
            Post(
                author=author,
                content_type_id="trade_share" if card else "analysis",
                body=f"{author.username}: funding cooled while spot held the open, take {i}.",
                body_html="<p>…</p>",
                created_at=when,
            )
            for i, (author, when, card) in enumerate(specs)
        ]
    )
    TradeCard.objects.bulk_create(
        [
            TradeCard(post=post, instrument=INSTRUMENTS[i % 3], side="long", entry_price=Decimal(100))
            for i, (post, (_author, _when, card)) in enumerate(zip(posts, specs, strict=True))
            if card
        ]
    )
    return posts


def row(actor: User | None, target: Post | User, kind: int, when: datetime, fp: str, dwell_ms: int = 0) -> Engagement:
    """A log row as the feed writes it: the fingerprint, and the network prefix it carries."""
    engagement = event(actor, target, kind, when, dwell_ms=dwell_ms, fingerprint=fp)
    engagement.network_prefix = network_prefix_of(fp)
    return engagement


def insert_engagement(rows: list[Engagement]) -> None:
    """Log rows as the feed writes them, in one statement per 5,000 (bulk_create's per-field
    preparation would cost seconds per community)."""
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            "INSERT INTO feed_engagement (actor_id, post_id, creator_id, kind, share_id, dwell_ms, occurred_at, "
            "fingerprint, network_prefix) VALUES %s",
            [
                (
                    e.actor_id,
                    e.post_id,
                    e.creator_id,
                    e.kind,
                    None,
                    e.dwell_ms,
                    e.occurred_at,
                    e.fingerprint,
                    e.network_prefix or network_prefix_of(e.fingerprint),
                )
                for e in rows
            ],
            page_size=5000,
        )


def insert_fills(fills: list[Fill]) -> None:
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            "INSERT INTO creators_fill (fill_id, user_id, instrument, instrument_type, asset, quote, side, quantity, "
            "price, fee, fee_currency, notional_usd, filled_at) VALUES %s ON CONFLICT (fill_id) DO NOTHING",
            [
                (
                    f.fill_id,
                    f.user_id,
                    f.instrument,
                    f.instrument_type,
                    f.asset,
                    f.quote,
                    f.side,
                    f.quantity,
                    f.price,
                    f.fee,
                    f.fee_currency,
                    f.notional_usd,
                    f.filled_at,
                )
                for f in fills
            ],
            page_size=5000,
        )


# --- the community -------------------------------------------------------------------------------


def build() -> Community:
    rng = random.Random(SEED)
    start = WEEK.starts_at
    # The weights come from a data migration; a transactional test's flush would have removed them.
    assert ActionWeight.objects.count() == 7, "the default action weights are missing"
    PrizePool.objects.update_or_create(week=WEEK.label, defaults={"amount": POOL, "currency": "USDT"})
    IncentivePolicy.current()  # the defaults: α 0.8, a 10% cap, $1 minimum, hold at severity 3

    creators = accounts("creator", [start - timedelta(days=90 + 7 * i) for i in range(N_CREATORS)])
    readers = accounts("reader", [start - timedelta(days=rng.randint(60, 700)) for _ in range(N_READERS)])
    trading_profiles(
        creators,
        kyc_levels=[2] * N_CREATORS,
        opened_at=[start - timedelta(days=500)] * N_CREATORS,
        identities=[identity_of(user.username) for user in creators],
    )
    trading_profiles(
        readers,
        kyc_levels=[rng.choices([0, 1, 2, 3], weights=[5, 15, 70, 10])[0] for _ in readers],
        opened_at=[user.date_joined - timedelta(days=rng.randint(0, 300)) for user in readers],
        identities=[identity_of(user.username) for user in readers],
    )

    # Eight weeks of fills before the week's end: readers trade in most weeks, a few times each.
    fills = []
    for user in [*readers, *creators]:
        weeks_active = rng.randint(3, 8)
        for week_back in rng.sample(range(8), weeks_active):
            for n in range(rng.randint(1, 3)):
                notional = Decimal(int(rng.lognormvariate(7.6, 1.0))) + 50  # median about $2,000
                when = WEEK.ends_at - timedelta(days=7 * week_back + rng.uniform(0.05, 6.9))
                fills.append(fill(user, notional_usd=notional, when=when, instrument=rng.choice(INSTRUMENTS), n=n))
    insert_fills(fills)

    # Posts: more for the popular; a quarter carry a trade card; a few from the week before.
    specs = []
    for rank, creator in enumerate(creators):
        count = 1 + round(5 / (rank + 1) ** 0.5) + rng.randint(0, 1)
        specs += [(creator, start + timedelta(days=rng.uniform(-2, 5.5)), i % 4 == 1) for i in range(count)]
    posts: dict[int, list[Post]] = {creator.pk: [] for creator in creators}
    for post in publish_many(specs):
        posts[post.author_id].append(post)
    card_instrument = dict(TradeCard.objects.values_list("post_id", "instrument"))

    # A week of reading: sessions on a few days, creators picked by a Zipf-like popularity.
    popularity = [1 / (rank + 1) ** 1.1 for rank in range(N_CREATORS)]
    rows, clicks_that_trade = [], []
    for reader in readers:
        fp = device_of(reader.username)
        followed: set[int] = set()
        engaged: set[tuple[int, int]] = set()
        for day in sorted(rng.sample(range(7), rng.randint(2, 6))):
            moment = start + timedelta(days=day, hours=rng.uniform(7, 22))
            for _ in range(rng.randint(2, 7)):
                creator = creators[rng.choices(range(N_CREATORS), weights=popularity)[0]]
                live = [post for post in posts[creator.pk] if post.created_at < moment]
                moment += timedelta(seconds=rng.uniform(30, 400))
                if not live or moment >= WEEK.ends_at:
                    continue
                post = rng.choice(live)
                if (reader.pk, post.pk) in engaged:
                    continue
                engaged.add((reader.pk, post.pk))
                rows.append(row(reader, post, Kind.VIEW, moment, fp))
                if rng.random() < 0.8:
                    rows.append(row(reader, post, Kind.DWELL, moment, fp, dwell_ms=rng.randint(4_000, 180_000)))
                later = moment + timedelta(seconds=rng.uniform(10, 120))
                if rng.random() < 0.25:
                    rows.append(row(reader, post, Kind.LIKE, later, fp))
                if rng.random() < 0.05:
                    rows.append(row(reader, post, Kind.COMMENT, later + timedelta(seconds=40), fp))
                if rng.random() < 0.02:
                    rows.append(row(reader, post, Kind.SHARE, later + timedelta(seconds=70), fp))
                if post.pk in card_instrument and rng.random() < 0.3:
                    rows.append(row(reader, post, Kind.TRADE_CLICK, later, fp))
                    if rng.random() < 0.4 and later + timedelta(hours=2) < WEEK.ends_at:
                        clicks_that_trade.append(
                            fill(
                                reader,
                                notional_usd=Decimal(rng.randint(200, 3000)),
                                when=later + timedelta(minutes=rng.randint(2, 90)),
                                instrument=card_instrument[post.pk],
                                n=9,
                            )
                        )
                if creator.pk not in followed and rng.random() < 0.04:
                    followed.add(creator.pk)
                    rows.append(row(reader, creator, Kind.FOLLOW, later + timedelta(seconds=90), fp))
    insert_engagement(rows)
    insert_fills(clicks_that_trade)
    return Community(creators=creators, readers=readers, posts=posts, rng=rng)


# --- the settlement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    amounts: dict[int, Decimal]  # creator id -> payout (held ones included)
    held: dict[int, str]  # creator id -> hold reason
    flags: dict[int, set[str]]  # creator id -> the integrity rules that flagged them, at any severity
    carried_out: Decimal

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), Decimal("0.00")) + self.carried_out


def settle() -> Settled:
    """The week's draft by the real settlement, in the caller's transaction (rolled back after the test)."""
    drafted = draft_settlement(week=WEEK, now=SETTLED_AT).settlement
    payouts = list(
        Payout.objects.filter(settlement=drafted).values_list("creator_id", "amount", "status", "hold_reason")
    )
    flags: dict[int, set[str]] = {}
    for creator_id, rule in IntegrityFlag.objects.filter(settlement=drafted).values_list("creator_id", "rule"):
        flags.setdefault(creator_id, set()).add(rule)
    return Settled(
        flags=flags,
        amounts={creator_id: amount for creator_id, amount, _status, _reason in payouts},
        held={creator_id: reason for creator_id, _amount, status, reason in payouts if status == Payout.Status.HELD},
        carried_out=drafted.carried_out,
    )
