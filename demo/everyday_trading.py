"""Everyday trading: the fills of every linked account whose trading profile says it trades, readers
as much as creators, over the FILL_WEEKS weeks before the anchor, and the demo reader's trading.

Each account follows its seeded profile: it trades in a week with its volume tier's chance (light
traders some weeks, active traders most), so trading tenure varies; its last fill is its profile's
last trade; its fills of the last 30 days are about its profile's 30-day trades and volume, in the
assets it trades (most traded first) and on its instruments. The sign-up burst never trades.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo.parameters import (
    DAY,
    FILL_WEEKS,
    HOUR,
    MAKER_SHARE,
    MAX_FILLS_PER_WEEK,
    MINUTE,
    PERPETUAL_FILL_SHARE,
    WEEKLY_TRADING_CHANCE,
)
from demo.sampling import GeneratorBase

WEEK = 7 * DAY
# A fill's fee (FillBatch.fee): the rate its row is written with (demo.parameters).
TAKER, MAKER, REBATE = 0, 1, 2
WHALE_TIER = 4


class EverydayTradingGenerator(GeneratorBase):
    """Who trades, when and how much (a part of DemoGenerator, through TradingGenerator)."""

    def _plan_everyday_trading(self, rng: np.random.Generator) -> np.ndarray:
        """Whether each user trades, how many fills each of its active weeks holds (FILL_WEEKS columns,
        the week ending at the anchor first), and its usual fill size."""
        trades = self.linked & (self.tier > 0) & (self.trades > 0) & ~self.is_burst
        chance = np.asarray(WEEKLY_TRADING_CHANCE)[self.tier]
        active = rng.random((self.n_users, FILL_WEEKS)) < chance[:, None]
        # None after the profile's last trade, and its week always; none before the account opened.
        last_week = np.where(self.last_trade >= 0, (self.anchor_ms - self.last_trade) // WEEK, FILL_WEEKS)
        week = np.arange(FILL_WEEKS)
        active &= week[None, :] >= last_week[:, None]
        active |= week[None, :] == last_week[:, None]
        active &= (self.anchor_ms - week * WEEK)[None, :] > self.account_opened[:, None] + HOUR
        active &= trades[:, None]
        weekly = np.minimum(self.trades * 7 / 30, MAX_FILLS_PER_WEEK)
        per_active_week = weekly / np.maximum(chance, 0.01)
        self.week_fills = np.where(active, np.maximum(rng.poisson(per_active_week[:, None], active.shape), 1), 0)
        # One fill is about the 30-day volume over the 30-day fills.
        self.trade_size = np.maximum(self.volume_cents / 100 / np.maximum(weekly * 30 / 7, 1), 10.0)
        return self.week_fills.sum(axis=1) > 0

    def _everyday_fills(self, rng: np.random.Generator) -> FillBatch:
        """The planned fills, spread inside each active week; the last at the profile's last trade."""
        user, week = np.nonzero(self.week_fills)
        count = self.week_fills[user, week]
        last_minute = self.anchor_ms - MINUTE
        start = np.maximum.reduce(
            [
                self.anchor_ms - (week + 1) * WEEK,
                self.account_opened[user] + HOUR,
                np.full(len(user), self.candle_first_ms),
            ]
        )
        end = np.minimum(self.anchor_ms - week * WEEK, last_minute)
        has_last = week == (self.anchor_ms - self.last_trade[user]) // WEEK
        end = np.where(has_last, np.minimum(self.last_trade[user], last_minute), end)
        start = np.minimum(start, end)
        cell = np.repeat(np.arange(len(user)), count)
        first = np.r_[True, cell[1:] != cell[:-1]]
        at = start[cell] + (rng.random(len(cell)) * (end - start)[cell]).astype(np.int64)
        at = np.where(first & has_last[cell], end[cell], at)
        user = user[cell]
        fills = self._fills_in_bars(rng, user, self.assets_by_reader.draw(rng, user), at, buy_share=0.55)
        maker = rng.random(len(user)) < MAKER_SHARE
        fills.fee = np.where(maker, np.where(self.tier[user] == WHALE_TIER, REBATE, MAKER), TAKER).astype(np.int8)
        return fills

    def _demo_fills(self, rng: np.random.Generator) -> FillBatch:
        """The demo reader's trades: 46 in the last 30 days for $184,250 (as its profile says), BTC
        then ETH then SOL by volume, and some older ones."""
        batches = []
        month = self.anchor_ms - 30 * DAY
        for symbol, count, share in (("BTC", 20, 0.55), ("ETH", 16, 0.30), ("SOL", 10, 0.15)):
            weights = rng.lognormal(0.0, 0.5, size=count)
            notional = 184_250 * share * weights / weights.sum()
            at = rng.integers(month + HOUR, self.anchor_ms - HOUR, size=count)
            batches.append((np.full(count, self.asset_symbols.index(symbol)), at, notional))
        older = 24
        asset = np.array([self.asset_symbols.index(symbol) for symbol in ("BTC", "ETH", "SOL")])[
            rng.integers(0, 3, size=older)
        ]
        batches.append(
            (
                asset,
                rng.integers(self.candle_first_ms, month - HOUR, size=older),
                4_000 * rng.lognormal(0.0, 0.5, size=older),
            )
        )
        asset, at, notional = (np.concatenate(part) for part in zip(*batches, strict=True))
        price = self._price_in_bar(rng, asset, at)
        size = len(at)
        return FillBatch.of(
            user=np.full(size, self.n_users),  # the demo account's index
            asset=asset,
            perpetual=rng.random(size) < PERPETUAL_FILL_SHARE,
            buy=rng.random(size) < 0.55,
            at=at,
            price=price,
            lots=self._lots(notional, price, asset),
        )


@dataclass
class FillBatch:
    """A batch of fills as parallel arrays; user is a generated user's index, or n_users for demo."""

    user: np.ndarray
    asset: np.ndarray
    perpetual: np.ndarray
    buy: np.ndarray
    at: np.ndarray
    price: np.ndarray  # rounded to the asset's tick
    lots: np.ndarray  # quantity in the asset's quantity steps
    protected: np.ndarray  # a backed card's own fills, never dropped
    fee: np.ndarray  # TAKER, MAKER or REBATE

    FIELDS = ("user", "asset", "perpetual", "buy", "at", "price", "lots", "protected", "fee")

    @classmethod
    def of(cls, *, user, asset, perpetual, buy, at, price, lots, protected=False) -> FillBatch:
        user = np.asarray(user, dtype=np.int64)
        return cls(
            user=user,
            asset=np.asarray(asset, dtype=np.int64),
            perpetual=np.asarray(perpetual, dtype=bool),
            buy=np.asarray(buy, dtype=bool),
            at=np.asarray(at, dtype=np.int64),
            price=np.asarray(price, dtype=np.float64),
            lots=np.asarray(lots, dtype=np.int64),
            protected=np.full(len(user), protected, dtype=bool),
            fee=np.full(len(user), TAKER, dtype=np.int8),
        )

    def __len__(self) -> int:
        return len(self.user)

    def take(self, rows: np.ndarray) -> FillBatch:
        return FillBatch(*(getattr(self, name)[rows] for name in self.FIELDS))

    @classmethod
    def concat(cls, batches: list[FillBatch]) -> FillBatch:
        return cls(*(np.concatenate([getattr(batch, name) for batch in batches]) for name in cls.FIELDS))
