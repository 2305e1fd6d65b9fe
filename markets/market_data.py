"""Market data: candles from an OKX v5-compatible REST API, and the prices pages show.

Every asset is priced against USDT from its spot candles (`BTC` → `BTC-USDT`), one-hour bars.

The poll (feed.tasks.poll_market_data, every ORBIT_MARKET_POLL_SECONDS) fetches recent bars of
the assets feed says people are discussing (feed/prices.py) and upserts them by (instrument, bar,
opened_at); pages then
read prices from the database only, never from the API. A down, slow or wrong API costs a poll
its data and a logged warning per instrument, never an exception and never a page.

See docs/market-data.md#the-poll.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

import requests
from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import F, Max, Window
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .models import Candle

logger = logging.getLogger(__name__)

QUOTE = "USDT"
BAR = "1H"
BAR_LENGTH = timedelta(hours=1)
# Dollar stablecoins: priced at 1, never polled.
DOLLARS = frozenset({"USDT", "USDC", "USD", "DAI", "FDUSD", "TUSD", "BUSD"})
SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")

CANDLES_PATH = "/api/v5/market/candles"
HISTORY_PATH = "/api/v5/market/history-candles"
# OKX serves at most 300 recent bars (100 from history) per request.
MAX_LIMIT = 300
HISTORY_LIMIT = 100
# A first poll of an instrument, or one after a long gap, takes ~4 days; later polls only the bars
# since the newest stored one, plus the still-open bar and the one it replaced.
FULL_LIMIT = 100
SMALL_LIMIT = 3
# One poll must fit in its interval: the most-discussed first, at most this many instruments.
MAX_INSTRUMENTS_PER_POLL = 200
# After this many instruments in a row fail to connect or time out, the API is down: the rest
# of the poll is skipped rather than waiting out every timeout.
MAX_CONSECUTIVE_OUTAGES = 3
BACKOFF_FACTOR = 0.25  # urllib3 sleeps 0, 0.5, 1… seconds between retries
BACKOFF_MAX = 2.0
RETRY_AFTER_MAX = 5  # a server asking for longer than this gets the rest of the poll skipped instead
MAX_RESPONSE_BYTES = 1_000_000  # 300 bars are ~40 KB; anything far bigger is not a candle answer
# Prices have 20 integer digits and 12 decimals in the database; a bar outside that is an API
# bug, not a price. Values are rounded to the 12 decimals before they are checked, as stored.
MAX_PRICE = Decimal(10) ** 20
MAX_VOLUME = Decimal(10) ** 28
STORED_PLACES = Decimal("1e-12")
WIDE = Context(prec=60)  # room for 28 integer digits and 12 decimals when rounding
# OKX's first bars are from 2017; a time before Bitcoin is a zero or a misread field.
EARLIEST_BAR = datetime(2009, 1, 1, tzinfo=UTC)
# Quotes: the chart's 24 hourly closes plus the bar 24 hours before the newest for the change.
QUOTE_HOURS = 24
# A quote whose newest bar closed longer ago than this is marked stale; with no bar in the last
# week there is no quote at all.
STALE_AFTER = timedelta(hours=2)
QUOTE_LOOKBACK = timedelta(days=7)
PERCENT = Decimal("0.01")
# ORBIT_MARKET_DATA_URL's value for the demo's simulated feed (markets/simulated_market.py): no API.
SIMULATED = "simulated"


def api_url() -> str:
    """The market-data API's base URL; empty when there is none to call (off, or simulated)."""
    url = settings.ORBIT_MARKET_DATA_URL
    return "" if url == SIMULATED else url


def instrument_for(symbol: str) -> str:
    return f"{symbol.upper()}-{QUOTE}"


@dataclass(frozen=True)
class Quote:
    symbol: str
    last: Decimal
    as_of: datetime
    # Percent change of the last price against the close 24 hours earlier; None without that bar.
    change_24h_percent: Decimal | None
    # Hourly closes of the last 24 hours, oldest first, for the chart.
    closes: tuple[Decimal, ...]

    @property
    def is_stale(self) -> bool:
        return timezone.now() - self.as_of > STALE_AFTER + BAR_LENGTH


@dataclass(frozen=True)
class CandleRow:
    opened_at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    # OKX's "confirm": False while the bar is still open.
    is_closed: bool


class MarketDataError(Exception):
    """The market-data API could not give candles: unreachable, too slow, an error code or a
    malformed answer. The message says which, for the log."""


class MarketDataUnreachable(MarketDataError):
    """Connecting failed or timed out: the API itself is down or slow, not this instrument."""


