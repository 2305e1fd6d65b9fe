"""Factories for what the exchange and the market-data API tell us: assets, candles, trading
profiles, exchange events, fills and positions."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from markets.models import Asset, Candle, ExchangeEvent, Fill, Position, TradingProfile

from .base import MOMENT
from .creators import UserFactory


class AssetFactory(DjangoModelFactory):
    """A listed asset; an existing symbol is reused (AssetFactory(symbol="BTC") twice is one row)."""

    class Meta:
        model = Asset
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"COIN{n}")
    name = factory.LazyAttribute(lambda asset: asset.symbol.title())
    is_listed = True


class CandleFactory(DjangoModelFactory):
    """An hourly bar, each an hour after the previous from MOMENT; a flat bar (open, high and low
    equal `close`) unless they are given."""

    class Meta:
        model = Candle

    instrument = "BTC-USDT"
    bar = "1H"
    opened_at = factory.Sequence(lambda n: MOMENT + timedelta(hours=n))
    close = Decimal("64000")
    open = factory.LazyAttribute(lambda candle: candle.close)
    high = factory.LazyAttribute(lambda candle: candle.close)
    low = factory.LazyAttribute(lambda candle: candle.close)
    volume = Decimal("12.5")
    is_closed = True


class TradingProfileFactory(DjangoModelFactory):
    """A verified reader of the regular volume tier; lists and the JSON volume map keep the model's
    empty defaults, so a test names the assets and instruments it relies on."""

    class Meta:
        model = TradingProfile

    user = factory.SubFactory(UserFactory)
    kyc_level = TradingProfile.KycLevel.VERIFIED
    volume_tier = TradingProfile.VolumeTier.REGULAR


class ExchangeEventFactory(DjangoModelFactory):
    """The stored record of an applied event (markets.exchange keeps one per idempotency key)."""

    class Meta:
        model = ExchangeEvent

    key = factory.Sequence(lambda n: f"event-{n}")
    type = "kyc"
    exchange_uid = factory.Sequence(lambda n: f"uid-{n}")
    occurred_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))
    received_at = factory.LazyAttribute(lambda event: event.occurred_at + timedelta(seconds=2))
    payload = factory.LazyAttribute(lambda event: {"kyc_level": 2, "uid": event.exchange_uid})


class FillFactory(DjangoModelFactory):
    """A fill as the exchange webhook stores it; the instrument names its asset, quote and type."""

    class Meta:
        model = Fill

    fill_id = factory.Sequence(lambda n: f"fill-{n}")
    user = factory.SubFactory(UserFactory)
    instrument = "BTC-USDT"
    instrument_type = factory.LazyAttribute(lambda fill: "perpetual" if fill.instrument.endswith("-SWAP") else "spot")
    asset = factory.LazyAttribute(lambda fill: fill.instrument.split("-")[0])
    quote = factory.LazyAttribute(lambda fill: fill.instrument.split("-")[1])
    side = "buy"
    quantity = Decimal(1)
    price = Decimal(100)
    filled_at = factory.Sequence(lambda n: MOMENT + timedelta(minutes=n))


class PositionFactory(DjangoModelFactory):
    """An open position from an account snapshot; one per user, instrument and side."""

    class Meta:
        model = Position

    user = factory.SubFactory(UserFactory)
    instrument = "BTC-USDT-SWAP"
    instrument_type = factory.LazyAttribute(
        lambda position: "perpetual" if position.instrument.endswith("-SWAP") else "spot"
    )
    asset = factory.LazyAttribute(lambda position: position.instrument.split("-")[0])
    side = Position.Side.LONG
    quantity = Decimal(1)
    entry_price = Decimal("64000")
    mark_price = Decimal("64500")
    taken_at = MOMENT


def a_day_of_candles(instrument: str, *, close: Decimal, step: Decimal, spread: Decimal, now=None) -> list[Candle]:
    """25 hourly bars ending with the current hour's, rising by `step` an hour to `close` (so the 24 h
    change is 24 times `step`), each bar's high and low `spread` away from its close."""
    this_hour = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    bars = []
    for hours_ago in range(24, -1, -1):
        price = close - hours_ago * step
        bars.append(
            CandleFactory(
                instrument=instrument,
                opened_at=this_hour - timedelta(hours=hours_ago),
                close=price,
                high=price + spread,
                low=price - spread,
            )
        )
    return bars
