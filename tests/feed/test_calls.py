"""Graded calls: making one with a post, grading it against stored candles, the record, and where
people see them (post cards, the profile's Calls tab, the API)."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from creators.models import Block, Mute
from feed import calls, services, tasks
from feed.forms import ComposeForm
from feed.models import Call, Post
from markets.models import Asset, Candle
from orbit.web import apply_service_errors
from tests.api.conftest import client_for
from tests.concurrency import race
from tests.factories import PostFactory, UserFactory
from tests.markets.okx_fake import bar_start, closed_port_url
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
# A call made at 10:30 with a one-day horizon: its window is the bars opened 10:00 that day up to
# 10:00 the next day (the bar holding the horizon, 10:30).
MADE = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
HORIZON = MADE + timedelta(days=1)
AFTER_HORIZON = HORIZON + timedelta(hours=1)
WINDOW_BARS = 25


def _bar(symbol, opened_at, *, close, high=None, low=None, closed=True):
    close = Decimal(close)
    return Candle.objects.create(
        instrument=f"{symbol}-USDT",
        bar="1H",
        opened_at=opened_at,
        open=close,
        high=Decimal(high) if high is not None else close,
        low=Decimal(low) if low is not None else close,
        close=close,
        is_closed=closed,
    )


def _flat(symbol, first, count, price):
    """`count` hourly bars from `first` at one price (high = low = close)."""
    return [_bar(symbol, first + index * HOUR, close=price) for index in range(count)]


def _window(symbol, price, *, first=None, count=WINDOW_BARS):
    """Flat bars over MADE's whole window; returns them by index for a test to reshape."""
    return _flat(symbol, first or MADE.replace(minute=0), count, price)


def _reshape(bar, *, high=None, low=None, close=None):
    bar.high = Decimal(high) if high is not None else bar.high
    bar.low = Decimal(low) if low is not None else bar.low
    bar.close = Decimal(close) if close is not None else bar.close
    bar.high, bar.low = max(bar.high, bar.close), min(bar.low, bar.close)
    bar.save()


def _call(asset, *, direction="up", target, entry, made_at=MADE, days=1, author=None, status="open", **extra):
    """A stored call as publishing leaves it (made directly, to control its times)."""
    post = PostFactory(author=author or UserFactory())
    if status != "open":
        extra.setdefault("graded_at", made_at + timedelta(days=days))
    return Call.objects.create(
        post=post,
        author=post.author,
        asset=asset,
        direction=direction,
        target_price=Decimal(target),
        entry_price=None if entry is None else Decimal(entry),
        made_at=made_at,
        horizon_at=made_at + timedelta(days=days),
        status=status,
        **extra,
    )


def _publish(author, call=None, body="$BTC is coiling under the range high", **kwargs):
    return services.publish_post(author=author, body=body, content_type="analysis", call=call, **kwargs)


def _btc_call(direction="up", target="70000", days=7, asset="BTC"):
    return services.CallInput(asset=asset, direction=direction, target_price=target, horizon_days=days)


def _market_now(symbol, price):
    """The current and the previous bar at `price`, so the bar holding the post's creation time is
    stored whichever side of an hour the test starts on."""
    this_hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    _bar(symbol, this_hour, close=price)
    _bar(symbol, this_hour - HOUR, close=price)


def _grade(now=AFTER_HORIZON):
    return calls.grade_due_calls(now=now)


def _counts(**nonzero):
    return {"graded": 0, "hit": 0, "missed": 0, "void": 0, "waiting": 0, **nonzero}


# --- Making a call ------------------------------------------------------------------------------


def test_a_call_is_made_with_its_post_at_the_market_price_of_that_moment(btc):
    _market_now("BTC", "63120.5")
    post = _publish(UserFactory(), call=_btc_call(target="70000", days=7))
    call = Call.objects.get(post=post)
    assert (call.asset.symbol, call.direction, call.target_price) == ("BTC", "up", Decimal("70000"))
    assert call.entry_price == Decimal("63120.5")
    assert call.made_at == post.created_at
    assert call.horizon_at == post.created_at + timedelta(days=7)
    assert (call.status, call.graded_at, call.return_percent) == ("open", None, None)
    assert call.author == post.author


def test_without_the_current_bar_the_entry_is_the_last_stored_close(btc):
    three_hours_ago = timezone.now().replace(minute=0, second=0, microsecond=0) - 3 * HOUR
    _bar("BTC", three_hours_ago - HOUR, close="60000")
    _bar("BTC", three_hours_ago, close="61000")
    post = _publish(UserFactory(), call=_btc_call(target="65000"))
    assert Call.objects.get(post=post).entry_price == Decimal("61000")


