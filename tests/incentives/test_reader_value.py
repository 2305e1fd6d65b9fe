"""What a reader is worth, from their own fills before the week's end: fees paid in the fee window,
the weeks they traded, their KYC level and age; never today's trading profile."""

from datetime import timedelta
from decimal import Decimal

import pytest

from creators.models import User
from incentives.contributions import Parameters
from incentives.models import ReaderValueRules
from markets.models import Fill
from tests.factories import FillFactory, TradingProfileFactory, UserFactory

from .world import A_YEAR_BEFORE, Kind, at, compute_week, creator, event, posts, real_trader, record, week

pytestmark = pytest.mark.django_db
D = Decimal


def aged_verified_account(**profile) -> User:
    """A year-old, KYC-verified account with no fills yet."""
    user = UserFactory(date_joined=A_YEAR_BEFORE)
    TradingProfileFactory(user=user, kyc_level=2, account_opened_at=A_YEAR_BEFORE, **profile)
    return user


def fills(user: User, *moments_and_fees: tuple, **fields) -> None:
    Fill.objects.bulk_create(
        FillFactory.build(user=user, filled_at=moment, fee=fee, **fields) for moment, fee in moments_and_fees
    )


def value_of(reader: User, *, until=None) -> Decimal:
    """The reader's value: the score of one like on a creator nobody else reads."""
    author = creator()
    record(event(reader, posts(author)[0], Kind.LIKE, at(1)))
    return compute_week(until=until).creators[author.id].score


def test_a_token_trade_sybil_is_worth_under_five_percent_of_a_fee_paying_trader():
    # The profile says what the attack relies on: traded this month, in a volume tier.
    sybil = aged_verified_account(trades_30d=1, last_trade_at=at(1), volume_tier=1)
    # One $10 trade paying a $0.01 fee: 0.0001 BTC at $100,000.
    fills(sybil, (at(1), D("0.01")), quantity=D("0.0001"), price=D(100_000))
    trader = real_trader()

    sybil_value, trader_value = value_of(sybil), value_of(trader)

    assert trader_value == D("0.900")
    # Fee share ln(1.02) / ln(41) = 0.00533 × (KYC verified 0.600 + 0.300 / 8): 0.0034.
    assert sybil_value == D("0.003")
    assert sybil_value < trader_value * D("0.05")


def test_twenty_token_trade_sybils_are_worth_less_than_one_real_trader():
    sybils_author, trader_author = creator(), creator()
    sybils = [aged_verified_account(trades_30d=1, last_trade_at=at(0), volume_tier=1) for _ in range(20)]
    for sybil in sybils:
        fills(sybil, (at(0), D("0.01")), quantity=D("0.0001"), price=D(100_000))
    [sybils_post], [trader_post] = posts(sybils_author), posts(trader_author)
    record(
        # Hours apart, so no integrity rule is what keeps them small.
        [event(sybil, sybils_post, Kind.LIKE, at(n % 6, hour=3 + n)) for n, sybil in enumerate(sybils)],
        event(real_trader(), trader_post, Kind.LIKE, at(1)),
    )

    creators = compute_week().creators

    assert creators[sybils_author.id].score == 20 * D("0.003") < creators[trader_author.id].score


def test_a_trade_after_the_weeks_end_does_not_raise_that_weeks_value():
    before, after = aged_verified_account(), aged_verified_account()
    fills(before, (week().ends_at - timedelta(minutes=5), D(50)))
    # Monday 00:05: the week after.
    fills(after, (week().ends_at + timedelta(minutes=5), D(50)))

    # Full fee share × (KYC verified 0.600 + one week of eight × 0.300) = 0.6375.
    assert value_of(before) == D("0.638")
    # No fees before the week's end: worth nothing.
    assert value_of(after) == 0


def test_the_live_estimate_values_a_reader_as_of_its_moment():
    reader = aged_verified_account()
    fills(reader, (at(4), D(50)))

    assert value_of(reader, until=at(3)) == 0
    assert value_of(reader) == D("0.638")


def test_fees_paid_before_the_fee_window_do_not_count():
    inside, outside = aged_verified_account(), aged_verified_account()
    fills(inside, (week().ends_at - timedelta(days=29), D(50)))
    fills(outside, (week().ends_at - timedelta(days=31), D(50)))

    assert value_of(inside) == D("0.638")
    assert value_of(outside) == 0


