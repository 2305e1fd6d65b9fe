"""Attacks on the weekly settlement. Each adds the attacker's accounts and rows to the community and
returns who it pays to (the attacker's creator accounts) and what it cost.

Rows the feed writes are inserted as the feed writes them; where the server's own rules decide what
is recorded (time spent against render tokens, device fingerprints, the log rows a block writes),
the attack goes through the real entry point: `feed.services.record_dwell`, `orbit.fingerprints`
with a request from `RequestFactory`, `creators.services`.

Cost model: accounts created, trading fees paid in USD, and the devices and IP addresses the
attack needs (a farm of phones on one network is many devices and one IP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Max
from django.test import RequestFactory

from creators import services as creator_services
from creators.models import User
from feed import render_tokens
from feed import services as feed_services
from feed.models import Engagement, Post
from markets.models import TradingProfile
from orbit import fingerprints

from .community import (
    WEEK,
    Community,
    accounts,
    at,
    device_of,
    fill,
    identity_of,
    insert_engagement,
    insert_fills,
    publish,
    row,
    trading_profiles,
)

Kind = Engagement.Kind


@dataclass(frozen=True)
class Cost:
    accounts: int
    fees_usd: Decimal
    devices: int
    ips: int

    def __str__(self) -> str:
        return f"{self.accounts} accounts, ${self.fees_usd:.2f} fees, {self.devices} devices, {self.ips} IPs"


@dataclass(frozen=True)
class Attack:
    creators: list[int]  # whom the attack pays: the attacker's creator accounts
    cost: Cost
    victims: list[int] = field(default_factory=list)  # honest creators a sabotage aims at
    people: int = 1  # the people sharing the gain (a pod's members, a farm's clients)
    expect_flag: str = ""  # a pattern the demo plants: the settlement must flag it by this rule


# --- building blocks -------------------------------------------------------------------------------


def trade_weekly(users: list[User], *, instrument: str = "BTC-USDT") -> Decimal:
    """A $5,000 trade by each of `users` in each of the 8 weeks before the week's end ($5 of fees a
    week: the full fee share and tenure of a real trader); returns the fees paid."""
    fills = [
        fill(user, notional_usd=Decimal(5000), when=WEEK.ends_at - timedelta(days=2 + 7 * w), instrument=instrument)
        for user in users
        for w in range(8)
    ]
    insert_fills(fills)
    return sum((f.fee for f in fills), Decimal(0))


def sybils(
    world: Community,
    prefix: str,
    count: int,
    *,
    joined: list[datetime] | None = None,
    kyc: int | None = 2,
    paid: bool = False,
    one_small_trade: bool = True,
) -> tuple[list[User], Decimal]:
    """`count` accounts and the fees they paid. Aged (joined 200 days before the week) and KYC'd
    unless told otherwise. `paid`: a trade of $5,000 every week for 8 weeks ($5 of fees each, the
    full fee share and tenure of a real trader); else one $10 trade ($0.01 of fees)."""
    joined = joined or [WEEK.starts_at - timedelta(days=200, minutes=97 * i) for i in range(count)]
    users = accounts(prefix, joined)
    if kyc is not None:
        trading_profiles(
            users,
            kyc_levels=[kyc] * count,
            opened_at=list(joined),
            identities=[identity_of(user.username) for user in users],
        )
    fills = []
    for user in users:
        if paid:
            fills += [
                fill(
                    user,
                    notional_usd=Decimal(5000),
                    when=WEEK.ends_at - timedelta(days=2 + 7 * w),
                    instrument="DOGE-USDT",
                )
                for w in range(8)
            ]
        elif one_small_trade and kyc is not None:
            fills.append(
                fill(user, notional_usd=Decimal(10), when=WEEK.ends_at - timedelta(days=10), instrument="DOGE-USDT")
            )
    insert_fills(fills)
    return users, sum((f.fee for f in fills), Decimal(0))


def creator_account(world: Community, prefix: str, *, posts: int = 4, cards: bool = False, identity: str | None = None):
    """An aged creator account of the attacker with `posts` posts published early in the week."""
    (user,) = accounts(prefix, [WEEK.starts_at - timedelta(days=300)])
    trading_profiles(
        [user],
        kyc_levels=[2],
        opened_at=[WEEK.starts_at - timedelta(days=300)],
        identities=[identity or identity_of(prefix)],
    )
    world.posts[user.pk] = publish(user, [at(0, 6 + i) for i in range(posts)], cards=cards)
    return user


def like_people(
    world: Community,
    actors: list[User],
    posts: list[Post],
    fps: list[str],
    *,
    days: tuple[int, int] = (0, 6),
    like: float = 0.7,
    comment: float = 0.2,
    share: float = 0.05,
) -> list[Engagement]:
    """Each actor reads each post once, at a moment of its own, as a person would."""
    rng, rows = world.rng, []
    for actor, fp in zip(actors, fps, strict=True):
        for post in posts:
            moment = max(post.created_at, at(rng.uniform(*days), rng.uniform(7, 22))) + timedelta(
                minutes=rng.uniform(5, 600)
            )
            moment = min(moment, WEEK.ends_at - timedelta(minutes=5))
            rows += [
                row(actor, post, Kind.VIEW, moment, fp),
                row(actor, post, Kind.DWELL, moment, fp, rng.randint(20_000, 150_000)),
            ]
            later = moment + timedelta(seconds=rng.uniform(15, 120))
            if rng.random() < like:
                rows.append(row(actor, post, Kind.LIKE, later, fp))
            if rng.random() < comment:
                rows.append(row(actor, post, Kind.COMMENT, later + timedelta(seconds=30), fp))
            if rng.random() < share:
                rows.append(row(actor, post, Kind.SHARE, later + timedelta(seconds=60), fp))
    return rows


def own_devices(users: list[User], *, ip: str | None = None) -> list[str]:
    return [device_of(user.username, ip=ip) for user in users]


def replay_at(moment: datetime, call: Callable[[], object]) -> None:
    """Run a real service, then record the log rows it wrote as if written at `moment` (services read
    the clock; the log is append-only, so the originals stay, at today's date, outside the week)."""
    last = Engagement.objects.aggregate(last=Max("id"))["last"] or 0
    call()
    written = list(Engagement.objects.filter(id__gt=last).order_by("id"))
    insert_engagement(
        [
            Engagement(
                actor_id=e.actor_id,
                post_id=e.post_id,
                creator_id=e.creator_id,
                kind=e.kind,
                dwell_ms=e.dwell_ms,
                occurred_at=moment,
                fingerprint=e.fingerprint,
                network_prefix=e.network_prefix,
            )
            for e in written
        ]
    )


# --- the attacks -------------------------------------------------------------------------------------


def aged_kyc_sybils_small_trade(world: Community) -> Attack:
    """30 aged, KYC-verified accounts, each with one $10 trade, read a small creator like people,
    over days, each on its own device and network."""
    creator = creator_account(world, "smallfry")
    users, fees = sybils(world, "agedsyb", 30)
    insert_engagement(like_people(world, users, world.posts[creator.pk], own_devices(users)))
    return Attack([creator.pk], Cost(31, fees, 31, 31))


def click_farm_30_clients(world: Community) -> Attack:
    """A click farm: 40 phones on 4 networks rotate over 30 paying client creators, ten a day each."""
    clients = [creator_account(world, f"client{i:02d}", posts=2) for i in range(30)]
    users, fees = sybils(world, "farmer", 40, kyc=1)
    rng, rows = world.rng, []
    for n, user in enumerate(users):
        fp = device_of(user.username, ip=f"198.51.100.{n % 4 + 1}")
        for day in range(6):
            for client in rng.sample(clients, 10):
                rows += like_people(world, [user], world.posts[client.pk][:1], [fp], days=(day, day + 1), comment=0.3)
    insert_engagement(rows)
    return Attack([c.pk for c in clients], Cost(70, fees, 40, 4), people=30)


def one_person_five_creator_accounts(world: Community) -> Attack:
    """The most popular creator opens four more accounts under the same KYC identity and splits an
    audience across them, to get five caps instead of one."""
    star = world.creators[0]
    identity = TradingProfile.objects.get(user=star).kyc_identity
    alts = [creator_account(world, f"staralt{i}", posts=3, identity=identity) for i in range(4)]
    readers = world.readers[:120]
    rows = []
    for alt in alts:
        rows += like_people(world, readers, world.posts[alt.pk], own_devices(readers), like=0.4, comment=0.1)
    insert_engagement(rows)
    return Attack([star.pk, *(alt.pk for alt in alts)], Cost(4, Decimal(0), 1, 1))


def creator_pod_pairs(world: Community) -> Attack:
    """Ten creators who trade for real, in pairs: each does two acts a week on the partner's posts."""
    pod = [creator_account(world, f"pairpod{i}", posts=2) for i in range(10)]
    fees = trade_weekly(pod)
    rows = []
    for a, b in zip(pod[::2], pod[1::2], strict=True):
        for giver, taker in ((a, b), (b, a)):
            post = world.posts[taker.pk][0]
            fp = device_of(giver.username)
            rows += [row(giver, post, Kind.LIKE, at(2, 10), fp), row(giver, post, Kind.COMMENT, at(2, 10, 5), fp)]
    insert_engagement(rows)
    return Attack([c.pk for c in pod], Cost(10, fees, 10, 10), people=10)


def creator_pod_two_halves(world: Community) -> Attack:
    """Twelve creators in two halves; each engages only the other half (like, comment, share on
    every post), so no three of them close a ring."""
    pod = [creator_account(world, f"halfpod{i:02d}", posts=2) for i in range(12)]
    fees = trade_weekly(pod)
    first, second = pod[:6], pod[6:]
    rows = []
    for giver_half, taker_half in ((first, second), (second, first)):
        for giver in giver_half:
            for taker in taker_half:
                rows += like_people(
                    world, [giver], world.posts[taker.pk], [device_of(giver.username)], like=1, comment=1, share=1
                )
    insert_engagement(rows)
    return Attack([c.pk for c in pod], Cost(12, fees, 12, 12), people=12)


def trade_clicks_without_trades(world: Community) -> Attack:
    """15 aged KYC'd accounts with one $10 trade each click the attacker's trade cards every day and
    never trade the card's instrument."""
    creator = creator_account(world, "clickbait", posts=6, cards=True)
    users, fees = sybils(world, "clicker", 15)
    rows = []
    for user, fp in zip(users, own_devices(users), strict=True):
        for post in world.posts[creator.pk]:
            for day in range(1, 7):
                moment = at(day, 9 + world.rng.uniform(0, 10))
                rows += [
                    row(user, post, Kind.VIEW, moment, fp),
                    row(user, post, Kind.TRADE_CLICK, moment + timedelta(seconds=20), fp),
                ]
    insert_engagement(rows)
    return Attack([creator.pk], Cost(16, fees, 16, 16))


def dwell_beacons_without_tokens(world: Community) -> Attack:
    """15 traders send time-spent beacons for posts they were never shown: no token, a forged one,
    or another reader's; each claims 30 minutes, 12 times a week."""
    creator = creator_account(world, "beacon", posts=10)
    users, fees = sybils(world, "beaconer", 15, paid=True)
    someone = world.readers[0]
    for user, fp in zip(users, own_devices(users), strict=True):
        for day in range(6):
            for hour in (10, 20):
                now = at(day, hour)
                items = []
                for n, post in enumerate(world.posts[creator.pk]):
                    token = [None, "1.2.3:forged", render_tokens.issue(reader=someone, post_id=post.pk, now=now)][n % 3]
                    items.append({"post": post.pk, "ms": 30 * 60 * 1000, **({"token": token} if token else {})})
                feed_services.record_dwell(viewer=user, items=items, fp=fp, now=now)
    return Attack([creator.pk], Cost(16, fees, 16, 16))


def dwell_with_render_tokens_no_views(world: Community) -> Attack:
    """15 traders hold the pages open (real render tokens) and beacon 30 minutes on ten posts at
    once, never recording a view."""
    creator = creator_account(world, "tabfarm", posts=10)
    users, fees = sybils(world, "tabber", 15, paid=True)
    for user, fp in zip(users, own_devices(users), strict=True):
        for day in range(6):
            shown = at(day, 9)
            items = [
                {
                    "post": post.pk,
                    "ms": 30 * 60 * 1000,
                    "token": render_tokens.issue(reader=user, post_id=post.pk, now=shown),
                }
                for post in world.posts[creator.pk]
            ]
            feed_services.record_dwell(viewer=user, items=items, fp=fp, now=shown + timedelta(minutes=29))
    return Attack([creator.pk], Cost(16, fees, 16, 16))


def _one_machine(world: Community, prefix: str, device: Callable[[int], str]) -> Attack:
    creator = creator_account(world, prefix, posts=4)
    users, fees = sybils(world, f"{prefix}syb", 30)
    fps = [device(n) for n in range(len(users))]
    insert_engagement(like_people(world, users, world.posts[creator.pk], fps))
    return Attack([creator.pk], Cost(31, fees, 1, 1))


def one_machine_invented_device_ids(world: Community) -> Attack:
    """30 aged KYC'd accounts ($10 trade each) on one machine and address, each app claiming a device id
    of its own making."""
    factory = RequestFactory()

    def device(n: int) -> str:
        request = factory.get("/api/v1/feed/", REMOTE_ADDR="203.0.113.9", HTTP_X_ORBIT_DEVICE=f"{n:032x}")
        return fingerprints.app_fingerprint(request)

    return _one_machine(world, "inventor", device)


def one_machine_fresh_cookie_per_account(world: Community) -> Attack:
    """30 aged KYC'd accounts ($10 trade each) in one browser on one address, clearing cookies between
    accounts, so the server issues each a new signed device."""
    factory = RequestFactory()

    def device(n: int) -> str:
        return fingerprints.browser_fingerprint(factory.get("/", REMOTE_ADDR="203.0.113.10"))

    return _one_machine(world, "cookiejar", device)


def engage_same_posts_next_week(world: Community) -> Attack:
    """12 traders like, comment on and share the attacker's posts late in the week before, and do it
    all again this week while the posts still earn."""
    creator = creator_account(world, "encore", posts=0)
    posts = publish(creator, [at(-2, 9), at(-2, 10), at(-2, 11)])
    world.posts[creator.pk] = posts
    users, fees = sybils(world, "encorer", 12, paid=True)
    fps = own_devices(users)
    rows = []
    for user, fp in zip(users, fps, strict=True):
        for post in posts:
            for moment in (at(-1, 15 + world.rng.uniform(0, 5)), at(1, 15 + world.rng.uniform(0, 5))):
                rows += [
                    row(user, post, kind, moment + timedelta(seconds=10 * n), fp)
                    for n, kind in enumerate((Kind.VIEW, Kind.LIKE, Kind.COMMENT, Kind.SHARE))
                ]
    insert_engagement(rows)
    return Attack([creator.pk], Cost(13, fees, 13, 13))


def trade_after_week_end(world: Community) -> Attack:
    """15 aged accounts that never traded read the attacker all week, then each trades $20,000 at
    Monday 00:05, after the week's end, to look like full-value readers when it settles."""
    creator = creator_account(world, "latefill")
    users, _none = sybils(world, "latetrader", 15, one_small_trade=False)
    late = [fill(user, notional_usd=Decimal(20_000), when=WEEK.ends_at + timedelta(minutes=5)) for user in users]
    insert_fills(late)
    insert_engagement(like_people(world, users, world.posts[creator.pk], own_devices(users)))
    return Attack([creator.pk], Cost(16, sum((f.fee for f in late), Decimal(0)), 16, 16))


def block_unblock_refollow(world: Community) -> Attack:
    """15 traders followed the attacker last week; this week the attacker blocks and unblocks each,
    three times, and each follows again, to be paid for a new follower every time."""
    creator = creator_account(world, "refollow", posts=1)
    users, fees = sybils(world, "follower", 15, paid=True)
    for user in users:
        replay_at(at(-3, 12), lambda user=user: creator_services.follow_user(follower=user, username=creator.username))
        for day in (1, 3, 5):
            replay_at(at(day, 9), lambda user=user: creator_services.block_user(user=creator, username=user.username))
            replay_at(
                at(day, 9, 1), lambda user=user: creator_services.unblock_user(user=creator, username=user.username)
            )
            replay_at(
                at(day, 9, 2), lambda user=user: creator_services.follow_user(follower=user, username=creator.username)
            )
    return Attack([creator.pk], Cost(16, fees, 16, 16))


def _burst(world: Community, prefix: str, target: User, count: int, *, minutes: int = 20) -> list[Engagement]:
    """`count` throwaway sign-ups within `minutes`, liking and commenting on the target's posts."""
    joined = [at(2, 9) + timedelta(seconds=minutes * 60 * i / count) for i in range(count)]
    users, _fees = sybils(world, prefix, count, joined=joined, kyc=None)
    rows = []
    for n, (user, fp) in enumerate(zip(users, own_devices(users), strict=True)):
        for post in world.posts[target.pk]:
            moment = max(post.created_at, at(2, 10)) + timedelta(minutes=7 * n)
            rows += [
                row(user, post, Kind.LIKE, moment, fp),
                row(user, post, Kind.COMMENT, moment + timedelta(seconds=40), fp),
            ]
    return rows


def fresh_account_burst(world: Community) -> Attack:
    """A small creator buys 50 sign-ups made within 25 minutes that like and comment on everything
    (the demo's planted burst)."""
    creator = world.creators[50]
    insert_engagement(_burst(world, "burst", creator, 50, minutes=25))
    return Attack([creator.pk], Cost(50, Decimal(0), 50, 5), expect_flag="new_account_burst")


def padding_a_flagged_creator(world: Community) -> Attack:
    """A small creator buys a 15-account burst, then pads the week with interactions that never count
    (own likes, signed-out trade clicks from many networks, likes taken back by 150 idle accounts)
    so the burst looks like a small part of it and the hold's severity drops."""
    creator = world.creators[45]
    rows = _burst(world, "padburst", creator, 15)
    own = device_of(creator.username)
    posts = world.posts[creator.pk]
    for post in posts:
        rows += [
            row(creator, post, kind, at(3, 8), own)
            for kind in (Kind.VIEW, Kind.LIKE, Kind.COMMENT, Kind.SHARE, Kind.TRADE_CLICK)
        ]
        for network in range(60):
            fp = fingerprints.network_fingerprint(ip=f"192.0.{network}.7")
            rows.append(row(None, post, Kind.TRADE_CLICK, at(3, 9, network), fp))
    idle, _fees = sybils(world, "padder", 150, kyc=None)
    for user, fp in zip(idle, own_devices(idle), strict=True):
        for post in posts:
            rows += [row(user, post, Kind.LIKE, at(4, 10), fp), row(user, post, Kind.UNLIKE, at(4, 10, 1), fp)]
    insert_engagement(rows)
    return Attack([creator.pk], Cost(165, Decimal(0), 166, 66), expect_flag="new_account_burst")


def sabotage_a_rival(world: Community) -> Attack:
    """A creator makes 12 throwaway sign-ups within 15 minutes to like a rival's posts, hoping the
    rival is held for a burst they did not buy."""
    attacker, rival = world.creators[31], world.creators[30]
    joined = [at(2, 9) + timedelta(seconds=75 * i) for i in range(12)]
    users, _fees = sybils(world, "saboteur", 12, joined=joined, kyc=None)
    rows = []
    for n, (user, fp) in enumerate(zip(users, own_devices(users), strict=True)):
        for post in world.posts[rival.pk]:
            rows.append(row(user, post, Kind.LIKE, max(post.created_at, at(2, 10)) + timedelta(minutes=3 * n), fp))
    insert_engagement(rows)
    return Attack([attacker.pk], Cost(12, Decimal(0), 12, 12), victims=[rival.pk])


def comment_spam_cheap_accounts(world: Community) -> Attack:
    """200 idle accounts, opened weeks apart and never traded, comment on the attacker's posts every day."""
    creator = creator_account(world, "spammed", posts=5)
    joined = [WEEK.starts_at - timedelta(days=30 + i) for i in range(200)]
    users, _fees = sybils(world, "spammer", 200, joined=joined, kyc=None)
    rows = []
    for n, (user, fp) in enumerate(zip(users, own_devices(users), strict=True)):
        for post in world.posts[creator.pk]:
            for day in range(6):
                rows.append(row(user, post, Kind.COMMENT, at(day, 8 + (n % 14), n % 60), fp))
    insert_engagement(rows)
    return Attack([creator.pk], Cost(201, Decimal(0), 200, 200))


def lockstep_group(world: Community) -> Attack:
    """Eight traders like and comment on each of the attacker's five posts within two minutes of each other."""
    creator = creator_account(world, "lockstep", posts=5)
    users, fees = sybils(world, "marcher", 8, paid=True)
    rows = []
    for p, post in enumerate(world.posts[creator.pk]):
        for n, (user, fp) in enumerate(zip(users, own_devices(users), strict=True)):
            moment = at(1 + p, 20, n * 0.25)
            rows += [
                row(user, post, Kind.VIEW, moment, fp),
                row(user, post, Kind.LIKE, moment, fp),
                row(user, post, Kind.COMMENT, moment, fp),
            ]
    insert_engagement(rows)
    return Attack([creator.pk], Cost(9, fees, 9, 9))


def reciprocal_ring(world: Community) -> Attack:
    """Six creators who trade for real like, comment on and share each other's posts (the demo's ring)."""
    ring = [creator_account(world, f"ringer{i}", posts=2) for i in range(6)]
    fees = trade_weekly(ring)
    rows = []
    for giver in ring:
        for taker in ring:
            if giver != taker:
                rows += like_people(
                    world, [giver], world.posts[taker.pk], [device_of(giver.username)], like=1, comment=1, share=1
                )
    insert_engagement(rows)
    return Attack(
        [c.pk for c in ring],
        Cost(6, fees, 6, 6),
        people=6,
        expect_flag="reciprocal_ring",
    )


def view_inflation(world: Community) -> Attack:
    """One trader reloads each of the attacker's ten posts 200 times, each reload a view and 5 minutes."""
    creator = creator_account(world, "reloader", posts=10)
    users, fees = sybils(world, "reloads", 1, paid=True)
    rows = []
    for user, fp in zip(users, own_devices(users), strict=True):
        for post in world.posts[creator.pk]:
            for n in range(200):
                moment = at(n % 6, 8 + (n % 12), n % 60)
                rows += [row(user, post, Kind.VIEW, moment, fp), row(user, post, Kind.DWELL, moment, fp, 300_000)]
    insert_engagement(rows)
    return Attack([creator.pk], Cost(2, fees, 1, 1))


def self_engagement(world: Community) -> Attack:
    """A creator views, likes, comments on and shares their own posts, and again from two second
    accounts on the same phone (the demo's self-likers)."""
    creator = creator_account(world, "selfie", posts=6)
    seconds, _fees = sybils(world, "selfalt", 2, paid=True)
    own = device_of(creator.username)
    rows = []
    for actor in [creator, *seconds]:
        for post in world.posts[creator.pk]:
            rows += [
                row(actor, post, kind, at(1, 12), own) for kind in (Kind.VIEW, Kind.LIKE, Kind.COMMENT, Kind.SHARE)
            ]
    # The creator's phone is seen on the creator's own account too, reading someone else.
    rows.append(row(creator, world.posts[world.creators[0].pk][0], Kind.VIEW, at(1, 13), own))
    insert_engagement(rows)
    return Attack([creator.pk], Cost(3, _fees, 1, 1), expect_flag="same_device")


def daily_cap_flood(world: Community) -> Attack:
    """Three traders hammer the attacker's 30 posts: every action on every post, every day."""
    creator = creator_account(world, "hammered", posts=30)
    users, fees = sybils(world, "hammer", 3, paid=True)
    rows = []
    for user, fp in zip(users, own_devices(users), strict=True):
        for day in range(6):
            for n, post in enumerate(world.posts[creator.pk]):
                moment = at(day, 8, 2 * n)
                rows += [row(user, post, kind, moment, fp) for kind in (Kind.VIEW, Kind.LIKE, Kind.COMMENT, Kind.SHARE)]
    insert_engagement(rows)
    return Attack([creator.pk], Cost(4, fees, 4, 4))


def signed_out_flood(world: Community) -> Attack:
    """Views, time spent and trade clicks from 500 networks, never signed in."""
    creator = creator_account(world, "anonfan", posts=5, cards=True)
    rows = []
    for network in range(500):
        fp = fingerprints.network_fingerprint(ip=f"10.{network // 250}.{network % 250}.1")
        for post in world.posts[creator.pk]:
            moment = at(network % 6, 9, network % 60)
            rows += [
                row(None, post, Kind.VIEW, moment, fp),
                row(None, post, Kind.DWELL, moment, fp, 120_000),
                row(None, post, Kind.TRADE_CLICK, moment, fp),
            ]
    insert_engagement(rows)
    return Attack([creator.pk], Cost(1, Decimal(0), 500, 500))


def old_post_farming(world: Community) -> Attack:
    """15 traders engage posts published three weeks ago, long past their earning window."""
    creator = creator_account(world, "vintage", posts=0)
    world.posts[creator.pk] = publish(creator, [at(-21, 9 + i) for i in range(4)])
    users, fees = sybils(world, "archivist", 15, paid=True)
    insert_engagement(like_people(world, users, world.posts[creator.pk], own_devices(users)))
    return Attack([creator.pk], Cost(16, fees, 16, 16))


def shared_device_farm(world: Community) -> Attack:
    """30 aged KYC'd accounts ($10 trade each) all used from one phone."""
    creator = creator_account(world, "onephone", posts=4)
    users, fees = sybils(world, "phoneuser", 30)
    phone = device_of("the-one-phone")
    insert_engagement(like_people(world, users, world.posts[creator.pk], [phone] * len(users)))
    return Attack([creator.pk], Cost(31, fees, 1, 1))


def paid_sybil_farm(world: Community) -> Attack:
    """Ten accounts that trade like real traders ($5 of fees every week for 8 weeks each), on their
    own phones and networks, read the attacker like people: bought reader value."""
    creator = creator_account(world, "bought", posts=4)
    users, fees = sybils(world, "paidsyb", 10, paid=True)
    insert_engagement(like_people(world, users, world.posts[creator.pk], own_devices(users)))
    return Attack([creator.pk], Cost(11, fees, 11, 11))


def paid_sybils_reading_widely(world: Community) -> Attack:
    """Ten accounts that trade like real traders ($5 of fees every week for 8 weeks each), on their
    own phones and networks, read posts of four popular creators like people, and give the
    attacker's twelve posts everything: view, time, like, comment and share. They read widely and
    the rest of the community reaches them: to every signal they are real readers, and what stands
    against them is their cost and the reader limits."""
    creator = creator_account(world, "camouflaged", posts=12)
    users, fees = sybils(world, "widesyb", 10, paid=True)
    popular = [world.posts[c.pk][0] for c in world.creators[:4]]
    fps = own_devices(users)
    rows = like_people(world, users, popular, fps, like=0.3, comment=0.05, share=0)
    rows += like_people(world, users, world.posts[creator.pk], fps, like=1, comment=1, share=1)
    insert_engagement(rows)
    return Attack([creator.pk], Cost(11, fees, 11, 11))


# Not an attack the settlement can tell from honest reading: held to the reader limits instead.
RESIDUAL: dict[str, Callable[[Community], Attack]] = {"paid_sybils_reading_widely": paid_sybils_reading_widely}


ATTACKS: dict[str, Callable[[Community], Attack]] = {
    attack.__name__: attack
    for attack in (
        aged_kyc_sybils_small_trade,
        click_farm_30_clients,
        one_person_five_creator_accounts,
        creator_pod_pairs,
        creator_pod_two_halves,
        trade_clicks_without_trades,
        dwell_beacons_without_tokens,
        dwell_with_render_tokens_no_views,
        one_machine_invented_device_ids,
        one_machine_fresh_cookie_per_account,
        engage_same_posts_next_week,
        trade_after_week_end,
        block_unblock_refollow,
        fresh_account_burst,
        padding_a_flagged_creator,
        sabotage_a_rival,
        comment_spam_cheap_accounts,
        lockstep_group,
        reciprocal_ring,
        view_inflation,
        self_engagement,
        daily_cap_flood,
        signed_out_flood,
        old_post_farming,
        shared_device_farm,
        paid_sybil_farm,
    )
}