def test_without_any_market_data_a_call_is_accepted_with_no_entry_yet(btc):
    post = _publish(UserFactory(), call=_btc_call(direction="down", target="1"))
    assert Call.objects.get(post=post).entry_price is None


@pytest.mark.parametrize(
    ("direction", "target", "message"),
    [
        ("up", "60000", "For an up call the target must be above the current price of $BTC (63,120.5)."),
        ("up", "63120.5", "For an up call the target must be above the current price of $BTC (63,120.5)."),
        ("down", "70000", "For a down call the target must be below the current price of $BTC (63,120.5)."),
    ],
)
def test_a_target_on_the_wrong_side_of_the_market_is_refused_and_nothing_is_stored(btc, direction, target, message):
    _market_now("BTC", "63120.5")
    with pytest.raises(ValidationError) as refusal:
        _publish(UserFactory(), call=_btc_call(direction=direction, target=target))
    assert refusal.value.message_dict == {"call_target_price": [message]}
    assert Post.objects.count() == 0 and Call.objects.count() == 0


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (_btc_call(asset="DOGE"), "call_asset", "$DOGE is not listed on the exchange"),
        (_btc_call(asset="LUNA"), "call_asset", "$LUNA is not listed on the exchange"),  # delisted below
        (_btc_call(asset=""), "call_asset", "Name the asset of your call"),
        (_btc_call(asset="USDT"), "call_asset", "dollar stablecoin"),
        (_btc_call(direction="sideways"), "call_direction", "up or down"),
        (_btc_call(days=5), "call_horizon_days", "Choose a horizon of 1, 3, 7, 14, 30 or 90 days."),
        (_btc_call(days="week"), "call_horizon_days", "Choose a horizon of 1, 3, 7, 14, 30 or 90 days."),
        (_btc_call(target="0"), "call_target_price", "above zero"),
        (_btc_call(target="-5"), "call_target_price", "above zero"),
        (_btc_call(target="lots"), "call_target_price", "Enter the target as a price"),
        (_btc_call(target="NaN"), "call_target_price", "Enter the target as a price"),
        (_btc_call(target="0.0000000000001"), "call_target_price", "at most 12 decimal places"),
        (_btc_call(target="1" + "0" * 20), "call_target_price", "too large"),
    ],
)
def test_a_bad_call_is_refused_on_its_field_and_no_post_is_left_behind(btc, call, field, message):
    Asset.objects.create(symbol="LUNA", name="Terra", is_listed=False)
    with pytest.raises(ValidationError) as refusal:
        _publish(UserFactory(), call=call)
    assert message in " ".join(refusal.value.message_dict[field])
    assert Post.objects.count() == 0 and Call.objects.count() == 0


def test_every_problem_of_a_call_is_reported_at_once(btc):
    with pytest.raises(ValidationError) as refusal:
        _publish(UserFactory(), call=services.CallInput(asset="", direction="", target_price="", horizon_days=""))
    assert set(refusal.value.message_dict) == {"call_asset", "call_direction", "call_target_price", "call_horizon_days"}


def test_editing_the_post_leaves_its_call_exactly_as_it_was(btc):
    _market_now("BTC", "63120.5")
    author = UserFactory()
    post = _publish(author, call=_btc_call(target="70000"))
    before = Call.objects.filter(post=post).values().get()
    services.edit_post(editor=author, post_id=post.pk, body="Changed my mind: $BTC to 50k", content_type="education")
    assert Post.objects.get(pk=post.pk).body == "Changed my mind: $BTC to 50k"
    assert Call.objects.filter(post=post).values().get() == before


