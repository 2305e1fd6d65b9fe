"""One call for a whole run: plan the community, write its accounts, live through its days with a
serving ranker, measure how its tastes differ from trading, and score the rankers against true
taste; and the report the bench prints. Everything runs under one simulated clock.

    run = run_simulation(SIZES["ci"], seed=7)
    print(format_report(run))

It needs a database without a simulated community in it and an active tagger
(`manage.py train_tagger`, or `ranking.tagging.store_tagger` in tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.cache import cache

from ranking import feeds, impressions, learned, training
from ranking.impressions import ATTRIBUTION_WINDOW
from ranking.models import RankingModel
from ranking.tagging import active_tagger
from ranking.weights import clear_weights_cache

from .clock import SimulatedClock
from .community import GROUPS, Community, CommunitySize, create_accounts, plan_community
from .evaluation import (
    WINDOW_DAYS,
    Divergence,
    Evaluation,
    K,
    TaggerAgreement,
    evaluate,
    tagger_agreement,
    taste_divergence,
)
from .loop import ESTABLISHED_CREATORS_KEY, SimulationStats, simulate
from .rankers import RANKER_NAMES, make_ranker
from .reading import DEEPEST
from .settling import Settling, settle_weights

# A fixed Monday, so that the same seed gives the same days (UTC days and weeks included).
START = datetime(2026, 11, 2, tzinfo=UTC)


@dataclass
class SimulationRun:
    community: Community
    serve: str  # the ranker that served For You during the simulated days
    divergence: Divergence
    simulation: SimulationStats
    tags: TaggerAgreement
    evaluation: Evaluation
    seconds: dict[str, float] = field(default_factory=dict)  # plan, accounts, simulation, training, evaluation
    # The ranker trained on the simulated days' impressions (ranking.training), when "learned" was scored.
    trained: RankingModel | None = None
    # The daily rebalance on the trained ranker's exposure before it was scored (demo.simulation.settling).
    settling: Settling | None = None


def run_simulation(
    size: CommunitySize,
    *,
    seed: int,
    serve: str = "orbit",
    rankers: Sequence[str] = RANKER_NAMES,
    start: datetime = START,
    window_days: int = WINDOW_DAYS,
    k: int = K,
    progress: Callable[[str], None] | None = None,
) -> SimulationRun:
    """Plan, create, simulate and evaluate one community (see the module docstring)."""
    active_tagger()  # fails now, with what to do, rather than at the first post
    # Orbit's weights and established creators are cached in Redis; a previous run's values (even
    # rolled back in the database) must not leak into this one.
    clear_weights_cache()
    cache.delete(ESTABLISHED_CREATORS_KEY)
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    community = plan_community(size, seed=seed, start=start)
    seconds["plan"] = time.perf_counter() - began
    clock = SimulatedClock(start)
    with clock.running():
        began = time.perf_counter()
        create_accounts(community, clock=clock)
        divergence = taste_divergence(community)
        seconds["accounts"] = time.perf_counter() - began
        if progress is not None:
            progress(
                f"Created {len(community.readers):,} readers and the creators already here in "
                f"{seconds['accounts']:.1f} s; simulating {size.days} days served by {serve}"
            )
        simulation = simulate(
            community, ranker=make_ranker(serve, community, serving=True), clock=clock, progress=progress
        )
        seconds["simulation"] = simulation.seconds
        impressions.store_queued(client=feeds.redis_client())
        trained, model = None, None
        if serve not in {"orbit", "orbit_no_boost"}:
            rankers = [name for name in rankers if name != "learned"]  # no impressions to learn from
        if "learned" in rankers:
            began = time.perf_counter()
            trained, model = train_ranker(community, seed=seed)
            seconds["training"] = time.perf_counter() - began
        began = time.perf_counter()
        clock.set(community.end)
        # Today's rankers first, at today's weights; the learned one after the daily rebalance has
        # worked on its exposure (settling), as it would once active.
        evaluation = evaluate(
            community,
            {name: make_ranker(name, community) for name in rankers if name != "learned"},
            moment=community.end,
            window_days=window_days,
            k=k,
        )
        seconds["evaluation"] = time.perf_counter() - began
        settling = None
        if model is not None:
            began = time.perf_counter()
            settling = settle_weights(community, model, today=make_ranker("orbit", community))
            seconds["settling"] = time.perf_counter() - began
            began = time.perf_counter()
            scored = evaluate(
                community,
                {"learned": make_ranker("learned", community, model=model)},
                moment=community.end,
                window_days=window_days,
                k=k,
            )
            evaluation.scores = sorted(
                [*evaluation.scores, *scored.scores], key=lambda score: list(rankers).index(score.name)
            )
            seconds["evaluation"] += time.perf_counter() - began
    return SimulationRun(
        community=community,
        serve=serve,
        divergence=divergence,
        simulation=simulation,
        tags=tagger_agreement(community),
        evaluation=evaluation,
        seconds=seconds,
        trained=trained,
        settling=settling,
    )


def _learned_lines(run: SimulationRun) -> list[str]:
    """The trained ranker: what it learned from, the gate's estimate, and how it compares with
    today's For You on true taste, overall and per group."""
    if run.trained is None:
        return []
    trained, scores = run.trained, {score.name: score for score in run.evaluation.scores}
    metrics = trained.metrics
    learned_actions = ", ".join(
        f"{action} {figures['positives']:,}" + (f" (AUC {figures['auc']:.2f})" if "auc" in figures else "")
        for action, figures in metrics.items()
        if isinstance(figures, dict) and figures.get("learned")
    )
    lines = [
        "",
        f"Learned ranker {trained.version}: {metrics.get('impressions', 0):,} impressions; actions learned "
        f"(positives): {learned_actions or 'none'}",
    ]
    gate = trained.evaluation
    if "difference" in gate:
        lines.append(
            f"  the gate, from {gate['draws']:,} exploration places in {gate['lists']:,} held-out lists: engagement "
            f"per page {gate['candidate']['value']:.3f} against {trained.compared_with}'s "
            f"{gate['active']['value']:.3f}, "
            f"difference {gate['difference']['value']:+.3f} [{gate['difference']['low']:+.3f}, "
            f"{gate['difference']['high']:+.3f}]: {'promoted' if trained.promoted else 'refused'}"
        )
    else:
        lines.append(f"  the gate: {trained.refused_reason}")
    settling = run.settling
    if settling is not None:
        types = sorted(settling.targets)

        def shares(mix: dict[str, float]) -> str:
            return ", ".join(f"{slug} {mix.get(slug, 0.0):.0%}" for slug in types)

        lines += [
            "  content types of every reader's first page, against the operators' targets ("
            + ", ".join(f"{slug} {settling.targets[slug]:.0%}" for slug in types)
            + "):",
            f"    today's For You:                  {shares(settling.today)}",
            f"    learned, at today's weights:      {shares(settling.rounds[0])}",
            f"    learned, after {len(settling.rounds) - 1} daily rebalances: {shares(settling.rounds[-1])}",
            "    multipliers: "
            + ", ".join(f"{slug} {before} → {after}" for slug, (before, after) in settling.multipliers.items()),
            "    (scored with the settled weights)",
        ]
    if "learned" in scores and "orbit" in scores:
        ours, today = scores["learned"], scores["orbit"]
        change = [("all", ours.ndcg, today.ndcg)] + [
            (group, ours.by_group[group], today.by_group[group]) for group in GROUPS if group in today.by_group
        ]
        lines.append(
            "  NDCG@10 against today's For You: "
            + ", ".join(f"{name} {_change(new, old)}" for name, new, old in change)
        )
    return lines


