"""What a creator's week counts for: which interactions count, what each reader's is worth, and the
exact score (`incentives.contributions.compute` over a hand-built log)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from incentives.models import ActionWeight, IncentivePolicy, ReaderValueRules

from .world import (
    Kind,
    at,
    compute_week,
    creator,
    event,
    figures_of,
    fill,
    fresh_account,
    new_trader,
    non_trader,
    posts,
    real_trader,
    record,
    trade_card,
    week,
)

pytestmark = pytest.mark.django_db
D = Decimal


# One counted interaction per reader, post and action.


def test_five_likes_from_one_reader_on_one_post_count_once():
    author = creator()
    [post] = posts(author)
    fan = real_trader()
    record(event(fan, post, Kind.LIKE, at(1, minute=minute)) for minute in range(5))

    figures = figures_of(author)

    assert figures.raw_counts == {"like": 5}
    assert figures.counted_counts == {"like": 1}
    assert figures.discounts == {"repeat": 4}
    assert figures.score == D("0.9")


def test_a_like_taken_back_does_not_count():
    author = creator()
    [post] = posts(author)
    fan = real_trader()
    record(event(fan, post, Kind.LIKE, at(1)), event(fan, post, Kind.UNLIKE, at(1, minute=5)))

    figures = figures_of(author)

    assert figures.counted_counts == {}
    assert figures.discounts == {"undone": 1}
    assert figures.score == 0


def test_a_follow_taken_back_does_not_count_but_a_kept_follow_does():
    author = creator()
    fickle, loyal = real_trader(), real_trader()
    record(
        event(fickle, author, Kind.FOLLOW, at(1)),
        event(fickle, author, Kind.UNFOLLOW, at(2)),
        event(loyal, author, Kind.FOLLOW, at(1)),
    )

    figures = figures_of(author)

    assert figures.raw_counts == {"follow": 2}
    assert figures.counted_counts == {"follow": 1}
    assert figures.discounts == {"undone": 1}
    assert figures.score == D("3.000") * D("0.9")


def test_a_like_unliked_and_liked_again_counts_once():
    author = creator()
    [post] = posts(author)
    fan = real_trader()
    record(
        event(fan, post, Kind.LIKE, at(1)),
        event(fan, post, Kind.UNLIKE, at(1, minute=1)),
        event(fan, post, Kind.LIKE, at(1, minute=2)),
    )

    figures = figures_of(author)

    assert figures.counted_counts == {"like": 1}
    assert figures.discounts == {"repeat": 1}


def test_a_creators_own_likes_earn_nothing():
    author = creator()
    [post] = posts(author)
    record(event(author, post, Kind.LIKE, at(1)), event(author, post, Kind.COMMENT, at(1)))

    figures = figures_of(author)

    assert figures.raw_counts == {"like": 1, "comment": 1}
    assert figures.counted_counts == {}
    assert figures.discounts == {"self": 2}
    assert figures.score == 0


# Which posts earn.


def test_a_post_published_ten_days_before_earns_nothing():
    author = creator()
    [old] = posts(author, published_at=at(0) - timedelta(days=10))
    record(event(real_trader(), old, Kind.LIKE, at(1)))

    figures = figures_of(author)

    assert figures.counted_counts == {}
    assert figures.discounts == {"post_window": 1}


def test_a_post_earns_during_its_first_seven_days_only():
    author = creator()
    # Published on the Thursday before the week: earns until this Thursday noon.
    [post] = posts(author, published_at=at(-4))
    early, late = real_trader(), real_trader()
    record(event(early, post, Kind.LIKE, at(2, hour=11)), event(late, post, Kind.LIKE, at(3, hour=13)))

    figures = figures_of(author)

    assert figures.counted_counts == {"like": 1}
    assert figures.discounts == {"post_window": 1}


def test_a_hidden_post_earns_nothing():
    author = creator()
    [hidden] = posts(author, status="hidden")
    record(event(real_trader(), hidden, Kind.LIKE, at(1)))

    figures = figures_of(author)

    assert figures.counted_counts == {}
    assert figures.discounts == {"post_window": 1}
    assert figures.score == 0


# The daily cap per reader and creator.


def test_the_daily_cap_keeps_the_most_valuable_actions_and_resets_the_next_day():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 3})
    author = creator()
    monday_posts, tuesday_posts = posts(author, 5), posts(author, 1)
    fan = real_trader()
    record(
        event(fan, post, kind, at(1, minute=minute))
        for minute, post in enumerate(monday_posts)
        for kind in (Kind.LIKE, Kind.COMMENT, Kind.SHARE)
    )
    record(event(fan, post, Kind.LIKE, at(2)) for post in tuesday_posts)

    figures = figures_of(author)

    assert figures.raw_counts == {"like": 6, "comment": 5, "share": 5}
    # Monday: three shares (weight 3) before comments (2) and likes (1); Tuesday: a like. 10 points,
    # within what one reader can give one creator in a week.
    assert figures.counted_counts == {"share": 3, "like": 1}
    assert figures.discounts == {"daily_cap": 12}
    assert figures.score == (3 * D("3.000") + 1 * D("1.000")) * D("0.9")


def test_the_daily_cap_puts_a_trade_click_before_shares():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 3})
    author = creator()
    fan = real_trader()
    [first, *others] = posts(author, 4)
    trade_card(first)
    record(event(fan, first, Kind.TRADE_CLICK, at(1)))
    fill(fan, at(1, hour=13))  # the click led to a trade
    record(event(fan, post, Kind.SHARE, at(1)) for post in others)

    figures = figures_of(author)

    assert figures.counted_counts == {"trade_click": 1, "share": 2}
    assert figures.discounts == {"daily_cap": 1}


def test_the_daily_cap_fills_in_order_of_worth_and_cuts_the_action_it_runs_out_in():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 5})
    author = creator()
    fan = real_trader()
    shared, commented, liked = posts(author, 2), posts(author, 2), posts(author, 3)
    record(event(fan, post, Kind.SHARE, at(1)) for post in shared)
    record(event(fan, post, Kind.COMMENT, at(1)) for post in commented)
    record(event(fan, post, Kind.LIKE, at(1)) for post in liked)

    figures = figures_of(author)

    # Two shares and two comments fit; the cap runs out one like in.
    assert figures.counted_counts == {"share": 2, "comment": 2, "like": 1}
    assert figures.discounts == {"daily_cap": 2}


def test_the_daily_cap_is_per_creator():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 3})
    one, other = creator(), creator()
    fan = real_trader()
    record(event(fan, post, Kind.LIKE, at(1)) for post in posts(one, 3) + posts(other, 3))

    figures = compute_week()

    assert figures.creators[one.id].counted_counts == {"like": 3}
    assert figures.creators[other.id].counted_counts == {"like": 3}


# Time spent.


def test_time_spent_is_capped_per_reader_and_post_and_scored_per_minute():
    ActionWeight.objects.filter(kind=ActionWeight.Action.TIME_SPENT).update(per_view_cap_seconds=300)
    author = creator()
    long_read, short_read = posts(author, 2)
    fan = real_trader()
    record(
        event(fan, long_read, Kind.DWELL, at(1), dwell_ms=600_000),
        event(fan, long_read, Kind.DWELL, at(1, hour=14), dwell_ms=600_000),
        event(fan, short_read, Kind.DWELL, at(1), dwell_ms=90_000),
    )

    figures = figures_of(author)

    # 5 minutes on the long read (capped), 1.5 on the short one.
    assert figures.counted_minutes == D("6.50")
    assert figures.raw_counts == {"time_spent": 3}
    assert figures.counted_counts == {"time_spent": 2}
    # Weight 0.500 per minute × reader value 0.900 × 6.5 minutes.
    assert figures.score == D("0.500") * D("0.9") * D("6.5")


def test_the_time_spent_cap_is_the_operators_setting():
    ActionWeight.objects.filter(kind=ActionWeight.Action.TIME_SPENT).update(per_view_cap_seconds=120)
    author = creator()
    [post] = posts(author)
    record(event(real_trader(), post, Kind.DWELL, at(1), dwell_ms=600_000))

    assert figures_of(author).counted_minutes == D("2.00")


def test_a_posts_time_spent_is_one_interaction_of_the_daily_cap_after_likes():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 2})
    author = creator()
    fan = real_trader()
    two_posts = posts(author, 2)
    record(event(fan, post, Kind.DWELL, at(1), dwell_ms=60_000) for post in two_posts)
    record(event(fan, two_posts[0], Kind.LIKE, at(1)))

    figures = figures_of(author)

    # The like (weight 1) first, then one post's time spent (0.5 a minute); the other's is capped.
    assert figures.counted_counts == {"like": 1, "time_spent": 1}
    assert figures.discounts == {"daily_cap": 1}
    assert figures.counted_minutes == D("1.00")
    assert figures.score == (D("1.000") + D("0.500") * 1) * D("0.9")


# What each reader is worth.


def test_a_verified_active_trader_is_worth_more_than_a_new_trader_and_a_non_trader_nothing():
    trader_creator, newcomer_creator, non_trader_creator, fresh_creator = creator(), creator(), creator(), creator()
    record(
        event(real_trader(), posts(trader_creator)[0], Kind.LIKE, at(1)),
        event(new_trader(), posts(newcomer_creator)[0], Kind.LIKE, at(1)),
        event(non_trader(), posts(non_trader_creator)[0], Kind.LIKE, at(1)),
        event(fresh_account(), posts(fresh_creator)[0], Kind.LIKE, at(1)),
    )

    figures = compute_week().creators

    # Full fee share × (KYC verified 0.600 + full tenure 0.300).
    assert figures[trader_creator.id].score == D("0.900")
    # Full fee share × (0.600 + one week of eight × 0.300), younger than 14 days: × 0.25 = 0.159375.
    assert figures[newcomer_creator.id].score == D("0.159")
    # No fees paid: worth nothing, old account or new.
    for silent in (non_trader_creator, fresh_creator):
        assert figures[silent.id].score == 0
        assert figures[silent.id].counted_counts == {}
        assert figures[silent.id].discounts == {"no_trading": 1}


def test_a_new_orbit_account_with_an_old_exchange_account_is_not_young():
    author = creator()
    record(event(real_trader(joined_at=at(1, hour=9)), posts(author)[0], Kind.LIKE, at(1, hour=10)))

    assert figures_of(author).score == D("0.900")


def test_reader_value_is_capped_at_the_maximum():
    author = creator()
    ReaderValueRules.objects.update_or_create(pk=1, defaults={"kyc_advanced": D("0.900")})
    # Full fee share × (KYC advanced 0.900 + tenure 0.300) = 1.200, capped at 1.000.
    whale = real_trader(kyc_level=3)
    record(event(whale, posts(author)[0], Kind.LIKE, at(1)))

    assert figures_of(author).score == D("1.000")


def test_suspended_and_frozen_readers_count_for_nothing():
    author = creator()
    [post] = posts(author)
    suspended = real_trader()
    suspended.suspended_at = at(0)
    suspended.save(update_fields=["suspended_at"])
    frozen = real_trader(is_frozen=True)
    record(event(suspended, post, Kind.LIKE, at(1)), event(frozen, post, Kind.COMMENT, at(1)))

    figures = figures_of(author)

    assert figures.counted_counts == {}
    assert figures.discounts == {"ineligible_reader": 2}
    assert figures.score == 0


def test_signed_out_readers_count_for_nothing():
    author = creator()
    [post] = posts(author)
    record(event(None, post, Kind.VIEW, at(1, minute=minute)) for minute in range(3))

    figures = figures_of(author)

    assert figures.raw_counts == {"view": 3}
    assert figures.counted_counts == {}
    assert figures.discounts == {"signed_out": 3}
    assert figures.score == 0


def test_the_score_is_the_sum_of_weight_times_reader_value():
    author = creator()
    first, second = posts(author, 2)
    trader, unverified, newcomer = real_trader(), real_trader(kyc_level=0), new_trader()
    whale = real_trader(kyc_level=3)
    record(
        event(trader, first, Kind.LIKE, at(1)),
        event(trader, first, Kind.COMMENT, at(1)),
        event(trader, author, Kind.FOLLOW, at(1)),
        event(trader, second, Kind.DWELL, at(1), dwell_ms=600_000),
        event(unverified, first, Kind.SHARE, at(2)),
        event(newcomer, second, Kind.VIEW, at(3)),
        event(whale, trade_card(second), Kind.TRADE_CLICK, at(4)),
    )
    fill(whale, at(4, hour=15))  # the click led to a trade

    figures = figures_of(author)

    expected = (
        D("1.000") * D("0.900")  # like, verified active trader
        + D("2.000") * D("0.900")  # comment
        + D("3.000") * D("0.900")  # follow
        + D("0.500") * D("0.900") * 5  # time spent: 5 capped minutes
        + D("3.000") * D("0.400")  # share from a trader without KYC (0.100 + 0.300)
        + D("0.100") * D("0.159")  # view from an account opened this week (0.6375 × 0.25)
        + D("4.000") * D("1.000")  # trade click from an advanced trader (0.700 + 0.300)
    )
    # The trader gives 1 + 2 + 3 + 0.5 × 5 = 8.5 points: within any reader limit.
    assert figures.score == expected == D("12.8659")
    assert figures.counted_counts == {
        "like": 1,
        "comment": 1,
        "follow": 1,
        "time_spent": 1,
        "share": 1,
        "view": 1,
        "trade_click": 1,
    }


# The creator's own devices.


def test_a_reader_on_a_device_the_creator_used_does_not_count():
    author, someone_else = creator(), creator()
    [post] = posts(author)
    [their_post] = posts(someone_else)
    second_account, stranger = real_trader(), real_trader()
    record(
        event(author, their_post, Kind.LIKE, at(1), fingerprint="creatorphone"),
        event(second_account, post, Kind.LIKE, at(1, hour=13), fingerprint="creatorphone"),
        event(stranger, post, Kind.LIKE, at(1, hour=13), fingerprint="strangerphone"),
    )

    figures = compute_week()

    assert figures.creators[author.id].counted_counts == {"like": 1}
    assert figures.creators[author.id].discounts == {"same_device": 1}
    [flag] = [flag for flag in figures.flags if flag.creator_id == author.id]
    assert (flag.rule, flag.actors) == ("same_device", [second_account.id])
    # The creator's own like elsewhere still counts for the other creator.
    assert figures.creators[someone_else.id].counted_counts == {"like": 1}


def test_a_reader_on_the_creators_second_device_does_not_count_even_if_the_creator_used_both_on_one_post():
    author, someone_else = creator(), creator()
    [post] = posts(author)
    [their_post] = posts(someone_else)
    second_account = real_trader()
    record(
        # The creator reads someone's post on the laptop, then again on the phone.
        event(author, their_post, Kind.VIEW, at(1), fingerprint="aaaa-laptop"),
        event(author, their_post, Kind.VIEW, at(1, hour=20), fingerprint="ffff-phone"),
        event(second_account, post, Kind.LIKE, at(2), fingerprint="ffff-phone"),
    )

    assert figures_of(author).discounts == {"same_device": 1}


# The week's edges.


def test_events_outside_the_week_are_ignored():
    author = creator()
    [post] = posts(author, published_at=at(-1))
    before, inside, after = real_trader(), real_trader(), real_trader()
    record(
        event(before, post, Kind.LIKE, week().starts_at - timedelta(seconds=1)),
        event(inside, post, Kind.LIKE, week().starts_at),
        event(after, post, Kind.LIKE, week().ends_at),
    )

    figures = figures_of(author)

    assert figures.raw_counts == {"like": 1}
    assert figures.counted_counts == {"like": 1}


def test_until_cuts_the_week_short():
    author = creator()
    [post] = posts(author)
    early, late = real_trader(), real_trader()
    record(event(early, post, Kind.LIKE, at(1)), event(late, post, Kind.LIKE, at(4)))

    assert figures_of(author, until=at(3)).counted_counts == {"like": 1}
    assert figures_of(author).counted_counts == {"like": 2}


def test_a_creator_with_no_engagement_in_the_week_is_absent():
    author = creator()
    posts(author)

    assert author.id not in compute_week().creators


# Exactness.


def test_scores_are_exact_decimals_and_the_same_on_every_run():
    authors = [creator() for _ in range(3)]
    # Reader values 0.900, 0.400 (KYC none 0.100 + tenure 0.300), 0.159 (a new trader) and 0.700
    # (KYC basic 0.400 + tenure 0.300).
    readers = [real_trader(), real_trader(kyc_level=0), new_trader(), real_trader(kyc_level=1)]
    values = [D("0.900"), D("0.400"), D("0.159"), D("0.700")]
    dwell_ms = [7_800, 15_600, 23_400, 31_200]  # 0.13, 0.26, 0.39 and 0.52 minutes
    for number, author in enumerate(authors):
        for post in posts(author, 3):
            record(
                event(reader, post, kind, at(number, minute=index), dwell_ms=dwell_ms[index] if kind == 2 else 0)
                for index, reader in enumerate(readers)
                for kind in (Kind.VIEW, Kind.DWELL, Kind.LIKE)
            )

    first, second = compute_week(), compute_week()

    scores = {creator_id: figures.score for creator_id, figures in first.creators.items()}
    assert scores == {creator_id: figures.score for creator_id, figures in second.creators.items()}
    assert all(isinstance(score, Decimal) and score.as_tuple().exponent == -6 for score in scores.values())
    # Per post: a view (0.1) and a like (1) from each reader, plus time spent (0.5 a minute). Each
    # reader gives each creator 3 × (1.1 + 0.5 × at most 0.52) = 4.08 points at most, and 12.24 in
    # the week: within both reader limits, so nothing is scaled.
    per_post = (D("0.100") + D("1.000")) * sum(values) + D("0.500") * sum(
        value * D(ms) / 60_000 for value, ms in zip(values, dwell_ms, strict=True)
    )
    assert set(scores.values()) == {3 * per_post} == {D("8.095215")}
