"""The demo's market feed: the stored hourly candles continue by a random walk, with no API call.

With ORBIT_MARKET_DATA_URL=simulated (ORBIT_DEMO's default) the poll (feed.tasks.poll_market_data,
through feed/prices.py) extends the candles of the discussed and listed assets from each one's newest
stored bar up to the current hour, so prices move and charts continue on a machine that may well be offline. A bar's
move comes from a generator seeded by instrument and hour and starts at the previous close: a rerun
draws the same bars, and a later run continues where the last one stopped.

See docs/market-data.md#the-simulated-market-the-demo.
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from django.db import transaction
from django.utils import timezone

from . import market_data
from .market_data import BAR, BAR_LENGTH, DOLLARS, STORED_PLACES, SYMBOL, CandleRow
from .models import Asset, Candle

# About 2.5% a day, like the seed's majors; one hour never moves more than MAX_MOVE, so a long run
# of the demo drifts but never crashes to zero or explodes.
HOURLY_SIGMA = 0.005
MAX_MOVE = 3 * HOURLY_SIGMA
# A demo database left alone for months catches up only this far; the chart shows the gap.
MAX_CATCH_UP_BARS = 14 * 24


def _places(price: Decimal) -> Decimal:
    """About six significant digits, like the exchange's ticks (and the seed)."""
    places = min(12, max(1, 5 - math.floor(math.log10(price))))
    return Decimal(1).scaleb(-places)


def simulate_bar(*, instrument: str, opened_at: datetime, open_price: Decimal, now: datetime) -> CandleRow:
    """The simulated bar of `instrument` opening at `opened_at`, starting at the previous close."""
    rand = random.Random(f"orbit-simulated-market:{instrument}:{opened_at.isoformat()}")
    move = max(-MAX_MOVE, min(MAX_MOVE, rand.gauss(0.0, HOURLY_SIGMA)))
    high_wick, low_wick = (min(MAX_MOVE, abs(rand.gauss(0.0, HOURLY_SIGMA / 2))) for _ in range(2))
    tick = _places(open_price)
    close = Decimal(float(open_price) * math.exp(move)).quantize(tick, rounding=ROUND_HALF_EVEN)
    close = max(close, tick)
    high = Decimal(float(max(open_price, close)) * math.exp(high_wick)).quantize(tick, rounding=ROUND_CEILING)
    low = Decimal(float(min(open_price, close)) * math.exp(-low_wick)).quantize(tick, rounding=ROUND_FLOOR)
    volume = Decimal(rand.lognormvariate(0.0, 0.6) * 100_000 / float(close)).quantize(STORED_PLACES)
    return CandleRow(
        opened_at=opened_at,
        open=open_price,
        high=max(high, open_price, close),
        low=max(STORED_PLACES, min(low, open_price, close)),
        close=close,
        volume=volume,
        is_closed=opened_at + BAR_LENGTH <= now,
    )


def simulate_candles(*, symbols=(), now: datetime | None = None) -> dict:
    """Extends the stored candles of `symbols` (the discussed ones) and of listed assets with simulated
    bars up to `now`'s hour.

    Assets without any stored bar have no price to start from and are left out. Returns a summary
    like market_data.poll (the Celery result).
    """
    now = now or timezone.now()
    current_hour = now.replace(minute=0, second=0, microsecond=0)
    # Listed assets too: a demo started again a week after its seed has no recent discussion but
    # should still show moving prices.
    symbols = set(symbols) | set(Asset.objects.filter(is_listed=True).values_list("symbol", flat=True))
    instruments = sorted(market_data.instrument_for(symbol) for symbol in symbols - DOLLARS if SYMBOL.match(symbol))
    newest = {
        instrument: (opened_at, close)
        for instrument, opened_at, close in Candle.objects.filter(instrument__in=instruments, bar=BAR)
        .order_by("instrument", "-opened_at")
        .distinct("instrument")
        .values_list("instrument", "opened_at", "close")
    }
    stored = 0
    with transaction.atomic():
        # A bar drawn while its hour was still open is final once the hour is over.
        Candle.objects.filter(
            instrument__in=instruments, bar=BAR, is_closed=False, opened_at__lte=now - BAR_LENGTH
        ).update(is_closed=True)
        for instrument, (last_opened_at, last_close) in newest.items():
            opened_at = max(last_opened_at + BAR_LENGTH, current_hour - (MAX_CATCH_UP_BARS - 1) * BAR_LENGTH)
            price, rows = last_close, []
            while opened_at <= current_hour:
                row = simulate_bar(instrument=instrument, opened_at=opened_at, open_price=price, now=now)
                rows.append(row)
                price, opened_at = row.close, opened_at + BAR_LENGTH
            stored += market_data.store_candles(instrument, rows)
    return {"simulated": True, "instruments": len(newest), "stored": stored}