# --- Reading prices --------------------------------------------------------------------------


def latest_close(symbol: str) -> Decimal | None:
    """The last stored price of `symbol` in USDT; 1 for dollar stablecoins."""
    if symbol.upper() in DOLLARS:
        return Decimal(1)
    return (
        Candle.objects.filter(instrument=instrument_for(symbol), bar=BAR)
        .order_by("-opened_at")
        .values_list("close", flat=True)
        .first()
    )


def latest_closes(symbols) -> dict[str, Decimal]:
    """The last stored price in USDT of each symbol that has one, in one query (latest_close for many
    symbols at once); 1 for dollar stablecoins."""
    symbols = {symbol.upper() for symbol in symbols}
    prices = {symbol: Decimal(1) for symbol in symbols & DOLLARS}
    wanted = {instrument_for(symbol): symbol for symbol in symbols - DOLLARS}
    if wanted:
        rows = (
            Candle.objects.filter(instrument__in=wanted, bar=BAR)
            .order_by("instrument", "-opened_at")
            .distinct("instrument")
            .values_list("instrument", "close")
        )
        prices.update({wanted[instrument]: close for instrument, close in rows})
    return prices


def price_at(symbol: str, moment: datetime) -> Decimal | None:
    """The close of the bar that holds `moment`, or None when no stored bar does."""
    if symbol.upper() in DOLLARS:
        return Decimal(1)
    return (
        Candle.objects.filter(
            instrument=instrument_for(symbol), bar=BAR, opened_at__lte=moment, opened_at__gt=moment - BAR_LENGTH
        )
        .values_list("close", flat=True)
        .first()
    )


def quotes(symbols) -> dict[str, Quote]:
    """Quotes of the given symbols that have recent candles, by upper-case symbol, in one query.

    Symbols without a candle in the last week, dollar stablecoins and malformed symbols are
    simply absent from the answer.
    """
    wanted = {symbol.upper() for symbol in symbols if symbol} - DOLLARS
    by_instrument = {instrument_for(symbol): symbol for symbol in wanted if SYMBOL.match(symbol)}
    if not by_instrument:
        return {}
    # Each instrument's bars from 24 hours before its own newest bar, so a stale instrument still
    # has a quote (shown with its time). The week's bound keeps the window's scan to ~170 rows
    # per instrument on the unique (instrument, bar, opened_at) index however long we have polled.
    rows = (
        Candle.objects.filter(instrument__in=by_instrument, bar=BAR, opened_at__gte=timezone.now() - QUOTE_LOOKBACK)
        .annotate(newest=Window(Max("opened_at"), partition_by=[F("instrument")]))
        .filter(opened_at__gte=F("newest") - timedelta(hours=QUOTE_HOURS))
        .order_by("instrument", "opened_at")
        .values_list("instrument", "opened_at", "close")
    )
    bars: dict[str, dict[datetime, Decimal]] = defaultdict(dict)
    for instrument, opened_at, close in rows:
        bars[instrument][opened_at] = close
    found = {}
    for instrument, closes_by_time in bars.items():
        newest = max(closes_by_time)
        last = closes_by_time[newest]
        day_before = closes_by_time.get(newest - timedelta(hours=QUOTE_HOURS))
        change = None
        if day_before is not None:
            change = ((last - day_before) / day_before * 100).quantize(PERCENT, rounding=ROUND_HALF_EVEN)
        symbol = by_instrument[instrument]
        found[symbol] = Quote(
            symbol=symbol,
            last=last,
            as_of=newest,
            change_24h_percent=change,
            # Only the bars after the day-before one: 24 closes when none is missing.
            closes=tuple(
                close
                for opened_at, close in sorted(closes_by_time.items())
                if opened_at > newest - timedelta(hours=QUOTE_HOURS)
            ),
        )
    return found


# --- Fetching candles ------------------------------------------------------------------------