def _change(new: float, old: float) -> str:
    return f"{(new / old - 1):+.0%}" if old else f"{new:.3f} (from 0)"


def train_ranker(community: Community, *, seed: int) -> tuple[RankingModel, learned.Model]:
    """Train a ranker on the simulated days' impressions as beat would the day after the last one:
    the last HELD_OUT_DAYS judge it against the heuristic (the gate), the days before teach it. It
    is scored whatever the gate decided."""
    retraining = training.retrain(now=community.end + ATTRIBUTION_WINDOW, seed=seed)
    row = retraining.model
    return row, learned.Model.from_artifact(row.version, row.artifact)


def format_report(run: SimulationRun) -> str:
    """The bench's printout: the community, how tastes differ from trading, what readers did, and
    NDCG@k against true taste per ranker, overall and per reader group, with the times taken."""
    community, divergence, evaluation = run.community, run.divergence, run.evaluation
    size = community.size
    posts = community.posts
    chinese = sum(post.truth.language == "zh" for post in posts) / len(posts) if posts else 0.0
    joined = sum(creator.joined_at >= community.start for creator in community.creators)
    groups = {group: sum(reader.group == group for reader in community.readers) for group in GROUPS}
    bilingual = sum(len(reader.taste.languages) > 1 for reader in community.readers) / len(community.readers)
    lines = [
        f"Simulated community, seed {community.seed}: {size.readers:,} readers, {size.creators:,} creators "
        f"({joined} joined during the run), {len(posts):,} posts (English {1 - chinese:.0%}, Chinese {chinese:.0%}) "
        f"over {size.days} days from {community.start:%Y-%m-%d}",
        "Reader groups: "
        + ", ".join(f"{group} {count}" for group, count in groups.items())
        + f"; {bilingual:.0%} read both languages",
        "",
        f"Tastes that differ from trading: {divergence.share:.1%} of readers ({divergence.differing:,} of "
        f"{divergence.readers:,}); favourite asset not among the 3 most traded: {divergence.reasons['asset']:,}, "
        f"favourite content type not one trading points to: {divergence.reasons['content type']:,}, "
        f"read for particular creators: {divergence.reasons['creators']:,}",
        "  differing, by group: "
        + ", ".join(f"{group} {differing}/{total}" for group, (differing, total) in divergence.by_group.items()),
        "  of each reader's 10 best posts, the share naming an asset they trade: "
        + ", ".join(f"{group} {share:.0%}" for group, share in divergence.traded_share_of_best.items()),
        "",
    ]
    reading = run.simulation.reading
    actions = reading.actions
    visits = max(reading.visits, 1)
    examined = reading.examined["for_you"]
    opened = reading.opened["for_you"]
    by_position = ", ".join(
        f"{first + 1}-{last}: {sum(examined[p] for p in range(first, last)) / visits / (last - first):.2f} examined, "
        f"{_ratio(sum(opened[p] for p in range(first, last)), sum(examined[p] for p in range(first, last))):.2f} opened"
        for first, last in ((0, 3), (3, 10), (10, DEEPEST["for_you"]))
    )
    lines += [
        f"Simulated {run.simulation.days} days with For You served by {run.serve}: {reading.visits:,} visits, "
        + ", ".join(
            f"{actions[kind]:,} {label}"
            for kind, label in (
                ("view", "views"),
                ("dwell", "time-spent reports"),
                ("like", "likes"),
                ("comment", "comments"),
                ("share", "shares"),
                ("follow", "follows"),
                ("trade_click", "trade clicks"),
                ("hide", "hides"),
            )
        ),
        f"  For You, per visit and position (positions {by_position})",
        f"The tagger on these {run.tags.posts:,} posts: content type right on {run.tags.content_type:.1%}, level on "
        f"{run.tags.level:.1%}, the main asset found on {run.tags.main_asset:.1%}; its quality correlates "
        f"{run.tags.quality_correlation:.2f} with the true quality",
        "",
        f"NDCG@{evaluation.k} against true taste at {evaluation.moment:%Y-%m-%d %H:%M} UTC. Candidates: the unseen "
        f"posts of the last {evaluation.window_days} days ({evaluation.candidates_per_reader:.0f} per reader, "
        f"{evaluation.relevant_per_reader:.1f} of grade 1 or more); {evaluation.readers:,} readers scored, "
        f"{evaluation.readers_without_relevant:,} with nothing relevant left out.",
    ]
    columns = ["all", *[group for group in GROUPS if group in evaluation.readers_by_group]]
    widths = [max(len(column), 6) for column in columns]
    lines.append(
        f"{'ranker':<14}" + "  ".join(column.rjust(width) for column, width in zip(columns, widths, strict=True))
    )
    for score in evaluation.scores:
        values = [score.ndcg, *[score.by_group[group] for group in columns[1:]]]
        lines.append(
            f"{score.name:<14}"
            + "  ".join(f"{value:.3f}".rjust(width) for value, width in zip(values, widths, strict=True))
        )
    counts = [evaluation.readers, *[evaluation.readers_by_group[group] for group in columns[1:]]]
    lines.append(
        f"{'readers':<14}" + "  ".join(f"{count:,}".rjust(width) for count, width in zip(counts, widths, strict=True))
    )
    lines += _learned_lines(run)
    lines += [
        "",
        "Took "
        + ", ".join(f"{name} {value:.1f} s" for name, value in run.seconds.items())
        + f" (ranking during the days {run.simulation.ranking_seconds:.1f} s; scoring "
        + ", ".join(f"{score.name} {score.seconds:.1f} s" for score in evaluation.scores)
        + ").",
    ]
    return "\n".join(lines)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0
