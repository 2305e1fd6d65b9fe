"""Offline evaluation of For You: rank as of a cut-off, score against what people did after it.

For a sample of users who engaged positively after the cut-off and had history before it, each
ranker builds a list as of the cut-off, and the lists are scored against the posts those users
then engaged with within the horizon. Orbit's ranker runs beside two baselines, newest first
(chronological) and most engaged-with in the days before the cut-off (popularity), on the same
users and the same posts:

* a post is eligible for a user when it was published at the cut-off (and is still visible: not
  hidden or deleted, its author not suspended), is not the user's own, is not by someone the user
  muted, blocked or was blocked by, and the user had not engaged with it before the cut-off (seen);
  ground truth and every ranker's list hold eligible posts only;
* relevance is graded by the strongest positive action in the horizon: trade click, share or
  comment 3, like 2, dwell of at least 10 s 1; views alone are not relevance;
* metrics: NDCG@k with gains 2^grade - 1, recall@n, catalogue coverage (distinct posts in the
  top-k lists over posts published at the cut-off), creator coverage (distinct creators in the
  top-k lists), the Gini coefficient of creators' impressions in the top-k lists over every creator
  with a published post, and the share of education posts in the top-k lists (by the tagger's type,
  or the author's label for a post without tags).

Ground truth, the user sample and both baselines are one SQL query each over all sampled users;
Orbit's ranker runs per user, as it does in production.

See docs/ranking.md#evaluating-for-you.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Max

from creators.selectors import hidden_pairs_sql
from feed.models import Engagement

from .scoring import Context, rank_for_user

Kind = Engagement.Kind

GRADES = {Kind.TRADE_CLICK: 3, Kind.SHARE: 3, Kind.COMMENT: 3, Kind.LIKE: 2, Kind.DWELL: 1}
LONG_DWELL_MS = 10_000
# "Some history": enough engagement before the cut-off for a profile to say something.
MIN_HISTORY_EVENTS = 5
POPULARITY_DAYS = 3
# More untagged posts than this and the evaluation of Orbit's ranker says little.
UNTAGGED_WARNING_SHARE = 0.1
EDUCATION = "education"

# A ranker gets the sampled users and returns each one's list of post ids, best first.
Ranker = Callable[["Audience"], dict[int, list[int]]]

# --- SQL ---------------------------------------------------------------------------------------
# Only the module's own constants are interpolated into these queries; values are parameters.

# Grade of one engagement row; 0 for rows that are not positive feedback.
GRADE_SQL = (
    "CASE "
    + " ".join(f"WHEN e.kind = {int(kind)} THEN {grade}" for kind, grade in GRADES.items() if kind != Kind.DWELL)
    + f" WHEN e.kind = {int(Kind.DWELL)} AND e.dwell_ms >= {LONG_DWELL_MS} THEN {GRADES[Kind.DWELL]}"
    + " ELSE 0 END"
)
_POSITIVE_KINDS = ", ".join(str(int(kind)) for kind in GRADES)

# Posts anyone could be shown at the cut-off; the same rule as Orbit's ranker uses.
_VISIBLE_POST_SQL = """
    SELECT p.id, p.author_id, p.created_at
    FROM feed_post p JOIN creators_user author ON author.id = p.author_id
    WHERE p.status = 'published' AND author.suspended_at IS NULL AND p.created_at <= %(cutoff)s
"""

# For the users in %(users)s: what they engaged with before the cut-off, and whom they cannot see.
_AUDIENCE_CTES = f"""
    sampled AS (SELECT DISTINCT unnest(%(users)s::bigint[]) AS user_id),
    seen AS (
        SELECT DISTINCT e.actor_id AS user_id, e.post_id
        FROM feed_engagement e
        WHERE e.actor_id = ANY(%(users)s) AND e.post_id IS NOT NULL AND e.occurred_at <= %(cutoff)s
    ),
    hidden AS ({hidden_pairs_sql("%(users)s")}),
    visible AS ({_VISIBLE_POST_SQL})
"""

# A visible post v is eligible for the sampled user s.
_ELIGIBLE_SQL = """
    v.author_id <> s.user_id
    AND NOT EXISTS (SELECT 1 FROM seen WHERE seen.user_id = s.user_id AND seen.post_id = v.id)
    AND NOT EXISTS (SELECT 1 FROM hidden WHERE hidden.user_id = s.user_id AND hidden.author_id = v.author_id)
