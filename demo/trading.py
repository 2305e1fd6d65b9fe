"""Exchange data, so that prices, verified trade cards, graded calls, the Performance tab and
disclosures work offline: hourly candles, trade cards and calls on posts, fills of linked accounts,
and what the exchange integration makes of them (verified cards, graded calls, rebuilt profiles).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db.models import Case, Count, Exists, OuterRef, Subquery, Value, When

from demo import sampling
from demo.copy_writer import CopyWriter, csv_lines, epoch_ms, int_texts, timestamp_texts
from demo.everyday_trading import MAKER, REBATE, EverydayTradingGenerator, FillBatch
from demo.parameters import (
    BACKED_CARD_SHARE,
    CALL_HORIZON_DAYS,
    CALL_SHARE,
    CANDLE_DAYS,
    CARD_CLOSED_SHARE,
    CARD_ENTRY_BAND,
    CARD_FILL_SPREAD,
    CENT,
    DAY,
    DEMO_USERNAME,
    DISCLOSED_DAYS,
    DISCLOSED_POST_SHARE,
    FEE_UNIT,
    HOUR,
    MAKER_FEE,
    MAKER_REBATE,
    MINUTE,
    PERPETUAL_FILL_SHARE,
    POST_TYPES,
    SECOND,
    TAKER_FEE,
    TRADE_CARD_SHARE,
)
from demo.tables import ASSETS
from feed.calls import grade_due_calls
from feed.models import Call, Post, TradeCard
from feed.verification import verify_trade_card
from markets.exchange import refresh_trading_profiles
from markets.market_data import BAR, DOLLARS, QUOTE
from markets.models import Candle, Fill, TradingProfile

# How a trade card's post reads decides its instrument and side (a "short" is a perpetual short).
SHORT_RE = re.compile(r"\bshort\b|空单|做空", re.IGNORECASE)
PERPETUAL_RE = re.compile(r"\bperps?\b|leverage|\b\d+x\b|合约|杠杆|倍", re.IGNORECASE)
SPOT_RE = re.compile(r"\bspot\b|\bgrid\b|\bDCA\b|现货|网格|定投", re.IGNORECASE)


def _card_shape(text: str, hashtags: str, *, guess_perpetual: bool) -> tuple[bool, bool]:
    """(perpetual, short) of a trade card, as its post's text reads, else as its hashtags do."""
    if SHORT_RE.search(text):
        return True, True
    for words in (text, hashtags):
        if PERPETUAL_RE.search(words):
            return True, False
        if SPOT_RE.search(words):
            return False, False
    return guess_perpetual, False


