"""The anti-cheating rules: each catches the pattern planted for it and leaves an organic look-alike
alone; the flags they raise say who, how much, and how serious."""

from datetime import timedelta

import pytest
from django.db import connection

from incentives.models import IntegrityFlag

from .world import (
    Kind,
    at,
    compute_week,
    creator,
    event,
    flags_of,
    fresh_account,
    posts,
    real_trader,
    record,
)

pytestmark = pytest.mark.django_db
Severity = IntegrityFlag.Severity


# Several accounts on one device.


def test_four_accounts_on_one_device_count_as_the_oldest_only():
    author = creator()
    [post] = posts(author)
    oldest, *younger = [real_trader(joined_at=at(0) - timedelta(days=400 - n)) for n in range(4)]
    record(event(account, post, Kind.LIKE, at(1), fingerprint="farmphone01") for account in [oldest, *younger])

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"like": 1}
    assert week.creators[author.id].discounts == {"shared_device": 3}
    flag = flags_of(week, author)["shared_device"]
    assert flag.actors == sorted(account.id for account in younger)
    assert flag.actor_count == 3
    assert flag.discounted_interactions == 3
    # The device appears as hashtextextended(fingerprint, 0) in hex, as the settlement compares it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_hex(hashtextextended('farmphone01', 0))")
        [device] = cursor.fetchone()
    assert flag.evidence == {"accounts": 3, "interactions": 3, "views": 0, "time_spent": 0, "groups": [device]}
    # Three accounts are most of this small creator's week, but too few to hold the payout.
    assert flag.severity == Severity.MEDIUM


def test_two_people_sharing_a_home_connection_both_count():
    author = creator()
    [post] = posts(author)
    record(event(real_trader(), post, Kind.LIKE, at(1), fingerprint="homewifi") for _ in range(2))

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"like": 2}
    assert week.flags == []


# A burst of new accounts.


def burst(make_account, count: int = 12):
    """Accounts joining 100 seconds apart on Tuesday morning: 12 of them within 20 minutes."""
    return [make_account(joined_at=at(1, hour=9) + timedelta(seconds=100 * n)) for n in range(count)]


def test_a_burst_of_new_non_trading_accounts_counts_for_nothing_and_holds_the_creator():
    author = creator()
    [post] = posts(author)
    sockpuppets = burst(fresh_account)
    record(event(account, post, Kind.LIKE, at(1, hour=11)) for account in sockpuppets)

    week = compute_week()

    assert week.creators[author.id].counted_counts == {}
    assert week.creators[author.id].discounts == {"new_account_burst": 12}
    assert week.creators[author.id].score == 0
    flag = flags_of(week, author)["new_account_burst"]
    assert flag.actors == sorted(account.id for account in sockpuppets)
    assert flag.evidence["groups"] == [f"{at(1, hour=9):%Y-%m-%d %H}:00"]
    # The creator's whole week, from twelve accounts.
    assert flag.severity == Severity.HIGH


def test_new_accounts_that_trade_are_not_a_burst():
    author = creator()
    [post] = posts(author)
    # Signed up together after a campaign, but they trade (on exchange accounts opened long ago).
    newcomers = burst(real_trader)
    record(event(account, post, Kind.LIKE, at(1, hour=11)) for account in newcomers)

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"like": 12}
    assert week.creators[author.id].discounts == {}
    assert week.flags == []


def test_a_few_new_accounts_joining_together_are_not_a_burst():
    author = creator()
    [post] = posts(author)
    record(event(account, post, Kind.LIKE, at(1, hour=11)) for account in burst(fresh_account, count=9))

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"like": 9}
    assert week.flags == []


# Accounts acting in lockstep.


