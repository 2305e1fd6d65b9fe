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

from .models import IntegrityFlag
from .sql import stream
from .weeks import Week

Rule = IntegrityFlag.Rule


@dataclass(frozen=True)
class Thresholds:
    shared_device_accounts: int = 3  # accounts on one device before all but the oldest stop counting
    burst_accounts: int = 10  # new non-trading accounts joining within burst_minutes of each other,
    # all engaging one creator
    burst_minutes: int = 30
    burst_account_age_days: int = 30
    lockstep_accounts: int = 5  # accounts acting on one post within lockstep_seconds ...
    lockstep_seconds: int = 600
    lockstep_posts: int = 3  # ... on at least this many posts, with the same partners
    ring_interactions: int = 3  # a creator's likes, comments, shares on another creator in the week
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


def reciprocal_ring(cursor, limits: Thresholds, week: Week) -> None:
    """Creators who like, comment on and share each other's posts, in groups of three or more."""
    cursor.execute(
        """
        WITH creators AS (
            SELECT DISTINCT creator_id AS id FROM inc_pairs
        ), edges AS (
            SELECT p.reader_id AS giver, p.creator_id AS receiver
            FROM inc_pairs p JOIN creators c ON c.id = p.reader_id
            WHERE p.kind IN """
        + ACTIVE_KINDS
        + """ AND p.events > 0 AND p.net > 0 AND p.reader_id <> p.creator_id
            GROUP BY p.reader_id, p.creator_id HAVING count(*) >= %(interactions)s
        ), mutual AS (
            SELECT e.giver, e.receiver
            FROM edges e JOIN edges back ON back.giver = e.receiver AND back.receiver = e.giver
        ), in_triangle AS (
            -- Two creators who back each other may just be friends; a ring closes: a third creator
            -- trades interactions with both.
            SELECT DISTINCT ab.giver, ab.receiver
            FROM mutual ab
            JOIN mutual ac ON ac.giver = ab.giver AND ac.receiver <> ab.receiver
            JOIN mutual bc ON bc.giver = ab.receiver AND bc.receiver = ac.receiver
        )
        INSERT INTO inc_pair_discounts (reader_id, creator_id, reason, group_key)
        SELECT giver, receiver, 'reciprocal_ring', '' FROM in_triangle
        ON CONFLICT DO NOTHING
        """,
        {"interactions": limits.ring_interactions},
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
    (Rule.SAME_DEVICE, shared_creator_device),
    (Rule.NEW_ACCOUNT_BURST, new_account_burst),
    (Rule.SHARED_DEVICE, shared_device),
    (Rule.LOCKSTEP, lockstep),
    (Rule.RECIPROCAL_RING, reciprocal_ring),
    (Rule.MACHINE_DWELL, machine_dwell),
)


def apply_rules(cursor, limits: Thresholds, week: Week) -> None:
    cursor.execute(
        """
        CREATE TEMP TABLE inc_pair_discounts (
            reader_id bigint, creator_id bigint, reason text, group_key text, PRIMARY KEY (reader_id, creator_id)
        ) ON COMMIT DROP;
        CREATE TEMP TABLE inc_reader_discounts (reader_id bigint PRIMARY KEY, reason text, group_key text)
            ON COMMIT DROP;
        CREATE TEMP TABLE inc_dwell_discounts (reader_id bigint PRIMARY KEY, group_key text) ON COMMIT DROP;
        """
    )
    for _name, rule in RULES:
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


def _severity(rule: str, actor_count: int, discounted: int, creator_total: int) -> int:
    """How much of the creator's week the finding explains: a creator whose readers include a few
    cheaters elsewhere is not a cheat; one whose week is mostly discounted is held for review."""
    fraction = discounted / creator_total if creator_total else 1
    enough_accounts = actor_count >= 5 or (rule == Rule.SAME_DEVICE and discounted >= 5)
    if rule != Rule.MACHINE_DWELL and fraction >= 0.2 and enough_accounts:
        return IntegrityFlag.Severity.HIGH
    if fraction >= 0.05:
        return IntegrityFlag.Severity.MEDIUM
    return IntegrityFlag.Severity.LOW


def find_flags(cursor, actor_sample: int = 20) -> list[FlagFinding]:
    """One finding per rule and creator that benefited, from the discount tables."""
    cursor.execute(
        # Judged on chosen interactions (likes, comments, shares, follows, trade clicks), which views
        # and time spent would otherwise drown.
        "SELECT creator_id, count(*) FROM inc_pairs WHERE events > 0 AND kind NOT IN (1, 2) GROUP BY creator_id"
    )
    creator_totals = dict(stream(cursor))
    cursor.execute(
        """
        SELECT p.creator_id,
               coalesce(pd.reason, rd.reason, 'machine_dwell') AS rule,
               count(DISTINCT p.reader_id) AS actor_count,
               (array_agg(DISTINCT p.reader_id))[1:%(sample)s] AS actors,
               count(*) FILTER (WHERE p.kind NOT IN (1, 2)) AS interactions,
               count(*) FILTER (WHERE p.kind = 1) AS views,
               count(*) FILTER (WHERE p.kind = 2) AS dwell_views,
               (array_agg(DISTINCT coalesce(pd.group_key, rd.group_key, dd.group_key)))[1:21] AS groups
        FROM inc_pairs p
        LEFT JOIN inc_pair_discounts pd ON pd.reader_id = p.reader_id AND pd.creator_id = p.creator_id
        LEFT JOIN inc_reader_discounts rd ON rd.reader_id = p.reader_id
        LEFT JOIN inc_dwell_discounts dd ON dd.reader_id = p.reader_id AND p.kind = 2
        WHERE p.events > 0 AND p.reader_id <> p.creator_id
          AND (pd.reader_id IS NOT NULL OR rd.reader_id IS NOT NULL OR dd.reader_id IS NOT NULL)
        GROUP BY 1, 2
        ORDER BY 1, 2
        """,
        {"sample": actor_sample},
    )
    findings = []
    for creator_id, rule, actor_count, actors, interactions, views, dwell_views, groups in stream(cursor):
        evidence = {"accounts": actor_count, "interactions": interactions, "views": views, "time_spent": dwell_views}
        groups = sorted(group for group in groups if group)
        if groups:
            evidence["groups"] = groups[:20]
        findings.append(
            FlagFinding(
                rule=rule,
                creator_id=creator_id,
                actors=sorted(actors),
                actor_count=actor_count,
                discounted_interactions=interactions + views + dwell_views,
                evidence=evidence,
                severity=_severity(
                    rule, actor_count, interactions or dwell_views, creator_totals.get(creator_id, 0) or dwell_views
                ),
            )
        )
    return findings
