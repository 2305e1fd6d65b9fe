"""Trust from seeds (SybilRank): readers the trusted community does not reach do not count, however
much they trade, and readers it reaches do, however few creators they read."""

import numpy as np
import pytest

from incentives.graph import degree_normalised_trust
from incentives.integrity import Thresholds
from incentives.models import IntegrityFlag

from .world import Kind, at, compute_week, creator, event, flags_of, posts, real_trader, record

pytestmark = pytest.mark.django_db
SEEDS = Thresholds().trust_min_seeds


# The walk itself, on plain graphs.


def honest_graph(readers: int = 300, creators: int = 30, seed: int = 3) -> list[tuple[int, int]]:
    """Readers 1000.. each reading three of creators 0..creators-1."""
    rng = np.random.default_rng(seed)
    return [(1000 + r, int(c)) for r in range(readers) for c in rng.choice(creators, size=3, replace=False)]


def trust_of(edges: list[tuple[int, int]], seeds: list[int]) -> dict[int, float]:
    pairs = np.array(edges, dtype=np.int64)
    nodes, trust = degree_normalised_trust(pairs[:, 0], pairs[:, 1], np.array(seeds, dtype=np.int64))
    return dict(zip(nodes.tolist(), trust.tolist(), strict=True))


def test_a_region_the_seeds_cannot_reach_gets_no_trust_and_the_honest_graph_is_near_one():
    honest = honest_graph()
    farm = [(5000 + r, 900) for r in range(15)]  # fifteen readers of one creator, and nobody else
    trust = trust_of(honest + farm, seeds=[1000 + r for r in range(0, 300, 2)])

    assert all(trust[reader] == 0 for reader, _creator in farm)
    assert trust[900] == 0
    assert min(trust[reader] for reader, _creator in honest) > 0.5


def test_one_edge_into_a_farm_leaks_little_trust_into_it():
    honest = honest_graph()
    farm = [(5000 + r, 900) for r in range(15)]
    bridge = [(1001, 900)]  # one honest reader also read the farm's creator
    trust = trust_of(honest + farm + bridge, seeds=[1000 + r for r in range(0, 300, 2)])

    assert max(trust[reader] for reader, _creator in farm) < Thresholds().trust_floor
    assert min(trust[reader] for reader, _creator in honest) > 0.5


def test_a_hub_is_not_trusted_for_its_many_edges():
    honest = honest_graph()
    trust = trust_of(honest, seeds=[1000 + r for r in range(0, 300, 2)])
    degrees = {creator_id: sum(1 for _r, c in honest if c == creator_id) for creator_id in range(30)}
    busiest, quietest = max(degrees, key=degrees.get), min(degrees, key=degrees.get)
    assert abs(trust[busiest] - trust[quietest]) < 0.5


# The rule, over a settlement week.


def community(readers: int = SEEDS + 2):
    """Three creators and enough seeds: traders of a year who read all three this week."""
    authors = [creator() for _ in range(3)]
    their_posts = [posts(author)[0] for author in authors]
    audience = [real_trader() for _ in range(readers)]
    record(
        event(reader, post, Kind.LIKE, at(r % 6, 8 + r % 12, 7 * n))
        for r, reader in enumerate(audience)
        for n, post in enumerate(their_posts)
    )
    return authors, their_posts


def test_paying_readers_who_read_only_a_creator_the_community_never_reads_do_not_count():
    authors, _their_posts = community()
    lifted = creator()
    [post] = posts(lifted)
    farm = [real_trader() for _ in range(8)]  # they trade every few days: full value on their own
    record(event(reader, post, Kind.LIKE, at(2), fingerprint=f"phone-{n}") for n, reader in enumerate(farm))

    week = compute_week()

    assert week.creators[lifted.id].counted_counts == {}
    assert week.creators[lifted.id].discounts == {"low_trust": 8}
    flag = flags_of(week, lifted)["low_trust"]
    assert flag.actor_count == 8
    # Nothing ties the creator to the accounts: discounted, never a reason to hold the creator.
    assert not flag.tied_to_creator
    assert [week.creators[author.id].discounts for author in authors] == [{}, {}, {}]


def test_a_reader_of_one_creator_that_the_community_reads_counts():
    authors, their_posts = community()
    loyal = real_trader()
    record(event(loyal, their_posts[0], Kind.LIKE, at(3)))

    week = compute_week()

    assert "low_trust" not in week.creators[authors[0].id].discounts
    assert not [flag for flag in week.flags if flag.rule == IntegrityFlag.Rule.LOW_TRUST]


def test_with_too_few_seeds_to_judge_nobody_is_discounted_for_trust():
    community(readers=SEEDS - 1)
    lifted = creator()
    [post] = posts(lifted)
    farm = [real_trader() for _ in range(3)]
    record(event(reader, post, Kind.LIKE, at(2)) for reader in farm)

    week = compute_week()

    assert week.creators[lifted.id].counted_counts == {"like": 3}
