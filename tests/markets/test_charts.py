"""The asset chart's candles: hourly bars aggregated per timeframe in SQL, checked against Python."""

import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from markets import charts
from markets.models import Candle
from tests.factories import MOMENT, CandleFactory

pytestmark = pytest.mark.django_db

PLACES = Decimal("0.000001")


def seed_hours(*, start: datetime, hours: int, instrument: str = "BTC-USDT", seed: int = 7, skip=()) -> list[Candle]:
    """A random walk of hourly bars (some hours missing when `skip` names them)."""
    rng = random.Random(seed)
    price = Decimal("64000")
    rows = []
    for hour in range(hours):
        if hour in skip:
            continue
        open_ = price
        close = (open_ * Decimal(1 + rng.uniform(-0.01, 0.01))).quantize(PLACES)
        high = (max(open_, close) * Decimal(1 + rng.uniform(0, 0.005))).quantize(PLACES)
        low = (min(open_, close) * Decimal(1 - rng.uniform(0, 0.005))).quantize(PLACES)
        volume = Decimal(rng.randint(1, 5000)) / 100
        rows.append(
            Candle(
                instrument=instrument,
                bar="1H",
                opened_at=start + timedelta(hours=hour),
                open=open_,
                high=high,
                low=low,
                close=close,
                volume=volume,
            )
        )
        price = close
    return Candle.objects.bulk_create(rows)


def expected_bars(rows: list[Candle], timeframe: charts.Timeframe) -> list[tuple]:
    """The same aggregation computed directly: open of the first hour, highest high, lowest low,
    close of the last hour and the summed volume, per bucket, over the window ending at the newest."""
    newest = max(row.opened_at for row in rows)
    first_bucket = charts.bucket_start(newest, timeframe) - (timeframe.bars - 1) * timeframe.step
    buckets = defaultdict(list)
    for row in sorted(rows, key=lambda row: row.opened_at):
        start = charts.bucket_start(row.opened_at, timeframe)
        if start >= first_bucket:
            buckets[start].append(row)
    return [
        (
            start,
            hours[0].open,
            max(hour.high for hour in hours),
            min(hour.low for hour in hours),
            hours[-1].close,
            sum(hour.volume for hour in hours),
        )
        for start, hours in sorted(buckets.items())
    ]


def as_tuples(bars: list[charts.Bar]) -> list[tuple]:
    return [(bar.opened_at, bar.open, bar.high, bar.low, bar.close, bar.volume) for bar in bars]


@pytest.mark.parametrize("key", ["1h", "4h", "1d", "1w"])
def test_each_timeframe_aggregates_the_hours_as_a_direct_computation_does(key):
    # Ten weeks of hours from a Wednesday 12:00, with a few hours missing mid-bucket.
    rows = seed_hours(start=MOMENT, hours=24 * 70, skip={5, 6, 100, 101, 102, 500})
    # Another instrument and bars of another size must not leak in.
    seed_hours(start=MOMENT, hours=48, instrument="ETH-USDT", seed=3)
    CandleFactory(instrument="BTC-USDT", bar="1m", opened_at=MOMENT + timedelta(minutes=7), close=Decimal("1"))
    timeframe = charts.timeframe_of(key)

    bars = charts.bars("BTC", timeframe)

    assert as_tuples(bars) == expected_bars(rows, timeframe)
    assert 0 < len(bars) <= timeframe.bars


def test_the_hourly_chart_keeps_the_newest_200_bars_ending_at_the_newest_hour():
    rows = seed_hours(start=MOMENT, hours=300)
    bars = charts.bars("BTC", charts.timeframe_of("1h"))
    assert len(bars) == 200
    assert bars[-1].opened_at == rows[-1].opened_at
    assert bars[0].opened_at == rows[-1].opened_at - timedelta(hours=199)


def test_buckets_start_on_a_utc_grid_of_mondays_midnights_and_four_hours():
    seed_hours(start=datetime(2026, 11, 16, 1, tzinfo=UTC), hours=24 * 15)  # from Monday 01:00
    four_hours = charts.bars("BTC", charts.timeframe_of("4h"))
    days = charts.bars("BTC", charts.timeframe_of("1d"))
    weeks = charts.bars("BTC", charts.timeframe_of("1w"))
    assert {bar.opened_at.hour % 4 for bar in four_hours} == {0}
    assert four_hours[0].opened_at == datetime(2026, 11, 16, 0, tzinfo=UTC)  # the 00:00–04:00 bar, from 01:00
    assert {(bar.opened_at.hour, bar.opened_at.minute) for bar in days} == {(0, 0)}
    assert {bar.opened_at.weekday() for bar in weeks} == {0}
    assert all(bar.opened_at.tzinfo is not None for bar in weeks)


def test_a_symbol_without_candles_has_an_empty_chart():
    assert charts.bars("NOPE", charts.timeframe_of("1d")) == []
    assert charts.chart_candles("NOPE", charts.timeframe_of("1d")) == []


def test_unknown_timeframes_are_refused_and_none_means_hourly():
    assert charts.timeframe_of(None).key == "1h"
    assert charts.timeframe_of("1D").key == "1d"
    with pytest.raises(KeyError):
        charts.timeframe_of("5m")


def test_chart_candles_are_json_numbers_and_cached_per_symbol_and_timeframe(django_assert_num_queries):
    rows = seed_hours(start=MOMENT, hours=10)
    hourly, daily = charts.timeframe_of("1h"), charts.timeframe_of("1d")
    first = charts.chart_candles("BTC", hourly)
    assert first[-1] == {
        "time": int(rows[-1].opened_at.timestamp()),
        "open": float(rows[-1].open),
        "high": float(rows[-1].high),
        "low": float(rows[-1].low),
        "close": float(rows[-1].close),
        "volume": float(rows[-1].volume),
    }
    CandleFactory(opened_at=MOMENT + timedelta(hours=10))
    # Within 30 seconds the same (symbol, timeframe) is answered from the cache, without a query.
    with django_assert_num_queries(0):
        assert charts.chart_candles("BTC", hourly) == first
    # Another timeframe is its own entry, and sees the new bar.
    assert charts.chart_candles("BTC", daily)[-1]["close"] == 64000.0


def test_day_stats_cover_the_24_hours_up_to_the_newest_bar():
    rows = seed_hours(start=MOMENT, hours=48)
    newest = rows[-1].opened_at
    day = rows[-24:]
    stats = charts.day_stats("BTC", newest=newest)
    assert stats.high == max(row.high for row in day)
    assert stats.low == min(row.low for row in day)
    assert stats.volume == sum(row.volume for row in day)
    assert charts.day_stats("NOPE", newest=newest) is None


def test_a_weekly_chart_of_two_years_is_quick_even_before_postgres_has_statistics_of_the_hours():
    # Fresh rows, no ANALYZE: the state after a first backfill. A plan that recomputed the newest
    # hour per row took minutes here; the index range scan takes milliseconds.
    seed_hours(start=MOMENT - timedelta(days=730), hours=24 * 730)
    began = time.perf_counter()
    weeks = charts.bars("BTC", charts.timeframe_of("1w"))
    assert time.perf_counter() - began < 2
    assert len(weeks) == 104
