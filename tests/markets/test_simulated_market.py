"""The demo's simulated feed: the seeded candles continue up to the current hour, with no API call."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from feed.tasks import poll_market_data
from markets import market_data, simulated_market
from markets.models import Asset, Candle

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulated(settings, monkeypatch):
    settings.ORBIT_MARKET_DATA_URL = market_data.SIMULATED
    calls = []

    def refuse(session, request, **kwargs):
        calls.append(request.url)
        raise requests.ConnectionError("the simulated feed must not call out")

    # A tripwire on the network, not on our code: any request at all would land here.
    monkeypatch.setattr(requests.Session, "send", refuse)
    return calls


def _seeded(symbol: str, *, hours_ago: int, close: str) -> Candle:
    """The seed's last bars: three hourly bars, the newest opened `hours_ago` hours before this hour."""
    Asset.objects.get_or_create(symbol=symbol, defaults={"name": symbol})
    newest = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago)
    price = Decimal(close)
    for back in (2, 1, 0):
        Candle.objects.create(
            instrument=market_data.instrument_for(symbol),
            bar=market_data.BAR,
            opened_at=newest - timedelta(hours=back),
            open=price,
            high=price,
            low=price,
            close=price,
        )
    return Candle.objects.get(instrument=market_data.instrument_for(symbol), opened_at=newest)


def _bars(instrument: str) -> list[Candle]:
    return list(Candle.objects.filter(instrument=instrument, bar=market_data.BAR).order_by("opened_at"))


def test_the_poll_continues_the_seeded_candles_up_to_the_current_hour_without_any_request(simulated):
    last_seeded = _seeded("BTC", hours_ago=5, close="64250.5")

    summary = poll_market_data()

    current_hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    bars = _bars("BTC-USDT")
    new = [bar for bar in bars if bar.opened_at > last_seeded.opened_at]
    assert [bar.opened_at for bar in new] == [last_seeded.opened_at + timedelta(hours=h) for h in range(1, 6)]
    assert new[-1].opened_at == current_hour and not new[-1].is_closed
    assert all(bar.is_closed for bar in new[:-1])
    # Continuous: each bar opens at the close before it, from the seed's last close on.
    assert new[0].open == last_seeded.close
    assert all(later.open == earlier.close for earlier, later in itertools.pairwise(new))
    # Sane and bounded: within the wicks, and no hour moves more than MAX_MOVE.
    for bar in new:
        assert 0 < bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert abs(float(bar.close / bar.open) - 1) < 1.1 * simulated_market.MAX_MOVE
    assert len({bar.close for bar in new}) > 1  # prices move
    assert summary == {"simulated": True, "instruments": 1, "stored": 5}
    assert simulated == []
    # Pages price from the new bars.
    assert market_data.latest_close("BTC") == new[-1].close


def test_a_second_poll_within_the_hour_changes_nothing(simulated):
    _seeded("ETH", hours_ago=3, close="3000")
    poll_market_data()
    first = [(bar.opened_at, bar.open, bar.high, bar.low, bar.close, bar.volume) for bar in _bars("ETH-USDT")]

    summary = poll_market_data()

    again = [(bar.opened_at, bar.open, bar.high, bar.low, bar.close, bar.volume) for bar in _bars("ETH-USDT")]
    assert again == first
    assert summary["stored"] in (0, 1)  # 1 only when the hour turned between the two polls
    assert simulated == []


def test_the_same_asset_and_hour_always_draw_the_same_bar():
    now = timezone.now()
    opened_at = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    one = simulated_market.simulate_bar(instrument="SOL-USDT", opened_at=opened_at, open_price=Decimal("150"), now=now)
    two = simulated_market.simulate_bar(instrument="SOL-USDT", opened_at=opened_at, open_price=Decimal("150"), now=now)
    other = simulated_market.simulate_bar(
        instrument="BTC-USDT", opened_at=opened_at, open_price=Decimal("150"), now=now
    )
    assert one == two
    assert other.close != one.close


def test_a_bar_left_open_is_closed_once_its_hour_is_over(simulated):
    last_seeded = _seeded("BTC", hours_ago=2, close="64000")
    Candle.objects.filter(pk=last_seeded.pk).update(is_closed=False)

    poll_market_data()

    last_seeded.refresh_from_db()
    assert last_seeded.is_closed


def test_assets_without_any_stored_bar_are_left_out(simulated):
    Asset.objects.create(symbol="NEWCOIN", name="New coin")

    assert poll_market_data() == {"simulated": True, "instruments": 0, "stored": 0}
    assert not Candle.objects.exists()
