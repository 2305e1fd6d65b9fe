"""What one reader's week can give: the daily cap (time spent included), the weekly time spent per
creator, the weekly points shared across creators and the largest share for one creator; and why
readers who count for nothing count for nothing (no fees paid, or an account not in good standing).

Points are the weights of the interactions the daily caps kept (a like 1, a comment 2, a share 3,
time spent 0.5 a minute). With the defaults a reader gives at most 40 points a week, at most 10
(0.25 * 40) of them to one creator; each (reader, creator) pair keeps an integer thousandth of its
worth, `keep_milli` = floor(1000 * min(1, 40 / the reader's points, 10 / the pair's points)).
Every reader here is a real trader, worth 0.9."""

from datetime import timedelta
from decimal import Decimal

import pytest

from incentives import estimates
from incentives.contributions import CreatorFigures, Parameters
from incentives.models import ActionWeight, IncentivePolicy
from tests.factories import FillFactory, TradingProfileFactory, UserFactory

from .world import (
    A_YEAR_BEFORE,
    Kind,
    at,
    compute_week,
    creator,
    event,
    fresh_account,
    non_trader,
    posts,
    real_trader,
    record,
)

pytestmark = pytest.mark.django_db
D = Decimal
DEFAULT_LIMITS = {"reader_week_points": 40, "reader_creator_share": D("0.250"), "time_spent_week_minutes": 15}


def test_the_default_limits():
    policy = IncentivePolicy.current()

    assert {name: getattr(policy, name) for name in DEFAULT_LIMITS} == DEFAULT_LIMITS


@pytest.fixture(autouse=True)
def default_limits():
    """The figures below are worked out for the default limits: pinned, so a change of default
    fails `test_the_default_limits` alone."""
    IncentivePolicy.objects.update_or_create(pk=1, defaults=DEFAULT_LIMITS)


def likes(reader, author, count: int, *, day: int = 1):
    return [event(reader, post, Kind.LIKE, at(day, minute=n)) for n, post in enumerate(posts(author, count))]


def acts(reader, author, kind: int, count: int, *, day: int = 1):
    return [event(reader, post, kind, at(day, hour=13, minute=n)) for n, post in enumerate(posts(author, count))]


# The weekly points, shared in proportion across creators.


def test_a_reader_over_the_weekly_points_is_scaled_down_in_proportion_across_creators():
    sharing, liked, commented, also_liked, lightly_liked, mixed = (creator() for _ in range(6))
    fan = real_trader()
    # 10 + 10 + 10 + 10 + 5 + 5 = 50 points, none over 10 for one creator: every pair keeps
    # 40 / 50 = 800‰.
    record(
        acts(fan, sharing, Kind.SHARE, 3),  # 3 × 3 = 9 points
        likes(fan, sharing, 1),  # and 1
        likes(fan, liked, 10),  # 10 points
        acts(fan, commented, Kind.COMMENT, 5),  # 5 × 2 = 10 points
        likes(fan, also_liked, 10),  # 10 points
        likes(fan, lightly_liked, 5),  # 5 points
        acts(fan, mixed, Kind.SHARE, 1),  # 3 points
        acts(fan, mixed, Kind.COMMENT, 1),  # and 2
    )

    figures = compute_week().creators

    # Each creator: points × value 0.9 × 0.8.
    for author in (sharing, liked, commented, also_liked):
        assert figures[author.id].score == D("7.200000")
    for author in (lightly_liked, mixed):
        assert figures[author.id].score == D("3.600000")
    # Together exactly the 40 points the reader can give, at the reader's value.
    everyone = (sharing, liked, commented, also_liked, lightly_liked, mixed)
    assert sum(figures[author.id].score for author in everyone) == 40 * D("0.9")
    # Value sums are in millionths: 3 shares × value 900‰ × kept 800‰.
    assert figures[sharing.id].value_sums == {Kind.SHARE: 3 * 900 * 800, Kind.LIKE: 1 * 900 * 800}
    # Counted as they happened; the part taken away is shown in interaction-equivalents (× 0.2,
    # rounded): 4 → 0.8, 10 → 2, 5 → 1, 5 → 1, 2 → 0.4.
    assert figures[sharing.id].counted_counts == {"share": 3, "like": 1}
    assert figures[sharing.id].discounts == {"reader_limit": 1}
    assert figures[liked.id].discounts == {"reader_limit": 2}
    assert figures[commented.id].discounts == {"reader_limit": 1}
    assert figures[lightly_liked.id].discounts == {"reader_limit": 1}
    assert figures[mixed.id].discounts == {}