"""

# Each user's best grade per eligible post in (cut-off, cut-off + horizon].
_GROUND_TRUTH_SQL = f"""
    WITH {_AUDIENCE_CTES},
    positive AS (
        SELECT e.actor_id AS user_id, e.post_id, MAX({GRADE_SQL}) AS grade
        FROM feed_engagement e
        WHERE e.actor_id = ANY(%(users)s) AND e.kind IN ({_POSITIVE_KINDS})
          AND e.occurred_at > %(cutoff)s AND e.occurred_at <= %(horizon_end)s
        GROUP BY 1, 2
    )
    SELECT s.user_id, v.id, positive.grade
    FROM positive
    JOIN sampled s ON s.user_id = positive.user_id
    JOIN visible v ON v.id = positive.post_id
    WHERE positive.grade > 0 AND {_ELIGIBLE_SQL}
"""

# Users with positive engagement after the cut-off on a post published before it (not their own
# and not seen before), and some history before it.
_CANDIDATE_USERS_SQL = f"""
    WITH visible AS ({_VISIBLE_POST_SQL}),
    positive AS (
        SELECT DISTINCT e.actor_id AS user_id, e.post_id
        FROM feed_engagement e JOIN visible v ON v.id = e.post_id
        WHERE e.kind IN ({_POSITIVE_KINDS}) AND ({GRADE_SQL}) > 0
          AND e.occurred_at > %(cutoff)s AND e.occurred_at <= %(horizon_end)s
          AND e.actor_id <> v.author_id
    ),
    history AS (
        SELECT e.actor_id AS user_id
        FROM feed_engagement e
        WHERE e.occurred_at <= %(cutoff)s AND e.post_id IS NOT NULL AND e.actor_id IS NOT NULL
        GROUP BY 1 HAVING COUNT(*) >= {MIN_HISTORY_EVENTS}
    )
    SELECT DISTINCT positive.user_id
    FROM positive JOIN history ON history.user_id = positive.user_id
    WHERE NOT EXISTS (
        SELECT 1 FROM feed_engagement earlier
        WHERE earlier.actor_id = positive.user_id AND earlier.post_id = positive.post_id
          AND earlier.occurred_at <= %(cutoff)s
    )
    ORDER BY 1
"""

_CHRONOLOGICAL_SQL = f"""
    WITH {_AUDIENCE_CTES}
    SELECT s.user_id, newest.id
    FROM sampled s CROSS JOIN LATERAL (
        SELECT v.id, v.created_at FROM visible v
        WHERE {_ELIGIBLE_SQL}
        ORDER BY v.created_at DESC, v.id DESC
        LIMIT %(limit)s
    ) newest
    ORDER BY s.user_id, newest.created_at DESC, newest.id DESC
"""

# Positive rows in the days before the cut-off, creators' engagement with their own posts left out.
# One ranking for everyone, then per user without what they may not see: hash anti-joins over
# users × popular posts, cheaper than a sort per user.
_POPULARITY_SQL = f"""
    WITH {_AUDIENCE_CTES},
    popular AS (
        SELECT v.id, v.author_id, v.created_at, COUNT(*) AS positives
        FROM feed_engagement e JOIN visible v ON v.id = e.post_id
        WHERE e.kind IN ({_POSITIVE_KINDS}) AND ({GRADE_SQL}) > 0
          AND e.occurred_at > %(popularity_from)s AND e.occurred_at <= %(cutoff)s
          AND e.actor_id IS DISTINCT FROM e.creator_id
        GROUP BY v.id, v.author_id, v.created_at
    ),
    per_user AS (
        SELECT s.user_id, v.id,
               ROW_NUMBER() OVER (
                   PARTITION BY s.user_id ORDER BY v.positives DESC, v.created_at DESC, v.id DESC
               ) AS position
        FROM sampled s JOIN popular v ON v.author_id <> s.user_id
        LEFT JOIN seen ON seen.user_id = s.user_id AND seen.post_id = v.id
        LEFT JOIN hidden ON hidden.user_id = s.user_id AND hidden.author_id = v.author_id
        WHERE seen.post_id IS NULL AND hidden.author_id IS NULL
    )
    SELECT user_id, id FROM per_user WHERE position <= %(limit)s ORDER BY user_id, position
"""

# Seen posts, and hidden authors as negative ids, in one round trip.
_SEEN_SQL = f"WITH {_AUDIENCE_CTES} SELECT user_id, post_id FROM seen UNION ALL SELECT user_id, -author_id FROM hidden"

_CATALOGUE_SQL = f"""
    WITH visible AS ({_VISIBLE_POST_SQL})
    SELECT COUNT(*), COUNT(DISTINCT v.author_id), COUNT(*) FILTER (WHERE t.post_id IS NULL)
    FROM visible v LEFT JOIN ranking_posttags t ON t.post_id = v.id