def test_accounts_liking_the_same_posts_within_two_minutes_count_for_nothing():
    author = creator()
    four_posts = posts(author, 4)
    ring = [real_trader() for _ in range(6)]
    record(
        event(account, post, Kind.LIKE, at(2, hour=10 + number, minute=1, second=20 * index))
        for number, post in enumerate(four_posts)
        for index, account in enumerate(ring)
    )

    week = compute_week()

    assert week.creators[author.id].counted_counts == {}
    assert week.creators[author.id].discounts == {"lockstep": 24}
    flag = flags_of(week, author)["lockstep"]
    assert flag.actors == sorted(account.id for account in ring)
    assert flag.severity == Severity.HIGH


def test_accounts_liking_the_same_posts_hours_apart_count():
    author = creator()
    four_posts = posts(author, 4)
    fans = [real_trader() for _ in range(6)]
    record(
        event(account, post, Kind.LIKE, at(2, hour=2 * index + 1, minute=number))
        for number, post in enumerate(four_posts)
        for index, account in enumerate(fans)
    )

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"like": 24}
    assert week.flags == []


def test_accounts_in_lockstep_across_a_ten_minute_boundary_count_for_nothing():
    author = creator()
    four_posts = posts(author, 4)
    ring = [real_trader() for _ in range(6)]
    # Each post: three likes at hh:09:30 to hh:09:50, three at hh:10:00 to hh:10:20.
    record(
        event(account, post, Kind.LIKE, at(2, hour=10 + number, minute=9, second=30 + 10 * index))
        for number, post in enumerate(four_posts)
        for index, account in enumerate(ring)
    )

    assert compute_week().creators[author.id].discounts == {"lockstep": 24}


# Creators engaging each other in a ring.


def trade_likes(giver, receiver_posts, *, day: int = 1):
    return [event(giver, post, Kind.LIKE, at(day, hour=10 + n)) for n, post in enumerate(receiver_posts)]


def test_three_creators_liking_each_others_posts_count_for_nothing_to_each_other():
    ring = [creator() for _ in range(3)]
    their_posts = {member.id: posts(member, 3) for member in ring}
    outsider = real_trader()
    for giver in ring:
        for receiver in ring:
            if giver != receiver:
                record(trade_likes(giver, their_posts[receiver.id]))
        record(event(outsider, their_posts[giver.id][0], Kind.LIKE, at(3)))

    week = compute_week()

    for member in ring:
        figures = week.creators[member.id]
        # Three likes from each of the other two; the outsider's like still counts.
        assert figures.discounts == {"reciprocal_ring": 6}
        assert figures.counted_counts == {"like": 1}
        flag = flags_of(week, member)["reciprocal_ring"]
        assert flag.actors == sorted(other.id for other in ring if other != member)


def test_two_creators_trading_likes_still_count():
    one, other = creator(), creator()
    record(trade_likes(one, posts(other, 3)), trade_likes(other, posts(one, 3)))

    week = compute_week()

    assert week.creators[one.id].counted_counts == {"like": 3}
    assert week.creators[other.id].counted_counts == {"like": 3}
    assert week.flags == []


def test_a_creator_trading_likes_with_two_others_who_do_not_engage_each_other_is_not_a_ring():
    hub, left, right = creator(), creator(), creator()
    hub_posts, left_posts, right_posts = posts(hub, 3), posts(left, 3), posts(right, 3)
    record(
        trade_likes(hub, left_posts),
        trade_likes(left, hub_posts),
        trade_likes(hub, right_posts),
        trade_likes(right, hub_posts),
    )

    week = compute_week()

    assert week.creators[hub.id].counted_counts == {"like": 6}
    assert week.flags == []


# Machine-like time spent.


def test_time_spent_always_the_same_to_the_millisecond_does_not_count_but_likes_do():
    author = creator()
    twelve_posts = posts(author, 12)
    bot = real_trader()
    record(event(bot, post, Kind.DWELL, at(1, hour=n), dwell_ms=30_000) for n, post in enumerate(twelve_posts))
    record(event(bot, post, Kind.LIKE, at(1, hour=n)) for n, post in enumerate(twelve_posts))

    week = compute_week()

    figures = week.creators[author.id]
    assert figures.counted_counts == {"like": 12}
    assert figures.discounts == {"machine_dwell": 12}
    assert figures.counted_minutes == 0
    flag = flags_of(week, author)["machine_dwell"]
    assert (flag.actors, flag.evidence["time_spent"]) == ([bot.id], 12)
    # Time spent alone never holds a creator.
    assert flag.severity < Severity.HIGH


