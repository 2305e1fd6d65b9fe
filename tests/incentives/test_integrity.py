"""The anti-cheating rules: each catches the pattern planted for it and leaves an organic look-alike
alone; the flags they raise say who, how much, and how serious."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from incentives.models import IntegrityFlag, ReaderValueRules
from incentives.settlement import _holds
from markets.models import TradingProfile

from .world import (
    Kind,
    at,
    compute_week,
    creator,
    event,
    flags_of,
    fresh_account,
    new_trader,
    posts,
    real_trader,
    recent_trader,
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
    # The creator never used that device nor engaged with those accounts: done to them, not by them.
    assert flag.evidence == {
        "accounts": 3,
        "interactions": 3,
        "views": 0,
        "time_spent": 0,
        "groups": [device],
        "tied_to_creator": False,
    }
    assert not flag.tied_to_creator
    # Three accounts are most of this small creator's week, but too few to hold the payout.
    assert flag.severity == Severity.MEDIUM


def test_without_flags_the_week_counts_and_discounts_the_same_and_writes_up_no_finding():
    """The live estimate asks for no findings (it never shows them); its figures must not change."""
    author = creator()
    [post] = posts(author)
    accounts = [real_trader(joined_at=at(0) - timedelta(days=400 - n)) for n in range(4)]
    record(event(account, post, Kind.LIKE, at(1), fingerprint="farmphone01") for account in accounts)

    with_flags = compute_week()
    without = compute_week(with_flags=False)

    assert set(flags_of(with_flags, author)) == {"shared_device"}
    assert without.flags == []
    assert without.creators == with_flags.creators  # counts, discounts, value sums and scores


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


def test_a_burst_of_new_non_trading_accounts_is_discounted_and_flagged_low_as_it_removed_no_score():
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
    # Accounts that pay no fees are worth nothing: the rule removed none of the creator's score, so
    # the flag is low and never holds, however many accounts there are.
    assert flag.severity == Severity.LOW
    assert _holds(week, Severity.LOW) == {}


def test_a_burst_holds_the_creator_when_the_operators_give_every_reader_a_base_value():
    ReaderValueRules.objects.update_or_create(pk=1, defaults={"base": Decimal("0.025")})
    author = creator()
    [post] = posts(author)
    sockpuppets = burst(fresh_account)
    record(event(account, post, Kind.LIKE, at(1, hour=11)) for account in sockpuppets)
    # The creator follows the accounts: tied to them, so the finding can hold.
    record(event(author, account, Kind.FOLLOW, at(1, hour=12)) for account in sockpuppets)

    week = compute_week()

    assert week.creators[author.id].discounts == {"new_account_burst": 12}
    flag = flags_of(week, author)["new_account_burst"]
    # Each account is worth the base 0.025 × the young-account factor 0.25 = 0.006: the creator's
    # whole score (12 × 0.006 = 0.072) came from the burst.
    assert flag.severity == Severity.HIGH and flag.tied_to_creator
    assert _holds(week, Severity.HIGH) == {author.id: str(IntegrityFlag.Rule.NEW_ACCOUNT_BURST.label)}


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

    # They count for nothing because they pay no fees, not as a burst.
    assert week.creators[author.id].counted_counts == {}
    assert week.creators[author.id].discounts == {"no_trading": 9}
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


def audience_for(author, count: int = 6):
    """`count` real readers, each liking one of the author's posts on their own day and hour."""
    [post] = posts(author, 1, published_at=at(0, hour=7))
    record(event(real_trader(), post, Kind.LIKE, at(1 + n % 5, hour=n + 1)) for n in range(count))


def test_two_friends_with_audiences_of_their_own_trading_likes_still_count():
    one, other = creator(), creator()
    audience_for(one)
    audience_for(other)
    # A like a day from the other, against six readers' likes: well under half of their own audience.
    record(trade_likes(one, posts(other, 1)), trade_likes(other, posts(one, 1)))

    week = compute_week()

    assert week.creators[one.id].counted_counts == {"like": 7}
    assert week.creators[other.id].counted_counts == {"like": 7}
    assert week.flags == []


def test_two_creators_with_no_audience_but_each_other_count_for_nothing_to_each_other():
    # The smallest pod: two acts a week each way, and nobody else reads them.
    one, other = creator(), creator()
    record(trade_likes(one, posts(other, 2)), trade_likes(other, posts(one, 2)))

    week = compute_week()

    for member, partner in ((one, other), (other, one)):
        assert week.creators[member.id].counted_counts == {}
        assert week.creators[member.id].discounts == {"reciprocal_ring": 2}
        assert flags_of(week, member)["reciprocal_ring"].actors == [partner.id]