def test_staff_can_only_read_calls_in_admin(btc):
    call_admin = admin.site._registry[Call]
    request = RequestFactory().get("/admin/feed/call/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    call = _call(btc, target="110", entry="100")
    assert call_admin.has_view_permission(request, call)
    assert not call_admin.has_add_permission(request)
    assert not call_admin.has_change_permission(request, call)
    assert not call_admin.has_delete_permission(request, call)


# --- Grading ------------------------------------------------------------------------------------


def _graded_alone(call) -> tuple:
    """Run the grader with `call` the only one due; what it stored: (status, outcome, return %)."""
    counts = _grade()
    call.refresh_from_db()
    assert counts == _counts(graded=1, **{call.status: 1})
    return call.status, call.outcome_price, call.return_percent


@pytest.mark.parametrize(
    ("highest", "last_close", "status", "outcome", "return_percent"),
    [
        # The high touches the target exactly: a hit, at the target. (70000 - 63120.5) / 63120.5 = 10.89899…%
        ("70000", "64000", "hit", "70000", "10.8990"),
        # A cent short, and the price ends above the entry: missed, with a positive return (1.39336…%).
        ("69999.99", "64000", "missed", "64000", "1.3934"),
        # A cent short, and the price ends below the entry: missed at a loss (-3.35944…%).
        ("69999.99", "61000", "missed", "61000", "-3.3594"),
    ],
)
def test_an_up_call_is_graded_on_the_highs_of_its_window(btc, highest, last_close, status, outcome, return_percent):
    call = _call(btc, direction="up", target="70000", entry="63120.5")
    bars = _window("BTC", "63120.5")
    _reshape(bars[12], high=highest)
    _reshape(bars[-1], close=last_close)

    assert _graded_alone(call) == (status, Decimal(outcome), Decimal(return_percent))
    assert call.graded_at == AFTER_HORIZON


@pytest.mark.parametrize(
    ("lowest", "last_close", "status", "outcome", "return_percent"),
    [
        # The low touches the target exactly: a hit; the price fell 9.99990…%, which a down call earns.
        ("3000", "3100", "hit", "3000", "9.9999"),
        # A cent short, ending below the entry: missed, but the fall still earns 8.49240…%.
        ("3000.01", "3050.25", "missed", "3050.25", "8.4924"),
        # A cent short, ending above the entry: missed at a loss of 2.00010…%.
        ("3000.01", "3400", "missed", "3400", "-2.0001"),
    ],
)
def test_a_down_call_is_graded_on_the_lows_of_its_window(eth, lowest, last_close, status, outcome, return_percent):
    call = _call(eth, direction="down", target="3000", entry="3333.33")
    bars = _window("ETH", "3333.33")
    _reshape(bars[5], low=lowest)
    _reshape(bars[-1], close=last_close)

    assert _graded_alone(call) == (status, Decimal(outcome), Decimal(return_percent))


@pytest.mark.parametrize(("last_close", "return_percent"), [("8.000004", "0.0000"), ("8.000012", "0.0002")])
def test_returns_are_rounded_half_to_even_at_four_places(btc, last_close, return_percent):
    # 0.00005% and 0.00015%: exactly half way, so they round to the even neighbour.
    call = _call(btc, target="9", entry="8")
    bars = _window("BTC", "8")
    _reshape(bars[-1], close=last_close)
    _grade()
    call.refresh_from_db()
    assert (call.status, call.return_percent) == ("missed", Decimal(return_percent))


def test_a_touch_outside_the_window_does_not_count(btc):
    call = _call(btc, target="110", entry="100")
    _window("BTC", "100")
    # The bar before the one holding made_at, and the one holding the horizon's next hour.
    _bar("BTC", MADE.replace(minute=0) - HOUR, close="100", high="120")
    _bar("BTC", HORIZON.replace(minute=0) + HOUR, close="100", high="120")
    _grade()
    call.refresh_from_db()
    assert (call.status, call.outcome_price, call.return_percent) == ("missed", Decimal(100), Decimal(0))


def test_a_call_made_without_market_data_gets_its_entry_from_the_bar_holding_its_moment(btc):
    call = _call(btc, target="110", entry=None)
    bars = _window("BTC", "100")
    _reshape(bars[0], close="104")  # the bar opened at 10:00 holds the call made at 10:30
    _reshape(bars[-1], close="101.4")
    _grade()
    call.refresh_from_db()
    # (101.4 - 104) / 104 = -2.5%
    assert (call.entry_price, call.status, call.return_percent) == (Decimal(104), "missed", Decimal("-2.5000"))


def test_a_call_whose_late_entry_was_already_past_the_target_is_void(btc):
    # Made without market data for "up to 90" while the market stood at 100: nothing to grade.
    call = _call(btc, target="90", entry=None)
    _window("BTC", "100")
    assert _grade() == _counts(graded=1, void=1)
    call.refresh_from_db()
    assert (call.status, call.entry_price, call.return_percent) == ("void", Decimal(100), None)


def test_a_call_waits_while_the_candles_stop_short_of_its_horizon(btc):
    call = _call(btc, target="110", entry="100")
    _window("BTC", "100", count=WINDOW_BARS - 1)  # the last bar, the one holding the horizon, is missing
    assert _grade() == _counts(waiting=1)
    call.refresh_from_db()
    assert (call.status, call.graded_at) == ("open", None)


def test_a_call_waits_while_its_last_bar_is_still_open(btc):
    call = _call(btc, target="110", entry="100")
    _window("BTC", "100", count=WINDOW_BARS - 1)
    _bar("BTC", HORIZON.replace(minute=0), close="105", closed=False)
    assert _grade() == _counts(waiting=1)
    call.refresh_from_db()
    assert call.status == "open"


def test_a_target_touched_before_the_data_ran_out_is_a_hit_without_waiting(btc):
    call = _call(btc, target="110", entry="100")
    bars = _window("BTC", "100", count=10)
    _reshape(bars[3], high="111")
    assert _grade() == _counts(graded=1, hit=1)
    call.refresh_from_db()
    assert (call.status, call.return_percent) == ("hit", Decimal("10.0000"))


def test_a_call_is_not_graded_before_its_horizon(btc):
    call = _call(btc, target="110", entry="100")
    bars = _window("BTC", "100", count=5)
    _reshape(bars[2], high="115")
    assert _grade(now=HORIZON - timedelta(minutes=1)) == _counts()
    call.refresh_from_db()
    assert call.status == "open"


def test_a_call_without_market_data_is_void_two_days_after_its_horizon(btc):
    call = _call(btc, target="110", entry="100")
    assert _grade(now=HORIZON + timedelta(days=2)) == _counts(waiting=1)
    assert _grade(now=HORIZON + timedelta(days=2, minutes=1)) == _counts(graded=1, void=1)
    call.refresh_from_db()
    assert (call.status, call.outcome_price, call.return_percent) == ("void", None, None)
    assert call.graded_at == HORIZON + timedelta(days=2, minutes=1)


@pytest.fixture(autouse=True)
def _no_backfill_attempt_remembered():
    """The grader asks the history API at most once an hour per asset (remembered in the cache);
    each test starts without such a memory."""
    for symbol in ("BTC", "ETH"):
        cache.delete(calls.backfill_key(symbol))


def test_a_call_still_waiting_an_hour_after_its_horizon_is_graded_from_the_history_api(okx_server, btc):
    newest = bar_start(timezone.now())
    made_at = newest - timedelta(hours=72, minutes=-30)
    call = _call(btc, target="110", entry=None, made_at=made_at, days=1)
    closes = ["100"] * 81  # bar i opens at newest - (80 - i) hours: bar 8 holds made_at, bar 32 the horizon
    closes[32] = "104"
    okx_server.add_hourly("BTC-USDT", closes=closes, newest_at=newest)

    # Half an hour after the horizon the poll may still bring the bars: nothing is asked yet.
    assert _grade(now=call.horizon_at + timedelta(minutes=30)) == _counts(waiting=1)
    assert okx_server.requests == []

    assert _grade(now=timezone.now()) == _counts(graded=1, missed=1)
    assert [request["path"] for request in okx_server.requests] == ["/api/v5/market/history-candles"]
    call.refresh_from_db()
    assert (call.entry_price, call.outcome_price, call.return_percent) == (100, 104, Decimal("4.0000"))


def test_a_call_past_its_grace_period_asks_the_history_api_before_it_is_void(okx_server, btc):
    """The poll was down for days: the call is graded from the history API, not voided unasked."""
    newest = bar_start(timezone.now())
    made_at = newest - timedelta(hours=120, minutes=-30)  # horizon 96 h ago, two days past the grace period
    call = _call(btc, target="110", entry=None, made_at=made_at, days=1)
    closes = ["100"] * 129  # bar i opens at newest - (128 - i) hours: bar 8 holds made_at, bar 32 the horizon
    closes[32] = "97"
    okx_server.add_hourly("BTC-USDT", closes=closes, newest_at=newest)
    assert timezone.now() > call.horizon_at + calls.GRACE + timedelta(days=1)

    assert _grade(now=timezone.now()) == _counts(graded=1, missed=1)
    # 129 bars come in two pages of the history endpoint.
    assert {request["path"] for request in okx_server.requests} == {"/api/v5/market/history-candles"}
    call.refresh_from_db()
    assert (call.entry_price, call.outcome_price, call.return_percent) == (100, 97, Decimal("-3.0000"))


def test_a_call_past_its_grace_period_is_void_when_the_history_api_has_nothing(okx_server, btc):
    call = _call(btc, target="110", entry="100", made_at=timezone.now() - timedelta(days=5))
    okx_server.respond("error_code")

    assert _grade(now=timezone.now()) == _counts(graded=1, void=1)
    assert len(okx_server.requests) == 1
    call.refresh_from_db()
    assert (call.status, call.entry_price, call.outcome_price) == ("void", 100, None)


def test_a_failing_history_api_leaves_the_call_waiting_and_is_asked_at_most_hourly(okx_server, btc, caplog):
    call = _call(btc, target="110", entry="100", made_at=timezone.now() - timedelta(days=2))
    okx_server.respond("error_code")

    assert _grade(now=timezone.now()) == _counts(waiting=1)
    assert _grade(now=timezone.now()) == _counts(waiting=1)

    assert len(okx_server.requests) == 1
    assert "could not backfill candles of BTC" in caplog.text
    call.refresh_from_db()
    assert call.status == "open"


def test_a_call_past_its_grace_period_waits_out_an_unreachable_api_and_is_graded_when_it_returns(
    okx_server, btc, settings, caplog
):
    """Our outage is not the market's: the call is not voided unheard, and a hit stays a hit."""
    newest = bar_start(timezone.now())
    made_at = newest - timedelta(hours=120, minutes=-30)  # horizon 96 h ago, two days past the grace period
    call = _call(btc, target="110", entry="100", made_at=made_at, days=1)
    closes = ["100"] * 129  # bar 8 holds made_at, bar 32 the horizon
    closes[20] = "111"
    okx_server.add_hourly("BTC-USDT", closes=closes, newest_at=newest)
    settings.ORBIT_MARKET_DATA_URL = closed_port_url()

    assert _grade(now=timezone.now()) == _counts(waiting=1)
    assert "could not reach the market-data API for candles of BTC" in caplog.text
    # Within the hour the grader goes by what it heard: still unreachable, so still waiting.
    assert _grade(now=timezone.now()) == _counts(waiting=1)
    assert Call.objects.get(pk=call.pk).status == "open"

    settings.ORBIT_MARKET_DATA_URL = okx_server.url
    cache.delete(calls.backfill_key("BTC"))  # the hour is over
    assert _grade(now=timezone.now()) == _counts(graded=1, hit=1)
    call.refresh_from_db()
    assert (call.outcome_price, call.return_percent) == (110, Decimal("10.0000"))


def test_a_call_is_void_once_the_api_has_been_unreachable_past_the_outage_limit(settings, btc):
    call = _call(btc, target="110", entry="100", made_at=timezone.now() - calls.OUTAGE_LIMIT - timedelta(days=2))
    settings.ORBIT_MARKET_DATA_URL = closed_port_url()

    assert _grade(now=timezone.now()) == _counts(graded=1, void=1)
    assert Call.objects.get(pk=call.pk).status == "void"


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        (calls.ANSWERED, _counts(graded=1, void=1)),
        (calls.UNREACHABLE, _counts(waiting=1)),
        (calls.ASKING, _counts(waiting=1)),
    ],
)
def test_within_the_hour_a_grader_goes_by_what_the_last_ask_heard(okx_server, btc, heard, expected):
    _call(btc, target="110", entry="100", made_at=timezone.now() - timedelta(days=5))
    cache.set(calls.backfill_key("BTC"), heard, timeout=60)

    assert _grade(now=timezone.now()) == expected
    assert okx_server.requests == []