def test_time_spent_that_varies_counts():
    author = creator()
    twelve_posts = posts(author, 12)
    reader = real_trader()
    record(
        event(reader, post, Kind.DWELL, at(1, hour=n), dwell_ms=21_000 + 3_217 * n)
        for n, post in enumerate(twelve_posts)
    )

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"time_spent": 12}
    assert week.creators[author.id].discounts == {}
    assert week.flags == []


def test_more_time_in_one_hour_than_a_person_can_spend_does_not_count():
    author, other_author = creator(), creator()
    bot, reader = real_trader(), real_trader()
    # Twenty posts read for over five minutes each (capped at five): 100 minutes inside one hour, and
    # the same reading spread over twenty hours by another reader.
    record(
        event(bot, post, Kind.DWELL, at(1, hour=10, minute=2 * n), dwell_ms=400_000 + 1_000 * n)
        for n, post in enumerate(posts(author, 20))
    )
    record(
        event(reader, post, Kind.DWELL, at(1, hour=n), dwell_ms=400_000 + 1_000 * n)
        for n, post in enumerate(posts(other_author, 20))
    )

    week = compute_week()

    assert week.creators[author.id].discounts == {"machine_dwell": 20}
    assert week.creators[other_author.id].counted_minutes == 100
    assert list(flags_of(week, other_author)) == []


# Flags and their severity.


def test_a_big_creator_with_one_shared_device_fan_gets_a_low_severity_flag():
    author = creator()
    [post] = posts(author)
    record(event(real_trader(), post, Kind.LIKE, at(1, minute=n)) for n in range(60))
    fan_accounts = [real_trader() for _ in range(3)]
    record(event(account, post, Kind.LIKE, at(2), fingerprint="fanlaptop") for account in fan_accounts)

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"like": 61}
    assert week.creators[author.id].discounts == {"shared_device": 2}
    [flag] = week.flags
    assert (flag.rule, flag.creator_id, flag.actors) == ("shared_device", author.id, [a.id for a in fan_accounts[1:]])
    assert flag.severity == Severity.LOW


def test_a_creator_whose_week_is_mostly_discounted_gets_a_high_severity_flag():
    author = creator()
    [post] = posts(author)
    record(event(real_trader(), post, Kind.LIKE, at(1)) for _ in range(3))
    record(event(account, post, Kind.COMMENT, at(2, hour=9)) for account in burst(fresh_account))

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"like": 3}
    assert week.creators[author.id].discounts == {"new_account_burst": 12}
    [flag] = week.flags
    assert (flag.rule, flag.actor_count, flag.discounted_interactions) == ("new_account_burst", 12, 12)
    assert flag.severity == Severity.HIGH


def test_an_organic_week_raises_no_flags():
    authors = [creator() for _ in range(3)]
    readers = [real_trader() for _ in range(15)] + [fresh_account(joined_at=at(0, hour=n)) for n in range(5)]
    for number, author in enumerate(authors):
        for post_number, post in enumerate(posts(author, 4)):
            record(
                event(
                    reader,
                    post,
                    kind,
                    at(1 + post_number, hour=(3 * index + number) % 24, minute=7 * index % 60),
                    dwell_ms=15_000 + 1_337 * index + 911 * post_number if kind == Kind.DWELL else 0,
                    fingerprint=f"device{index}",
                )
                for index, reader in enumerate(readers)
                for kind in (Kind.VIEW, Kind.DWELL, Kind.LIKE)
                if (index + post_number) % 3
            )

    week = compute_week()

    assert week.flags == []
    assert all(set(figures.discounts) <= {"repeat"} for figures in week.creators.values())