def test_a_creator_trading_likes_with_two_others_who_have_audiences_is_not_a_pod():
    hub, left, right = creator(), creator(), creator()
    for member in (hub, left, right):
        audience_for(member, count=8)
    hub_posts, left_posts, right_posts = posts(hub, 1), posts(left, 1), posts(right, 1)
    record(
        trade_likes(hub, left_posts),
        trade_likes(left, hub_posts),
        trade_likes(hub, right_posts),
        trade_likes(right, hub_posts),
    )

    week = compute_week()

    assert week.creators[hub.id].counted_counts == {"like": 10}
    assert week.flags == []


# Machine-like time spent.


def test_time_spent_always_the_same_to_the_millisecond_does_not_count_but_likes_do():
    author = creator()
    twelve_posts = posts(author, 12)
    bot = real_trader()
    record(event(bot, post, Kind.DWELL, at(1, hour=n), dwell_ms=30_000) for n, post in enumerate(twelve_posts))
    # Likes on eight of the posts: 8 points, within what one reader can give one creator.
    record(event(bot, post, Kind.LIKE, at(1, hour=n)) for n, post in enumerate(twelve_posts[:8]))

    week = compute_week()

    figures = week.creators[author.id]
    assert figures.counted_counts == {"like": 8}
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
    # the same reading spread over twenty hours by another reader, which counts up to the weekly
    # 15 minutes per reader and creator.
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
    assert week.creators[author.id].counted_minutes == 0
    assert week.creators[other_author.id].counted_counts == {"time_spent": 20}
    assert week.creators[other_author.id].discounts == {}
    assert week.creators[other_author.id].counted_minutes == 15
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


def test_a_creator_whose_score_is_mostly_discounted_gets_a_high_severity_flag():
    author = creator()
    view_posts, [commented] = posts(author, 30), posts(author)
    # Severity is the share of the score removed, not of the interactions: thirty views from real
    # traders (30 × 0.1 × 0.9 = 2.7) and one comment from the oldest of six traders on one phone
    # (2 × 0.9 = 1.8) count; the five other comments (5 × 1.8 = 9.0) are 5 of 36 interactions but
    # 9.0 / 13.5 = two thirds of the score.
    record(event(real_trader(), post, Kind.VIEW, at(1, hour=n % 24, minute=n)) for n, post in enumerate(view_posts))
    phone = [real_trader(joined_at=at(0) - timedelta(days=400 - n)) for n in range(6)]
    record(event(account, commented, Kind.COMMENT, at(2, hour=9), fingerprint="farmphone02") for account in phone)

    week = compute_week()

    assert week.creators[author.id].counted_counts == {"view": 30, "comment": 1}
    assert week.creators[author.id].discounts == {"shared_device": 5}
    [flag] = week.flags
    assert (flag.rule, flag.actor_count, flag.discounted_interactions) == ("shared_device", 5, 5)
    assert flag.severity == Severity.HIGH


def test_an_organic_week_raises_no_flags():
    authors = [creator() for _ in range(3)]
    readers = [real_trader() for _ in range(15)] + [new_trader(joined_at=at(0, hour=n)) for n in range(5)]
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


# Pods of creators, whatever their shape (flow in score terms, every kind of engagement).


def test_a_pod_trading_two_likes_per_pair_counts_for_nothing_to_each_other():
    # Two acts per pair and week: under any "three interactions per pair" threshold.
    pod = [creator() for _ in range(5)]
    their_posts = {member.id: posts(member, 2) for member in pod}
    for giver in pod:
        for receiver in pod:
            if giver != receiver:
                record(trade_likes(giver, their_posts[receiver.id]))
        record(event(real_trader(), their_posts[giver.id][0], Kind.LIKE, at(3)))

    week = compute_week()

    for member in pod:
        figures = week.creators[member.id]
        assert figures.discounts == {"reciprocal_ring": 8}
        assert figures.counted_counts == {"like": 1}
        flag = flags_of(week, member)["reciprocal_ring"]
        assert flag.actors == sorted(other.id for other in pod if other != member)
        assert flag.severity == Severity.HIGH