def test_grading_twice_grades_once(btc):
    call = _call(btc, target="110", entry="100")
    _window("BTC", "100")
    assert _grade() == _counts(graded=1, missed=1)
    graded_at = Call.objects.get(pk=call.pk).graded_at
    assert _grade(now=AFTER_HORIZON + timedelta(days=5)) == _counts()
    assert Call.objects.get(pk=call.pk).graded_at == graded_at


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_graders_grade_each_call_once(btc):
    due = [_call(btc, target=str(101 + index), entry="100") for index in range(6)]
    bars = _window("BTC", "100")
    _reshape(bars[7], high="102.5")  # the first two (targets 101 and 102) hit, the others miss
    results = []

    def grader():
        results.append(calls.grade_due_calls(now=AFTER_HORIZON))

    assert race(grader, racers=4) == ["created"] * 4
    assert sum(result["graded"] for result in results) == len(due)
    assert sum(result["hit"] for result in results) == 2
    assert sum(result["missed"] for result in results) == 4
    assert Call.objects.filter(status="open").count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_celery_task_grades_due_calls_through_a_real_worker(celery_worker, btc):
    made_at = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    call = _call(btc, target="110", entry="100", made_at=made_at, days=1)
    bars = _flat("BTC", made_at, WINDOW_BARS, "100")
    _reshape(bars[4], high="112")

    tasks.grade_due_calls.delay()

    assert wait_for(lambda: Call.objects.get(pk=call.pk).status != "open", seconds=15)
    call.refresh_from_db()
    assert (call.status, call.return_percent) == ("hit", Decimal("10.0000"))


