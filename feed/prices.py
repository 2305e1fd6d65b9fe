"""The prices posts show and the assets worth polling: feed's side of market data.

Which assets people are discussing is a fact about posts, so it lives here; markets/market_data.py
fetches and stores the candles and reads prices from them.

See docs/market-data.md#the-poll.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count
from django.utils import timezone

from markets import market_data, simulated_market
from markets.market_data import DOLLARS, MAX_INSTRUMENTS_PER_POLL, SYMBOL
from markets.models import Asset

from .models import Call, Post, TradeCard

DISCUSSION_WINDOW = timedelta(days=7)


def _related(post, name: str):
    """A one-to-one a post may lack (select_related already ran: no query either way)."""
    try:
        return getattr(post, name)
    except ObjectDoesNotExist:
        return None


def attach_quotes(posts: list) -> None:
    """Sets `post.trade_card.quote` and `post.call.quote` (a Quote or None) on each post that has one.

    One query for the whole page, none when no post on it has a trade card or a call.
    """
    wanted = []
    for post in posts:
        if (card := _related(post, "trade_card")) is not None:
            wanted.append((card, card.base_asset.upper()))
        if (call := _related(post, "call")) is not None:
            wanted.append((call, call.asset.symbol))
    if not wanted:
        return
    found = market_data.quotes({symbol for _, symbol in wanted})
    for holder, symbol in wanted:
        holder.quote = found.get(symbol)


def discussed_symbols(*, now: datetime | None = None, limit: int | None = None) -> list[str]:
    """The assets people are discussing, most-discussed first: listed assets named by posts of the
    last week, assets of open calls, and base assets of trade cards on posts of the last week."""
    since = (now or timezone.now()) - DISCUSSION_WINDOW
    mentions: Counter[str] = Counter()
    named = (
        Asset.objects.filter(is_listed=True, posts__status=Post.Status.PUBLISHED, posts__created_at__gte=since)
        .values_list("symbol")
        .annotate(posts=Count("posts"))
    )
    mentions.update(dict(named))
    open_calls = Call.objects.filter(status=Call.Status.OPEN).values_list("asset__symbol").annotate(calls=Count("pk"))
    mentions.update(dict(open_calls))
    cards = (
        TradeCard.objects.filter(post__status=Post.Status.PUBLISHED, post__created_at__gte=since)
        .values_list("instrument")
        .annotate(cards=Count("pk"))
    )
    for instrument, count in cards:
        mentions[instrument.split("-")[0].upper()] += count
    ranked = sorted(
        (symbol for symbol in mentions if symbol not in DOLLARS and SYMBOL.match(symbol)),
        key=lambda symbol: (-mentions[symbol], symbol),
    )
    return ranked[: limit or MAX_INSTRUMENTS_PER_POLL]


def poll_discussed_assets(*, now: datetime | None = None) -> dict:
    """Fetches (or, with ORBIT_MARKET_DATA_URL=simulated, simulates) recent candles of the discussed
    assets; a JSON-serialisable summary (the Celery result)."""
    simulated = settings.ORBIT_MARKET_DATA_URL == market_data.SIMULATED
    if not simulated and not market_data.api_url():
        return {"disabled": True}
    now = now or timezone.now()
    if simulated:
        return simulated_market.simulate_candles(symbols=discussed_symbols(now=now), now=now)
    return market_data.poll(discussed_symbols(now=now), now=now)