def test_two_halves_reading_and_following_only_across_count_for_nothing():
    # No triangle anywhere (every creator of one half engages every creator of the other, never its
    # own half), and no like: views, time spent and follows.
    left, right = [creator() for _ in range(3)], [creator() for _ in range(3)]
    their_posts = {member.id: posts(member, 2) for member in left + right}
    for half, other_half in ((left, right), (right, left)):
        for giver in half:
            for receiver in other_half:
                record(event(giver, receiver, Kind.FOLLOW, at(1, hour=8)))
                for n, post in enumerate(their_posts[receiver.id]):
                    record(
                        event(giver, post, Kind.VIEW, at(1, hour=9 + n)),
                        event(giver, post, Kind.DWELL, at(1, hour=9 + n), dwell_ms=95_000 + 7_919 * n + giver.id),
                    )

    week = compute_week()

    for member in left + right:
        figures = week.creators[member.id]
        assert figures.counted_counts == {}
        assert figures.score == 0
        assert set(figures.discounts) == {"reciprocal_ring", "repeat"} or set(figures.discounts) == {"reciprocal_ring"}
        assert figures.discounts["reciprocal_ring"] == 3 * (1 + 2 + 2)
        assert flags_of(week, member)["reciprocal_ring"].actor_count == 3


def test_creators_who_read_each_other_beside_their_own_audience_still_count():
    circle = [creator() for _ in range(3)]
    their_posts = {member.id: posts(member, 2) for member in circle}
    audience = [real_trader() for _ in range(6)]
    for member in circle:
        # Now and then, a look at the others' posts and a like.
        for other in circle:
            if other != member:
                record(
                    event(member, their_posts[other.id][0], Kind.VIEW, at(2, hour=7)),
                    event(member, their_posts[other.id][0], Kind.LIKE, at(2, hour=7)),
                )
        record(
            event(reader, their_posts[member.id][1], Kind.LIKE, at(2 + circle.index(member), hour=2 * n))
            for n, reader in enumerate(audience)
        )

    week = compute_week()

    for member in circle:
        assert week.creators[member.id].counted_counts == {"like": 8, "view": 2}
    assert week.flags == []


def test_a_creator_s_like_on_another_creator_is_worth_half_a_reader_s():
    author, peer = creator(), creator()
    [first, second] = posts(author, 2)
    [peer_post] = posts(peer)
    fan = real_trader()
    record(
        event(fan, first, Kind.LIKE, at(1)),
        event(fan, peer_post, Kind.LIKE, at(1)),
        event(peer, second, Kind.LIKE, at(1)),
    )

    week = compute_week()

    fan_value = week.creators[peer.id].value_sums[Kind.LIKE]
    assert fan_value > 0
    assert week.creators[author.id].value_sums[Kind.LIKE] == fan_value + round(fan_value * 0.5)


# Dense blocks (FRAUDAR).


def farm_and_community(farm_size: int = 25):
    """Twelve creators read by a hundred traders, two posts each, and three creators read by nobody
    but a farm of old accounts, each paying fees this week (so each is worth something), that look
    at and like every post of all three."""
    community = [creator() for _ in range(12)]
    community_posts = [posts(member, 1)[0] for member in community]
    for index in range(100):
        reader = real_trader()
        for post in {community_posts[index % 12], community_posts[(5 * index + 3) % 12]}:
            record(event(reader, post, Kind.LIKE, at(1 + index % 5, hour=index % 24, minute=index % 60)))
    farmed = [creator() for _ in range(3)]
    farmed_posts = [post for member in farmed for post in posts(member, 2)]
    farm = [recent_trader() for _ in range(farm_size)]
    for index, account in enumerate(farm):
        for n, post in enumerate(farmed_posts):
            when = at(1 + index % 5, hour=(index + 3 * n) % 24, minute=index)
            record(event(account, post, Kind.VIEW, when), event(account, post, Kind.LIKE, when))
    return community, farmed, farm


def test_a_farm_reading_the_same_few_creators_counts_for_nothing():
    community, farmed, farm = farm_and_community()

    week = compute_week()

    for member in farmed:
        figures = week.creators[member.id]
        assert figures.counted_counts == {}
        assert figures.discounts == {"dense_block": 2 * 2 * len(farm)}
        flag = flags_of(week, member)["dense_block"]
        assert flag.actor_count == len(farm)
        assert flag.evidence["groups"] == ["block 1"]
    for member in community:
        assert "dense_block" not in week.creators[member.id].discounts
        assert flags_of(week, member) == {}


def test_a_small_community_where_everyone_reads_everyone_is_not_a_block():
    # The whole graph is one block: nothing is denser than the rest.
    authors = [creator() for _ in range(3)]
    the_posts = [post for author in authors for post in posts(author, 2)]
    for index in range(30):
        reader = recent_trader()
        record(
            event(reader, post, Kind.LIKE, at(1 + index % 5, hour=(index + n) % 24)) for n, post in enumerate(the_posts)
        )

    week = compute_week()

    assert week.flags == []


# Holds: severity is the share of the score removed, and only what the creator is tied to holds.