# --- The record ---------------------------------------------------------------------------------


def _graded(asset, author, status, return_percent):
    outcome = None if return_percent is None else Decimal(100) + Decimal(return_percent)
    return _call(
        asset,
        target="200",
        entry="100",
        author=author,
        status=status,
        outcome_price=outcome,
        return_percent=None if return_percent is None else Decimal(return_percent),
    )


def test_the_record_is_hit_rate_and_average_return_over_hits_and_misses(btc, django_assert_num_queries):
    author = UserFactory()
    for status, percent in [
        ("hit", "10.0000"),
        ("hit", "7.1234"),
        ("hit", "3.3333"),
        ("missed", "-2.5000"),
        ("missed", "-1.1111"),
        ("missed", "0.5000"),
        ("missed", "-4.0000"),
        ("void", None),
    ]:
        _graded(btc, author, status, percent)
    _call(btc, target="200", entry="100", author=author)
    _call(btc, target="200", entry="100", author=author, made_at=MADE + timedelta(days=3))
    _graded(btc, UserFactory(), "hit", "50.0000")  # someone else's

    with django_assert_num_queries(1):
        record = calls.call_record(user=author)

    # 3 hits of 7 graded = 42.857…%; (10 + 7.1234 + 3.3333 - 2.5 - 1.1111 + 0.5 - 4) / 7 = 1.90651…%
    assert (record.graded, record.hits, record.missed, record.open) == (7, 3, 4, 2)
    assert record.hit_rate_percent == Decimal("42.86")
    assert record.average_return_percent == Decimal("1.91")


