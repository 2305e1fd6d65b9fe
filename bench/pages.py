"""Server time and query count of Orbit's busiest pages on a large community.

    .venv/bin/python bench/pages.py [--posts 1000000 --users 50000 --events 2000000] [--requests 200]

Creates the scratch database orbit_bench_pages on the server of DATABASE_URL (dropping a leftover
one first), migrates it and fills it with `seed_demo`, then requests each page in this process
through Django's test client (the whole stack: middleware, view, selectors, templates; no
network, no web server): Latest, Following (a reader who follows 100 creators), a post page
with its comments, and the $BTC asset page. Each page is warmed up, then requested --requests
times; the table gives the median and 99th percentile server time and the number of SQL queries
of one request, for page sizes 10, 20 and 50, to show that the query count does not grow with
the page size.

Baselines measured in the same run, on the same data:
* Latest at a deep page (--depth posts down) with the keyset cursor Orbit uses, against the
  same page cut with OFFSET;
* Latest built naively, without select_related/prefetch_related: the query count then grows
  with the page size (one query per post for each author, profile, content type, asset list...).

The scratch database is dropped at the end, also after a failure, unless --keep is given;
--reuse measures an orbit_bench_pages kept by an earlier run without seeding it again.
Query logging is off while timing, whatever DEBUG says.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")
os.environ.setdefault("DEBUG", "1")  # a developer tool: the development settings, no SECRET_KEY needed

import django  # noqa: E402

from bench import database  # noqa: E402

BENCH_DATABASE = "orbit_bench_pages"
ANCHOR = "2026-01-15T12:00:00+00:00"  # fixed, so every run seeds the same rows
PAGE_SIZES = (10, 20, 50)
FOLLOWED_CREATORS = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts to seed (default 1000000)")
    parser.add_argument("--users", type=int, default=50_000, help="accounts to seed (default 50000)")
    parser.add_argument("--events", type=int, default=2_000_000, help="engagement rows to seed (default 2000000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page and size (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (default 20)")
    parser.add_argument(
        "--depth", type=int, default=100_000, help="posts down for the deep-page baseline (default 100000)"
    )
    parser.add_argument("--keep", action="store_true", help=f"keep {BENCH_DATABASE} afterwards")
    parser.add_argument("--reuse", action="store_true", help=f"measure a kept {BENCH_DATABASE} without seeding")
    return parser.parse_args()


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
        from django.test.utils import setup_test_environment

        setup_test_environment(debug=False)  # the test client's host, a local mailbox; no query log
        if not reuse:
            seed(args)
        measure(args)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"Kept {BENCH_DATABASE} (measure it again with --reuse)")
        else:
            database.drop_database(BENCH_DATABASE)
            print(f"Dropped {BENCH_DATABASE}")


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
        f"--posts={args.posts}",
        f"--events={args.events}",
        f"--seed={args.seed}",
        f"--anchor={ANCHOR}",
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"Seeded and analyzed in {time.perf_counter() - began:.1f} s\n")


# --- Subjects --------------------------------------------------------------------------------


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


def commented_post():
    """The published post with the most comments (its page shows them all, with their replies)."""
    from feed.models import Post

    return Post.objects.filter(status=Post.Status.PUBLISHED).order_by("-comment_count", "-pk").first()


@contextmanager
def page_size(size: int):
    """List pages use their selector's default page size; set it for the length of a measurement."""
    from feed import selectors

    functions = [selectors.latest_posts, selectors.following_posts, selectors.asset_posts]
    saved = [function.__kwdefaults__["size"] for function in functions]
    for function in functions:
        function.__kwdefaults__["size"] = size
    try:
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


# --- Measuring -------------------------------------------------------------------------------


def timed(client, url: str, *, requests: int, warmup: int) -> tuple[float, float, int]:
    """Median and p99 milliseconds over `requests` GETs after `warmup`, and one request's queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    queries = len(captured)  # now: every request starts by emptying the query log
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p99 = samples[max(0, math.ceil(0.99 * len(samples)) - 1)]
    return statistics.median(samples), p99, queries


def measure(args: argparse.Namespace) -> None:
    from django.test import Client
    from django.urls import reverse

    from feed.models import Post

    published = Post.objects.filter(status=Post.Status.PUBLISHED).count()
    reader = following_reader()
    post = commented_post()
    visitor, member = Client(), Client()
    member.force_login(reader)
    runs = {"requests": args.requests, "warmup": args.warmup}

    print(
        f"{published:,} published posts; Following is @{reader.username}'s, who follows {FOLLOWED_CREATORS} "
        f"creators; the post page is post {post.pk} with {post.comment_count} comments.\n"
        f"{args.requests} timed requests per row after {args.warmup} to warm up, in-process test client.\n"
    )
    line = "-" * 78
    print(f"{'page':<44}{'size':>6}{'median ms':>11}{'p99 ms':>9}{'queries':>9}")
    print(line)

    def row(label: str, size, result) -> None:
        median, p99, queries = result
        print(f"{label:<44}{size!s:>6}{median:>11.1f}{p99:>9.1f}{queries:>9}")

    for label, client, url in [
        ("Latest (signed out)", visitor, reverse("feed:latest")),
        ("Latest (signed in)", member, reverse("feed:latest")),
        (f"Following ({FOLLOWED_CREATORS} creators)", member, reverse("feed:following")),
        ("Asset page $BTC", member, reverse("feed:asset", args=["BTC"])),
    ]:
        for size in PAGE_SIZES:
            with page_size(size):
                row(label, size, timed(client, url, **runs))
    row(f"Post page ({post.comment_count} comments)", "-", timed(member, reverse("feed:post", args=[post.pk]), **runs))
    few = Post.objects.filter(status=Post.Status.PUBLISHED, comment_count__lte=2).order_by("-pk").first()
    if few is not None:
        row(
            f"Post page ({few.comment_count} comments)", "-", timed(member, reverse("feed:post", args=[few.pk]), **runs)
        )

    depth = min(args.depth, max(published - 60, 1))
    print(f"\nBaselines, same data (Latest signed in, {depth:,} posts down for the deep page)")
    print(line)
    deep = f"{reverse('feed:latest')}?cursor={cursor_at(depth)}"
    baseline_runs = {"requests": max(20, args.requests // 4), "warmup": 3}
    with page_size(20):
        row("Latest, deep page, keyset cursor (Orbit)", 20, timed(member, deep, **baseline_runs))
        with latest_posts_replaced_by(offset_latest(depth)):
            row("Latest, deep page, OFFSET", 20, timed(member, reverse("feed:latest"), **baseline_runs))
    with latest_posts_replaced_by(naive_latest):
        for size in PAGE_SIZES:
            with page_size(size):
                row("Latest, no select_related/prefetch", size, timed(member, reverse("feed:latest"), **runs))
    print()


if __name__ == "__main__":
    main()