def test_a_reader_at_exactly_the_weekly_points_keeps_everything():
    authors = [creator() for _ in range(4)]
    fan = real_trader()
    record(*(likes(fan, author, 10) for author in authors))  # 4 × 10 = 40 points

    figures = compute_week().creators

    for author in authors:
        assert figures[author.id].score == 10 * D("0.9")
        assert figures[author.id].discounts == {}


def test_each_reader_has_a_budget_of_their_own():
    author = creator()
    fans = [real_trader() for _ in range(3)]
    # Three readers, 10 points each on one creator: each is within 10 and 40, so nothing is taken.
    record(*(likes(fan, author, 10) for fan in fans))

    figures = compute_week().creators[author.id]

    assert figures.score == 3 * 10 * D("0.9")
    assert figures.discounts == {}


def test_the_weekly_points_are_the_operators_setting():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"reader_week_points": 20})
    one, other = creator(), creator()
    fan = real_trader()
    record(likes(fan, one, 4), likes(fan, other, 12, day=2), likes(fan, other, 12, day=3))

    figures = compute_week().creators

    # 4 + 24 = 28 points against 20, and at most 0.25 × 20 = 5 for one creator. `one`: min(20/28,
    # 5/4) = 0.714 → 714‰; `other`: min(20/28, 5/24 = 0.2083) → 208‰.
    assert figures[one.id].score == 4 * D("0.9") * D("0.714") == D("2.570400")
    assert figures[other.id].score == 24 * D("0.9") * D("0.208") == D("4.492800")


# The largest share for one creator.


def test_a_reader_engaging_only_one_creator_gives_at_most_a_quarter_of_the_weekly_points():
    author = creator()
    fan = real_trader()
    # 20 likes on Monday (the daily cap) and 10 comments on Tuesday: 40 points for one creator.
    record(likes(fan, author, 20), acts(fan, author, Kind.COMMENT, 10, day=2))

    figures = compute_week().creators[author.id]

    # 10 / 40 = 250‰ kept: 40 points × 0.9 × 0.25 = 10 points' worth at the reader's value.
    assert figures.score == 10 * D("0.9") == D("9.000000")
    assert figures.counted_counts == {"like": 20, "comment": 10}
    # 30 interactions × 0.75 = 22.5 taken away, shown rounded half to even.
    assert figures.discounts == {"reader_limit": 22}


def test_the_share_one_creator_loses_is_not_handed_to_the_others():
    big, small, smaller = creator(), creator(), creator()
    fan = real_trader()
    record(
        likes(fan, big, 20),  # 20 points on Monday
        acts(fan, big, Kind.COMMENT, 5, day=2),  # and 10 on Tuesday: 30 for one creator
        likes(fan, small, 10),
        likes(fan, smaller, 10),
    )

    figures = compute_week().creators

    # 50 points against 40: 800‰ for each creator, but `big` is also held to 10 / 30, floored to
    # 333‰. 30 × 0.9 × 0.333 = 8.991; the others keep their 800‰: 10 × 0.9 × 0.8 = 7.2. The reader
    # gives 9.99 + 8 + 8 = 25.99 points, under 40: what `big` lost goes to nobody.
    assert figures[big.id].score == D("8.991000")
    assert figures[small.id].score == figures[smaller.id].score == D("7.200000")
    assert figures[big.id].value_sums == {Kind.LIKE: 20 * 900 * 333, Kind.COMMENT: 5 * 900 * 333}
    # 25 interactions × 0.667 = 16.675, shown as 17.
    assert figures[big.id].discounts == {"reader_limit": 17}
    assert figures[small.id].discounts == {"reader_limit": 2}


