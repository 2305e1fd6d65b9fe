"""compute's `timings`: the wall time of each pass of the week's settlement, as the settlement bench
reads it."""

import pytest

from incentives import integrity
from incentives.contributions import Parameters, compute

from .world import Kind, at, compute_week, creator, event, posts, real_trader, record, week

pytestmark = pytest.mark.django_db


def test_timings_name_each_pass_and_each_integrity_rule_in_order():
    author = creator()
    [post] = posts(author)
    record(event(real_trader(), post, Kind.LIKE, at(1)))
    timings: dict[str, float] = {}

    compute(week(), Parameters.current(), timings=timings)

    rules = [rule.__name__ for _reason, rule in integrity.RULES]
    assert list(timings) == ["working tables", "repeats and conversions", *rules, "classification and sums", "flags"]
    assert all(seconds >= 0 for seconds in timings.values())


def test_timing_a_week_changes_none_of_its_figures():
    author = creator()
    [post] = posts(author)
    record(event(reader, post, Kind.LIKE, at(1)) for reader in (real_trader(), real_trader()))

    timed = compute(week(), Parameters.current(), timings={})

    assert timed.creators == compute_week().creators
    assert timed.flags == compute_week().flags
