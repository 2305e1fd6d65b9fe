"""Server time and query count of Orbit's main pages on a community of a million posts.

    .venv/bin/python bench/pages.py [--size full|smoke] [--posts N --users N --events N] [--requests N]

--size picks the defaults (BENCH_PAGES_SIZE in the environment does too): `full` (make bench-pages)
seeds 1,000,000 posts, `smoke` (make bench-smoke, in CI) 3,000 and takes well under a minute; any
flag given overrides its preset.

Creates the scratch database orbit_bench_pages on the server of DATABASE_URL (dropping a leftover
one first), migrates it and fills it fast:
* `seed_demo` writes a community with COPY (users, follows, engagement, candles, cards, calls)
  and --base-posts posts, whose Markdown it renders in Python (the slow part of a seed);
* the rest of the posts are copies of those, further back in time, written by INSERT ... SELECT
  in one transaction with the secondary indexes of the post tables dropped first and built again
  after (one sort per index instead of a million index insertions); their counters start at 0.
Redis is logical database 5 of the REDIS_URL server (cleared at the start and the end).

Each page is requested in this process through Django's test client (the whole stack: middleware,
view, selectors, templates, without the test framework's template instrumentation; no network, no
web server): Latest, For You (signed in, its Redis list
built), Following (a reader who follows 100 creators), a post page with its comments, a profile,
the $BTC asset page, a hashtag page, search, notifications, bookmarks, the busiest author's creator
center (from its five-minute cache, and computed afresh on every request), the operators'
dashboard as its cache rebuilds it (the build alone: the admin page around it needs TOTP) and the
$BTC candles JSON (the last four only when they exist). Per page: the median and 95th percentile of
--requests timed requests at the page's own size after --warmup untimed ones, and the SQL
queries of one request at 20 items and at 40 items (the candles: at 1h and 1d bars). A row PASSes
with p95 <= 100 ms and no query per item: a query that runs twice or more as often at 40 items as
at 20 is one (printed below the table); one that runs once more is per page, for something only
the longer page holds (a verified trade card, a call), and is printed as a note.

Baselines measured in the same run, on the same data:
* the bare DRF endpoint of bench/feed_urls.py (20 posts by primary key, a plain ModelSerializer):
  the floor for any page of 20 posts;
* Latest at a deep page (--depth posts down) with the keyset cursor Orbit uses, against the
  same page cut with OFFSET;
* Latest built naively, without select_related/prefetch_related: its query count grows with the
  page size, which shows the counting would catch it.

The scratch database is dropped at the end, also after a failure, unless --keep is given;
--reuse measures an orbit_bench_pages kept by an earlier run without seeding it again.
Query logging is off while timing, whatever DEBUG says.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Orbit's settings with the bench's URLs: Orbit's plus the bare DRF endpoint (bench/feed_urls.py).
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.feed_settings"
os.environ.setdefault("DEBUG", "1")  # a developer tool: the development settings, no SECRET_KEY needed
# A logical Redis database of its own (never 0, which the tests clear), fixed before Django reads it.
BENCH_REDIS_DB = 5
os.environ["REDIS_URL"] = (
    urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")._replace(path=f"/{BENCH_REDIS_DB}").geturl()
)

import django  # noqa: E402

from bench import database  # noqa: E402

BENCH_DATABASE = "orbit_bench_pages"
ANCHOR = "2026-01-15T12:00:00+00:00"  # fixed, so every run seeds the same rows
SIZES = (20, 40)  # items per page for the query counts
FOLLOWED_CREATORS = 100
P95_BUDGET_MS = 100.0
PRESETS = {
    "full": {
        "posts": 1_000_000,
        "base_posts": 100_000,
        "users": 50_000,
        "events": 1_000_000,
        "requests": 200,
        "warmup": 20,
        "depth": 100_000,
    },
    "smoke": {
        "posts": 3_000,
        "base_posts": 1_500,
        "users": 300,
        "events": 10_000,
        "requests": 6,
        "warmup": 2,
        "depth": 1_000,
    },
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--size",
        choices=sorted(PRESETS),
        default=os.environ.get("BENCH_PAGES_SIZE", "full"),
        help="defaults for the flags below: full (1M posts) or smoke (CI); BENCH_PAGES_SIZE sets it too",
    )
    parser.add_argument("--posts", type=int, help="posts in all (full: 1000000)")
    parser.add_argument("--base-posts", type=int, help="posts seed_demo writes; the rest are copies (full: 100000)")
    parser.add_argument("--users", type=int, help="accounts to seed (full: 50000)")
    parser.add_argument("--events", type=int, help="engagement rows to seed (full: 1000000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, help="timed requests per page (full: 200)")
    parser.add_argument("--warmup", type=int, help="untimed requests first (full: 20)")
    parser.add_argument("--depth", type=int, help="posts down for the deep-page baseline (full: 100000)")
    parser.add_argument("--keep", action="store_true", help=f"keep {BENCH_DATABASE} afterwards")
    parser.add_argument("--reuse", action="store_true", help=f"measure a kept {BENCH_DATABASE} without seeding")
    args = parser.parse_args()
    for name, value in PRESETS[args.size].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.base_posts = min(args.base_posts, args.posts)
    return args


def main() -> None:
    args = parse_args()
    lock = database.hold_lock(BENCH_DATABASE, bench="bench/pages.py")  # noqa: F841 - held open for the whole run
    reuse = args.reuse and database.database_exists(BENCH_DATABASE)
    if not reuse:
        print(f"Creating scratch database {BENCH_DATABASE} next to {database.source_name()}")
        database.recreate_database(BENCH_DATABASE)
    database.use_database(BENCH_DATABASE)  # before django.setup(): every connection goes to the scratch database
    try:
        django.setup()
        from django.conf import settings

        # The test client's host, and nothing else of setup_test_environment(): that one also
        # instruments every template render (a signal and a copy of the context per include, for
        # assertions this bench never makes), which production does not pay.
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        clear_redis()
        if not reuse:
            seed(args)
        measure(args)
    finally:
        from django.db import connections

        connections.close_all()
        if apps_ready():
            clear_redis()
        if args.keep:
            print(f"Kept {BENCH_DATABASE} (measure it again with --reuse)")
        else:
            database.drop_database(BENCH_DATABASE)
            print(f"Dropped {BENCH_DATABASE}")


def apps_ready() -> bool:
    from django.apps import apps

    return apps.ready


def clear_redis() -> None:
    """Logical database BENCH_REDIS_DB is this bench's alone: no list or queued task of a run outlives it."""
    from ranking import feeds

    feeds.redis_client().flushdb()


