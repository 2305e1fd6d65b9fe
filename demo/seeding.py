"""Deterministic demo data for Orbit: readers, creators, posts and two weeks of engagement.

This module runs the seed: it locks the tables, hands DemoGenerator (assembled from the parts in
demo.people, demo.posts, demo.cheating, demo.engagement and demo.trading) the ids to continue from,
and moves the sequences past the written rows. demo.parameters holds the shares and weights,
demo.tables the assets and text tables (demo/data/), demo.copy_writer the COPY and the report.

`seed_demo_data` generates everything from `random.Random` and `numpy.random.default_rng`
streams derived from the seed, with every timestamp relative to the anchor, and writes it with
PostgreSQL COPY inside one transaction. The same seed, anchor and sizes on the same database
state give the same rows. Ids continue after the largest id of each table, so seeding a database
that already holds data appends to it (clashing usernames get a numeric suffix).

What is written, besides `users` generated accounts, `posts` posts and exactly `events`
engagement rows:

* the fixed accounts `demo` (a reader: KYC 2, active BTC/ETH/SOL trader, follows a dozen
  creators) and `operator` (staff and superuser), unless an account of that name exists;
* a Profile and a TradingProfile for every account, and a follow graph in which a few creators
  have most of the followers;
* the current-state rows that match the log: one Like per like event, one Comment per comment
  event, one Share per share event, one Report per report event, and a follow event for each
  follow created in the last two weeks;
* exchange data, so that prices, verified trade cards, graded calls, the Performance tab and
  disclosures work offline: hourly candles of every listed asset over the posts' whole span (a
  random walk ending at the asset's reference price at the anchor; bars already stored are kept
  and priced from), trade cards on trade_share posts (about 70% backed by the author's fills 1 to
  24 hours before the post, the rest with no matching fill), calls on about 10% of analysis and
  trade_share posts, and fills of linked accounts: the everyday trading over 8 weeks of every
  account whose profile says it trades, readers and creators (demo.everyday_trading), and of
  `demo`, the fills behind the cards, and trades of assets their posts name within a few days.
  The seed then verifies the cards and grades the due calls with feed.verification and
  feed.calls, and rebuilds the trading profiles of accounts with fills from them
  (markets.exchange.refresh_trading_profiles), all as of the anchor.

Organic engagement follows interests, so that a ranker can be evaluated on it: readers mostly open
posts of people they follow and posts about assets they trade, filtered by a taste over content
types that each reader keeps for the whole two weeks (beginners lean to education), and a post's
quality and its author's reach make it more likely to be read. Likes, comments, shares, trade
clicks and long dwell follow views in proportion to quality times the same affinity (see
VIEW_CHANNELS and the constants after it in demo.parameters).

Planted cheating, about 2-5% of the engagement rows (a little more in very small seeds), for
anti-abuse detectors to find. It is chosen from the seed alone; `SeedReport.planted` and the
command's output name the accounts.

* Self-engagement: a few creators (3% of creators, at least 2) view and like their own posts
  a few minutes after publishing them (rows where actor == creator, kinds VIEW and LIKE).
  Organic engagement never has actor == creator.
* Like ring: 6 small to mid-sized creators who all follow each other and, minutes after one of them
  posts, view, dwell on (1 to 5 minutes), like and often comment ("🔥", "大佬牛逼") on each
  other's posts. Their usernames look organic; the dense mutual like graph gives them away.
* Sign-up burst: 40 accounts (fewer below 200 users or 4,000 events) that joined within one
  hour 2 to 5 days before the anchor, named `<moonbag|gemhunter|airdropfan|luckycoin|x100gem>_NNNN`
  (4 digits), with no bio, KYC 0, volume tier 0, no trades and no traded assets. About three in
  four of them share one of 5 device fingerprints. Within 15 minutes, an hour or more after
  joining, they follow one small creator (the beneficiary) and view and like the 1 to 4
  new_asset posts that creator published in the day before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from creators.models import Follow, Profile, User
from demo.cheating import CheatingGenerator
from demo.copy_writer import CopyWriter, SeedReport, next_id
from demo.engagement import EngagementGenerator
from demo.parameters import DEFAULT_DEMO_PASSWORD, ENGAGEMENT_DAYS, POST_TYPES
from demo.people import PeopleGenerator
from demo.posts import PostGenerator
from demo.tables import ASSET_HASHTAGS, ASSETS, TYPE_HASHTAGS
from demo.trading import TradingGenerator
from feed.counters import recount_posts
from feed.models import Call, Comment, Engagement, Hashtag, Like, Post, PostType, Report, Share, TradeCard
from feed.partitions import ensure_partitions
from markets.models import Asset, Candle, Fill, TradingProfile


def default_anchor() -> datetime:
    """The current UTC time truncated to the hour: reruns within an hour give the same data."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def seed_demo_data(
    *,
    users: int,
    posts: int,
    events: int,
    seed: int,
    anchor: datetime,
    demo_password: str = DEFAULT_DEMO_PASSWORD,
    only_if_empty: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SeedReport | None:
    """Generate and COPY the demo data; return None when only_if_empty and posts exist."""
    if users < 10 or posts < 1 or events < 0:
        raise ValueError("Seed at least 10 users and 1 post, and a non-negative number of events.")
    if anchor.tzinfo is None:
        raise ValueError("The anchor must be timezone-aware.")
    say = progress or (lambda message: None)
    if only_if_empty and Post.objects.exists():
        return None  # checked again under the lock; this spares the lock on every `make run`
    started = time.perf_counter()
    report = SeedReport(seed=seed, anchor=anchor.astimezone(UTC))
    # The weeks of engagement the seed writes get their own partitions of the log (an anchor far
    # from today would otherwise send every row to the DEFAULT partition). Before the table locks
    # below: creating a partition takes its own short lock.
    first_week = report.anchor - timedelta(days=ENGAGEMENT_DAYS + 7)
    ensure_partitions(weeks_ahead=(ENGAGEMENT_DAYS + 14) // 7, now=first_week)
    with transaction.atomic(), connection.cursor() as cursor:
        # Ids are taken as max(id)+1, so nothing else may insert into these tables until we
        # commit and move the sequences past our rows. Reads go on; writers wait for the seed.
        cursor.execute(f"LOCK TABLE {', '.join(_written_tables())} IN SHARE ROW EXCLUSIVE MODE")
        if only_if_empty and Post.objects.exists():
            return None
        # Check foreign keys as each COPY ends rather than all at commit: the cost is the same, but it
        # lands on the table that causes it, so the progress lines tell the truth.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        missing = set(POST_TYPES) - set(PostType.objects.filter(slug__in=POST_TYPES).values_list("slug", flat=True))
        if missing:
            raise ValueError(f"Content types missing (run the migrations): {', '.join(sorted(missing))}")
        writer = CopyWriter(cursor, report, say)
        generator = DemoGenerator(
            users=users,
            posts=posts,
            events=events,
            seed=seed,
            anchor=report.anchor,
            password_hash=make_password(demo_password),
            asset_ids=_ensure_assets(),
            hashtag_ids=_ensure_hashtags(),
            next_ids={
                table: next_id(cursor, table) for table in _written_tables() if table not in _one_to_one_tables()
            },
            report=report,
            say=say,
        )
        first_user_id = generator.next_ids[User._meta.db_table]
        generator.run(writer)
        # Performance is private unless its owner opts in; the compose page asks those who attach a
        # trade card, and the demo's card authors said yes.
        cursor.execute(
            f"UPDATE {Profile._meta.db_table} SET show_performance = true WHERE user_id >= %s AND user_id IN "  # noqa: S608
            f"(SELECT p.author_id FROM {Post._meta.db_table} p JOIN {TradeCard._meta.db_table} c ON c.post_id = p.id)",
            [first_user_id],
        )
        for table in _written_tables():
            if table not in _one_to_one_tables() and report.rows_in(table):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
                )
        # Back to Django's default, for callers that keep using this transaction (tests do).
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    report.total_seconds = time.perf_counter() - started
    say(
        f"seeded {report.total_rows:,} rows in {report.total_seconds:.1f} s "
        f"({report.total_rows / report.total_seconds:,.0f} rows/s)"
    )
    return report