def test_a_new_creator_has_no_record_yet(btc):
    author = UserFactory()
    _call(btc, target="200", entry="100", author=author)
    record = calls.call_record(user=author)
    assert (record.graded, record.open, record.hit_rate_percent, record.average_return_percent) == (0, 1, None, None)


def test_deleting_the_post_does_not_take_a_missed_call_out_of_the_record(btc):
    author = UserFactory()
    call = _graded(btc, author, "missed", "-8.0000")
    services.delete_post(actor=author, post_id=call.post_id)
    record = calls.call_record(user=author)
    assert (record.missed, record.average_return_percent) == (1, Decimal("-8.00"))


def test_calls_are_listed_newest_first_in_keyset_pages(btc):
    author = UserFactory()
    made = [_call(btc, target="200", entry="100", author=author, made_at=MADE + index * HOUR) for index in range(5)]
    first = calls.calls_of(author=author, size=3)
    second = calls.calls_of(author=author, cursor=first.next_cursor, size=3)
    assert [c.pk for c in first.items + second.items] == [c.pk for c in reversed(made)]
    assert second.next_cursor is None


# --- Pages --------------------------------------------------------------------------------------


def _alice_calls(btc):
    alice = UserFactory(username="alice")
    hit = _call(
        btc,
        target="70000",
        entry="63120.5",
        author=alice,
        status="hit",
        outcome_price=Decimal(70000),
        return_percent=Decimal("10.8990"),
    )
    _call(
        btc,
        direction="down",
        target="60000",
        entry="62000",
        author=alice,
        made_at=MADE + HOUR,
        status="missed",
        outcome_price=Decimal(64000),
        return_percent=Decimal("-3.2258"),
    )
    still_open = _call(btc, target="80000", entry="63000", author=alice, made_at=MADE + 2 * HOUR, days=30)
    return alice, hit, still_open


def test_the_calls_tab_shows_the_record_and_each_call_read_only_to_another_user(client, btc):
    _alice, hit, still_open = _alice_calls(btc)
    client.force_login(UserFactory(username="bob"))
    response = client.get(reverse("feed:profile_calls", args=["alice"]))
    page = response.content.decode()

    assert response.status_code == 200
    assert 'aria-current="page">Calls<' in page
    assert "Hit rate" in page and "50.0%" in page  # 1 hit of 2 graded
    assert "+3.84%" in page  # the average return: (10.8990 - 3.2258) / 2 = 3.8366
    assert "Call: $BTC up to 70,000 by 3 Mar" in page and "Hit +10.9%" in page
    assert "Call: $BTC down to 60,000 by 3 Mar" in page and "Missed −3.2%" in page
    assert "Call: $BTC up to 80,000 by 1 Apr" in page and ">Open<" in page
    assert reverse("feed:post", args=[hit.post_id]) in page
    # Nothing on the page changes a call or its post: no forms besides the header's, no edit links.
    assert reverse("feed:edit", args=[hit.post_id]) not in page
    assert reverse("feed:delete", args=[still_open.post_id]) not in page
    assert client.post(reverse("feed:profile_calls", args=["alice"])).status_code == 405


def test_the_calls_tab_of_someone_without_graded_calls_says_so(client, btc):
    alice = UserFactory(username="alice")
    _call(btc, target="110", entry="100", author=alice)
    page = client.get(reverse("feed:profile_calls", args=["alice"])).content.decode()
    assert "No graded calls yet." in page and "1 call is open." in page
    assert "Hit rate" not in page


def test_a_call_whose_post_was_deleted_stays_listed_without_a_link(client, btc):
    alice = UserFactory(username="alice")
    call = _graded(btc, alice, "missed", "-8.0000")
    services.delete_post(actor=alice, post_id=call.post_id)
    page = client.get(reverse("feed:profile_calls", args=["alice"])).content.decode()
    assert "The post was deleted; the call stays in the record." in page
    assert reverse("feed:post", args=[call.post_id]) not in page
    assert "Missed −8.0%" in page