# --- Seeding -----------------------------------------------------------------------------------


def seed(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"Migrated in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    call_command(
        "seed_demo",
        f"--users={args.users}",
        f"--posts={args.base_posts}",
        f"--events={args.events}",
        f"--seed={args.seed}",
        f"--anchor={ANCHOR}",
    )
    print(f"seed_demo: {args.base_posts:,} posts in {time.perf_counter() - began:.1f} s")
    grow_posts(args.posts)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"Analyzed in {time.perf_counter() - began:.1f} s\n")


def secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that back no constraint (primary key,
    unique or exclusion constraints stay, as the rows are checked against them)."""
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1""",
        [table],
    )
    return cursor.fetchall()


def grow_posts(target: int) -> None:
    """Copies of the seeded posts until `target` posts exist: generation g is the seeded posts moved
    g times their time span into the past (authors, bodies, cashtags and hashtags kept, no likes or
    comments), so the newest pages show the seeded community and the history behind it is deep."""
    from django.db import connection, transaction

    from feed.models import Post

    posts = Post._meta.db_table
    links = {
        Post.assets.through._meta.db_table: "asset_id",
        Post.hashtags.through._meta.db_table: "hashtag_id",
    }
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), min(created_at), max(created_at) FROM {posts} "  # noqa: S608 - names from models
            "WHERE repost_of_id IS NULL AND quote_of_id IS NULL"
        )
        originals, oldest, newest = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {posts}")  # noqa: S608
        missing = target - cursor.fetchone()[0]
        if missing <= 0 or not originals:
            return
        generations = math.ceil(missing / originals)
        # Foreign keys checked as each statement ends (as the seed does): an index cannot be built over
        # rows with checks still pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        dropped = []
        for table in (posts, *links):
            for name, statement in secondary_indexes(cursor, table):
                cursor.execute(f'DROP INDEX "{name}"')
                dropped.append((name, statement))
        cursor.execute(
            f"""CREATE TEMP TABLE post_copy ON COMMIT DROP AS
            SELECT nextval(pg_get_serial_sequence('{posts}', 'id')) AS id, source_id, generation FROM (
                SELECT p.id AS source_id, g AS generation
                FROM generate_series(1, %s) AS g CROSS JOIN {posts} AS p
                WHERE p.repost_of_id IS NULL AND p.quote_of_id IS NULL
                ORDER BY g, p.id LIMIT %s
            ) AS planned""",  # noqa: S608
            [generations, missing],
        )
        # Every column the table stores (new ones included), but for the id, the time and the counters.
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = %s AND is_generated = 'NEVER' AND column_name <> 'id' ORDER BY ordinal_position",
            [posts],
        )
        columns = cursor.fetchall()
        span = newest - oldest
        values = []
        for column, data_type in columns:
            if column == "created_at":
                values.append("p.created_at - c.generation * %(span)s")
            elif column in ("edited_at", "deleted_at"):
                values.append(f"p.{column} - c.generation * %(span)s")
            elif column.endswith("_count") and data_type in ("integer", "bigint"):
                values.append("0")
            else:
                values.append(f"p.{column}")
        cursor.execute(
            f"INSERT INTO {posts} (id, {', '.join(column for column, _type in columns)}) "  # noqa: S608
            f"SELECT c.id, {', '.join(values)} FROM post_copy c JOIN {posts} p ON p.id = c.source_id",
            {"span": span},
        )
        copied = cursor.rowcount
        for table, column in links.items():
            cursor.execute(
                f"INSERT INTO {table} (post_id, {column}) SELECT c.id, l.{column} "  # noqa: S608
                f"FROM post_copy c JOIN {table} l ON l.post_id = c.source_id"
            )
        inserted = time.perf_counter()
        for _name, statement in dropped:
            cursor.execute(statement)
    print(
        f"Copied {copied:,} posts ({generations} generations back) in {inserted - began:.1f} s, "
        f"rebuilt {len(dropped)} indexes in {time.perf_counter() - inserted:.1f} s"
    )