def _written_tables() -> list[str]:
    return [
        User._meta.db_table,
        Profile._meta.db_table,
        TradingProfile._meta.db_table,
        Follow._meta.db_table,
        Post._meta.db_table,
        Post.assets.through._meta.db_table,
        Post.hashtags.through._meta.db_table,
        Engagement._meta.db_table,
        Like._meta.db_table,
        Comment._meta.db_table,
        Share._meta.db_table,
        Report._meta.db_table,
        Candle._meta.db_table,
        TradeCard._meta.db_table,
        Call._meta.db_table,
        Fill._meta.db_table,
        TradeCard.fills.through._meta.db_table,
    ]


def _one_to_one_tables() -> set[str]:
    """Tables keyed by user_id or post_id, without a sequence of their own."""
    return {
        Profile._meta.db_table,
        TradingProfile._meta.db_table,
        TradeCard._meta.db_table,
        Call._meta.db_table,
    }


def _ensure_assets() -> dict[str, int]:
    ids = {}
    for symbol, name, _price, _weight in ASSETS:
        asset, _created = Asset.objects.get_or_create(symbol=symbol, defaults={"name": name})
        ids[symbol] = asset.pk
    return ids


def _ensure_hashtags() -> dict[str, int]:
    names = [name for tags in TYPE_HASHTAGS.values() for name in tags] + list(ASSET_HASHTAGS.values())
    ids = {}
    for name in dict.fromkeys(names):  # de-duplicated, first-seen order
        hashtag, _created = Hashtag.objects.get_or_create(name=name)
        ids[name] = hashtag.pk
    return ids


class DemoGenerator(PeopleGenerator, PostGenerator, CheatingGenerator, EngagementGenerator, TradingGenerator):
    """Holds the generated population; users and posts are indexed 0..n-1 until written. Each part
    generates, then writes its rows, in the order below."""

    def run(self, writer: CopyWriter) -> None:
        # Candles first: post bodies, trade cards, calls and fills all quote their prices.
        began = time.perf_counter()
        self._generate_candles()
        self._stage(f"{self.n_bars:,} hourly candles of {len(self.candle_assets)} assets", began)
        self._write_candles(writer)

        began = time.perf_counter()
        self._generate_users()
        self._stage(f"{self.n_users:,} users", began)
        self._write_users(writer)

        began = time.perf_counter()
        self._generate_posts()
        self._stage(f"{self.n_posts:,} posts", began)
        self._write_posts(writer)
        self._write_trade_cards(writer)
        self._write_calls(writer)

        began = time.perf_counter()
        self._generate_follows()
        self._stage(f"{len(self.follow_follower):,} follows", began)
        self._write_follows(writer)

        began = time.perf_counter()
        self._generate_engagement()
        self._stage(f"{self.n_events:,} engagement rows", began)
        self._write_engagement(writer)
        recount_posts(first_id=self.post_base)

        began = time.perf_counter()
        self._generate_fills()
        self._stage(f"{len(self.fills):,} fills", began)
        self._write_fills(writer)
        self._apply_exchange_services()