def test_tenure_counts_distinct_weeks_with_a_fill_in_the_last_eight():
    one_week, four_weeks, with_an_old_one = aged_verified_account(), aged_verified_account(), aged_verified_account()
    end = week().ends_at
    # $20 of fees each in the 30 days: four fills in one week, or one in each of four weeks.
    fills(one_week, *[(end - timedelta(days=1, hours=hour), D(5)) for hour in range(4)])
    fills(four_weeks, *[(end - timedelta(days=1 + 7 * n), D(5)) for n in range(4)])
    # A fill 60 days back is beyond the eight weeks.
    fills(
        with_an_old_one, *[(end - timedelta(days=1 + 7 * n), D(5)) for n in range(4)], (end - timedelta(days=60), D(5))
    )

    # 0.600 + 0.300 × 1/8 (0.6375) and × 4/8.
    assert value_of(one_week) == D("0.638")
    assert value_of(four_weeks) == D("0.750")
    assert value_of(with_an_old_one) == D("0.750")


def test_fees_in_the_base_asset_count_at_the_fill_price_and_rebates_count_as_nothing():
    base_fee, rebated = aged_verified_account(), aged_verified_account()
    # 0.0002 BTC at $100,000 = $20, the full fee share; the maker rebate does not take it back.
    fills(base_fee, (at(1), D("0.0002")), fee_currency="BTC", price=D(100_000))
    fills(base_fee, (at(2), D(-50)))
    # Rebates alone: no fees paid.
    fills(rebated, (at(1), D(-50)), (at(2), D(-50)))

    assert value_of(base_fee) == D("0.638")
    assert value_of(rebated) == 0


def test_value_grows_with_the_logarithm_of_fees_up_to_the_full_fee_share_then_stays():
    readers = {fee: aged_verified_account() for fee in (D(1), D(5), D(10), D(20), D(200))}
    for fee, reader in readers.items():
        fills(reader, (at(1), fee))

    values = [value_of(reader) for reader in readers.values()]

    # ln(1 + fee / $0.50) / ln(1 + $20 / $0.50) × (0.600 + 0.300 / 8), in thousandths; flat from $20.
    # $1: ln 3 / ln 41 = 0.2958 × 0.6375 = 0.1886; $5: ln 11 / ln 41 = 0.6457 → 0.4116;
    # $10: ln 21 / ln 41 = 0.8198 → 0.5226.
    assert values == [D("0.189"), D("0.412"), D("0.523"), D("0.638"), D("0.638")]


def test_the_operators_settings_change_the_value():
    ReaderValueRules.objects.update_or_create(
        pk=1, defaults={"full_fees_usd": D("100.00"), "fee_window_days": 7, "tenure_weeks": 2}
    )
    reader = aged_verified_account()
    end = week().ends_at
    fills(reader, (end - timedelta(days=1), D(25)), (end - timedelta(days=8), D(25)))

    # Only the last 7 days' $25 count: fee share ln(51) / ln(201) = 0.741; both weeks of two: tenure
    # share 1. 0.741 × (0.600 + 0.300) = 0.6673.
    assert value_of(reader) == D("0.667")


def test_frozen_and_suspended_readers_are_worth_nothing_whatever_they_paid():
    frozen, suspended = aged_verified_account(is_frozen=True), aged_verified_account()
    suspended.suspended_at = at(0)
    suspended.save(update_fields=["suspended_at"])
    for reader in (frozen, suspended):
        fills(reader, (at(1), D(500)))
    author = creator()
    record(event(reader, posts(author)[0], Kind.LIKE, at(1)) for reader in (frozen, suspended))

    figures = compute_week().creators[author.id]

    assert figures.score == 0 and figures.discounts == {"ineligible_reader": 2}


def test_every_reader_value_setting_is_frozen_with_the_parameters():
    ReaderValueRules.objects.update_or_create(pk=1, defaults={"full_fees_usd": D("35.00"), "tenure_weeks": 6})

    frozen = Parameters.current().as_json()["reader_value"]

    assert frozen["full_fees_usd"] == "35.00" and frozen["tenure_weeks"] == "6"
    assert {"base", "fee_scale_usd", "fee_window_days", "tenure_bonus", "kyc_verified", "maximum"} <= frozen.keys()
    assert not {"active_trader_bonus", "volume_tier_bonus"} & frozen.keys()
