"""The asset's market page: what the chart, the live price, the votes and the tabs below them read.

Candles come from markets.charts (hourly bars aggregated in SQL, cached per symbol and timeframe);
what feed adds is the community on them: a marker for each post about the asset and each call on
it, at the bar holding its time. The page itself renders no candle: the chart fetches them as
JSON (`chart_data`), so the page costs a fixed handful of queries whatever the asset's history.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Avg, Count, Q
from django.urls import reverse
from django.utils import timezone

from creators.models import User
from markets import charts, market_data
from markets.market_data import Quote
from markets.models import Asset
from orbit.pagination import Page

from . import selectors
from .calls import RECORD_PLACES, CallRecord
from .models import Call, Post

# How often the live price block asks for a fresh quote (the poll stores bars every minute or so).
QUOTE_POLL_SECONDS = 10
EXCERPT_CHARS = 140
MAX_MARKERS = 100
TOP_POSTS_WINDOW = timedelta(days=7)
TABS = ("latest", "top", "calls")
WHITESPACE = re.compile(r"\s+")
TAG = re.compile(r"<[^>]*>")
# JSON that is never read as HTML even if a browser sniffs it (as Django's json_script escapes).
_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


# --- The chart -------------------------------------------------------------------------------


def excerpt(body_html: str, *, limit: int = EXCERPT_CHARS) -> str:
    """A post's plain text, whitespace collapsed and cut to `limit` characters (with …). The
    rendered HTML is the source, so Markdown syntax is gone and what a reader saw is what shows;
    the result is text, to be set with textContent or autoescaped, never as HTML."""
    # body_html is our own sanitised Markdown output, so dropping its tags with a regular expression
    # is enough for text (20 times faster than strip_tags's parser, for up to 100 markers a request).
    text = WHITESPACE.sub(" ", html.unescape(TAG.sub(" ", body_html or ""))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chart_markers(
    *, asset: Asset, timeframe: charts.Timeframe, since: datetime, viewer: User | AnonymousUser | None = None
) -> list[dict]:
    """Markers for the posts about `asset` and the calls on it since `since`, oldest first (the
    order lightweight-charts needs), each at the start of the bar holding it."""
    rows = selectors.asset_marker_posts(asset=asset, since=since, viewer=viewer, limit=MAX_MARKERS)
    return [
        {
            "id": str(row["pk"]),
            "time": int(row["created_at"].timestamp()),
            "bar_time": int(charts.bucket_start(row["created_at"], timeframe).timestamp()),
            "kind": "call" if row["call__direction"] else "post",
            "direction": row["call__direction"],
            "status": row["call__status"],
            "author": row["author__username"],
            "excerpt": excerpt(row["body_html"]),
            "url": reverse("feed:post", args=[row["pk"]]),
        }
        for row in reversed(rows)
    ]


def chart_data(*, asset: Asset, timeframe: charts.Timeframe, viewer: User | AnonymousUser | None = None) -> dict:
    """What the chart endpoint answers: the candles (cached) and the viewer's markers on them."""
    candles = charts.chart_candles(asset.symbol, timeframe)
    markers = []
    if candles:
        since = datetime.fromtimestamp(candles[0]["time"], tz=UTC)
        markers = chart_markers(asset=asset, timeframe=timeframe, since=since, viewer=viewer)
    return {"symbol": asset.symbol, "timeframe": timeframe.key, "candles": candles, "markers": markers}


def as_json(data: dict) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_ESCAPES)


# --- The live price --------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveQuote:
    quote: Quote
    day: charts.DayStats | None


def live_quote(symbol: str) -> LiveQuote | None:
    """The quote and its 24-hour high, low and volume: two queries, one without a quote."""
    quote = market_data.quotes([symbol]).get(symbol.upper())
    if quote is None:
        return None
    return LiveQuote(quote=quote, day=charts.day_stats(symbol, newest=quote.as_of))


def trade_url(asset: Asset) -> str | None:
    """Where the Trade button goes: the exchange's market for the asset against USDT (the demo's
    own ticket when the demo has no exchange); None for an asset the exchange does not list.

    Post cards go through feed:trade, which records a trade click for the post's author; a click
    here credits nobody, so it links straight to the market."""
    if not asset.is_listed:
        return None
    instrument = market_data.instrument_for(asset.symbol)
    if settings.ORBIT_DEMO_TRADE_TICKET:
        return reverse("feed:demo_trade", args=[instrument])
    return settings.EXCHANGE_TRADE_URL.format(instrument=instrument)


# --- The tabs --------------------------------------------------------------------------------


def tab_of(value: str | None) -> str:
    return value if value in TABS else "latest"


def top_posts(*, asset: Asset, viewer: User | AnonymousUser | None = None, now: datetime | None = None) -> list[Post]:
    since = (now or timezone.now()) - TOP_POSTS_WINDOW
    return selectors.top_asset_posts(symbol=asset.symbol, since=since, viewer=viewer)


def call_records(*, author_ids: Iterable[int]) -> dict[int, CallRecord]:
    """Each caller's whole record (as on their profile: feed.calls.call_record), in one grouped
    query for the page rather than one per call."""
    graded = Q(status__in=[Call.Status.HIT, Call.Status.MISSED])
    rows = (
        Call.objects.filter(author__in=set(author_ids))
        .values("author")
        .annotate(
            hits=Count("pk", filter=Q(status=Call.Status.HIT)),
            missed=Count("pk", filter=Q(status=Call.Status.MISSED)),
            open=Count("pk", filter=Q(status=Call.Status.OPEN)),
            average=Avg("return_percent", filter=graded),
        )
        .order_by()
    )
    return {
        row["author"]: CallRecord(
            hits=row["hits"],
            missed=row["missed"],
            open=row["open"],
            average_return_percent=None
            if row["average"] is None
            else Decimal(row["average"]).quantize(RECORD_PLACES, rounding=ROUND_HALF_EVEN),
        )
        for row in rows
    }


def calls_on_asset(*, asset: Asset, viewer: User | AnonymousUser | None = None, cursor: str | None = None) -> Page:
    """A page of calls on `asset`, each with `call.record`, its caller's record: two queries."""
    page = selectors.asset_calls(asset=asset, viewer=viewer, cursor=cursor)
    if page.items:
        records = call_records(author_ids=[call.author_id for call in page.items])
        for call in page.items:
            call.record = records.get(call.author_id)
    return page
