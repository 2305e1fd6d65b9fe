"""Conflict-of-interest disclosures: the author's own trades of the assets a post names.

For every asset a post names ($BTC), the author's exchange fills of it from ORBIT_DISCLOSURE_DAYS
before to ORBIT_DISCLOSURE_DAYS after the post was published are summed up per side and per
"before posting" / "after posting": "the author bought $BTC 2 days before posting and sold $BTC
1 day after". The days count from posting to the nearest such fill, in whole days. They come from
exchange data only, are shown to every reader, and the author cannot edit or remove them.

See docs/cards-and-calls.md#conflict-of-interest-disclosures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from markets.models import Fill
from orbit.replicas import read_connection


@dataclass(frozen=True)
class Disclosure:
    asset: str
    side: str  # "bought" or "sold"
    first_filled_at: datetime
    last_filled_at: datetime
    relation: str  # "before" or "after" posting
    days: int  # whole days between posting and the fill nearest to it


SIDES = {Fill.Side.BUY: "bought", Fill.Side.SELL: "sold"}

# One row per (post, asset, side, before/after). The page's (post, author, asset, posting time) arrive
# as parallel arrays; LATERAL makes each of them one range scan of the (user, asset, filled_at) index,
# however many fills the table holds.
TRADES_AROUND_POSTS = f"""
    SELECT named.post_id, named.asset, trades.side, trades.after, trades.first, trades.last
    FROM UNNEST(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[])
         AS named(post_id, author_id, asset, posted_at)
    CROSS JOIN LATERAL (
        SELECT fill.side, fill.filled_at > named.posted_at AS after,
               MIN(fill.filled_at) AS first, MAX(fill.filled_at) AS last
        FROM {Fill._meta.db_table} fill
        WHERE fill.user_id = named.author_id
          AND fill.asset = named.asset
          AND fill.filled_at BETWEEN named.posted_at - %s AND named.posted_at + %s
        GROUP BY 1, 2
    ) trades
"""  # noqa: S608 (the table name comes from the model; every value is a parameter)


def _disclosure(*, asset: str, side: str, after: bool, first: datetime, last: datetime, posted_at) -> Disclosure:
    nearest = first - posted_at if after else posted_at - last
    return Disclosure(
        asset=asset,
        side=SIDES.get(side, side),
        first_filled_at=first,
        last_filled_at=last,
        relation="after" if after else "before",
        days=nearest.days,
    )


def attach_disclosures(posts: list) -> None:
    """Sets `post.disclosures` (a list of Disclosure, before posting first) on every post, in one
    query for the whole page, none when no post names an asset. `post.assets` must be prefetched."""
    post_ids, author_ids, assets, posted = [], [], [], []
    for post in posts:
        post.disclosures = []
        for asset in post.assets.all():
            post_ids.append(post.pk)
            author_ids.append(post.author_id)
            assets.append(asset.symbol)
            posted.append(post.created_at)
    if not post_ids:
        return
    span = timedelta(days=settings.ORBIT_DISCLOSURE_DAYS)
    with read_connection(Fill).cursor() as cursor:
        cursor.execute(TRADES_AROUND_POSTS, [post_ids, author_ids, assets, posted, span, span])
        rows = cursor.fetchall()
    by_id = {post.pk: post for post in posts}
    for post_id, asset, side, after, first, last in rows:
        post = by_id[post_id]
        post.disclosures.append(
            _disclosure(asset=asset, side=side, after=after, first=first, last=last, posted_at=post.created_at)
        )
    for post in posts:
        post.disclosures.sort(key=lambda d: (d.relation != "before", d.asset, d.side))