class TradingGenerator(EverydayTradingGenerator):
    """Candles, trade cards, calls and fills (a part of DemoGenerator)."""

    def _bar(self, ms) -> np.ndarray:
        """Index of the hourly candle that holds each moment."""
        return np.clip((np.asarray(ms, dtype=np.int64) - self.candle_first_ms) // HOUR, 0, self.n_bars - 1)

    def _round_prices(self, values: np.ndarray, assets: np.ndarray) -> np.ndarray:
        """Prices rounded to each asset's tick (rounding keeps their order, so a price drawn between a
        bar's low and high stays there)."""
        scale = 10.0 ** self.price_places[assets]
        return np.rint(values * scale) / scale

    def _price_text(self, value: float, asset: int) -> str:
        return f"{value:.{self.price_places[asset]}f}"

    def _close_text(self, asset: int, bar: int) -> str:
        return self.stored_close_text.get((asset, bar)) or self._price_text(self.candle_close[asset, bar], asset)

    def _generate_candles(self) -> None:
        rng = self._rng("candles")
        anchor = self.anchor_ms
        self.candle_first_ms = (anchor // HOUR - CANDLE_DAYS * 24) * HOUR
        # With an anchor inside an hour, the last bar is still open at the anchor.
        self.n_bars = n_bars = int(-(-(anchor - self.candle_first_ms) // HOUR))
        n_assets = len(ASSETS)
        self.candle_assets = [k for k, symbol in enumerate(self.asset_symbols) if symbol not in DOLLARS]
        # Prices to about six significant digits, like the exchange's ticks (BTC 0.1, ETH 0.01, PEPE
        # 1e-10), and quantities in steps worth well under a cent (BTC 1e-8, PEPE whole tokens).
        magnitude = np.floor(sampling.log10(self.asset_prices)).astype(np.int64)
        self.price_places = np.clip(5 - magnitude, 1, 12)
        self.quantity_places = np.clip(4 + magnitude, 0, 8)

        # Majors move about 2.5% a day, the smallest caps about twice as much.
        hourly = 0.004 + 0.006 / np.sqrt(self.asset_weights)
        returns = rng.standard_normal((n_assets, n_bars)) * hourly[:, None]
        log_close = np.cumsum(returns, axis=1)
        close = self.asset_prices[:, None] * sampling.exp(log_close - log_close[:, -1:])
        opens = np.concatenate([close[:, :1] * sampling.exp(-returns[:, :1]), close[:, :-1]], axis=1)
        wicks = np.abs(rng.standard_normal((2, n_assets, n_bars))) * 0.6 * hourly[:, None]
        high = np.maximum(opens, close) * sampling.exp(wicks[0])
        low = np.minimum(opens, close) * sampling.exp(-wicks[1])
        dollars = (1e6 * self.asset_weights)[:, None] * rng.lognormal(0.0, 0.6, size=(n_assets, n_bars))

        stored = self._stored_candles()
        for asset, bars in stored.items():
            # Meet the first stored bar, so the walk joins it without a jump.
            first_bar, (first_open, *_prices) = bars[0]
            factor = float(first_open) / opens[asset, first_bar]
            for prices in (opens, high, low, close):
                prices[asset] *= factor
        scale = 10.0 ** self.price_places[:, None]
        self.candle_open, self.candle_high, self.candle_low, self.candle_close = (
            np.rint(prices * scale) / scale for prices in (opens, high, low, close)
        )
        self.candle_volume = dollars / close
        self.candle_stored = np.zeros((n_assets, n_bars), bool)
        self.stored_close_text: dict[tuple[int, int], str] = {}
        for asset, bars in stored.items():
            for bar, (open_, high_, low_, close_) in bars:
                self.candle_open[asset, bar], self.candle_high[asset, bar] = float(open_), float(high_)
                self.candle_low[asset, bar], self.candle_close[asset, bar] = float(low_), float(close_)
                self.candle_stored[asset, bar] = True
                self.stored_close_text[asset, bar] = f"{close_:f}"

    def _stored_candles(self) -> dict[int, list[tuple[int, tuple[Decimal, ...]]]]:
        """Bars of the demo's range already stored (an earlier seed, or the live poll), by asset in time
        order: they are kept as they are, and what the seed prices is priced from them."""
        instruments = {f"{self.asset_symbols[k]}-{QUOTE}": k for k in self.candle_assets}
        first = datetime.fromtimestamp(self.candle_first_ms / 1000, UTC)
        rows = (
            Candle.objects.filter(
                instrument__in=instruments,
                bar=BAR,
                opened_at__gte=first,
                opened_at__lt=first + timedelta(hours=self.n_bars),
            )
            .order_by("instrument", "opened_at")
            .values_list("instrument", "opened_at", "open", "high", "low", "close")
        )
        stored: dict[int, list] = {}
        for instrument, opened_at, *prices in rows:
            offset = epoch_ms(opened_at) - self.candle_first_ms
            if offset % HOUR == 0:
                stored.setdefault(instruments[instrument], []).append((offset // HOUR, tuple(prices)))
        return stored

    def _write_candles(self, writer: CopyWriter) -> None:
        base = self.next_ids[Candle._meta.db_table]
        opened_ms = self.candle_first_ms + np.arange(self.n_bars, dtype=np.int64) * HOUR
        opened = timestamp_texts(opened_ms)
        closed = ["t" if at + HOUR <= self.anchor_ms else "f" for at in opened_ms.tolist()]
        rows = []
        for asset in self.candle_assets:
            instrument = f"{self.asset_symbols[asset]}-{QUOTE}"
            places = int(self.price_places[asset])
            opens, highs, lows, closes = (
                [f"{value:.{places}f}" for value in prices[asset].tolist()]
                for prices in (self.candle_open, self.candle_high, self.candle_low, self.candle_close)
            )
            volumes = [f"{value:.4f}" for value in self.candle_volume[asset].tolist()]
            for bar in np.flatnonzero(~self.candle_stored[asset]).tolist():
                rows.append(
                    f"{base + len(rows)},{instrument},{BAR},{opened[bar]},{opens[bar]},{highs[bar]},"
                    f"{lows[bar]},{closes[bar]},{volumes[bar]},{closed[bar]}"
                )
        writer.copy(
            Candle._meta.db_table,
            ["id", "instrument", "bar", "opened_at", "open", "high", "low", "close", "volume", "is_closed"],
            csv_lines(rows),
        )

    def _plan_trade_cards(self) -> None:
        """Which trade_share posts carry a card, when and at what price the author entered, and whether
        the author's fills back the card."""
        rng = self._rng("trade-cards")
        shares = self.post_type == POST_TYPES.index("trade_share")
        cards = np.flatnonzero(shares & (rng.random(self.n_posts) < TRADE_CARD_SHARE))
        asset, posted = self.post_primary[cards], self.post_created[cards]
        # The post quotes the entry as the price of the moment, so the entry is within CARD_ENTRY_BAND
        # of the close of the post's bar, and a price the market traded at in the hour of the entry:
        # 1 to 24 hours before posting, with ten minutes to spare for the rest of the order to fill,
        # drawn again (a few times) while that hour never came near the post's price.
        close = self.candle_close[asset, self._bar(posted)]
        band_low, band_high = close * (1 - CARD_ENTRY_BAND), close * (1 + CARD_ENTRY_BAND)
        entered = posted - rng.integers(HOUR + 10 * MINUTE, DAY, size=len(cards))
        for _draw in range(8):
            bar = self._bar(entered)
            far = (self.candle_low[asset, bar] > band_high) | (self.candle_high[asset, bar] < band_low)
            if not far.any():
                break
            entered[far] = posted[far] - rng.integers(HOUR + 10 * MINUTE, DAY, size=int(far.sum()))
        bar = self._bar(entered)
        low = np.maximum(self.candle_low[asset, bar], band_low)
        high = np.minimum(self.candle_high[asset, bar], band_high)
        near = low <= high  # a card whose author's day never traded near the post's price is left out
        cards, asset, entered, low, high = cards[near], asset[near], entered[near], low[near], high[near]
        size = len(cards)
        self.card_post, self.card_asset, self.card_entered = cards, asset, entered
        self.card_entry = self._round_prices(low + rng.random(size) * (high - low), asset)
        self.card_backed = (rng.random(size) < BACKED_CARD_SHARE) & self.linked[self.post_author[cards]]

    def _shape_trade_cards(self, leverage: np.ndarray) -> None:
        """Instrument, side and leverage of each card, as its post reads: a short or a leveraged trade
        is a perpetual, a spot or grid trade a spot buy, anything else either."""
        rng = self._rng("trade-card-shapes")
        guess_perpetual = rng.random(len(self.card_post)) < PERPETUAL_FILL_SHARE
        shapes = [
            _card_shape(*self.bodies[post].rsplit("\n\n", 1), guess_perpetual=guess)  # text, hashtags
            for post, guess in zip(self.card_post.tolist(), guess_perpetual.tolist(), strict=True)
        ]
        self.card_perpetual = np.array([perpetual for perpetual, _short in shapes], dtype=bool)
        self.card_short = np.array([short for _perpetual, short in shapes], dtype=bool)
        self.card_leverage = np.where(self.card_perpetual, leverage[self.card_post], 1)

    def _plan_calls(self) -> None:
        """A call on the asset an analysis or trade_share post is about, for about CALL_SHARE of them."""
        rng = self._rng("calls")
        n = self.n_posts
        primary_ids = np.array([self.asset_ids[symbol] for symbol in self.asset_symbols])[self.post_primary]
        pairs = np.array(self.post_asset_pairs, dtype=np.int64).reshape(-1, 2)
        self.post_names_primary = np.zeros(n, bool)
        self.post_names_primary[pairs[pairs[:, 1] == primary_ids[pairs[:, 0]], 0]] = True
        kinds = np.isin(self.post_type, [POST_TYPES.index("analysis"), POST_TYPES.index("trade_share")])
        calls = np.flatnonzero(kinds & self.post_names_primary & (rng.random(n) < CALL_SHARE))
        size = len(calls)
        asset = self.post_primary[calls]
        bar = self._bar(self.post_created[calls])
        up = rng.random(size) < 0.6
        card_of_post = np.full(n, -1)
        card_of_post[self.card_post] = np.arange(len(self.card_post))
        card = card_of_post[calls]
        up[card >= 0] = ~self.card_short[card[card >= 0]]  # a post's call goes its trade card's way
        distance = 0.03 + 0.12 * rng.random(size) ** 2  # 3% to 15% away, mostly under 8%
        entry = self.candle_close[asset, bar]
        self.call_post, self.call_asset, self.call_up = calls, asset, up
        self.call_target = self._round_prices(entry * np.where(up, 1 + distance, 1 - distance), asset)
        self.call_entry_text = [self._close_text(int(a), int(b)) for a, b in zip(asset, bar, strict=True)]
        self.call_horizon = rng.choice(CALL_HORIZON_DAYS, size=size).astype(np.int64) * DAY

    def _write_trade_cards(self, writer: CopyWriter) -> None:
        rows = []
        for k, post in enumerate(self.card_post.tolist()):
            asset = int(self.card_asset[k])
            perpetual, short = self.card_perpetual[k], self.card_short[k]
            instrument = f"{self.asset_symbols[asset]}-{QUOTE}{'-SWAP' if perpetual else ''}"
            side = ((TradeCard.Side.SHORT if short else TradeCard.Side.LONG) if perpetual else TradeCard.Side.BUY).value
            rows.append(
                f"{self.post_base + post},{instrument},{side},{self._price_text(self.card_entry[k], asset)},"
                f"{int(self.card_leverage[k])}"
            )
        writer.copy(
            TradeCard._meta.db_table, ["post_id", "instrument", "side", "entry_price", "leverage"], csv_lines(rows)
        )

    def _write_calls(self, writer: CopyWriter) -> None:
        made = self.post_created[self.call_post]
        made_text, horizon_text = timestamp_texts(made), timestamp_texts(made + self.call_horizon)
        up, down = Call.Direction.UP.value, Call.Direction.DOWN.value
        rows = []
        for k, post in enumerate(self.call_post.tolist()):
            asset = int(self.call_asset[k])
            rows.append(
                f"{self.post_base + post},{self.user_base + self.post_author[post]},"
                f"{self.asset_ids[self.asset_symbols[asset]]},{up if self.call_up[k] else down},"
                f"{self._price_text(self.call_target[k], asset)},{self.call_entry_text[k]},{made_text[k]},"
                f"{horizon_text[k]},{Call.Status.OPEN.value}"
            )
        writer.copy(
            Call._meta.db_table,
            [
                "post_id", "author_id", "asset_id", "direction", "target_price", "entry_price", "made_at",
                "horizon_at", "status",
            ],
            csv_lines(rows),
        )  # fmt: skip

    def _generate_fills(self) -> None:
        """Fills of linked accounts: the everyday trading of every account whose profile says it trades
        and of the demo reader (demo.everyday_trading), the fills behind the backed trade cards, and
        trades around the traders' own posts (so disclosures show)."""
        rng = self._rng("fills")
        trading = self._plan_everyday_trading(self._rng("fill-weeks"))
        self.trades_perpetual = np.array(
            [TradingProfile.Instrument.PERPETUAL in kinds for kinds in self.instruments], dtype=bool
        )
        batches = [
            self._everyday_fills(rng),
            *self._card_fills(rng),
            self._disclosed_fills(rng, trading),
        ]
        if self.create_fixed and self.demo_linked:
            batches.append(self._demo_fills(rng))
        fills = FillBatch.concat(batches)
        fills = fills.take(np.flatnonzero(~self._matching_unbacked_cards(fills)))
        self.fills = fills.take(np.argsort(fills.at, kind="stable"))  # ids in time order, as they arrive

    def _price_in_bar(self, rng: np.random.Generator, asset: np.ndarray, at: np.ndarray) -> np.ndarray:
        bar = self._bar(at)
        low, high = self.candle_low[asset, bar], self.candle_high[asset, bar]
        return self._round_prices(low + rng.random(len(at)) * (high - low), asset)

    def _lots(self, notional: np.ndarray, price: np.ndarray, asset: np.ndarray) -> np.ndarray:
        """Quantities as whole multiples of the asset's quantity step, at least one."""
        return np.maximum(np.rint(notional / price * 10.0 ** self.quantity_places[asset]), 1).astype(np.int64)

    def _trade_sizes(self, rng: np.random.Generator, user: np.ndarray) -> np.ndarray:
        return self.trade_size[user] * rng.lognormal(-0.125, 0.5, size=len(user))  # mean 1

    def _fills_in_bars(self, rng, user, asset, at, *, buy_share: float) -> FillBatch:
        """Fills of these users' usual sizes, each at a price inside the bar of its moment."""
        size = len(user)
        price = self._price_in_bar(rng, asset, at)
        return FillBatch.of(
            user=user,
            asset=asset,
            perpetual=self.trades_perpetual[user] & (rng.random(size) < PERPETUAL_FILL_SHARE),
            buy=rng.random(size) < buy_share,
            at=at,
            price=price,
            lots=self._lots(self._trade_sizes(rng, user), price, asset),
        )

    def _card_fills(self, rng: np.random.Generator) -> tuple[FillBatch, FillBatch]:
        """(the orders that back the cards, filled in 1 to 3 parts; the closing of most of them later)."""
        backed = np.flatnonzero(self.card_backed)
        post = self.card_post[backed]
        user, asset, entry = self.post_author[post], self.card_asset[backed], self.card_entry[backed]
        perpetual, opening_buy = self.card_perpetual[backed], ~self.card_short[backed]
        parts = rng.integers(1, 4, size=len(backed))
        card = np.repeat(np.arange(len(backed)), parts)
        nth = np.arange(len(card)) - np.repeat(np.cumsum(parts) - parts, parts)
        entered = self.card_entered[backed]
        bar = self._bar(entered)
        # The whole order fills within the bar it started in, near the card's entry price.
        bar_end = self.candle_first_ms + (bar + 1) * HOUR - SECOND
        at = np.minimum(entered[card] + nth * rng.integers(5 * SECOND, 3 * MINUTE, size=len(card)), bar_end[card])
        near = entry[card] * (1 + rng.uniform(-CARD_FILL_SPREAD, CARD_FILL_SPREAD, size=len(card)))
        price = self._round_prices(
            np.clip(near, self.candle_low[asset[card], bar[card]], self.candle_high[asset[card], bar[card]]),
            asset[card],
        )
        total = self._trade_sizes(rng, user)[card] * rng.dirichlet(np.ones(3), size=len(backed))[card, nth]
        lots = self._lots(total, price, asset[card])
        opening = FillBatch.of(
            user=user[card],
            asset=asset[card],
            perpetual=perpetual[card],
            buy=opening_buy[card],
            at=at,
            price=price,
            lots=lots,
            protected=True,
        )
        closed_at = self.post_created[post] + rng.integers(6 * HOUR, 7 * DAY, size=len(backed))
        closes = np.flatnonzero((rng.random(len(backed)) < CARD_CLOSED_SHARE) & (closed_at < self.anchor_ms - MINUTE))
        opened_lots = np.zeros(len(backed), dtype=np.int64)
        np.add.at(opened_lots, card, lots)
        closing = FillBatch.of(
            user=user[closes],
            asset=asset[closes],
            perpetual=perpetual[closes],
            buy=~opening_buy[closes],
            at=closed_at[closes],
            price=self._price_in_bar(rng, asset[closes], closed_at[closes]),
            lots=opened_lots[closes],
        )
        return opening, closing

    def _disclosed_fills(self, rng: np.random.Generator, trading: np.ndarray) -> FillBatch:
        """A trade of the asset a post is about, within DISCLOSED_DAYS of it, by its author."""
        has_card = np.zeros(self.n_posts, bool)
        has_card[self.card_post] = True
        drawn = rng.random(self.n_posts) < DISCLOSED_POST_SHARE
        posts = np.flatnonzero(drawn & trading[self.post_author] & self.post_names_primary & ~has_card)
        size = len(posts)
        user, asset = self.post_author[posts], self.post_primary[posts]
        offset = rng.integers(-DISCLOSED_DAYS * DAY, DISCLOSED_DAYS * DAY, size=size)
        at = np.clip(self.post_created[posts] + offset, self.candle_first_ms, self.anchor_ms - MINUTE)
        return self._fills_in_bars(rng, user, asset, at, buy_share=0.6)

    def _matching_unbacked_cards(self, fills: FillBatch) -> np.ndarray:
        """Which fills (other than a backed card's own) could verify a card meant to stay unverified:
        the author's, on its instrument and opening side, in the verification window before the post."""
        unbacked = np.flatnonzero(~self.card_backed)
        post = self.card_post[unbacked]
        window = (settings.ORBIT_TRADE_CARD_WINDOW_HOURS + 1) * HOUR

        def keys(user, asset, perpetual, buy) -> np.ndarray:
            # A fill's (account, instrument, side) in the high bits, its second in the demo's range below.
            return (((user * len(ASSETS) + asset) * 2 + perpetual) * 2 + buy).astype(np.int64) << 32

        fill_keys = keys(fills.user, fills.asset, fills.perpetual, fills.buy) | (
            (fills.at - self.candle_first_ms) // SECOND
        )
        order = np.argsort(fill_keys, kind="stable")
        card_keys = keys(
            self.post_author[post], self.card_asset[unbacked], self.card_perpetual[unbacked], ~self.card_short[unbacked]
        )
        since = np.maximum(self.post_created[post] - window - self.candle_first_ms, 0) // SECOND
        until = (self.post_created[post] + HOUR - self.candle_first_ms) // SECOND
        starts = np.searchsorted(fill_keys[order], card_keys | since, side="left")
        ends = np.searchsorted(fill_keys[order], card_keys | until, side="right")
        inside = np.zeros(len(fills) + 1, dtype=np.int64)
        np.add.at(inside, starts, 1)
        np.add.at(inside, ends, -1)
        matching = np.empty(len(fills), bool)
        matching[order] = np.cumsum(inside[:-1]) > 0
        return matching & ~fills.protected

    def _write_fills(self, writer: CopyWriter) -> None:
        fills = self.fills
        base = self.next_ids[Fill._meta.db_table]
        demo_id = self.fixed_ids.get(DEMO_USERNAME, -1)
        user_ids = int_texts(np.where(fills.user < self.n_users, fills.user + self.user_base, demo_id))
        filled_at = timestamp_texts(fills.at)
        spot, perpetual_type = TradingProfile.Instrument.SPOT.value, TradingProfile.Instrument.PERPETUAL.value
        buy_side, sell_side = Fill.Side.BUY.value, Fill.Side.SELL.value
        fee_rates = {MAKER: MAKER_FEE, REBATE: MAKER_REBATE}
        rows = []
        for k, (asset, perpetual, buy, price, lots, fee) in enumerate(
            zip(
                fills.asset.tolist(),
                fills.perpetual.tolist(),
                fills.buy.tolist(),
                fills.price.tolist(),
                fills.lots.tolist(),
                fills.fee.tolist(),
                strict=True,
            )
        ):
            symbol = self.asset_symbols[asset]
            fee_rate = fee_rates.get(fee, TAKER_FEE)
            price_exact = Decimal(self._price_text(price, asset))
            quantity = Decimal(lots).scaleb(-int(self.quantity_places[asset]))
            notional = price_exact * quantity
            fill_pk = base + k
            # "demo-<id>": unique, and never an id the exchange's own fills use.
            rows.append(
                f"{fill_pk},demo-{fill_pk},{user_ids[k]},{symbol}-{QUOTE}{'-SWAP' if perpetual else ''},"
                f"{perpetual_type if perpetual else spot},{symbol},{QUOTE},{buy_side if buy else sell_side},"
                f"{quantity:f},{price_exact:f},{(notional * fee_rate).quantize(FEE_UNIT):f},{QUOTE},"
                f"{notional.quantize(CENT):f},{filled_at[k]}"
            )
        writer.copy(
            Fill._meta.db_table,
            [
                "id", "fill_id", "user_id", "instrument", "instrument_type", "asset", "quote", "side", "quantity",
                "price", "fee", "fee_currency", "notional_usd", "filled_at",
            ],
            csv_lines(rows),
        )  # fmt: skip
        self.fill_user_ids = sorted(set(map(int, user_ids)))

    def _apply_exchange_services(self) -> None:
        """What the exchange integration would have done with these facts, as of the anchor: verify the
        trade cards the fills back, grade the calls whose horizon passed, and rebuild the trading
        profiles of the accounts with fills from them (the others keep their seeded figures)."""
        anchor = datetime.fromtimestamp(self.anchor_ms / 1000, UTC)
        began = time.perf_counter()
        # Each card as publish_post verifies it (verify_pending_cards re-checks only the cards of the
        # last ORBIT_TRADE_CARD_WINDOW_HOURS before the real now; the demo's go back weeks). Cards
        # without any fill of their instrument and opening side near the post cannot match: skipped.
        near = timedelta(hours=settings.ORBIT_TRADE_CARD_WINDOW_HOURS + 24)
        fills_near_post = Fill.objects.filter(
            user_id=OuterRef("post__author_id"),
            instrument=OuterRef("instrument"),
            side=OuterRef("opening_side"),
            filled_at__gte=OuterRef("post__created_at") - near,
            filled_at__lte=OuterRef("post__created_at") + timedelta(days=1),
        )
        cards = (
            TradeCard.objects.filter(post_id__gte=self.post_base)
            .annotate(
                opening_side=Case(
                    When(side__in=[TradeCard.Side.LONG, TradeCard.Side.BUY], then=Value(Fill.Side.BUY)),
                    default=Value(Fill.Side.SELL),
                )
            )
            .filter(Exists(fills_near_post))
            .select_related("post")
        )
        for card in cards.order_by("post_id").iterator(chunk_size=2_000):
            verify_trade_card(card)
        # The fills came before the post, so the card was verified as it was published.
        TradeCard.objects.filter(post_id__gte=self.post_base, verified_at__isnull=False).update(
            verified_at=Subquery(Post.objects.filter(pk=OuterRef("post_id")).values("created_at")[:1])
        )
        grade_due_calls(now=anchor)
        self.report.profiles_from_fills = refresh_trading_profiles(user_ids=self.fill_user_ids, now=anchor)
        self._stage("verified cards, graded calls and trading profiles", began)
        self.report.verified_cards = TradeCard.objects.filter(
            post_id__gte=self.post_base, verified_at__isnull=False
        ).count()
        self.report.calls_by_status = dict(
            Call.objects.filter(post_id__gte=self.post_base)
            .values_list("status")
            .annotate(count=Count("pk"))
            .order_by("status")
        )
        self.say(
            f"  {self.report.verified_cards:,} of {len(self.card_post):,} trade cards verified; calls: "
            + (", ".join(f"{count:,} {status}" for status, count in self.report.calls_by_status.items()) or "none")
        )