def test_the_share_for_one_creator_is_the_operators_setting():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"reader_creator_share": D("0.125")})
    author = creator()
    fan = real_trader()
    record(likes(fan, author, 20))

    # 0.125 × 40 = 5 of 20 points: 250‰.
    assert compute_week().creators[author.id].score == 5 * D("0.9")


# Time spent: within the daily cap, and up to 15 minutes a week per reader and creator.


def dwell(reader, post, minutes: float, when):
    return event(reader, post, Kind.DWELL, when, dwell_ms=int(minutes * 60_000))


def test_a_posts_time_spent_is_one_interaction_of_the_daily_cap_ordered_by_its_weight():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"daily_cap": 3})
    author = creator()
    first, second, third = posts(author, 3)
    fan = real_trader()
    record(
        event(fan, first, Kind.LIKE, at(1)),
        event(fan, second, Kind.LIKE, at(1)),
        dwell(fan, first, 1, at(1)),
        dwell(fan, second, 2, at(1, minute=5)),
        dwell(fan, third, 3, at(1, minute=10)),
        (event(fan, post, Kind.VIEW, at(1)) for post in (first, second, third)),
    )

    figures = compute_week().creators[author.id]

    # Likes (weight 1) first, then one post's time spent (0.5 a minute) before any view (0.1).
    assert figures.counted_counts == {"like": 2, "time_spent": 1}
    assert figures.discounts == {"daily_cap": 5}
    # One of the day's three posts' time spent is kept: the day's 6 minutes × 1/3.
    assert figures.counted_minutes == D("2.00")
    assert figures.score == (2 * D("1.000") + D("0.500") * 2) * D("0.9")