# --- Subjects ----------------------------------------------------------------------------------


def following_reader():
    """A reader who follows exactly the 100 creators with the most posts (the rows are set here)."""
    from django.db.models import Count

    from creators.models import Follow, User
    from feed.models import Post

    reader = User.objects.get(username="demo")
    top = (
        Post.objects.filter(status=Post.Status.PUBLISHED)
        .exclude(author=reader)
        .values("author")
        .annotate(posts=Count("id"))
        .order_by("-posts", "author")[:FOLLOWED_CREATORS]
    )
    creators = [row["author"] for row in top]
    Follow.objects.filter(follower=reader).delete()
    Follow.objects.bulk_create(Follow(follower=reader, followee_id=creator) for creator in creators)
    return reader


def commented_post(reader):
    """The published post with the most comments, given at least 60 top-level ones (added here, by
    the readers who liked it or anyone) so that a page of 40 is full."""
    from creators.models import User
    from feed.models import Comment, Post

    post = Post.objects.filter(status=Post.Status.PUBLISHED).order_by("-comment_count", "-pk").first()
    top_level = Comment.objects.filter(post=post, parent=None).count()
    if top_level < 60:
        authors = list(User.objects.exclude(pk=post.author_id).order_by("pk").values_list("pk", flat=True)[:60])
        Comment.objects.bulk_create(
            Comment(post=post, author_id=authors[k % len(authors)], body=f"Comment {k} on this trade.")
            for k in range(60 - top_level)
        )
        Post.objects.filter(pk=post.pk).update(comment_count=Comment.objects.filter(post=post).count())
        post.refresh_from_db()
    return post


