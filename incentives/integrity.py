"""Anti-cheating rules over one week's interactions.

Each rule is a small named unit that reads the week's working tables (built by
`contributions.compute`, see there) and writes which interactions it discounts:

* `inc_pair_discounts (reader_id, creator_id)`: this reader's interactions with this creator;
* `inc_reader_discounts (reader_id)`: everything this reader did this week;
* `inc_dwell_discounts (reader_id)`: this reader's time spent only.

The first rule to claim an interaction names its reason (ON CONFLICT DO NOTHING, rules run in
the order of RULES; a rule about a reader and a creator wins over one about the reader alone).
`find_flags` then turns the discounts into one flag per rule and creator that benefited, with
the accounts involved and the evidence. The thresholds live here, are recorded with every
settlement, and are never shown to creators (the statement gives reasons in plain words only).

See docs/incentives.md#2-anti-cheating-incentivesintegritypy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

import numpy as np

from .graph import degree_normalised_trust, densest_block
from .models import IntegrityFlag
from .sql import int_columns, stream
from .timing import timed
from .weeks import Week

Rule = IntegrityFlag.Rule


@dataclass(frozen=True)
class Thresholds:
    shared_device_accounts: int = 3  # accounts on one device before all but the oldest stop counting
    network_accounts: int = 5  # accounts from one network prefix engaging one creator before all but
    # the network_accounts - 1 oldest stop counting for that creator
    burst_accounts: int = 10  # new non-trading accounts joining within burst_minutes of each other,
    # all engaging one creator
    burst_minutes: int = 30
    burst_account_age_days: int = 30
    lockstep_accounts: int = 5  # accounts acting on one post within lockstep_seconds ...
    lockstep_seconds: int = 600
    lockstep_posts: int = 3  # ... on at least this many posts, with the same partners
    # Pods of creators (`reciprocal_ring`): reciprocal partners, and their flow against outside readers'.
    pod_partners: int = 1
    pod_share: float = 0.5
    # Dense blocks (`dense_block`, FRAUDAR).
    dense_readers: int = 10
    dense_creators: int = 2
    dense_fill: float = 0.6
    dense_creator_share: float = 0.5
    dense_ratio: float = 5.0  # times the graph's own fill (edges / reader-creator pairs)
    dense_rounds: int = 3
    # Trust from seeds (`low_trust`, SybilRank): seeds are readers who traded in `trust_seed_weeks`
    # of the tenure weeks, whose exchange or Orbit account is `trust_seed_days` old, and who engaged
    # `trust_seed_creators` creators in the week; readers left with less than `trust_floor` of a
    # mixed walk's trust do not count. Needs `trust_min_seeds` seeds to run at all.
    trust_seed_weeks: int = 6
    trust_seed_days: int = 90
    trust_seed_creators: int = 3
    trust_min_seeds: int = 20
    trust_floor: float = 0.25
    creator_reader_factor: float = 0.5  # what a creator's engagement with other creators is worth
    dwell_views: int = 10  # posts with time spent before "always the same time spent" is judged
    dwell_hour_seconds: int = 5400  # more counted time in one clock hour than a person can spend

    def as_json(self) -> dict:
        return asdict(self)


# Interactions a person chooses to make (not views or time spent).
ACTIVE_KINDS = "(3, 5, 6, 10)"


def shared_creator_device(cursor, limits: Thresholds, week: Week) -> None:
    """Readers on a device the creator used that week (their own second account, their phone)."""
    cursor.execute(
        """
        INSERT INTO inc_pair_discounts (reader_id, creator_id, reason, group_key)
        SELECT DISTINCT reader_id, creator_id, 'same_device', to_hex(fingerprint)
        FROM (
            -- Two plain equality joins (each a hash join), not one join on either column.
            SELECT p.reader_id, p.creator_id, d.fingerprint
            FROM inc_pairs p JOIN inc_devices d ON d.reader_id = p.creator_id AND d.fingerprint = p.fingerprint
            WHERE p.reader_id <> p.creator_id
            UNION ALL
            SELECT p.reader_id, p.creator_id, d.fingerprint
            FROM inc_pairs p JOIN inc_devices d ON d.reader_id = p.creator_id AND d.fingerprint = p.other_fingerprint
            WHERE p.reader_id <> p.creator_id AND p.other_fingerprint <> p.fingerprint
        ) AS on_creator_devices
        ON CONFLICT DO NOTHING
        """
    )


def shared_device(cursor, limits: Thresholds, week: Week) -> None:
    """Several accounts on one device count as its oldest account only."""
    cursor.execute(
        """
        INSERT INTO inc_reader_discounts (reader_id, reason, group_key)
        SELECT unnest(readers[2:]), 'shared_device', to_hex(fingerprint)
        FROM (
            SELECT d.fingerprint, array_agg(d.reader_id ORDER BY r.joined_at, d.reader_id) AS readers
            FROM inc_devices d JOIN inc_readers r USING (reader_id)
            WHERE d.fingerprint IS NOT NULL
            GROUP BY d.fingerprint HAVING count(*) >= %(accounts)s
        ) AS shared
        ON CONFLICT DO NOTHING
        """,
        {"accounts": limits.shared_device_accounts},
    )


def shared_network(cursor, limits: Thresholds, week: Week) -> None:
    """Many accounts from one network prefix (IPv4 /24, IPv6 /48) engaging one creator: one address
    or one provider's block, many accounts, all for the same creator. A farm that gets a fresh
    device per account (clearing cookies, or one phone each) still shares its address. Carrier-grade
    NAT, offices and campuses put strangers behind one prefix, so the `network_accounts - 1` oldest
    accounts from a prefix keep counting for each creator; only the ones beyond them are discounted,
    for that creator alone. Interactions with no prefix are never grouped."""
    cursor.execute(
        """
        WITH audience AS MATERIALIZED (
            -- Each account once per creator and prefix (hash aggregates throughout: most pairs are
            -- one account on its own prefix, and only the crowded prefixes' accounts are sorted).
            SELECT DISTINCT creator_id, network, reader_id FROM inc_pairs
            WHERE network IS NOT NULL AND events > 0 AND reader_id <> creator_id
        ), crowded AS (
            SELECT creator_id, network FROM audience GROUP BY creator_id, network HAVING count(*) >= %(accounts)s
        )
        INSERT INTO inc_pair_discounts (reader_id, creator_id, reason, group_key)
        SELECT unnest(readers[%(accounts)s:]), creator_id, 'shared_network', to_hex(network)
        FROM (
            SELECT a.creator_id, a.network, array_agg(a.reader_id ORDER BY r.joined_at, a.reader_id) AS readers
            FROM audience a
            JOIN crowded USING (creator_id, network)
            JOIN inc_readers r USING (reader_id)
            GROUP BY a.creator_id, a.network
        ) AS grouped
        ON CONFLICT DO NOTHING
        """,
        {"accounts": limits.network_accounts},
    )


def new_account_burst(cursor, limits: Thresholds, week: Week) -> None:
    """Many accounts opened within minutes of each other, none of which trades, all turning up for
    the same creator. (A big exchange signs up many people an hour; a farm signs them up for one
    creator.)"""
    cursor.execute(
        """
        INSERT INTO inc_pair_discounts (reader_id, creator_id, reason, group_key)
        SELECT reader_id, creator_id, 'new_account_burst',
               to_char(date_trunc('hour', joined_at), 'YYYY-MM-DD HH24:00')
        FROM (
            SELECT audience.*, count(*) OVER (
                PARTITION BY creator_id ORDER BY joined_at
                RANGE BETWEEN %(minutes)s * interval '1 minute' PRECEDING
                          AND %(minutes)s * interval '1 minute' FOLLOWING
            ) AS joined_nearby
            FROM (
                SELECT DISTINCT p.reader_id, p.creator_id, r.joined_at
                FROM inc_pairs p JOIN inc_readers r USING (reader_id)
                WHERE NOT r.trades AND r.joined_at >= %(since)s AND p.reader_id <> p.creator_id
            ) AS audience
        ) AS young
        WHERE joined_nearby >= %(accounts)s
        ON CONFLICT DO NOTHING
        """,
        {
            "minutes": limits.burst_minutes,
            "accounts": limits.burst_accounts,
            "since": week.ends_at - timedelta(days=limits.burst_account_age_days),
        },
    )


def lockstep(cursor, limits: Thresholds, week: Week) -> None:
    """Groups of accounts that act on the same posts within minutes of each other, again and again
    (after CopyCatch): each must share `lockstep_posts` such moments with `lockstep_accounts - 1`
    of the others."""
    cursor.execute(
        """
        CREATE TEMP TABLE inc_lockstep_members ON COMMIT DROP AS
        SELECT unnest(readers) AS reader_id, post_id, creator_id, grid, slot
        FROM (
            -- Two grids of windows, the second shifted by half a window, so a group acting within
            -- seconds of each other is seen together even when a window boundary falls among them.
            SELECT post_id, creator_id, grid,
                   floor((extract(epoch FROM first_at) + grid * %(seconds)s / 2.0) / %(seconds)s)::bigint AS slot,
                   array_agg(DISTINCT reader_id) AS readers
            FROM inc_pairs CROSS JOIN (VALUES (0), (1)) AS grids (grid)
            WHERE kind IN """
        + ACTIVE_KINDS
        + """ AND reader_id IS NOT NULL AND reader_id <> creator_id AND events > 0
            GROUP BY post_id, creator_id, grid, slot
            HAVING count(DISTINCT reader_id) >= %(accounts)s
        ) AS crowded;

        WITH candidates AS (
            SELECT reader_id FROM inc_lockstep_members
            GROUP BY reader_id HAVING count(DISTINCT post_id) >= %(posts)s
        ), members AS (
            SELECT m.* FROM inc_lockstep_members m JOIN candidates USING (reader_id)
        ), partners AS (
            SELECT a.reader_id
            FROM members a
            JOIN members b
              ON b.post_id = a.post_id AND b.grid = a.grid AND b.slot = a.slot AND b.reader_id <> a.reader_id
            GROUP BY a.reader_id, b.reader_id HAVING count(DISTINCT a.post_id) >= %(posts)s
        ), in_lockstep AS (
            SELECT reader_id FROM partners GROUP BY reader_id HAVING count(*) >= %(accounts)s - 1
        )
        INSERT INTO inc_pair_discounts (reader_id, creator_id, reason, group_key)
        SELECT DISTINCT m.reader_id, m.creator_id, 'lockstep', ''
        FROM members m JOIN in_lockstep USING (reader_id)
        ON CONFLICT DO NOTHING
        """,
        {"seconds": limits.lockstep_seconds, "accounts": limits.lockstep_accounts, "posts": limits.lockstep_posts},
    )


# An interaction's worth in score terms, as `contributions` counts it: the action's weight × the
# reader's value (× counted minutes for time spent). Joined on `incentives_actionweight` (w) and
# `inc_readers` (r) for a row `p` of `inc_pairs`.
SCORE_OF_ROW = (
    "w.weight::float8 * r.value_milli / 1000.0"
    " * CASE WHEN p.kind = 2 THEN least(p.dwell_ms, w.per_view_cap_seconds * 1000) / 60000.0 ELSE 1 END"
)


def creator_flow(cursor, limits: Thresholds, week: Week) -> None:
    """Not a rule: the week's flow of score per reader and creator (`inc_flow`), which the rules
    about creators and the flags' severity read. Signed-out, self and undone interactions carry no
    flow."""
    cursor.execute(
        """
        CREATE TEMP TABLE inc_flow ON COMMIT DROP AS
        SELECT p.reader_id, p.creator_id, sum("""
        + SCORE_OF_ROW
        + """) AS flow
        FROM inc_pairs p
        JOIN inc_readers r ON r.reader_id = p.reader_id
        JOIN incentives_actionweight w ON w.kind = p.kind
        WHERE p.events > 0 AND p.net > 0 AND p.reader_id <> p.creator_id
        GROUP BY p.reader_id, p.creator_id;
        -- Creators: authors of posts still earning that someone else engaged with this week (a
        -- followed account without such posts is a reader, not a creator).
        CREATE TEMP TABLE inc_creators ON COMMIT DROP AS
        SELECT DISTINCT p.creator_id FROM inc_pairs p JOIN inc_posts ep ON ep.post_id = p.post_id
        WHERE p.events > 0 AND p.reader_id <> p.creator_id;
        ANALYZE inc_flow; ANALYZE inc_creators;
        """
    )


def reciprocal_ring(cursor, limits: Thresholds, week: Week) -> None:
    """Creators who feed each other's scores: pods, whatever their shape.

    Over the week's flow between creators (every kind of engagement, in score terms), a creator is
    pod-fed when it has `pod_partners` or more reciprocal partners (creators it gives flow to and
    receives flow from) and what those partners give it is at least `pod_share` of what it receives
    from readers who are not creators. A pair of pod-fed creators who engage each other is
    discounted both ways. No triangle is needed, so pairs trading two acts a week, cliques and two
    halves engaging only across are caught alike; friends who read each other beside audiences of
    their own are not."""
    cursor.execute(
        """
        WITH between_creators AS (
            SELECT f.reader_id AS giver, f.creator_id AS receiver, f.flow
            FROM inc_flow f JOIN inc_creators c ON c.creator_id = f.reader_id
            WHERE f.flow > 0
        ), mutual AS (
            SELECT e.giver, e.receiver, e.flow
            FROM between_creators e JOIN between_creators back ON back.giver = e.receiver AND back.receiver = e.giver
        ), outside AS (
            SELECT f.creator_id, sum(f.flow) AS flow
            FROM inc_flow f LEFT JOIN inc_creators c ON c.creator_id = f.reader_id
            WHERE c.creator_id IS NULL
            GROUP BY f.creator_id
        ), pod_fed AS (
            SELECT m.receiver AS creator_id
            FROM mutual m LEFT JOIN outside o ON o.creator_id = m.receiver
            GROUP BY m.receiver, o.flow
            HAVING count(*) >= %(partners)s AND sum(m.flow) >= %(share)s * coalesce(o.flow, 0)
        )
        INSERT INTO inc_pair_discounts (reader_id, creator_id, reason, group_key)
        SELECT m.giver, m.receiver, 'reciprocal_ring', ''
        FROM mutual m
        JOIN pod_fed giver ON giver.creator_id = m.giver
        JOIN pod_fed receiver ON receiver.creator_id = m.receiver
        ON CONFLICT DO NOTHING
        """,
        {"partners": limits.pod_partners, "share": limits.pod_share},
    )


def dense_block(cursor, limits: Thresholds, week: Week) -> None:
    """Many readers engaging the same few creators, far denser than the rest of the graph (FRAUDAR,
    see `graph.py`). The densest block of the readers-and-creators graph is judged on what a farm
    cannot avoid: each of its creators gets at least `dense_creator_share` of its readers from the
    block, its readers engage at least `dense_fill` of its creators, its pairs are at least
    `dense_ratio` times as filled with engagement as the whole graph's, and it has at least
    `dense_readers` readers and `dense_creators` creators (a creator and its fans is popularity,
    not a block). Up to `dense_rounds` blocks are looked for, each without the readers of the last."""
    cursor.execute(
        "SELECT f.reader_id, f.creator_id FROM inc_flow f LEFT JOIN inc_creators c ON c.creator_id = f.reader_id"
        " WHERE f.flow > 0 AND c.creator_id IS NULL"
    )
    edges = int_columns(cursor, 2)
    for round_number in range(limits.dense_rounds):
        block = densest_block(edges[:, 0], edges[:, 1])
        if block is None:
            return
        in_block = np.isin(edges[:, 0], block.readers)
        to_block = np.isin(edges[:, 1], block.creators)
        # Each block creator's share of readers coming from the block.
        inside = edges[in_block & to_block]
        creators, from_block = np.unique(inside[:, 1], return_counts=True)
        audience = np.unique(edges[np.isin(edges[:, 1], creators), 1], return_counts=True)[1]
        creators = creators[from_block >= limits.dense_creator_share * audience]
        inside = inside[np.isin(inside[:, 1], creators)]
        readers, reach = np.unique(inside[:, 0], return_counts=True)
        readers = readers[reach >= limits.dense_fill * len(creators)]
        pairs = inside[np.isin(inside[:, 0], readers)]
        if len(readers) < limits.dense_readers or len(creators) < limits.dense_creators:
            return
        # Far denser than the rest: a community where everyone reads everyone is not a block.
        if len(pairs) < limits.dense_ratio * block.fill * len(readers) * len(creators):
            return
        cursor.execute(
            """
            INSERT INTO inc_pair_discounts (reader_id, creator_id, reason, group_key)
            SELECT reader_id, creator_id, 'dense_block', %(group)s
            FROM unnest(%(readers)s::bigint[], %(creators)s::bigint[]) AS block (reader_id, creator_id)
            ON CONFLICT DO NOTHING
            """,
            {"group": f"block {round_number + 1}", "readers": pairs[:, 0].tolist(), "creators": pairs[:, 1].tolist()},
        )
        edges = edges[~np.isin(edges[:, 0], readers)]


def low_trust(cursor, limits: Thresholds, week: Week) -> None:
    """Readers the trusted community does not reach (SybilRank, see `graph.py`).

    Seeds are readers whose trust took time and money to earn and who read widely: trading in most
    of the tenure weeks, an account months old, engagement with several creators in the week.
    Trust spreads from them over the week's graph of who engaged whom; a reader who pays fees but
    engages only creators that no seed reaches, through readers no seed reaches, is left with
    almost none and does not count. A farm of paid accounts reading only the creators it lifts is
    such a region whatever each account pays; to join the honest graph it must read widely, and
    then each account's week is shared across those creators (the reader limits). Readers of no
    value are left to their own reason."""
    cursor.execute(
        """
        SELECT r.reader_id
        FROM inc_readers r
        JOIN (SELECT reader_id FROM inc_flow WHERE flow > 0 GROUP BY reader_id HAVING count(*) >= %(creators)s)
             AS wide USING (reader_id)
        WHERE r.value_milli > 0 AND r.tenure_weeks >= %(weeks)s AND r.opened_at <= %(opened_before)s
        """,
        {
            "creators": limits.trust_seed_creators,
            "weeks": limits.trust_seed_weeks,
            "opened_before": week.starts_at - timedelta(days=limits.trust_seed_days),
        },
    )
    seeds = int_columns(cursor, 1)[:, 0]
    if len(seeds) < limits.trust_min_seeds:
        return
    cursor.execute("SELECT reader_id, creator_id FROM inc_flow WHERE flow > 0")
    edges = int_columns(cursor, 2)
    accounts, trust = degree_normalised_trust(edges[:, 0], edges[:, 1], seeds)
    untrusted = accounts[(trust < limits.trust_floor) & ~np.isin(accounts, seeds)]
    cursor.execute(
        """
        INSERT INTO inc_reader_discounts (reader_id, reason, group_key)
        SELECT r.reader_id, 'low_trust', '' FROM inc_readers r
        WHERE r.reader_id IN (SELECT unnest(%(untrusted)s::bigint[])) AND r.value_milli > 0
        ON CONFLICT DO NOTHING
        """,
        {"untrusted": untrusted.tolist()},
    )


def creators_as_readers(cursor, limits: Thresholds, week: Week) -> None:
    """Not a rule: creators reading creators count at `creator_reader_factor` of their value. A
    creator is paid from the pool; what its engagement adds to a rival's score is paid from the same
    pool, so mutual support is worth less than an outside reader's. Runs after the rules above,
    which judge flow at full value."""
    cursor.execute(
        """
        UPDATE inc_readers r SET value_milli = greatest(1, round(r.value_milli * %(factor)s))::int
        FROM inc_creators c WHERE c.creator_id = r.reader_id AND r.value_milli > 0;
        -- The flow the flags' severity is measured against, on the same footing.
        UPDATE inc_flow f SET flow = f.flow * %(factor)s FROM inc_creators c WHERE c.creator_id = f.reader_id;
        """,
        {"factor": limits.creator_reader_factor},
    )


def machine_dwell(cursor, limits: Thresholds, week: Week) -> None:
    """Time spent that no person produces: the same figure again and again, or more time in an
    hour than the hour has."""
    cursor.execute(
        """
        INSERT INTO inc_dwell_discounts (reader_id, group_key)
        SELECT reader_id, 'identical' FROM inc_pairs
        WHERE kind = 2 AND reader_id IS NOT NULL
        GROUP BY reader_id
        HAVING count(*) >= %(views)s AND count(DISTINCT min_dwell_ms) * 5 <= count(*)
        ON CONFLICT DO NOTHING;

        INSERT INTO inc_dwell_discounts (reader_id, group_key)
        SELECT DISTINCT reader_id, 'impossible' FROM inc_pairs
        WHERE kind = 2 AND reader_id IS NOT NULL
        GROUP BY reader_id, date_trunc('hour', first_at)
        HAVING sum(dwell_ms) > %(hour_ms)s
        ON CONFLICT DO NOTHING;
        """,
        {"views": limits.dwell_views, "hour_ms": limits.dwell_hour_seconds * 1000},
    )


RULES: tuple[tuple[str, Callable], ...] = (
    ("", creator_flow),
    (Rule.SAME_DEVICE, shared_creator_device),
    (Rule.NEW_ACCOUNT_BURST, new_account_burst),
    (Rule.SHARED_DEVICE, shared_device),
    (Rule.SHARED_NETWORK, shared_network),
    (Rule.LOCKSTEP, lockstep),
    (Rule.RECIPROCAL_RING, reciprocal_ring),
    (Rule.DENSE_BLOCK, dense_block),
    (Rule.LOW_TRUST, low_trust),
    (Rule.MACHINE_DWELL, machine_dwell),
    ("", creators_as_readers),
)


def apply_rules(cursor, limits: Thresholds, week: Week, timings: dict[str, float] | None = None) -> None:
    """Runs every rule of RULES over the working tables; given `timings`, records each rule's wall
    time under its function's name."""
    cursor.execute(
        """
        -- This module's own working tables, left over when a caller's transaction computes twice.
        DROP TABLE IF EXISTS inc_flow, inc_creators, inc_discounted, inc_tied;
        CREATE TEMP TABLE inc_pair_discounts (
            reader_id bigint, creator_id bigint, reason text, group_key text, PRIMARY KEY (reader_id, creator_id)
        ) ON COMMIT DROP;
        CREATE TEMP TABLE inc_reader_discounts (reader_id bigint PRIMARY KEY, reason text, group_key text)
            ON COMMIT DROP;
        CREATE TEMP TABLE inc_dwell_discounts (reader_id bigint PRIMARY KEY, group_key text) ON COMMIT DROP;
        """
    )
    for _name, rule in RULES:
        with timed(timings, rule.__name__):
            rule(cursor, limits, week)
    cursor.execute("ANALYZE inc_pair_discounts; ANALYZE inc_reader_discounts; ANALYZE inc_dwell_discounts")


@dataclass(frozen=True)
class FlagFinding:
    rule: str
    creator_id: int
    actors: list[int]
    actor_count: int
    discounted_interactions: int
    evidence: dict
    severity: int
    # Whether the creator is tied to the accounts (a shared device, or engagement the creator gave
    # them). A finding that is not tied was done to the creator, not by them: it is discounted and
    # recorded, but never holds the payout.
    tied_to_creator: bool = True


# Rules that are about the creator's own behaviour: tied by definition.
CREATOR_RULES = (Rule.SAME_DEVICE, Rule.RECIPROCAL_RING)


def _severity(rule: str, actor_count: int, removed_share: float) -> int:
    """How much of the creator's week the finding explains, as the share of the creator's score the
    rule removed: a creator whose readers include a few cheaters elsewhere is not a cheat; one whose
    score was mostly discounted is held for review. Self, signed-out and undone interactions are
    worth nothing to the score, so padding with them cannot dilute the share."""
    enough_accounts = actor_count >= 5 or rule in CREATOR_RULES
    if rule != Rule.MACHINE_DWELL and removed_share >= 0.2 and enough_accounts:
        return IntegrityFlag.Severity.HIGH
    if removed_share >= 0.05:
        return IntegrityFlag.Severity.MEDIUM
    return IntegrityFlag.Severity.LOW


def find_flags(cursor, actor_sample: int = 20) -> list[FlagFinding]:
    """One finding per rule and creator that benefited, from the discount tables."""
    cursor.execute(
        """
        CREATE TEMP TABLE inc_discounted ON COMMIT DROP AS
        SELECT p.creator_id, p.reader_id, p.kind, p.net,
               coalesce(pd.reason, rd.reason, 'machine_dwell') AS rule,
               coalesce(pd.group_key, rd.group_key, dd.group_key) AS group_key,
               -- The score this interaction would have brought (nothing when undone).
               CASE WHEN p.net > 0 THEN coalesce("""
        + SCORE_OF_ROW
        + """, 0) ELSE 0 END AS removed
        FROM inc_pairs p
        LEFT JOIN inc_readers r ON r.reader_id = p.reader_id
        LEFT JOIN incentives_actionweight w ON w.kind = p.kind
        LEFT JOIN inc_pair_discounts pd ON pd.reader_id = p.reader_id AND pd.creator_id = p.creator_id
        LEFT JOIN inc_reader_discounts rd ON rd.reader_id = p.reader_id
        LEFT JOIN inc_dwell_discounts dd ON dd.reader_id = p.reader_id AND p.kind = 2
        WHERE p.events > 0 AND p.reader_id <> p.creator_id
          AND (pd.reader_id IS NOT NULL OR rd.reader_id IS NOT NULL OR dd.reader_id IS NOT NULL);
        ANALYZE inc_discounted;

        -- Findings the creator is tied to: an account on one of the creator's devices or network
        -- prefixes this week, one with the creator's KYC identity, or one the creator engaged with
        -- (reciprocal flow). Hash joins over the discounted accounts only.
        CREATE TEMP TABLE inc_tied ON COMMIT DROP AS
        WITH accounts AS MATERIALIZED (SELECT DISTINCT creator_id, reader_id, rule FROM inc_discounted),
             networks AS MATERIALIZED (
                 SELECT DISTINCT reader_id, network FROM inc_pairs
                 WHERE network IS NOT NULL
                   AND reader_id IN (SELECT reader_id FROM accounts UNION SELECT creator_id FROM accounts)
             ),
             -- Pairs (creator, reader) on one device or prefix, matched by the device or prefix first:
             -- a busy reader has many prefixes, and pairing each discounted account with all of them
             -- grows with the square of the week.
             shared AS (
                 SELECT cd.reader_id AS creator_id, ad.reader_id
                 FROM inc_devices cd JOIN inc_devices ad ON ad.fingerprint = cd.fingerprint
                 WHERE cd.reader_id IN (SELECT creator_id FROM accounts)
                   AND ad.reader_id IN (SELECT reader_id FROM accounts)
                 UNION
                 SELECT cn.reader_id, an.reader_id
                 FROM networks cn JOIN networks an ON an.network = cn.network
                 WHERE cn.reader_id IN (SELECT creator_id FROM accounts)
                   AND an.reader_id IN (SELECT reader_id FROM accounts)
             )
        SELECT a.creator_id, a.rule FROM accounts a JOIN shared s USING (creator_id, reader_id)
        UNION
        SELECT a.creator_id, a.rule FROM accounts a
        JOIN creators_tradingprofile ct ON ct.user_id = a.creator_id AND ct.kyc_identity IS NOT NULL
        JOIN creators_tradingprofile at ON at.user_id = a.reader_id AND at.kyc_identity = ct.kyc_identity
        UNION
        SELECT a.creator_id, a.rule FROM accounts a
        JOIN inc_flow back ON back.reader_id = a.creator_id AND back.creator_id = a.reader_id;

        SELECT d.creator_id, d.rule,
               count(DISTINCT d.reader_id) AS actor_count,
               (array_agg(DISTINCT d.reader_id))[1:%(sample)s] AS actors,
               count(*) FILTER (WHERE d.kind NOT IN (1, 2)) AS interactions,
               count(*) FILTER (WHERE d.kind = 1) AS views,
               count(*) FILTER (WHERE d.kind = 2) AS dwell_views,
               (array_agg(DISTINCT d.group_key))[1:21] AS groups,
               sum(d.removed) AS removed,
               bool_or(t.creator_id IS NOT NULL) AS tied
        FROM inc_discounted d LEFT JOIN inc_tied t ON t.creator_id = d.creator_id AND t.rule = d.rule
        GROUP BY 1, 2
        ORDER BY 1, 2
        """,
        {"sample": actor_sample},
    )
    rows = list(stream(cursor))
    # Each flagged creator's whole score before any rule: every interaction that is not signed out,
    # self or undone (the same flow the creator rules read).
    cursor.execute(
        # IN (unnest) is a hashed semi-join; "= ANY(array)" would scan the array for every row.
        "SELECT creator_id, sum(flow) FROM inc_flow"
        " WHERE creator_id IN (SELECT unnest(%(creators)s::bigint[])) GROUP BY creator_id",
        {"creators": sorted({row[0] for row in rows})},
    )
    creator_totals = {creator_id: float(total or 0) for creator_id, total in stream(cursor)}
    findings = []
    for creator_id, rule, actor_count, actors, interactions, views, dwell_views, groups, removed, tied in rows:
        evidence = {"accounts": actor_count, "interactions": interactions, "views": views, "time_spent": dwell_views}
        groups = sorted(group for group in groups if group)
        if groups:
            evidence["groups"] = groups[:20]
        tied = bool(tied) or rule in CREATOR_RULES
        if not tied:
            evidence["tied_to_creator"] = False
        total = creator_totals.get(creator_id, 0.0)
        removed_share = float(removed) / total if total > 0 else 0.0
        findings.append(
            FlagFinding(
                rule=rule,
                creator_id=creator_id,
                actors=sorted(actors),
                actor_count=actor_count,
                discounted_interactions=interactions + views + dwell_views,
                evidence=evidence,
                severity=_severity(rule, actor_count, removed_share),
                tied_to_creator=tied,
            )
        )
    return findings