def test_someone_who_muted_or_is_blocked_by_the_creator_sees_the_record_but_no_calls(client, btc):
    alice, hit, _open = _alice_calls(btc)
    bob, carol = UserFactory(username="bob"), UserFactory(username="carol")
    Mute.objects.create(user=bob, target=alice)
    Block.objects.create(user=alice, target=carol)
    for viewer in (bob, carol):
        client.force_login(viewer)
        page = client.get(reverse("feed:profile_calls", args=["alice"])).content.decode()
        assert "50.0%" in page and "No calls yet." in page
        assert reverse("feed:post", args=[hit.post_id]) not in page


def test_the_calls_tab_loads_more_calls_a_page_at_a_time(client, btc):
    alice = UserFactory(username="alice")
    for index in range(23):
        _call(btc, target=str(200 + index), entry="100", author=alice, made_at=MADE + index * HOUR)
    first = client.get(reverse("feed:profile_calls", args=["alice"])).content.decode()
    assert first.count('class="call-row"') == 20 and "Call: $BTC up to 222 by" in first
    next_link = first.split('class="load-more" href="')[1].split('"')[0].replace("&amp;", "&")
    more = client.get(reverse("feed:profile_calls", args=["alice"]) + next_link, HTTP_HX_REQUEST="true")
    rows = more.content.decode()
    # Only the next rows for HTMX to append: no page around them, no second record.
    assert rows.count('class="call-row"') == 3 and "Call: $BTC up to 200 by" in rows
    assert "<html" not in rows and "Call record" not in rows and "load-more" not in rows


def test_the_calls_tab_costs_the_same_queries_for_one_call_or_twenty(client, btc, django_assert_num_queries):
    alice = UserFactory(username="alice")
    _call(btc, target="110", entry="100", author=alice)
    url = reverse("feed:profile_calls", args=["alice"])
    client.get(url)  # warm up: the session, content types and translations loaded once per process
    with django_assert_num_queries(3):  # the creator with counts, the record, the page of calls
        client.get(url)
    for index in range(19):
        _call(btc, target="110", entry="100", author=alice, made_at=MADE + (index + 1) * HOUR)
    with django_assert_num_queries(3):
        assert client.get(url).content.decode().count('class="call-row"') == 20


def test_a_post_card_shows_its_call_and_grade(client, btc):
    _alice, hit, _open = _alice_calls(btc)
    page = client.get(reverse("feed:post", args=[hit.post_id])).content.decode()
    assert "Call: $BTC up to 70,000 by 3 Mar" in page and "Hit +10.9%" in page and "Entry 63,120.5" in page
    latest = client.get(reverse("feed:latest")).content.decode()
    assert latest.count('class="call call-') == 3 and "Missed −3.2%" in latest


# --- Compose ------------------------------------------------------------------------------------


def test_the_compose_page_offers_a_call_fieldset_that_works_without_javascript(client):
    client.force_login(UserFactory())
    page = client.get(reverse("feed:compose")).content.decode()
    assert "Make a call (optional)" in page
    assert 'name="call_asset"' in page and 'name="call_target_price"' in page
    assert '<option value="up">Up</option>' in page and '<option value="90">90 days</option>' in page


def _compose_data(**call_fields):
    return {"body": "$BTC breaks out of the range #btc", "content_type": "analysis", **call_fields}


def test_the_compose_form_makes_a_call_only_when_one_is_filled_in(btc):
    empty = ComposeForm(_compose_data())
    assert empty.is_valid(), empty.errors
    assert empty.call() is None
    filled = ComposeForm(
        _compose_data(call_asset="btc", call_direction="up", call_target_price="70000", call_horizon_days="7")
    )
    assert filled.is_valid(), filled.errors
    post = _publish(UserFactory(), call=filled.call())
    call = Call.objects.get(post=post)
    assert (call.asset_id, call.target_price, call.horizon_at - call.made_at) == (btc.pk, 70000, timedelta(days=7))


def test_a_refused_call_is_shown_on_its_field_in_the_compose_form(btc):
    _market_now("BTC", "63120.5")
    form = ComposeForm(
        _compose_data(call_asset="BTC", call_direction="up", call_target_price="60000", call_horizon_days="7")
    )
    assert form.is_valid()
    with pytest.raises(ValidationError) as refusal:
        _publish(UserFactory(), call=form.call())
    apply_service_errors(form, refusal.value)
    page = render_to_string("feed/compose.html", {"form": form})
    field = page.split('name="call_target_price"')[1].split("</div>")[0]
    assert "For an up call the target must be above the current price of $BTC (63,120.5)." in field
    assert Post.objects.count() == 0


