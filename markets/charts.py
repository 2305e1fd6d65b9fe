"""Candles for the asset page's chart, and the 24-hour figures beside its live price.

The poll stores one-hour bars only (markets.market_data.BAR); every longer timeframe is built from
them in SQL with `date_bin`, so a chart never asks the market-data API anything:

- open is the open of the bucket's first hour, close the close of its last, high the highest high,
  low the lowest low, volume the sum;
- buckets start on a Monday 00:00 UTC grid (ORIGIN), so 4-hour bars open at 00, 04, 08… UTC, days
  at midnight UTC and weeks on Mondays, whatever hours happen to be stored;
- the window ends at the instrument's newest bar, not at now, so an instrument the poll has not
  reached for a while still has a chart (the quote beside it says how old it is).

A chart is cached per (symbol, timeframe) for CACHE_SECONDS: the newest bar moves only once a poll,
and a popular asset page would otherwise aggregate the same rows for every reader.

See docs/market-data.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Max, Min, Sum

from orbit.replicas import read_connection

from . import market_data
from .models import Candle

# A Monday: weekly buckets start on Mondays, and every shorter step divides a week.
ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
CACHE_SECONDS = 30


@dataclass(frozen=True)
class Timeframe:
    key: str
    step: timedelta
    # How many bars a chart shows: enough to read a trend, few enough to aggregate in milliseconds
    # (a year of hourly bars is ~8,800 rows; two years of weeks ~17,500).
    bars: int


TIMEFRAMES = {
    timeframe.key: timeframe
    for timeframe in (
        Timeframe("1h", timedelta(hours=1), 200),
        Timeframe("4h", timedelta(hours=4), 200),
        Timeframe("1d", timedelta(days=1), 200),
        Timeframe("1w", timedelta(weeks=1), 104),
    )
}
DEFAULT_TIMEFRAME = "1h"


@dataclass(frozen=True)
class Bar:
    opened_at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def as_json(self) -> dict:
        """The shape lightweight-charts reads: time in UNIX seconds (UTC), numbers as numbers."""
        return {
            "time": int(self.opened_at.timestamp()),
            "open": float(self.open),
            "high": float(self.high),
            "low": float(self.low),
            "close": float(self.close),
            "volume": float(self.volume),
        }


def timeframe_of(key: str | None) -> Timeframe:
    """The timeframe named `key` (1h, 4h, 1d, 1w); KeyError for anything else."""
    return TIMEFRAMES[(key or DEFAULT_TIMEFRAME).lower()]


def bucket_start(moment: datetime, timeframe: Timeframe) -> datetime:
    """The start of the `timeframe` bar holding `moment`: Python's date_bin on the same grid."""
    steps = (moment - ORIGIN) // timeframe.step
    return ORIGIN + steps * timeframe.step


# One statement: the buckets of the window that ends with the newest stored hour. The newest hour is
# an uncorrelated subquery (run once, first) and ORDER BY … LIMIT 1 rather than max(): as a joined CTE
# or an aggregate, a table the planner has no statistics for yet (fresh after the poll's first
# inserts) got a plan that recomputed it for every row, quadratic in the stored hours (minutes for
# two years). The range on opened_at keeps the scan on the unique (instrument, bar, opened_at) index.
_BARS_SQL = """
SELECT date_bin(%(step)s, candle.opened_at, %(origin)s) AS bucket,
       (array_agg(candle.open ORDER BY candle.opened_at))[1],
       max(candle.high),
       min(candle.low),
       (array_agg(candle.close ORDER BY candle.opened_at DESC))[1],
       sum(candle.volume)
FROM feed_candle AS candle
WHERE candle.instrument = %(instrument)s
  AND candle.bar = %(bar)s
  AND candle.opened_at >= date_bin(
        %(step)s,
        (SELECT newest.opened_at FROM feed_candle AS newest
         WHERE newest.instrument = %(instrument)s AND newest.bar = %(bar)s
         ORDER BY newest.opened_at DESC LIMIT 1),
        %(origin)s
      ) - %(step)s * %(earlier)s
GROUP BY bucket
ORDER BY bucket
"""


def bars(symbol: str, timeframe: Timeframe) -> list[Bar]:
    """The last `timeframe.bars` bars of `symbol` in USDT, oldest first, straight from the database."""
    params: dict[str, Any] = {
        "instrument": market_data.instrument_for(symbol),
        "bar": market_data.BAR,
        "step": timeframe.step,
        "origin": ORIGIN,
        "earlier": timeframe.bars - 1,
    }
    with read_connection(Candle).cursor() as cursor:
        cursor.execute(_BARS_SQL, params)
        rows = cursor.fetchall()
    return [
        Bar(opened_at=bucket, open=open_, high=high, low=low, close=close, volume=volume)
        for bucket, open_, high, low, close, volume in rows
    ]


def cache_key(symbol: str, timeframe: Timeframe) -> str:
    return f"charts:candles:{symbol.upper()}:{timeframe.key}"


def chart_candles(symbol: str, timeframe: Timeframe) -> list[dict]:
    """`bars` as JSON-ready dicts, cached per (symbol, timeframe) for CACHE_SECONDS."""
    key = cache_key(symbol, timeframe)
    candles = cache.get(key)
    if candles is None:
        candles = [bar.as_json() for bar in bars(symbol, timeframe)]
        cache.set(key, candles, timeout=CACHE_SECONDS)
    return candles


@dataclass(frozen=True)
class DayStats:
    """High, low and volume of the 24 hourly bars up to the newest one (the quote's day)."""

    high: Decimal
    low: Decimal
    volume: Decimal


def day_stats(symbol: str, *, newest: datetime) -> DayStats | None:
    """The 24-hour figures of `symbol` for the day ending with the bar opened at `newest` (a
    Quote's as_of), in one aggregate over at most 24 rows; None without bars."""
    figures = Candle.objects.filter(
        instrument=market_data.instrument_for(symbol),
        bar=market_data.BAR,
        opened_at__gt=newest - timedelta(hours=market_data.QUOTE_HOURS),
        opened_at__lte=newest,
    ).aggregate(high=Max("high"), low=Min("low"), volume=Sum("volume"))
    if figures["high"] is None:
        return None
    return DayStats(high=figures["high"], low=figures["low"], volume=figures["volume"])