def test_time_spent_counts_up_to_fifteen_minutes_a_week_per_reader_and_creator():
    author, other_author = creator(), creator()
    fan, other_fan = real_trader(), real_trader()
    four = posts(author, 4)
    record(
        # Two posts on Monday, two on Tuesday, 5 minutes each: 20 minutes, of which 15 count.
        (dwell(fan, post, 5, at(1 + n // 2, hour=9 + n)) for n, post in enumerate(four)),
        # The same reader's 5 minutes with another creator count in full.
        dwell(fan, posts(other_author)[0], 5, at(2, hour=15)),
        # Another reader's 3 × 4 = 12 minutes with the first creator count in full.
        (dwell(other_fan, post, 4, at(3, hour=9 + n)) for n, post in enumerate(four[:3])),
    )

    figures = compute_week().creators

    assert figures[author.id].counted_counts == {"time_spent": 7}
    assert figures[author.id].counted_minutes == 15 + 12
    assert figures[author.id].score == D("0.500") * D("0.9") * 27
    assert figures[other_author.id].counted_minutes == 5
    # The weekly minutes are a limit, not a discount: nothing is shown as taken away.
    assert figures[author.id].discounts == {}


def test_the_weekly_time_spent_is_the_operators_setting():
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"time_spent_week_minutes": 8})
    ActionWeight.objects.filter(kind=ActionWeight.Action.TIME_SPENT).update(per_view_cap_seconds=300)
    author = creator()
    fan = real_trader()
    record(dwell(fan, post, 5, at(1, hour=9 + n)) for n, post in enumerate(posts(author, 3)))

    assert compute_week().creators[author.id].counted_minutes == 8


def test_time_spent_points_count_towards_the_weekly_points():
    author = creator()
    fan = real_trader()
    # 15 counted minutes (7.5 points) and 5 likes (5 points): 12.5 points for one creator.
    record(
        (dwell(fan, post, 5, at(2, hour=9 + n)) for n, post in enumerate(posts(author, 3))),
        likes(fan, author, 5),
    )

    figures = compute_week().creators[author.id]

    # 10 / 12.5 = 800‰: (5 + 0.5 × 15) × 0.9 × 0.8 = 9.
    assert figures.score == D("12.5") * D("0.9") * D("0.800") == D("9.000000")
    assert figures.counted_minutes == 15  # the minutes counted, before the reader's limit


# Readers who count for nothing, and why.


def test_readers_who_pay_no_fees_are_no_trading_and_readers_not_in_good_standing_are_ineligible():
    author = creator()
    [post] = posts(author)
    never_traded, newcomer = non_trader(), fresh_account()
    only_rebates = UserFactory(date_joined=A_YEAR_BEFORE)
    TradingProfileFactory(user=only_rebates, kyc_level=2, account_opened_at=A_YEAR_BEFORE)
    FillFactory(user=only_rebates, fee=D(-5), filled_at=at(1))  # a maker rebate, no fee paid
    frozen = real_trader(is_frozen=True)
    suspended_non_trader = non_trader()
    suspended_non_trader.suspended_at = at(0)
    suspended_non_trader.save(update_fields=["suspended_at"])
    deactivated = real_trader()
    deactivated.is_active = False
    deactivated.save(update_fields=["is_active"])
    record(
        event(reader, post, Kind.LIKE, at(1, hour=14))
        for reader in (never_traded, newcomer, only_rebates, frozen, suspended_non_trader, deactivated)
    )

    week = compute_week()

    figures = week.creators[author.id]
    assert figures.counted_counts == {} and figures.score == 0
    # Suspended, deactivated or frozen comes first, whatever the account paid.
    assert figures.discounts == {"no_trading": 3, "ineligible_reader": 3}
    # Neither is a finding about the creator.
    assert week.flags == []


def test_interactions_that_do_not_count_use_none_of_the_weekly_points():
    old_posts_author, one, other = creator(), creator(), creator()
    fan = real_trader()
    old_posts = posts(old_posts_author, 20, published_at=at(0) - timedelta(days=10))
    record(
        # 20 likes and 10 comments on posts past their earning window: 40 points that do not count.
        (event(fan, post, Kind.LIKE, at(1, minute=n)) for n, post in enumerate(old_posts)),
        (event(fan, post, Kind.COMMENT, at(2, minute=n)) for n, post in enumerate(old_posts[:10])),
        likes(fan, one, 10),
        likes(fan, other, 10),
    )

    figures = compute_week().creators

    # 10 + 10 = 20 counted points: under 40, so nothing is scaled (with the 40 others, 60 would be).
    assert figures[old_posts_author.id].discounts == {"post_window": 30}
    assert figures[one.id].score == 10 * D("0.9") and figures[one.id].discounts == {}
    assert figures[other.id].score == 10 * D("0.9") and figures[other.id].discounts == {}


def test_the_limits_are_frozen_with_the_parameters():
    IncentivePolicy.objects.update_or_create(
        pk=1, defaults={"reader_week_points": 30, "reader_creator_share": D("0.250"), "time_spent_week_minutes": 10}
    )

    frozen = Parameters.current().as_json()

    assert (frozen["reader_week_points"], frozen["reader_creator_share"], frozen["time_spent_week_seconds"]) == (
        30,
        "0.250",
        600,
    )


def test_the_live_estimate_counts_interactions_the_limits_reduced_once():
    # 20 likes counted, half of their worth taken by the reader limits (10 interaction-equivalents),
    # one repeat and one self-like: 12 of 22 interactions did not count → 55%, shown as 50%.
    figures = CreatorFigures(
        creator_id=1, counted_counts={"like": 20}, discounts={"reader_limit": 10, "repeat": 1, "self": 1}
    )
    assert estimates.discounted_percent(figures) == 50
