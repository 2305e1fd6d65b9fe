"""Interactions that only look like new value: a trade click no trade followed, the same interaction
made again in a later week, and a follow ended by a block then made again."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from creators.models import Follow, User
from creators.services import block_user, follow_user, unblock_user
from feed.models import Engagement, Post
from incentives import estimates
from incentives.contributions import CreatorFigures, Parameters, compute
from incentives.weeks import Week

from .world import Kind, at, creator, event, figures_of, fill, posts, real_trader, record, trade_card, week

pytestmark = pytest.mark.django_db
D = Decimal

# Reader value of real_trader (see world.py) and the default weights of a view and a trade click.
VALUE = D("0.900")
VIEW, TRADE_CLICK = D("0.100"), D("4.000")


# A trade click pays as one only when the exchange reports a trade behind it.


def clicked_card() -> tuple[User, Post, User]:
    """A creator's post with an ETH-USDT card, and a reader who clicked its Trade button at(1)."""
    author = creator()
    [post] = posts(author)
    reader = real_trader()
    record(event(reader, trade_card(post), Kind.TRADE_CLICK, at(1)))
    return author, post, reader


def test_a_trade_click_without_a_trade_weighs_like_a_view():
    author, _post, _reader = clicked_card()

    figures = figures_of(author)

    assert figures.raw_counts == {"trade_click": 1}
    assert figures.counted_counts == {"view": 1}
    assert figures.discounts == {"unconverted_trade_click": 1}
    assert figures.score == VIEW * VALUE


def test_a_trade_click_counted_as_a_view_is_not_among_what_did_not_count_in_the_estimate():
    author, _post, _reader = clicked_card()

    assert estimates.discounted_percent(figures_of(author)) == 0


def test_a_trade_click_followed_by_a_trade_in_the_cards_instrument_within_a_day_pays_as_a_trade_click():
    author, _post, reader = clicked_card()
    fill(reader, at(1) + timedelta(hours=23, minutes=59))

    figures = figures_of(author)

    assert figures.raw_counts == {"trade_click": 1}
    assert figures.counted_counts == {"trade_click": 1}
    assert figures.discounts == {}
    assert figures.score == TRADE_CLICK * VALUE


@pytest.mark.parametrize(
    "instrument, delay",
    [
        ("SOL-USDT", timedelta(hours=1)),  # another market than the card's
        ("ETH-USDT-SWAP", timedelta(hours=1)),  # the perpetual is not the card's spot market
        ("ETH-USDT", timedelta(hours=24)),  # a day or more after the click
        ("ETH-USDT", timedelta(days=3)),
        ("ETH-USDT", -timedelta(minutes=1)),  # before the click
    ],
    ids=["other-instrument", "other-instrument-type", "24h-later", "3-days-later", "before-the-click"],
)
def test_a_trade_in_another_instrument_or_outside_the_day_after_the_click_leaves_it_a_view(instrument, delay):
    author, _post, reader = clicked_card()
    fill(reader, at(1) + delay, instrument=instrument)

    figures = figures_of(author)

    assert figures.counted_counts == {"view": 1}
    assert figures.score == VIEW * VALUE


def test_someone_elses_trade_does_not_convert_a_readers_click():
    author, _post, _reader = clicked_card()
    fill(real_trader(), at(1, hour=13))

    assert figures_of(author).counted_counts == {"view": 1}


def test_a_trade_within_a_day_of_a_later_click_converts_it():
    author, post, reader = clicked_card()
    record(event(reader, post, Kind.TRADE_CLICK, at(3)))
    fill(reader, at(3, hour=14))  # two days after the first click, two hours after the second

    figures = figures_of(author)

    assert figures.raw_counts == {"trade_click": 2}
    assert figures.counted_counts == {"trade_click": 1}
    assert figures.discounts == {"repeat": 1}


def test_a_trade_after_the_week_ends_does_not_convert_a_click_so_a_settlement_can_be_recomputed():
    author = creator()
    [post] = posts(author)
    reader = real_trader()
    record(event(reader, trade_card(post), Kind.TRADE_CLICK, week().ends_at - timedelta(hours=1)))
    fill(reader, week().ends_at + timedelta(minutes=5))

    assert figures_of(author).counted_counts == {"view": 1}


# One reader counts once per post and action over the post's whole earning window, across weeks.


def figures_of_week(author: User, of_week: Week) -> CreatorFigures:
    return compute(of_week, Parameters.current()).creators[author.id]