def _session() -> requests.Session:
    retry = Retry(
        total=settings.ORBIT_MARKET_DATA_RETRIES,
        # A timed-out read is tried once more at most: a slow API is likely to stay slow, and each
        # attempt costs a whole timeout of the poll's interval.
        read=min(1, settings.ORBIT_MARKET_DATA_RETRIES),
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=BACKOFF_MAX,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers["Accept"] = "application/json"
    return session


def _timeout() -> tuple[float, float]:
    read = settings.ORBIT_MARKET_DATA_TIMEOUT
    return (min(read, 3.05), read)


def _get(session: requests.Session, path: str, params: dict) -> list:
    """The `data` list of one OKX answer, or MarketDataError saying what went wrong."""
    url = f"{api_url()}{path}"
    connect_timeout, read_timeout = _timeout()
    try:
        with session.get(url, params=params, timeout=(connect_timeout, read_timeout), stream=True) as response:
            # The read timeout is per socket read: this bounds, chunk by chunk, a body that trickles in.
            deadline = time.monotonic() + 2 * read_timeout
            body = bytearray()
            for chunk in response.iter_content(chunk_size=8 * 1024):
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise MarketDataError(f"answer larger than {MAX_RESPONSE_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise MarketDataUnreachable("answer too slow to arrive")
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise MarketDataUnreachable(f"unreachable: {type(exc).__name__}: {exc}") from None
    except requests.RequestException as exc:  # retries exhausted on 5xx/429, bad URL, broken body
        raise MarketDataError(f"request failed: {type(exc).__name__}: {exc}") from None
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise MarketDataError(f"HTTP {response.status_code}, not JSON") from None
    if not isinstance(payload, dict):
        raise MarketDataError(f"HTTP {response.status_code}, JSON is not an object")
    code = payload.get("code")
    if code is not None and str(code) != "0":
        raise MarketDataError(f"OKX error {str(code)[:16]}: {str(payload.get('msg', ''))[:200]}")
    if response.status_code != 200:
        raise MarketDataError(f"HTTP {response.status_code}")
    if code is None or not isinstance(payload.get("data"), list):
        raise MarketDataError("answer has no code and data list")
    return payload["data"]


def _parse_row(raw, *, now: datetime) -> CandleRow:
    """One OKX bar [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]; ValueError says why not."""
    if not isinstance(raw, list) or len(raw) < 6:
        raise ValueError("not a list of at least six fields")
    try:
        millis = int(raw[0])
        opened_at = datetime.fromtimestamp(millis / 1000, tz=UTC)
        numbers = [Decimal(str(value)) for value in raw[1:6]]
    except (TypeError, ValueError, InvalidOperation, OverflowError, OSError):
        raise ValueError("unreadable time or number") from None
    if not all(value.is_finite() and abs(value) < MAX_VOLUME for value in numbers):
        raise ValueError("not a finite number in range")
    open_, high, low, close, volume = (
        value.quantize(STORED_PLACES, rounding=ROUND_HALF_EVEN, context=WIDE) for value in numbers
    )
    prices = (open_, high, low, close)
    if not EARLIEST_BAR <= opened_at <= now + BAR_LENGTH:
        raise ValueError(f"time {millis} not a past bar")
    if not all(0 < value < MAX_PRICE for value in prices):
        raise ValueError("price not positive or out of range")
    if not (low <= min(open_, close) and max(open_, close) <= high):
        raise ValueError("open/close outside low..high")
    if not 0 <= volume < MAX_VOLUME:
        raise ValueError("volume negative or out of range")
    confirm = str(raw[8]) if len(raw) > 8 else "1"
    return CandleRow(
        opened_at=opened_at, open=open_, high=high, low=low, close=close, volume=volume, is_closed=confirm != "0"
    )


def _parse(instrument: str, data: list) -> list[CandleRow]:
    now = timezone.now()
    rows = []
    for index, raw in enumerate(data):
        try:
            rows.append(_parse_row(raw, now=now))
        except ValueError as exc:
            logger.warning("Market data: skipped bar %s of %s: %s (%.120r)", index, instrument, exc, raw)
    return rows


def fetch_candles(
    instrument: str, *, bar: str = BAR, limit: int = FULL_LIMIT, session: requests.Session | None = None
) -> list[CandleRow]:
    """The newest `limit` bars of `instrument`, newest first, bad bars skipped (and logged).

    Raises MarketDataError when the API gives no usable answer.
    """
    params = {"instId": instrument, "bar": bar, "limit": str(max(1, min(limit, MAX_LIMIT)))}
    if session is not None:
        return _parse(instrument, _get(session, CANDLES_PATH, params))
    with _session() as own:
        return _parse(instrument, _get(own, CANDLES_PATH, params))


def store_candles(instrument: str, rows: list[CandleRow], *, bar: str = BAR) -> int:
    """Upserts the bars (a bar still open is overwritten by later polls); returns how many were written."""
    by_time = {}
    for row in rows:
        if not (0 < row.low <= min(row.open, row.close) and max(row.open, row.close) <= row.high):
            logger.warning("Market data: not storing insane bar of %s at %s", instrument, row.opened_at)
            continue
        by_time[row.opened_at] = row  # one row per bar: Postgres refuses to upsert a key twice
    # Time order, so two polls upserting the same bars lock them in the same order (no deadlock).
    candles = [
        Candle(
            instrument=instrument,
            bar=bar,
            opened_at=row.opened_at,
            open=row.open,
            high=row.high,
            low=row.low,
            close=row.close,
            volume=row.volume,
            is_closed=row.is_closed,
        )
        for _, row in sorted(by_time.items())
    ]
    if candles:
        Candle.objects.bulk_create(
            candles,
            update_conflicts=True,
            unique_fields=["instrument", "bar", "opened_at"],
            update_fields=["open", "high", "low", "close", "volume", "is_closed"],
        )
    return len(candles)


# --- Polling ---------------------------------------------------------------------------------


def _limit_after(newest: datetime | None, now: datetime) -> int:
    """How many recent bars to ask for: all of ~4 days when we have none (or only older ones),
    else those since the newest stored bar, which is re-read because it may have been open."""
    if newest is None or now - newest > FULL_LIMIT * BAR_LENGTH:
        return FULL_LIMIT
    missed = int((now - newest) / BAR_LENGTH)
    return min(FULL_LIMIT, max(SMALL_LIMIT, missed + 2))


def poll(symbols: list[str], *, now: datetime | None = None) -> dict:
    """Fetches and stores recent candles of `symbols` (most wanted first); never raises for the API.

    Returns a JSON-serialisable summary (the Celery result): instruments polled, bars stored,
    instruments that failed and instruments skipped once the API looked down or time ran out.
    """
    if not api_url():
        return {"disabled": True}
    now = now or timezone.now()
    wanted = [symbol for symbol in symbols if symbol not in DOLLARS and SYMBOL.match(symbol)]
    instruments = [instrument_for(symbol) for symbol in wanted[:MAX_INSTRUMENTS_PER_POLL]]
    newest = dict(
        Candle.objects.filter(instrument__in=instruments, bar=BAR)
        .values_list("instrument")
        .annotate(newest=Max("opened_at"))
    )
    # Leave a fifth of the interval spare so the next poll does not queue behind this one.
    deadline = time.monotonic() + 0.8 * settings.ORBIT_MARKET_POLL_SECONDS
    stored, failed, skipped = 0, [], []
    outages = 0
    with _session() as session:
        for position, instrument in enumerate(instruments):
            if outages >= MAX_CONSECUTIVE_OUTAGES or time.monotonic() > deadline:
                skipped = instruments[position:]
                logger.warning(
                    "Market data: skipped %s instruments (%s)",
                    len(skipped),
                    "API unreachable" if outages else "out of time",
                )
                break
            try:
                rows = fetch_candles(instrument, limit=_limit_after(newest.get(instrument), now), session=session)
            except MarketDataUnreachable as exc:
                outages += 1
                failed.append(instrument)
                logger.warning("Market data: no candles for %s: %s", instrument, exc)
                continue
            except MarketDataError as exc:
                outages = 0
                failed.append(instrument)
                logger.warning("Market data: no candles for %s: %s", instrument, exc)
                continue
            outages = 0
            try:
                # A savepoint: bars the checks above let through and the database refuses cost
                # this instrument, not the poll (or a caller's transaction).
                with transaction.atomic():
                    stored += store_candles(instrument, rows)
            except (DataError, IntegrityError) as exc:
                failed.append(instrument)
                logger.warning("Market data: could not store candles of %s: %s", instrument, exc)
    return {"instruments": len(instruments), "stored": stored, "failed": failed, "skipped": skipped}


def backfill(symbol: str, *, since: datetime, max_pages: int = 50) -> int:
    """Stores the hourly bars of `symbol` from `since` to now from the history endpoint, paging
    back with `after` (OKX: bars before this time); returns how many were written.

    For graders that need bars older than the poll keeps (a call made before its asset was
    polled). Raises MarketDataError when the API fails, so a caller can retry later rather than
    conclude there is no market.
    """
    if not api_url() or symbol.upper() in DOLLARS:
        return 0
    instrument = instrument_for(symbol)
    written, after = 0, None
    with _session() as session:
        for _ in range(max_pages):
            params = {"instId": instrument, "bar": BAR, "limit": str(HISTORY_LIMIT)}
            if after is not None:
                params["after"] = str(after)
            rows = _parse(instrument, _get(session, HISTORY_PATH, params))
            if not rows:
                break
            written += store_candles(instrument, rows)
            oldest = min(row.opened_at for row in rows)
            next_after = int(oldest.timestamp() * 1000)
            if oldest <= since or next_after == after:
                break
            after = next_after
    return written