"""

_CREATORS_SQL = f"WITH visible AS ({_VISIBLE_POST_SQL}) SELECT DISTINCT author_id FROM visible"
_VISIBLE_AMONG_SQL = f"WITH visible AS ({_VISIBLE_POST_SQL}) SELECT id FROM visible WHERE id = ANY(%(posts)s)"

_POST_FACTS_SQL = """
    SELECT p.id, p.author_id, COALESCE(t.content_type, p.content_type)
    FROM feed_post p LEFT JOIN ranking_posttags t ON t.post_id = p.id
    WHERE p.id = ANY(%(posts)s)
"""


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _grouped(rows: Iterable[tuple[int, int]], user_ids: Sequence[int]) -> dict[int, list[int]]:
    lists: dict[int, list[int]] = {user_id: [] for user_id in user_ids}
    for user_id, post_id in rows:
        lists[user_id].append(post_id)
    return lists


# --- Who and what is evaluated -----------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """The sampled users and the moment their lists are built for."""

    user_ids: list[int]
    cutoff: datetime
    horizon: timedelta
    list_length: int

    @property
    def params(self) -> dict:
        return {"users": self.user_ids, "cutoff": self.cutoff, "horizon_end": self.cutoff + self.horizon}


def default_cutoff(*, horizon: timedelta) -> datetime | None:
    """One horizon before the latest engagement row, so the horizon is fully observed."""
    latest = Engagement.objects.aggregate(latest=Max("occurred_at"))["latest"]
    # Whole minutes read better and repeat more easily with --cutoff.
    return (latest - horizon).replace(second=0, microsecond=0) if latest else None


def candidate_users(*, cutoff: datetime, horizon: timedelta) -> list[int]:
    """Users worth evaluating: positive engagement after the cut-off and history before it."""
    params = {"cutoff": cutoff, "horizon_end": cutoff + horizon}
    return [user_id for (user_id,) in _rows(_CANDIDATE_USERS_SQL, params)]


def sample_users(user_ids: Sequence[int], *, size: int, seed: int) -> list[int]:
    """A deterministic sample: the same candidates and seed give the same users."""
    ordered = sorted(user_ids)
    return sorted(random.Random(seed).sample(ordered, min(size, len(ordered))))


def ground_truth(audience: Audience) -> dict[int, dict[int, int]]:
    """user id → {post id: grade} of eligible posts the user engaged with positively in the horizon."""
    truth: dict[int, dict[int, int]] = {user_id: {} for user_id in audience.user_ids}
    for user_id, post_id, grade in _rows(_GROUND_TRUTH_SQL, audience.params):
        truth[user_id][post_id] = grade
    return truth


def excluded_for(audience: Audience) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """Per user: the posts seen before the cut-off, and the authors they cannot see."""
    seen: dict[int, set[int]] = {user_id: set() for user_id in audience.user_ids}
    hidden: dict[int, set[int]] = {user_id: set() for user_id in audience.user_ids}
    for user_id, value in _rows(_SEEN_SQL, audience.params):
        if value >= 0:
            seen[user_id].add(value)
        else:
            hidden[user_id].add(-value)
    return seen, hidden


# --- Rankers -----------------------------------------------------------------------------------


def chronological(audience: Audience) -> dict[int, list[int]]:
    """Newest eligible posts first."""
    rows = _rows(_CHRONOLOGICAL_SQL, {**audience.params, "limit": audience.list_length})
    return _grouped(rows, audience.user_ids)


def popularity(audience: Audience) -> dict[int, list[int]]:
    """Eligible posts with the most positive engagement in the POPULARITY_DAYS before the cut-off."""
    params = {
        **audience.params,
        "limit": audience.list_length,
        "popularity_from": audience.cutoff - timedelta(days=POPULARITY_DAYS),
    }
    return _grouped(_rows(_POPULARITY_SQL, params), audience.user_ids)


def orbit(audience: Audience) -> dict[int, list[int]]:
    """Orbit's For You ranker as of the cut-off, one user at a time, as production runs it."""
    # Trending as of the cut-off is the same for everyone: one context serves every user.
    context = Context.as_of(audience.cutoff)
    return {
        # Without exploration: the ranker's own list, not a random trial of it.
        user_id: [
            item.post_id
            for item in rank_for_user(user_id, context=context, limit=audience.list_length, explore_share=0.0)
        ]
        for user_id in audience.user_ids
    }


RANKERS: dict[str, Ranker] = {"orbit": orbit, "chronological": chronological, "popularity": popularity}


# --- Metrics -----------------------------------------------------------------------------------