def test_composing_a_post_with_a_call_in_the_browser_form_publishes_both(client, btc):
    author = UserFactory()
    client.force_login(author)
    response = client.post(
        reverse("feed:compose"),
        _compose_data(call_asset="BTC", call_direction="up", call_target_price="70000", call_horizon_days="7"),
    )
    assert response.status_code == 302
    assert Call.objects.filter(post__author=author, target_price=70000).exists()


# --- API ----------------------------------------------------------------------------------------


API_CALL = {"asset": "BTC", "direction": "up", "target_price": "70000", "horizon_days": 7}


def test_the_api_publishes_a_post_with_a_call_and_shows_it(btc):
    _market_now("BTC", "63120.5")
    api = client_for(UserFactory(username="alice"))
    response = api.post(
        "/api/v1/posts/",
        {"body": "$BTC to 70k this week", "content_type": "analysis", "call": API_CALL},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    call = Call.objects.get(post_id=body["id"])
    assert body["call"] == {
        "asset": "BTC",
        "direction": "up",
        "target_price": "70000.000000000000",
        "entry_price": "63120.500000000000",
        "made_at": body["created_at"],
        "horizon_at": (call.made_at + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
        "status": "open",
        "return_percent": None,
    }
    assert api.get(f"/api/v1/posts/{body['id']}/").json()["call"] == body["call"]


def test_the_api_shows_null_for_a_post_without_a_call(btc):
    api = client_for(UserFactory())
    response = api.post("/api/v1/posts/", {"body": "gm", "content_type": "analysis"}, format="json")
    assert response.status_code == 201 and response.json()["call"] is None


def test_the_api_takes_a_call_as_a_json_part_of_a_multipart_post(btc):
    api = client_for(UserFactory())
    response = api.post(
        "/api/v1/posts/",
        {"body": "$BTC chart attached", "content_type": "analysis", "call": json.dumps(API_CALL)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["call"]["target_price"] == "70000.000000000000"


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        ({**API_CALL, "target_price": "60000"}, "call_target_price", "must be above the current price of $BTC"),
        ({**API_CALL, "asset": "DOGE"}, "call_asset", "$DOGE is not listed"),
        ({**API_CALL, "horizon_days": 5}, "call", "Choose a horizon of 1, 3, 7, 14, 30 or 90 days."),
        ({**API_CALL, "direction": "flat"}, "call", "direction"),
        ({**API_CALL, "target_price": "0"}, "call", "The target price must be above zero."),
    ],
)
def test_the_api_refuses_a_bad_call_with_a_400_naming_the_field(btc, call, field, message):
    _market_now("BTC", "63120.5")
    api = client_for(UserFactory())
    response = api.post("/api/v1/posts/", {"body": "$BTC", "content_type": "analysis", "call": call}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"] and message in json.dumps(body["errors"][field], ensure_ascii=False)
    assert Post.objects.count() == 0 and Call.objects.count() == 0


def test_no_api_request_changes_a_call(btc):
    _market_now("BTC", "63120.5")
    author = UserFactory()
    api = client_for(author)
    post_id = api.post(
        "/api/v1/posts/", {"body": "$BTC up", "content_type": "analysis", "call": API_CALL}, format="json"
    ).json()["id"]
    before = Call.objects.filter(post_id=post_id).values().get()
    changed = {**API_CALL, "target_price": "99000", "horizon_days": 90}
    response = api.patch(f"/api/v1/posts/{post_id}/", {"body": "$BTC up, edited", "call": changed}, format="json")
    assert response.status_code == 200
    assert response.json()["call"]["target_price"] == "70000.000000000000"
    assert Call.objects.filter(post_id=post_id).values().get() == before


def test_the_api_gives_a_creators_record_and_calls(btc):
    alice, hit, still_open = _alice_calls(btc)
    body = client_for(UserFactory()).get("/api/v1/users/alice/calls/?size=2").json()
    assert body["record"] == {
        "graded": 2,
        "hits": 1,
        "missed": 1,
        "open": 1,
        "hit_rate_percent": "50.00",
        "average_return_percent": "3.84",
    }
    assert [item["post"] for item in body["results"]] == [still_open.post_id, _missed_post_of(alice)]
    assert body["results"][0]["status"] == "open" and body["next_cursor"]
    rest = client_for(UserFactory()).get(f"/api/v1/users/alice/calls/?cursor={body['next_cursor']}").json()
    assert [(item["post"], item["return_percent"]) for item in rest["results"]] == [(hit.post_id, "10.8990")]


def _missed_post_of(author):
    return Call.objects.get(author=author, status="missed").post_id