def busiest_author():
    from django.db.models import Count

    from feed.models import Post

    row = (
        Post.objects.filter(status=Post.Status.PUBLISHED)
        .values("author__username")
        .annotate(posts=Count("id"))
        .order_by("-posts")
        .first()
    )
    return row["author__username"], row["posts"]


def operators_dashboard(args: argparse.Namespace) -> Result | None:
    """Admin's dashboard as its five-minute cache rebuilds it: every section's queries and charts
    (the page around it is admin's, behind TOTP, so the build is timed on its own)."""
    try:
        from insights import dashboard
    except ImportError:
        return None
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(args.warmup):
        dashboard.build_dashboard()
    samples = []
    for _ in range(max(5, args.requests // 4)):
        began = time.perf_counter()
        dashboard.build_dashboard()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    with CaptureQueriesContext(connection) as captured:
        dashboard.build_dashboard()
    p95 = samples[max(0, math.ceil(0.95 * len(samples)) - 1)]
    return Result(statistics.median(samples), p95, len(captured.captured_queries))


@contextmanager
def creator_center_at_anchor():
    """The creator center as of the seed's anchor, so its 30 days hold the seeded engagement."""
    from datetime import datetime

    from insights import creator_center

    original = creator_center.creator_center
    anchor = datetime.fromisoformat(ANCHOR)
    creator_center.creator_center = lambda user, **kwargs: original(user, **{"now": anchor, **kwargs})
    try:
        yield
    finally:
        creator_center.creator_center = original


@contextmanager
def creator_center_uncached():
    """The creator center computing its figures on every request, as on a first visit."""
    from django.core.cache.backends.dummy import DummyCache

    from insights import creator_center

    saved = creator_center.cache
    creator_center.cache = DummyCache("bench", {})  # finds nothing, keeps nothing
    try:
        with creator_center_at_anchor():
            yield
    finally:
        creator_center.cache = saved


def busiest_hashtag() -> str:
    from django.db.models import Count

    from feed.models import Post

    return (
        Post.hashtags.through.objects.values("hashtag__name")
        .annotate(posts=Count("id"))
        .order_by("-posts")
        .first()["hashtag__name"]
    )


def inbox(reader) -> None:
    """At least 60 notifications for the reader: new followers, one each."""
    from creators.models import User
    from feed.models import Notification

    if Notification.objects.filter(recipient=reader).count() >= 60:
        return
    actors = User.objects.exclude(pk=reader.pk).order_by("pk").values_list("pk", flat=True)[:60]
    Notification.objects.bulk_create(
        (Notification(recipient=reader, actor_id=actor, verb=Notification.Verb.FOLLOW) for actor in actors),
        ignore_conflicts=True,
    )


def bookmarks(reader) -> None:
    """60 saved posts."""
    from feed.models import Bookmark, Post

    posts = Post.objects.filter(status=Post.Status.PUBLISHED).order_by("-created_at").values_list("pk", flat=True)
    Bookmark.objects.bulk_create(
        (Bookmark(user=reader, post_id=pk) for pk in posts[:60]),
        ignore_conflicts=True,
    )


def for_you_list(reader) -> int:
    """The reader's For You list in Redis, long enough for pages of 40."""
    from django.test import override_settings

    from ranking import feeds

    with override_settings(ORBIT_FOR_YOU_PAGE_SIZE=max(SIZES) + 20):
        return feeds.build_for_you(user_id=reader.pk)


def url(name: str, *args) -> str | None:
    """The page's path, or None while its URL does not exist (a page another change is building)."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# --- Page sizes ----------------------------------------------------------------------------------


def sized_functions():
    """Selectors with a keyword default page size (orbit.pagination.PAGE_SIZE or a comment page)."""
    import inspect

    from feed import selectors
    from orbit.pagination import PAGE_SIZE

    defaults = {PAGE_SIZE, selectors.COMMENT_PAGE_SIZE}
    found = []
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith(("feed.", "creators.", "markets.", "ranking.")):
            continue
        for function in vars(module).values():
            if (
                inspect.isfunction(function)
                and function.__module__ == module.__name__
                and (function.__kwdefaults__ or {}).get("size") in defaults
            ):
                found.append(function)
    return found


@contextmanager
def page_size(size: int | None, *, also=None):
    """Every list page at `size` items (None: as configured) for the length of a measurement; `also`
    is a stand-in selector to size as well."""
    if size is None:
        yield
        return
    from django.test import override_settings

    functions = sized_functions() + ([also] if also and "size" in (also.__kwdefaults__ or {}) else [])
    saved = [function.__kwdefaults__["size"] for function in functions]
    for function in functions:
        function.__kwdefaults__["size"] = size
    try:
        with override_settings(ORBIT_FOR_YOU_PAGE_SIZE=size):
            yield
    finally:
        for function, value in zip(functions, saved, strict=True):
            function.__kwdefaults__["size"] = value


@contextmanager
def latest_posts_replaced_by(replacement):
    from feed import selectors

    original = selectors.latest_posts
    selectors.latest_posts = replacement
    try:
        yield
    finally:
        selectors.latest_posts = original


def naive_latest(*, viewer=None, cursor=None, size=20):
    """Latest as a first draft would write it: the right rows, nothing fetched ahead."""
    from feed.models import Post
    from orbit.pagination import Page

    rows = Post.objects.filter(status=Post.Status.PUBLISHED, author__suspended_at__isnull=True).order_by(
        "-created_at", "-pk"
    )
    return Page(items=list(rows[:size]), next_cursor=None)


def offset_latest(depth: int):
    """Latest `depth` posts down, cut with OFFSET (everything else as Orbit's selector does it)."""
    from feed import selectors
    from orbit.pagination import Page

    def latest(*, viewer=None, cursor=None, size=20):
        rows = selectors._post_cards(viewer).order_by("-created_at", "-pk")
        return Page(items=list(rows[depth : depth + size]), next_cursor=None)

    return latest


def cursor_at(depth: int) -> str:
    """The keyset cursor that starts Latest `depth` posts down."""
    from feed import selectors
    from orbit.pagination import encode_cursor

    row = selectors._post_cards(None).order_by("-created_at", "-pk").values_list("created_at", "pk")[depth - 1]
    return encode_cursor(*row)


# --- Measuring ---------------------------------------------------------------------------------


@dataclass
class Subject:
    label: str
    client: object
    url: str
    # Two variants whose query counts must be equal: (label, page size or None, URL).
    variants: tuple[tuple[str, int | None, str], tuple[str, int | None, str]] | None = None
    replacement: object = None  # a selector standing in for Latest's (the baselines)
    setup: object = None  # a context manager factory the whole measurement runs in


@dataclass
class Result:
    p50: float
    p95: float
    queries: tuple[int, int] | int
    growth: Growth | None = None  # what the second variant ran beyond the first


def queries_of(client, url: str, *, warmup: int) -> list[str]:
    """The SQL of one request, after `warmup` requests (so caches are as they are when timed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(max(1, warmup)):
        get(client, url)
    with CaptureQueriesContext(connection) as captured:
        get(client, url)
    return [query["sql"] for query in captured.captured_queries]


def shape(sql: str) -> str:
    """A query without its literals and list lengths: the same query for 20 items or for 40."""
    sql = re.sub(r"IN \([^)]*\)", "IN (...)", sql)
    sql = re.sub(r"ARRAY\[[^\]]*\]", "ARRAY[...]", sql)
    return re.sub(r"\b\d+\b|'[^']*'", "?", sql)


@dataclass
class Growth:
    per_item: list[str]  # queries that ran more often on the longer page: they run per item (N+1)
    per_page: list[str]  # queries that ran once on the longer page only: they run for what it holds


def growth(fewer: list[str], more: list[str]) -> Growth:
    """What the longer page ran beyond the shorter one. A query that runs once per page when the page
    holds something (a verified trade card, a call) appears once more at most; one per item, or per
    item of a kind, runs twice or more as often on a page twice as long."""
    before, after = Counter(map(shape, fewer)), Counter(map(shape, more))
    per_item = [sql for sql, count in after.items() if count - before[sql] >= 2]
    per_page = [sql for sql, count in after.items() if count - before[sql] == 1]
    return Growth(per_item, per_page)


def get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return response


def timed(client, url: str, *, requests: int, warmup: int) -> tuple[float, float]:
    """Median and p95 milliseconds over `requests` GETs after `warmup`."""
    for _ in range(warmup):
        get(client, url)
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, math.ceil(0.95 * len(samples)) - 1)]


def run(subject: Subject, args: argparse.Namespace, *, requests: int | None = None) -> Result:
    replaced = latest_posts_replaced_by(subject.replacement) if subject.replacement else nullcontext()
    with replaced, subject.setup() if subject.setup else nullcontext():
        runs = []
        for _label, size, variant_url in subject.variants or ():
            with page_size(size, also=subject.replacement):
                runs.append(queries_of(subject.client, variant_url, warmup=min(args.warmup, 3)))
        p50, p95 = timed(subject.client, subject.url, requests=requests or args.requests, warmup=args.warmup)
        if len(runs) == 2:
            return Result(p50, p95, (len(runs[0]), len(runs[1])), growth(*runs))
        queries = len(queries_of(subject.client, subject.url, warmup=1))
    return Result(p50, p95, queries)


def measure(args: argparse.Namespace) -> None:
    from django.test import Client

    from feed.models import Post

    published = Post.objects.filter(status=Post.Status.PUBLISHED).count()
    reader = following_reader()
    post = commented_post(reader)
    author, author_posts = busiest_author()
    hashtag = busiest_hashtag()
    inbox(reader)
    for_you_items = for_you_list(reader)
    visitor, member = Client(), Client()
    member.force_login(reader)

    pages: list[tuple[str, object, str | None]] = [
        ("Latest (signed out)", visitor, url("feed:latest")),
        ("Latest (signed in)", member, url("feed:latest")),
        ("For You (signed in)", member, url("ranking:for_you")),
        (f"Following ({FOLLOWED_CREATORS} creators)", member, url("feed:following")),
        (f"Post page ({post.comment_count} comments)", member, url("feed:post", post.pk)),
        (f"Profile @{author} ({author_posts:,} posts)", member, url("feed:profile", author)),
        ("Asset page $BTC", member, url("feed:asset", "BTC")),
        (f"Hashtag #{hashtag}", member, url("feed:hashtag", hashtag)),
        ("Search 'btc'", member, (url("feed:search") or "") + "?" + urlencode({"q": "btc"})),
        ("Notifications", member, url("feed:notifications")),
    ]
    creator_center_url = url("insights:creator_center")
    if creator_center_url:
        from creators.models import User

        creator = Client()
        creator.force_login(User.objects.get(username=author))
    bookmarks_url = url("feed:bookmarks")
    if bookmarks_url:
        bookmarks(reader)
    pages.append(("Bookmarks", member, bookmarks_url))
    subjects, skipped = [], []
    for label, client, path in pages:
        if path is None or path.startswith("?"):
            skipped.append(label)
            continue
        subjects.append(Subject(label, client, path, variants=tuple((str(s), s, path) for s in SIZES)))
    if creator_center_url:
        subjects.append(
            Subject(
                f"Creator center @{author}, 30 days (cached)",
                creator,
                creator_center_url,
                setup=creator_center_at_anchor,
            )
        )
        subjects.append(
            Subject(
                f"Creator center @{author}, 30 days (uncached)",
                creator,
                creator_center_url,
                setup=creator_center_uncached,
            )
        )
    candles = url("feed:asset_candles", "BTC")
    if candles:
        subjects.append(
            Subject(
                "Candles $BTC (JSON, 1h | 1h vs 1d)",
                member,
                f"{candles}?tf=1h",
                variants=(("1h", None, f"{candles}?tf=1h"), ("1d", None, f"{candles}?tf=1d")),
            )
        )
    else:
        skipped.append("Candles $BTC")

    print(
        f"{published:,} published posts; @{reader.username} follows {FOLLOWED_CREATORS} creators, has "
        f"{for_you_items} posts in For You; the post page is post {post.pk}.\n"
        f"{args.requests} timed requests per page at {SIZES[0]} items after {args.warmup} to warm up, in-process "
        f"test client; queries of one request at {SIZES[0]} and at {SIZES[1]} items."
    )
    for label in skipped:
        print(f"Skipped {label}: its URL does not exist yet.")
    line = "-" * 98
    print(f"\n{'page':<48}{'p50 ms':>8}{'p95 ms':>8}{'q@' + str(SIZES[0]):>7}{'q@' + str(SIZES[1]):>7}   verdict")
    print(line)
    misses = 0
    notes: list[str] = []

    def row(label: str, result: Result, *, judged: bool = True) -> None:
        nonlocal misses
        first, second = result.queries if isinstance(result.queries, tuple) else (result.queries, None)
        verdict = ""
        if judged:
            reasons = [f"p95 > {P95_BUDGET_MS:.0f} ms"] if result.p95 > P95_BUDGET_MS else []
            if result.growth and result.growth.per_item:
                reasons.append("a query per item")
            elif second is not None and second > first:
                notes.append(f"{label}: {second - first} more, each once per page, for what the longer page holds:")
                notes.extend(f"  {sql[:240]}" for sql in result.growth.per_page)
            verdict = "PASS" if not reasons else "MISS (" + ", ".join(reasons) + ")"
            misses += bool(reasons)
            if result.growth and result.growth.per_item:
                notes.append(f"{label}: queries that ran more often at {SIZES[1]} items than at {SIZES[0]}:")
                notes.extend(f"  {sql[:240]}" for sql in result.growth.per_item)
        print(
            f"{label:<48}{result.p50:>8.1f}{result.p95:>8.1f}{first:>7}{'' if second is None else second:>7}"
            f"   {verdict}"
        )

    for subject in subjects:
        row(subject.label, run(subject, args))

    dashboard = operators_dashboard(args)
    if dashboard is not None:
        row("Operators' dashboard (built afresh, no page)", dashboard)

    bare = url("bench_bare_posts")
    depth = min(args.depth, max(published - 60, 1))
    print(f"\nBaselines, same run and data (signed in; the deep page is {depth:,} posts down)")
    print(line)
    if bare:
        row("Bare DRF endpoint, 20 posts by pk", run(Subject("bare", member, bare), args), judged=False)
    latest = url("feed:latest")
    sizes_of_latest = (("20", 20, latest), ("40", 40, latest))
    baseline_requests = max(10, args.requests // 4)
    deep = f"{latest}?cursor={cursor_at(depth)}"
    row(
        "Latest, deep page, keyset cursor (Orbit)",
        run(Subject("deep", member, deep, variants=(("20", 20, deep), ("40", 40, deep))), args),
        judged=False,
    )
    row(
        "Latest, deep page, OFFSET",
        run(Subject("offset", member, latest, replacement=offset_latest(depth)), args, requests=baseline_requests),
        judged=False,
    )
    row(
        "Latest, no select_related/prefetch",
        run(
            Subject("naive", member, latest, variants=sizes_of_latest, replacement=naive_latest),
            args,
            requests=baseline_requests,
        ),
        judged=False,
    )
    if notes:
        print("\n" + "\n".join(note.replace("\n", " ") for note in notes))
    print(
        f"\n{len(subjects) - misses} of {len(subjects)} pages PASS (p95 <= {P95_BUDGET_MS:.0f} ms and no query "
        f"per item between {SIZES[0]} and {SIZES[1]} items)."
    )


if __name__ == "__main__":
    main()