def ndcg_at(ranked: Sequence[int], grades: dict[int, int], k: int) -> float:
    """Normalised discounted cumulative gain of the first k items, gains 2^grade - 1; 0 without truth."""
    ideal = sorted(grades.values(), reverse=True)[:k]
    ideal_dcg = sum((2**grade - 1) / math.log2(position + 2) for position, grade in enumerate(ideal))
    if not ideal_dcg:
        return 0.0
    dcg = sum(
        (2 ** grades.get(post_id, 0) - 1) / math.log2(position + 2) for position, post_id in enumerate(ranked[:k])
    )
    return dcg / ideal_dcg


def recall_at(ranked: Sequence[int], relevant: Iterable[int], n: int) -> float:
    """Share of the relevant posts found in the first n items; 0 without relevant posts."""
    relevant = set(relevant)
    return len(relevant.intersection(ranked[:n])) / len(relevant) if relevant else 0.0


def gini(values: Sequence[float]) -> float:
    """Gini coefficient: 0 when every value is equal, (n - 1) / n when one holds everything."""
    ordered = sorted(values)
    count, total = len(ordered), sum(ordered)
    if not count or not total:
        return 0.0
    weighted = sum((2 * rank - count - 1) * value for rank, value in enumerate(ordered, start=1))
    return weighted / (count * total)


def catalogue_coverage(lists: Iterable[Sequence[int]], *, k: int, available: int) -> float:
    """Distinct posts shown in the top-k lists, over the posts available."""
    shown = {post_id for ranked in lists for post_id in ranked[:k]}
    return len(shown) / available if available else 0.0


# --- Running -----------------------------------------------------------------------------------


@dataclass
class RankerResult:
    name: str
    ndcg: float
    recall: float
    catalogue_coverage: float
    creators: int
    creator_gini: float
    education_share: float
    seconds: float
    seconds_per_user: float
    # Posts the ranker listed that the evaluation does not allow (seen, own, hidden, removed);
    # dropped before scoring. Orbit's ranker should list none.
    dropped: int = 0


@dataclass
class Evaluation:
    cutoff: datetime
    horizon_days: float
    k: int
    recall_at: int
    seed: int
    candidate_users: int
    users: int
    posts_available: int
    creators_available: int
    untagged_posts: int
    relevant_per_user: float
    results: list[RankerResult] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat()
        return data

    @property
    def untagged_share(self) -> float:
        return self.untagged_posts / self.posts_available if self.posts_available else 0.0


def evaluate(
    *,
    cutoff: datetime,
    horizon: timedelta,
    users: int,
    k: int,
    recall_at_n: int,
    seed: int,
    rankers: dict[str, Ranker] | None = None,
) -> Evaluation:
    """Build every ranker's lists for the same sampled users as of the cut-off and score them."""
    began = time.perf_counter()
    rankers = RANKERS if rankers is None else rankers
    candidates = candidate_users(cutoff=cutoff, horizon=horizon)
    audience = Audience(
        user_ids=sample_users(candidates, size=users, seed=seed),
        cutoff=cutoff,
        horizon=horizon,
        list_length=max(k, recall_at_n),
    )
    truth = ground_truth(audience)
    seen, hidden = excluded_for(audience)
    ((posts_available, creators_available, untagged),) = _rows(_CATALOGUE_SQL, {"cutoff": cutoff})
    every_creator = [author_id for (author_id,) in _rows(_CREATORS_SQL, {"cutoff": cutoff})]
    evaluation = Evaluation(
        cutoff=cutoff,
        horizon_days=horizon.total_seconds() / 86_400,
        k=k,
        recall_at=recall_at_n,
        seed=seed,
        candidate_users=len(candidates),
        users=len(audience.user_ids),
        posts_available=posts_available,
        creators_available=creators_available,
        untagged_posts=untagged,
        relevant_per_user=(sum(map(len, truth.values())) / len(truth)) if truth else 0.0,
    )
    for name, ranker in rankers.items():
        started = time.perf_counter()
        lists = ranker(audience) if audience.user_ids else {}
        seconds = time.perf_counter() - started
        evaluation.results.append(
            _score(
                name,
                lists,
                truth=truth,
                seen=seen,
                hidden=hidden,
                audience=audience,
                every_creator=every_creator,
                k=k,
                recall_at_n=recall_at_n,
                posts_available=posts_available,
                seconds=seconds,
            )
        )
    evaluation.seconds = time.perf_counter() - began
    return evaluation


