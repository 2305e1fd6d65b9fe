"""A creator's trading performance on the Performance tab, from their exchange fills only.

Nobody enters these figures: they are rebuilt from the Fill rows the exchange sent (and market
prices for positions still open), so the creator cannot edit them.

Method.

1. Replay. The user's fills are replayed in time order, per instrument, as average-cost positions
   that may be long or short. A fill on the position's side (or on no position) opens or adds: the
   average entry becomes the quantity-weighted average of the old entry and the fill's price, and
   the fill's fee joins the position's opening fees. A fill on the other side reduces it and
   realises, for the quantity q it closes,

       pnl = q * (price - average entry) * direction - the fill's fee - q / held * opening fees

   where direction is +1 for a long and -1 for a short, and the opening fees are those of the
   quantity still held. A fill larger than the position closes it and opens the rest the other way,
   its fee split in proportion. Spot can only sell what the history bought: a spot sell beyond the
   position is left out (it sells coins bought before the history or moved in), fee included.
   Fees are in the quote currency: a fee charged in the base asset counts as fee * the fill's
   price; a fee in any third currency is left out.
2. Windows. For N = 7, 30 and 90 days ending now, the trades are the reducing fills of the window;
   the cost basis of a trade is q * the average entry it closed. Positions opened before the
   window count with their entry: the replay always starts from the user's first fill, the window
   only selects which realisations count. Positions still open now are valued at the market's
   latest price of their asset and add one unrealised point, the sum of their pnl (less their
   opening fees) and of their cost (quantity * average entry); a position without a price adds
   nothing.
3. Figures. PnL % = total pnl / total cost * 100, over the trades and the unrealised point.
   Win rate = trades with pnl > 0 / trades * 100. Max drawdown % = the largest fall of the
   cumulative pnl (the trades in time order, then the unrealised point) from its running peak, the
   peak starting at 0, divided by the total cost * 100. Every figure has 2 decimals, rounded half
   to even, and is none (shown "—") when the window has no trade.

Scope. Spot and perpetual fills quoted in a dollar stablecoin (USDT, USDC, USD) count, so every
amount is in dollars and the percentages add up across instruments. Options (premiums priced in the
underlying coin) and earn are left out. Perpetuals are netted per instrument (one position per
instrument, as in the exchange's net mode).

Speed. Two queries: all the user's counted fills (through the (user, filled_at) index; a lifetime of
fills, which is fine at today's volumes: 10,000 fills load and replay in about 80 ms, 35 ms of it
the replay), then the latest prices of the assets still held. The result is cached for
CACHE_SECONDS per user; the exchange webhook calls `forget` after storing a user's new fills.

See docs/exchange.md#performance.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from django.core.cache import cache
from django.utils import timezone

from orbit.caching import cached

from . import market_data
from .models import Fill, TradingProfile

logger = logging.getLogger(__name__)

WINDOWS = (7, 30, 90)
CACHE_SECONDS = 10 * 60
COUNTED_TYPES = (TradingProfile.Instrument.SPOT, TradingProfile.Instrument.PERPETUAL)
PRECISION = 50  # digits for the exact sums; only the figures are rounded
CENT = Decimal("0.01")
REPLAYED = ("filled_at", "instrument", "instrument_type", "asset", "quote", "side", "quantity", "price")
REPLAYED += ("fee", "fee_currency")


@dataclass(frozen=True)
class Window:
    days: int
    trades: int
    pnl_percent: Decimal | None
    win_rate: Decimal | None
    max_drawdown_percent: Decimal | None


@dataclass(frozen=True)
class Performance:
    as_of: datetime
    windows: tuple[Window, ...]

    @property
    def has_trades(self) -> bool:
        return any(window.trades for window in self.windows)


@dataclass(frozen=True)
class Realisation:
    at: datetime
    pnl: Decimal
    cost: Decimal


@dataclass
class _Position:
    spot: bool
    quantity: Decimal = Decimal(0)  # signed: above 0 long, below 0 short
    average: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)  # opening fees of the quantity held, in the quote currency


@dataclass
class Replay:
    realisations: list[Realisation] = field(default_factory=list)
    positions: dict[str, _Position] = field(default_factory=dict)
    assets: dict[str, str] = field(default_factory=dict)  # instrument -> base asset


def _fee_in_quote(fill) -> Decimal:
    currency = (fill.fee_currency or fill.quote).upper()
    if currency == fill.asset.upper():
        return fill.fee * fill.price
    if currency == fill.quote.upper() or (
        currency in market_data.DOLLARS and fill.quote.upper() in market_data.DOLLARS
    ):
        return fill.fee
    return Decimal(0)


def replay(fills) -> Replay:
    """Realisations and open positions from fills in time order (see the module docstring, step 1)."""
    result = Replay()
    with localcontext(prec=PRECISION):
        for fill in fills:
            instrument = fill.instrument.upper()
            position = result.positions.setdefault(
                instrument, _Position(spot=fill.instrument_type == TradingProfile.Instrument.SPOT)
            )
            result.assets[instrument] = fill.asset.upper()
            direction = 1 if fill.side == Fill.Side.BUY else -1
            fee = _fee_in_quote(fill)
            remaining = fill.quantity
            if position.quantity and (position.quantity > 0) != (direction > 0):
                held = abs(position.quantity)
                closed = min(remaining, held)
                opening_fees = position.fees * closed / held
                closing_fee = fee * closed / fill.quantity
                pnl = closed * (fill.price - position.average) * -direction - closing_fee - opening_fees
                result.realisations.append(Realisation(at=fill.filled_at, pnl=pnl, cost=closed * position.average))
                position.quantity += direction * closed
                position.fees -= opening_fees
                remaining -= closed
                if not position.quantity:
                    position.average = position.fees = Decimal(0)
            if not remaining or (position.spot and direction < 0):
                continue  # nothing left, or a spot sell of coins the history never bought
            held = abs(position.quantity)
            position.average = (held * position.average + remaining * fill.price) / (held + remaining)
            position.quantity += direction * remaining
            position.fees += fee * remaining / fill.quantity
    return result


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    with localcontext(prec=PRECISION):
        return (part / whole * 100).quantize(CENT, rounding=ROUND_HALF_EVEN)


def window_figures(days: int, *, realisations: list[Realisation], unrealised: Realisation | None, now) -> Window:
    """Step 2 and 3 of the method for one window ending `now`."""
    start = now - timedelta(days=days)
    trades = [r for r in realisations if start < r.at <= now]
    if not trades:
        return Window(days=days, trades=0, pnl_percent=None, win_rate=None, max_drawdown_percent=None)
    points = trades + ([unrealised] if unrealised is not None else [])
    with localcontext(prec=PRECISION):
        total_pnl = sum((point.pnl for point in points), Decimal(0))
        total_cost = sum((point.cost for point in points), Decimal(0))
        cumulative = peak = drawdown = Decimal(0)
        for point in points:
            cumulative += point.pnl
            peak = max(peak, cumulative)
            drawdown = max(drawdown, peak - cumulative)
    wins = sum(1 for trade in trades if trade.pnl > 0)
    return Window(
        days=days,
        trades=len(trades),
        pnl_percent=_percent(total_pnl, total_cost),
        win_rate=_percent(Decimal(wins), Decimal(len(trades))),
        max_drawdown_percent=_percent(drawdown, total_cost),
    )


def unrealised_point(result: Replay, *, prices: dict[str, Decimal], now) -> Realisation | None:
    pnl = cost = Decimal(0)
    priced = False
    with localcontext(prec=PRECISION):
        for instrument, position in result.positions.items():
            price = prices.get(result.assets[instrument])
            if not position.quantity or price is None:
                continue
            held = abs(position.quantity)
            direction = 1 if position.quantity > 0 else -1
            pnl += held * (price - position.average) * direction - position.fees
            cost += held * position.average
            priced = True
    return Realisation(at=now, pnl=pnl, cost=cost) if priced else None


def compute(*, user_id: int, now: datetime) -> Performance:
    fills = (
        Fill.objects.filter(
            user_id=user_id,
            instrument_type__in=COUNTED_TYPES,
            quote__in=sorted(market_data.DOLLARS),
            filled_at__lte=now,
        )
        .order_by("filled_at", "id")
        .values_list(*REPLAYED, named=True)
    )
    result = replay(fills)
    held = {result.assets[instrument] for instrument, position in result.positions.items() if position.quantity}
    prices = market_data.latest_closes(held) if held else {}
    unrealised = unrealised_point(result, prices=prices, now=now)
    windows = tuple(
        window_figures(days, realisations=result.realisations, unrealised=unrealised, now=now) for days in WINDOWS
    )
    return Performance(as_of=now, windows=windows)


# --- Cache --------------------------------------------------------------------------------
# Each user's figures are cached under a generation that `forget` replaces. Deleting the entry would
# not be enough: a page that began computing before the new fills were committed would store its
# stale figures after the delete, and they would stand for CACHE_SECONDS; under a new generation the
# next reader never looks at them.


def _generation_key(user_id: int) -> str:
    return f"performance-generation:{user_id}"


def _generation(user_id: int) -> str:
    try:
        return cache.get(_generation_key(user_id)) or "0"
    except Exception as exc:
        logger.warning("Cache unreachable for performance of %s (%s)", user_id, type(exc).__name__)
        return "0"


def performance_of(*, user, now: datetime | None = None) -> Performance:
    """The user's performance now (cached for CACHE_SECONDS), or at `now` (computed, not cached)."""
    if now is not None:
        return compute(user_id=user.pk, now=now)
    key = f"performance:{user.pk}:{_generation(user.pk)}"
    return cached(key, lambda: compute(user_id=user.pk, now=timezone.now()), timeout=CACHE_SECONDS)


def forget(user_ids) -> None:
    """Drop the cached performance of these users; the next read recomputes it from their fills."""
    # The generation outlives every entry stored under it, so an old generation never comes back.
    generations = {_generation_key(user_id): uuid.uuid4().hex for user_id in set(user_ids)}
    if not generations:
        return
    try:
        cache.set_many(generations, timeout=CACHE_SECONDS * 6 * 24)
    except Exception as exc:
        logger.warning("Cache unreachable; performance of %s not forgotten (%s)", sorted(user_ids), type(exc).__name__)


def is_linked(user) -> bool:
    """Whether the user has linked an exchange account (the tab says so when they have not)."""
    return TradingProfile.objects.filter(user=user, exchange_uid__isnull=False).exclude(exchange_uid="").exists()


def is_public(user, viewer) -> bool:
    """Whether `viewer` may see `user`'s performance figures: the owner always; anyone else only
    when the owner opted in (Profile.show_performance). Every page and API answer showing the
    figures asks this one function."""
    if viewer is not None and viewer.is_authenticated and viewer.pk == user.pk:
        return True
    profile = getattr(user, "profile", None)
    return profile is not None and profile.show_performance