@pytest.mark.parametrize(
    "kind", [Kind.VIEW, Kind.LIKE, Kind.COMMENT, Kind.SHARE], ids=["view", "like", "comment", "share"]
)
def test_an_interaction_in_one_week_and_again_the_next_on_the_same_post_counts_once_overall(kind):
    author = creator()
    # Published on the Saturday before the week: it earns until the Saturday of the week.
    [post] = posts(author, published_at=at(-2))
    returning, newcomer = real_trader(), real_trader()
    record(
        event(returning, post, kind, at(-1)),
        event(returning, post, kind, at(1)),
        event(newcomer, post, kind, at(1)),
    )
    slug = {Kind.VIEW: "view", Kind.LIKE: "like", Kind.COMMENT: "comment", Kind.SHARE: "share"}[kind]

    before, this_week = figures_of_week(author, week().previous()), figures_of(author)

    assert before.counted_counts == {slug: 1}
    assert this_week.raw_counts == {slug: 2}
    assert this_week.counted_counts == {slug: 1}  # the newcomer only
    assert this_week.discounts == {"repeat": 1}


def test_a_like_taken_back_in_one_week_and_made_again_the_next_is_a_repeat():
    author = creator()
    [post] = posts(author, published_at=at(-3))
    reader = real_trader()
    record(event(reader, post, Kind.LIKE, at(-2)), event(reader, post, Kind.UNLIKE, at(-1)))
    record(event(reader, post, Kind.LIKE, at(1)))

    figures = figures_of(author)

    assert figures.counted_counts == {}
    assert figures.discounts == {"repeat": 1}


def test_an_earlier_interaction_on_another_post_or_of_another_kind_does_not_make_a_repeat():
    author = creator()
    first, second = posts(author, 2, published_at=at(-2))
    reader = real_trader()
    record(event(reader, first, Kind.LIKE, at(-1)), event(reader, second, Kind.VIEW, at(-1)))
    record(event(reader, second, Kind.LIKE, at(1)), event(reader, first, Kind.COMMENT, at(1)))

    figures = figures_of(author)

    assert figures.counted_counts == {"like": 1, "comment": 1}
    assert figures.discounts == {}


def test_a_follow_made_weeks_before_makes_a_new_follow_of_the_same_person_a_repeat():
    author = creator()
    reader, newcomer = real_trader(), real_trader()
    record(
        event(reader, author, Kind.FOLLOW, at(-30)),
        event(reader, author, Kind.UNFOLLOW, at(-29)),
        event(reader, author, Kind.FOLLOW, at(1)),
        event(newcomer, author, Kind.FOLLOW, at(1)),
    )

    figures = figures_of(author)

    assert figures.raw_counts == {"follow": 2}
    assert figures.counted_counts == {"follow": 1}  # the newcomer only
    assert figures.discounts == {"repeat": 1}


# A block ends follows like an unfollow does (creators.services.block_user), so the log knows.


def this_weeks_follows(author: User) -> dict[str, int]:
    now = timezone.now()
    figures = compute(Week.containing(now), Parameters.current(), until=now + timedelta(seconds=1))
    return figures.creators[author.id].counted_counts if author.id in figures.creators else {}


def follow_log(reader: User, author: User) -> list[int]:
    rows = Engagement.objects.filter(actor=reader, creator=author).order_by("occurred_at", "id")
    return list(rows.values_list("kind", flat=True))


@pytest.mark.parametrize("blocker", ["creator", "reader"])
def test_a_follow_ended_by_a_block_counts_for_nothing(blocker):
    author, reader = creator(), real_trader()
    follow_user(follower=reader, username=author.username)
    if blocker == "creator":
        block_user(user=author, username=reader.username)
    else:
        block_user(user=reader, username=author.username)

    assert follow_log(reader, author) == [Kind.FOLLOW, Kind.UNFOLLOW]
    assert this_weeks_follows(author) == {}


def test_a_block_ends_follows_both_ways_in_the_log():
    one, other = creator(), creator()
    follow_user(follower=one, username=other.username)
    follow_user(follower=other, username=one.username)

    block_user(user=one, username=other.username)

    assert follow_log(one, other) == [Kind.FOLLOW, Kind.UNFOLLOW]
    assert follow_log(other, one) == [Kind.FOLLOW, Kind.UNFOLLOW]


def test_follow_block_unblock_and_follow_again_counts_one_follow():
    author, reader = creator(), real_trader()
    follow_user(follower=reader, username=author.username)
    block_user(user=author, username=reader.username)
    unblock_user(user=author, username=reader.username)
    follow_user(follower=reader, username=author.username)

    assert follow_log(reader, author) == [Kind.FOLLOW, Kind.UNFOLLOW, Kind.FOLLOW]
    assert this_weeks_follows(author) == {"follow": 1}


def test_a_follow_paid_in_an_earlier_week_is_not_paid_again_after_a_block_and_a_new_follow():
    author, reader = creator(), real_trader()
    Follow.objects.create(follower=reader, followee=author)
    record(event(reader, author, Kind.FOLLOW, timezone.now() - timedelta(days=8)))
    block_user(user=author, username=reader.username)
    unblock_user(user=author, username=reader.username)
    follow_user(follower=reader, username=author.username)

    assert this_weeks_follows(author) == {}