def _score(
    name: str,
    lists: dict[int, list[int]],
    *,
    truth: dict[int, dict[int, int]],
    seen: dict[int, set[int]],
    hidden: dict[int, set[int]],
    audience: Audience,
    every_creator: list[int],
    k: int,
    recall_at_n: int,
    posts_available: int,
    seconds: float,
) -> RankerResult:
    listed = {post_id for ranked in lists.values() for post_id in ranked}
    facts = {
        post_id: (author_id, content_type)
        for post_id, author_id, content_type in _rows(_POST_FACTS_SQL, {"posts": list(listed)})
    }
    visible = {post_id for (post_id,) in _rows(_VISIBLE_AMONG_SQL, {"cutoff": audience.cutoff, "posts": list(listed)})}
    # The same eligibility for every ranker: whatever a ranker lists outside it is dropped.
    allowed: dict[int, list[int]] = {}
    dropped = 0
    for user_id in audience.user_ids:
        ranked = lists.get(user_id, [])
        kept = [
            post_id
            for post_id in dict.fromkeys(ranked)
            if post_id in visible
            and post_id not in seen[user_id]
            and facts[post_id][0] != user_id
            and facts[post_id][0] not in hidden[user_id]
        ]
        dropped += len(ranked) - len(kept)
        allowed[user_id] = kept
    users = audience.user_ids
    impressions = Counter(facts[post_id][0] for ranked in allowed.values() for post_id in ranked[:k])
    shown = [post_id for ranked in allowed.values() for post_id in ranked[:k]]
    return RankerResult(
        name=name,
        ndcg=_mean(ndcg_at(allowed[user_id], truth[user_id], k) for user_id in users),
        recall=_mean(recall_at(allowed[user_id], truth[user_id], recall_at_n) for user_id in users),
        catalogue_coverage=catalogue_coverage(allowed.values(), k=k, available=posts_available),
        creators=len(impressions),
        creator_gini=gini([impressions.get(creator, 0) for creator in every_creator]),
        education_share=(sum(facts[post_id][1] == EDUCATION for post_id in shown) / len(shown)) if shown else 0.0,
        seconds=seconds,
        seconds_per_user=seconds / len(users) if users else 0.0,
        dropped=dropped,
    )


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


# --- Report ------------------------------------------------------------------------------------


def format_report(evaluation: Evaluation) -> str:
    """The table the command prints: one row per ranker, the setting above, timings below."""
    k, n = evaluation.k, evaluation.recall_at
    lines = [
        f"For You offline evaluation: cut-off {evaluation.cutoff.isoformat()}, "
        f"horizon {evaluation.horizon_days:g} days",
        f"{evaluation.users:,} users evaluated (sampled with seed {evaluation.seed} from "
        f"{evaluation.candidate_users:,} with positive engagement after the cut-off and history before it), "
        f"{evaluation.relevant_per_user:.1f} relevant posts per user",
        f"{evaluation.posts_available:,} posts by {evaluation.creators_available:,} creators published at the cut-off",
        "",
    ]
    headers = ["ranker", f"NDCG@{k}", f"recall@{n}", "catalogue", "creators", "creator Gini", "education", "s/user"]
    rows = [
        [
            result.name,
            f"{result.ndcg:.4f}",
            f"{result.recall:.4f}",
            f"{result.catalogue_coverage:.2%}",
            f"{result.creators:,}",
            f"{result.creator_gini:.3f}",
            f"{result.education_share:.1%}",
            f"{result.seconds_per_user:.3f}",
        ]
        for result in evaluation.results
    ]
    widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]
    for row in [headers, *rows]:
        lines.append(
            "  ".join(
                cell.ljust(width) if column == 0 else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
        )
    lines.append("")
    lines.append(
        f"catalogue: distinct posts in the top-{k} lists / posts published; creators: distinct creators in them; "
        f"education: share of top-{k} items"
    )
    for result in evaluation.results:
        if result.dropped:
            lines.append(f"{result.name} listed {result.dropped:,} seen, own, hidden or removed posts (dropped).")
    timings = ", ".join(f"{result.name} {result.seconds:.1f} s" for result in evaluation.results)
    lines.append(f"Took {evaluation.seconds:.1f} s ({timings}).")
    return "\n".join(lines)


def untagged_hint(evaluation: Evaluation) -> str | None:
    """A warning when too many posts lack tags for Orbit's ranker to be judged fairly."""
    if evaluation.untagged_share <= UNTAGGED_WARNING_SHARE:
        return None
    return (
        f"{evaluation.untagged_posts:,} of {evaluation.posts_available:,} posts "
        f"({evaluation.untagged_share:.0%}) have no tags, so Orbit's ranker sees no assets, topics or "
        "quality for them. Tag them first: `manage.py train_tagger` (once), then `manage.py retag`."
    )
