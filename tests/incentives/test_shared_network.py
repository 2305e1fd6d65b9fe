"""Many accounts from one network prefix engaging one creator (`integrity.shared_network`): all
but the oldest few count nothing for that creator, whatever devices they use; a shared office or
mobile network, or accounts spread over many creators, are left alone."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection

from feed.models import Engagement
from incentives import settlement
from incentives.contributions import Parameters, compute
from incentives.integrity import Thresholds
from incentives.models import IntegrityFlag
from orbit.fingerprints import network_prefix
from tests.factories import PrizePoolFactory

from .world import Kind, at, compute_week, creator, event, flags_of, posts, real_trader, record, week

pytestmark = pytest.mark.django_db

ACCOUNTS = Thresholds().network_accounts  # 5: the 4 oldest from a prefix keep counting


def like_from(account, post, prefix: str | None) -> Engagement:
    """A like from `account` on a device of its own, from the network `prefix` (as the feed stores it)."""
    engagement = event(account, post, Kind.LIKE, at(1), fingerprint=f"device-{account.pk}")
    engagement.network_prefix = prefix
    return engagement


def office(host: int) -> str:
    """The network prefix of an address in one /24."""
    return network_prefix(ip=f"203.0.113.{host}")


def accounts_joined_days_apart(count: int):
    """`count` traders, the first joined longest ago, one day apart."""
    return [real_trader(joined_at=at(0) - timedelta(days=400 - n)) for n in range(count)]


def hex_of(prefix: str) -> str:
    """The prefix as the settlement groups it: hashtextextended(prefix, 0) in hex."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_hex(hashtextextended(%s, 0))", [prefix])
        return cursor.fetchone()[0]


def test_seven_accounts_from_one_prefix_on_one_creator_keep_only_the_four_oldest():
    author = creator()
    [post] = posts(author)
    accounts = accounts_joined_days_apart(ACCOUNTS + 2)
    # Recorded youngest first, each from its own device and address in one /24.
    record(like_from(account, post, office(10 + n)) for n, account in enumerate(reversed(accounts)))

    week_figures = compute_week()

    assert week_figures.creators[author.id].counted_counts == {"like": ACCOUNTS - 1}
    assert week_figures.creators[author.id].discounts == {"shared_network": 3}
    flag = flags_of(week_figures, author)["shared_network"]
    assert flag.actors == sorted(account.id for account in accounts[ACCOUNTS - 1 :])
    assert flag.evidence["groups"] == [hex_of(office(10))]
    # Done to the creator, not by them: discounted, never a reason to hold the payout.
    assert not flag.tied_to_creator


def test_accounts_on_distinct_devices_and_addresses_of_one_prefix_are_still_caught():
    """A farm that gets each account a fresh signed device still shares its provider's block."""
    author = creator()
    [post] = posts(author)
    accounts = accounts_joined_days_apart(10)
    record(like_from(account, post, office(n + 1)) for n, account in enumerate(accounts))

    week_figures = compute_week()

    assert week_figures.creators[author.id].counted_counts == {"like": ACCOUNTS - 1}
    assert week_figures.creators[author.id].discounts == {"shared_network": 10 - (ACCOUNTS - 1)}
    assert "shared_device" not in flags_of(week_figures, author)


def test_a_settlement_records_a_shared_network_flag():
    PrizePoolFactory(week=week().label)
    author = creator()
    [post] = posts(author)
    accounts = accounts_joined_days_apart(8)
    record(like_from(account, post, office(7)) for account in accounts)

    drafted = settlement.draft_settlement(week=week(), now=week().ends_at + timedelta(hours=1)).settlement

    flag = IntegrityFlag.objects.get(settlement=drafted, creator=author)
    assert flag.rule == IntegrityFlag.Rule.SHARED_NETWORK
    assert flag.actor_count == 8 - (ACCOUNTS - 1)


def test_four_colleagues_behind_one_office_address_all_count():
    author = creator()
    [post] = posts(author)
    record(like_from(account, post, office(7)) for account in accounts_joined_days_apart(ACCOUNTS - 1))

    week_figures = compute_week()

    assert week_figures.creators[author.id].counted_counts == {"like": ACCOUNTS - 1}
    assert week_figures.flags == []


def test_the_creator_on_its_own_network_is_not_one_of_the_accounts():
    author = creator()
    [post] = posts(author)
    record(like_from(account, post, office(7)) for account in [author, *accounts_joined_days_apart(ACCOUNTS - 1)])

    week_figures = compute_week()

    assert week_figures.creators[author.id].counted_counts == {"like": ACCOUNTS - 1}
    assert "shared_network" not in week_figures.creators[author.id].discounts


def test_accounts_of_one_prefix_spread_over_creators_are_left_alone():
    """The same twelve accounts, four per creator: a busy network, not a farm for anyone."""
    authors = [creator() for _ in range(3)]
    their_posts = [posts(author)[0] for author in authors]
    accounts = accounts_joined_days_apart(12)
    record(like_from(account, their_posts[n % 3], office(n + 1)) for n, account in enumerate(accounts))

    week_figures = compute_week()

    for author in authors:
        assert week_figures.creators[author.id].counted_counts == {"like": 4}
    assert week_figures.flags == []


@pytest.mark.parametrize("prefix", [None, ""], ids=["null", "empty"])
def test_rows_without_a_prefix_are_never_grouped(prefix):
    author = creator()
    [post] = posts(author)
    record(like_from(account, post, prefix) for account in accounts_joined_days_apart(8))

    week_figures = compute_week()

    assert week_figures.creators[author.id].counted_counts == {"like": 8}
    assert week_figures.flags == []


def test_the_number_of_accounts_kept_follows_the_threshold():
    author = creator()
    [post] = posts(author)
    accounts = accounts_joined_days_apart(6)
    record(like_from(account, post, office(7)) for account in accounts)
    parameters = replace(Parameters.current(), thresholds=Thresholds(network_accounts=3))

    week_figures = compute(week(), parameters)

    assert week_figures.creators[author.id].counted_counts == {"like": 2}
    assert flags_of(week_figures, author)["shared_network"].actors == sorted(a.id for a in accounts[2:])