def test_padding_with_self_signed_out_and_undone_interactions_does_not_lower_severity():
    author = creator()
    [post, *own_posts] = posts(author, 41)
    record(event(author, post, Kind.VIEW, at(0, hour=9), fingerprint="creatorphone"))
    record(event(real_trader(), post, Kind.LIKE, at(1, minute=n), fingerprint="creatorphone") for n in range(6))
    record(event(real_trader(), post, Kind.LIKE, at(1, hour=14, minute=n)) for n in range(2))
    # The padding: the creator's own likes, signed-out shares, likes taken back.
    record(event(author, own, Kind.LIKE, at(2, minute=n)) for n, own in enumerate(own_posts))
    record(event(None, own, Kind.SHARE, at(2, hour=15, minute=n)) for n, own in enumerate(own_posts))
    for n in range(30):
        taker = real_trader()
        record(
            event(taker, post, Kind.LIKE, at(3, minute=n)),
            event(taker, post, Kind.UNLIKE, at(3, minute=n + 1)),
        )

    week = compute_week()

    flag = flags_of(week, author)["same_device"]
    assert flag.actor_count == 6
    assert flag.tied_to_creator
    assert flag.severity == Severity.HIGH
    assert _holds(week, Severity.HIGH) == {author.id: str(IntegrityFlag.Rule.SAME_DEVICE.label)}


def sabotage(rival, *, make_account, network=None):
    [post] = posts(rival)
    record(event(real_trader(), post, Kind.LIKE, at(1, minute=n)) for n in range(5))
    throwaways = [make_account(joined_at=at(1, hour=9) + timedelta(seconds=60 * n)) for n in range(12)]
    likes = [
        event(account, post, Kind.LIKE, at(2, minute=n), fingerprint="attackerphone")
        for n, account in enumerate(throwaways)
    ]
    for like in likes:
        like.network_prefix = network
    record(likes)
    return throwaways


@pytest.mark.parametrize("make_account", [fresh_account, real_trader], ids=["new-accounts", "aged-traders"])
def test_twelve_throwaway_accounts_liking_a_rival_are_discounted_but_do_not_hold_the_rival(make_account):
    rival = creator()
    sabotage(rival, make_account=make_account)

    week = compute_week()

    assert week.creators[rival.id].counted_counts["like"] in (5, 6)  # the device's oldest account counts
    [flag] = flags_of(week, rival).values()
    assert not flag.tied_to_creator
    assert _holds(week, Severity.LOW) == {}


def test_accounts_the_creator_engages_with_are_not_sabotage():
    rival = creator()
    throwaways = sabotage(rival, make_account=real_trader)
    # The creator follows the accounts that like them: they are the creator's own.
    record(event(rival, account, Kind.FOLLOW, at(0, hour=10)) for account in throwaways)

    week = compute_week()

    [flag] = flags_of(week, rival).values()
    assert flag.tied_to_creator
    assert flag.severity == Severity.HIGH
    assert rival.id in _holds(week, Severity.HIGH)


def test_accounts_on_the_creators_own_network_are_not_sabotage():
    rival = creator()
    sabotage(rival, make_account=real_trader, network="farm-prefix")
    # The creator reads from the /24 the accounts liked from: the same office, the same farm.
    [other] = posts(real_trader())
    view = event(rival, other, Kind.VIEW, at(0, hour=10))
    view.network_prefix = "farm-prefix"
    record(view)

    week = compute_week()

    flags = flags_of(week, rival)
    assert set(flags) == {"shared_device", "shared_network"}
    assert all(flag.tied_to_creator for flag in flags.values())
    assert rival.id in _holds(week, Severity.HIGH)


def test_accounts_with_the_creators_kyc_identity_are_not_sabotage():
    rival = creator()
    throwaways = sabotage(rival, make_account=real_trader)
    identity = "owner-identity-0001"
    # The newest account is one the device rule discounts (the oldest keeps counting).
    TradingProfile.objects.filter(user__in=[rival, throwaways[-1]]).update(kyc_identity=identity)

    week = compute_week()

    [flag] = flags_of(week, rival).values()
    assert flag.tied_to_creator
    assert rival.id in _holds(week, Severity.HIGH)


def test_strangers_on_other_networks_and_identities_stay_untied():
    """The same prefix or identity shared among the accounts themselves, not with the creator."""
    rival = creator()
    throwaways = sabotage(rival, make_account=real_trader, network="farm-prefix")
    TradingProfile.objects.filter(user__in=throwaways[-2:]).update(kyc_identity="farm-identity-0001")
    TradingProfile.objects.filter(user=rival).update(kyc_identity="rival-identity-0001")

    week = compute_week()

    assert all(not flag.tied_to_creator for flag in flags_of(week, rival).values())
    assert _holds(week, Severity.LOW) == {}
