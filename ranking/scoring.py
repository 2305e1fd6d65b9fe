"""For You scoring: gather candidates, score them, re-rank for variety.

score = relevance * quality * freshness * (operator base weight * scarcity multiplier of the type) ** confidence

The type's weight counts only as much as the tagger is sure of the type (its calibrated confidence):
a post tagged education at 0.4 gets weight**0.4, so a boost or a penalty rides on a guess less.

Candidates come from four bounded sources (followed creators, posts matching the user's
interests, trending posts, and new creators for exploration); seen, hidden, reported, muted,
blocked, removed and own posts never enter. Every item carries the reason that contributed most
to its score, so "why you see this" is the reason actually used.

See docs/ranking.md#the-pipeline.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy

from creators.models import Follow, Profile
from creators.selectors import hidden_author_id_set
from feed.models import Engagement, Post, PostType
from markets.models import TradingProfile
from orbit.caching import cached

from . import learned, profiles, steering, trending
from .models import PostTags
from .weights import current_weights

Kind = Engagement.Kind

CANDIDATE_DAYS = 7
SEEN_DAYS = 14
FOLLOWED_LIMIT = 150
INTEREST_LIMIT = 300
TRENDING_LIMIT = 150
EXPLORE_LIMIT = 60
EXPLORE_DAYS = 3
# Reader-independent sources (trending, new voices) are shared this long by every ranking run.
SHARED_SOURCE_SECONDS = 60
# Batches of 4 × the explore limit read at most, newest first, to find posts of new voices.
EXPLORE_BATCHES = 5
# A creator with this many followers no longer needs the exploration lift.
ESTABLISHED_FOLLOWERS = 100
FRESH_CREATOR_DAYS = 30
FRESHNESS_HALF_LIFE_HOURS = 36.0
OTHER_LANGUAGE_FACTOR = 0.35
# A post pitched far from the reader's level is less useful to them (beginner ↔ advanced).
LEVEL_DISTANCE_FACTOR = {0: 1.0, 1: 0.8, 2: 0.55}
LEVEL_INDEX = {"beginner": 0, "intermediate": 1, "advanced": 2}

# Contribution of each signal to relevance.
FOLLOW_WEIGHT = 0.9
ASSET_WEIGHT = 1.0
TOPIC_WEIGHT = 0.6
TYPE_WEIGHT = 0.5
CREATOR_WEIGHT = 0.8
TRENDING_WEIGHT = 0.4
EXPLORE_WEIGHT = 0.3
BASE_RELEVANCE = 0.05
# The boost is named as the reason only when it is a real lift, not a rounding above 1.
BOOST_REASON_MIN_WEIGHT = 1.2
# Exploration draws only posts the tagger found at least this good: a random slot is a trial of
# something new, not of something poor.
EXPLORE_MIN_QUALITY = 0.4
# Below this interest (the strongest key weighs 1) a content type is new to the reader.
NEW_TYPE_INTEREST = 0.1
# A post new to the reader is drawn this many times as often as a familiar one for exploration.
NEW_DRAW_WEIGHT = 4.0
# Exploration leans toward what the ranker placed high, so its draws tell about the lists rankers
# could make (and unbiased evaluation of them has data), while every candidate keeps a chance: a
# post's weight falls from 1 + FLOOR at the top to FLOOR as 1 / (1 + rank / SCALE).
EXPLORE_RANK_SCALE = 30.0
EXPLORE_RANK_FLOOR = 0.05
# Stamped on every impression, so evaluation knows which scorer placed what.
MODEL_VERSION = "heuristic-1"
# rank_for_user's default model: the active learned ranker, if any.
ACTIVE = object()


@dataclass(frozen=True)
class Reason:
    """Why an item is in the feed: a code and one argument (a username, symbol, topic or type)."""

    code: str
    arg: str = ""

    def encode(self) -> str:
        return f"{self.code}:{self.arg}"

    @classmethod
    def decode(cls, raw: str) -> Reason:
        code, _sep, arg = raw.partition(":")
        return cls(code=code, arg=arg)

    def text(self) -> str:
        # Only the one message this reason needs is translated (a page asks for twenty).
        return str(REASON_TEXTS.get(self.code, PICKED_FOR_YOU)) % {"arg": self.display_arg()}

    def display_arg(self) -> str:
        if self.code in {"type", "boost", "new_type"}:
            return type_name(self.arg)
        if self.code == "topic":
            return TOPIC_NAMES.get(self.arg, self.arg.replace("_", " ").title())
        return self.arg


REASON_TEXTS = {
    "follow": gettext_lazy("From @%(arg)s, whom you follow"),
    "trade": gettext_lazy("You trade %(arg)s"),
    "asset": gettext_lazy("You read about %(arg)s"),
    "topic": gettext_lazy("You read about %(arg)s"),
    "type": gettext_lazy("You often read %(arg)s posts"),
    "creator": gettext_lazy("You often read @%(arg)s"),
    "trending": gettext_lazy("Trending now"),
    "boost": gettext_lazy("%(arg)s boost"),
    "explore": gettext_lazy("New voice: @%(arg)s"),
    "new_creator": gettext_lazy("Something new for you: @%(arg)s"),
    "new_type": gettext_lazy("Something new for you: %(arg)s posts"),
    "new_asset": gettext_lazy("Something new for you: %(arg)s"),
    "latest": gettext_lazy("Latest from the community"),
}
PICKED_FOR_YOU = gettext_lazy("Picked for you")
TOPIC_NAMES = {"defi": "DeFi", "nfts": "NFTs", "ai": "AI", "onchain": "on-chain"}


def type_name(slug: str) -> str:
    names = cached(
        "ranking:type-names",
        lambda: {post_type.slug: (post_type.name_en, post_type.name_zh) for post_type in PostType.objects.all()},
        timeout=600,
    )
    name_en, name_zh = names.get(slug, (slug, slug))
    return name_zh if (get_language() or "").startswith("zh") else name_en


@dataclass
class Ranked:
    post_id: int
    score: float
    reason: Reason
    content_type: str
    author_id: int
    # From the new-voices source (diversify keeps slots for them).
    new_voice: bool = False
    # How the item got its place (Impression.Source) and the probability that it got it, given the
    # places before it (add_exploration).
    source: str = "ranked"
    propensity: float = 1.0
    # Relative chance of being drawn for an exploration place (exploration_pool).
    draw_weight: float = 1.0


@dataclass
class Context:
    """What a ranking run sees: live (now, stored trending) or as of a past moment (evaluation)."""

    moment: datetime | None = None
    weights: dict[str, float] = field(default_factory=dict)
    # Stored with a ready list, so a list built with older weights is recognised as stale.
    weights_version: int = 0
    trending_scores: dict[int, float] | None = None
    # As of a past moment only: the creators established then (live ones come from the cache).
    established_then: set[int] | None = None
    # Scales every candidate source's limit: a request-time fallback takes fewer than a build.
    candidate_share: float = 1.0

    @classmethod
    def live(cls, *, candidate_share: float = 1.0) -> Context:
        snapshot = current_weights()
        return cls(
            moment=None, weights=snapshot.weights, weights_version=snapshot.version, candidate_share=candidate_share
        )

    @classmethod
    def as_of(cls, moment: datetime) -> Context:
        snapshot = current_weights()
        return cls(
            moment=moment,
            weights=snapshot.weights,
            weights_version=snapshot.version,
            trending_scores=trending.trending_as_of(moment, limit=TRENDING_LIMIT * 4),
            established_then=established_creators(as_of=moment),
        )

    # Set by rank_for_user: the learned model's version, or the heuristic's.
    model_version: str = ""

    @property
    def now(self) -> datetime:
        return self.moment or timezone.now()

    def established_creators(self) -> set[int]:
        return established_creators() if self.established_then is None else self.established_then


# --- Candidates --------------------------------------------------------------------------


def excluded_posts(user_id: int, *, now: datetime) -> set[int]:
    """Posts the user saw lately, hid or reported."""
    seen = Q(kind=Kind.VIEW, occurred_at__gt=now - timedelta(days=SEEN_DAYS))
    rejected = Q(kind__in=[Kind.HIDE, Kind.REPORT])
    return set(
        Engagement.objects.filter(seen | rejected, actor_id=user_id, occurred_at__lte=now)
        .exclude(post_id__isnull=True)
        .values_list("post_id", flat=True)
    )


def established_creators(*, as_of: datetime | None = None) -> set[int]:
    """Creators past the exploration threshold (ESTABLISHED_FOLLOWERS followers). Now: cached, it
    changes slowly and costs a scan. As of a past moment (evaluation, training): from the follows
    made by then, so a creator followed later is still a new voice there, as they were then."""
    if as_of is not None:
        return _established_creators(Follow.objects.filter(created_at__lte=as_of))
    return cached("ranking:established-creators", lambda: _established_creators(Follow.objects.all()), timeout=600)


def _established_creators(follows: QuerySet[Follow]) -> set[int]:
    return set(
        follows.values("followee_id")
        .annotate(followers=Count("id"))
        .filter(followers__gte=ESTABLISHED_FOLLOWERS)
        .values_list("followee_id", flat=True)
    )


def top_keys(interest: dict[str, float], prefix: str, count: int) -> list[str]:
    keys = [(value, key[len(prefix) :]) for key, value in interest.items() if key.startswith(prefix) and value > 0]
    return [name for _value, name in sorted(keys, reverse=True)[:count]]


def gather_candidates(
    user_id: int, *, interest: dict[str, float], context: Context, followed: set[int]
) -> dict[int, set[str]]:
    """post id → sources it came from. Each source is bounded, so the whole set is too."""
    now = context.now
    window = Q(post__created_at__lte=now, post__created_at__gt=now - timedelta(days=CANDIDATE_DAYS))
    sources: dict[int, set[str]] = {}

    def limit(base: int) -> int:
        return max(1, int(base * context.candidate_share))

    def add(ids: Iterable[int], source: str) -> None:
        for post_id in ids:
            sources.setdefault(post_id, set()).add(source)

    # Reposts have no text of their own to rank (the original is a candidate in its own right).
    recent = Post.objects.filter(
        status=Post.Status.PUBLISHED,
        repost_of__isnull=True,
        created_at__lte=now,
        created_at__gt=now - timedelta(days=CANDIDATE_DAYS),
    )
    if followed:
        add(
            recent.filter(author_id__in=list(followed))
            .order_by("-created_at")
            .values_list("pk", flat=True)[: limit(FOLLOWED_LIMIT)],
            "follow",
        )
    assets = top_keys(interest, "asset:", 6)
    topics = top_keys(interest, "topic:", 4)
    if assets or topics:
        matches = Q(assets__overlap=assets) if assets else Q()
        if topics:
            matches = (matches | Q(topics__overlap=topics)) if assets else Q(topics__overlap=topics)
        # Newest first by primary key: Postgres walks the key index backwards and stops at the
        # limit, instead of collecting every post about BTC and sorting them.
        add(
            PostTags.objects.filter(matches, window)
            .order_by("-post_id")
            .values_list("post_id", flat=True)[: limit(INTEREST_LIMIT)],
            "interest",
        )
    if context.trending_scores is None:
        hot = (
            PostTags.objects.filter(window, trending__gt=0)
            .order_by("-trending", "-post_id")
            .values_list("post_id", flat=True)
        )

        def top_trending() -> list[int]:
            return list(hot[: limit(TRENDING_LIMIT)])

        if context.moment is None:
            add(shared_source("trending", limit(TRENDING_LIMIT), top_trending), "trending")
        else:
            add(top_trending(), "trending")
    else:
        scores = context.trending_scores
        add(
            sorted(scores, key=lambda post_id: (scores[post_id], post_id), reverse=True)[: limit(TRENDING_LIMIT)],
            "trending",
        )
    explore_limit = limit(EXPLORE_LIMIT)

    def newest_of_new_voices() -> list[int]:
        return new_voices(now=now, limit=explore_limit, established=context.established_creators())

    if context.moment is None:
        add(shared_source("new-voices", explore_limit, newest_of_new_voices), "explore")
    else:
        add(newest_of_new_voices(), "explore")
    return sources


def shared_source(name: str, limit: int, compute: Callable[[], list[int]]) -> list[int]:
    """A candidate source that is the same for every reader (trending, new voices), computed once a
    SHARED_SOURCE_SECONDS for all of them: about a tenth of a request-time fallback page (bench/feed.py)."""
    return cached(f"ranking:source:{name}:{limit}", compute, timeout=SHARED_SOURCE_SECONDS)


def new_voices(*, now: datetime, limit: int, established: set[int]) -> list[int]:
    """The newest good posts of creators who joined lately or are not established yet.

    Filtered here, not in SQL: as `NOT IN (…)` the thousand-odd established creators (1M posts)
    cost Postgres more to plan than to run the query, 9.6 ms a fallback page against 2.6 ms this
    way (bench/feed.py). A few batches of the newest posts are read; if they hold too few new
    voices, the source is shorter, as it is a bonus, not a quota.
    """
    fresh_since = now - timedelta(days=FRESH_CREATOR_DAYS)
    newest = PostTags.objects.filter(
        post__status=Post.Status.PUBLISHED,
        post__created_at__lte=now,
        post__created_at__gt=now - timedelta(days=EXPLORE_DAYS),
        quality__gte=0.5,
    ).order_by("-post_id")
    found: list[int] = []
    below = None
    for _batch in range(EXPLORE_BATCHES):
        rows = newest if below is None else newest.filter(post_id__lt=below)
        batch = list(rows.values_list("post_id", "post__author_id", "post__author__date_joined")[: 4 * limit])
        found += [pk for pk, author, joined in batch if joined > fresh_since or author not in established]
        if len(found) >= limit or len(batch) < 4 * limit:
            break
        below = batch[-1][0]
    return found[:limit]


# --- Scoring ---------------------------------------------------------------------------


@dataclass
class Features:
    post_id: int
    author_id: int
    username: str
    created_at: datetime
    language: str
    content_type: str
    assets: list[str]
    topics: list[str]
    level: str
    quality: float
    trending: float
    # How sure the tagger is of content_type (0..1); 1 for the author's own label on an untagged post.
    type_confidence: float = 1.0


# PostTags.confidence arrives with issue 17's migration; until it does, every type counts fully.
TAGS_HAVE_CONFIDENCE = any(model_field.name == "confidence" for model_field in PostTags._meta.concrete_fields)


def type_weight(weight: float, confidence: float) -> float:
    """The content-type weight (base times scarcity) as far as the tagger is sure of the type: weight**confidence,
    so a sure type gets all of it, an unsure one little, and a boost and a penalty shrink alike toward 1."""
    return math.pow(weight, min(1.0, max(0.0, confidence))) if weight > 0 else weight


def load_features(post_ids: Iterable[int], *, hidden: set[int], user_id: int, now: datetime) -> list[Features]:
    """One query for everything scoring needs; removed, suspended, hidden and own posts drop out here."""
    rows = (
        Post.objects.filter(
            pk__in=list(post_ids),
            status=Post.Status.PUBLISHED,
            repost_of__isnull=True,
            author__suspended_at__isnull=True,
            created_at__lte=now,
        )
        .exclude(author_id__in=list(hidden | {user_id}))
        # In a stable order: ties in score, and exploration's draws, then repeat from run to run.
        .order_by("pk")
        .values_list(
            "pk",
            "author_id",
            "author__username",
            "created_at",
            "language",
            "content_type_id",
            "tags__content_type",
            "tags__assets",
            "tags__topics",
            "tags__level",
            "tags__quality",
            "tags__trending",
            *(("tags__confidence",) if TAGS_HAVE_CONFIDENCE else ()),
        )
    )
    return [
        Features(
            post_id=pk,
            author_id=author_id,
            username=username,
            created_at=created_at,
            language=language,
            # Until the tagger has seen a post, the author's own label and a neutral quality stand in.
            content_type=tagged_type or claimed_type,
            assets=assets or [],
            topics=topics or [],
            level=level or "intermediate",
            quality=0.5 if quality is None else quality,
            trending=trending_score or 0.0,
            # Untagged posts (author's label) and tags stored before confidence existed count fully.
            type_confidence=1.0 if not confidence or confidence[0] is None else confidence[0],
        )
        for (
            pk,
            author_id,
            username,
            created_at,
            language,
            claimed_type,
            tagged_type,
            assets,
            topics,
            level,
            quality,
            trending_score,
            *confidence,
        ) in rows
    ]


def reader_language(user_id: int) -> str:
    language = Profile.objects.filter(user_id=user_id).values_list("language", flat=True).first()
    return "zh" if (language or "").startswith("zh") else "en"


def score_post(
    post: Features,
    *,
    interest: dict[str, float],
    sources: set[str],
    followed: set[int],
    context: Context,
    language: str,
    level: str,
    trending_top: float,
    traded_assets: set[str],
) -> Ranked:
    asset_value, asset_key = max(((interest.get(f"asset:{a}", 0.0), a) for a in post.assets), default=(0.0, ""))
    topic_value, topic_key = max(((interest.get(f"topic:{t}", 0.0), t) for t in post.topics), default=(0.0, ""))
    trending_value = context.trending_scores.get(post.post_id, 0.0) if context.trending_scores else post.trending
    contributions = {
        "follow": FOLLOW_WEIGHT if post.author_id in followed else 0.0,
        "asset": ASSET_WEIGHT * max(0.0, asset_value),
        "topic": TOPIC_WEIGHT * max(0.0, topic_value),
        "type": TYPE_WEIGHT * interest.get(f"type:{post.content_type}", 0.0),
        "creator": CREATOR_WEIGHT * interest.get(f"creator:{post.author_id}", 0.0),
        "trending": TRENDING_WEIGHT * (math.log1p(trending_value) / math.log1p(trending_top) if trending_top else 0.0),
        "explore": EXPLORE_WEIGHT if "explore" in sources else 0.0,
    }
    relevance = max(0.02, BASE_RELEVANCE + sum(contributions.values()))
    distance = abs(LEVEL_INDEX.get(post.level, 1) - LEVEL_INDEX.get(level, 0))
    age_hours = max(0.0, (context.now - post.created_at).total_seconds() / 3600.0)
    factor = (
        LEVEL_DISTANCE_FACTOR[distance]
        * (1.0 if post.language == language else OTHER_LANGUAGE_FACTOR)
        * (0.2 + 0.8 * post.quality)
        * math.pow(0.5, age_hours / FRESHNESS_HALF_LIFE_HOURS)
    )
    weight = type_weight(context.weights.get(post.content_type, 1.0), post.type_confidence)
    score = relevance * factor * weight

    # The reason is the signal that added most to the score. The boost's share of the score is
    # score × (1 − 1/weight); the others' is their relevance term × factor × weight.
    shares = {name: value * factor * weight for name, value in contributions.items() if value > 0}
    if weight >= BOOST_REASON_MIN_WEIGHT:
        shares["boost"] = score * (1.0 - 1.0 / weight)
    best = max(shares, key=shares.__getitem__) if shares else "latest"
    argument = {
        "follow": post.username,
        "asset": asset_key,
        "topic": topic_key,
        "type": post.content_type,
        "creator": post.username,
        "boost": post.content_type,
        "explore": post.username,
    }.get(best, "")
    if best == "asset" and asset_key in traded_assets:
        best = "trade"  # "You trade SOL" only when the exchange says so; else "You read about SOL"
    return Ranked(
        post_id=post.post_id,
        score=score,
        reason=Reason(code=best, arg=argument),
        content_type=post.content_type,
        author_id=post.author_id,
        new_voice="explore" in sources and post.author_id not in followed,
    )


def score_learned(
    model: learned.Model, reader: learned.Reader, features: list[Features], *, context: Context, trending_top: float
) -> dict[int, Ranked]:
    """Every candidate scored by the learned ranker: the value of what the reader is likely to do
    with it, times its content type's weight spread by how much this reader is likely to value the
    type (ranking.steering; divided instead, for a post whose value is negative, so the weight never
    turns a penalty into a lift), with the reason the feature that added most."""
    if context.trending_scores is not None:
        features = [replace(post, trending=context.trending_scores.get(post.post_id, 0.0)) for post in features]
    established = context.established_creators()
    new_voices = {
        post.post_id for post in features if post.author_id not in established and post.author_id not in reader.followed
    }
    rows = learned.feature_rows(reader, features, now=context.now, trending_top=trending_top, new_voices=new_voices)
    types = [post.content_type for post in features]
    scored = learned.score(model, rows, types, learned.action_values())
    fit = steering.reader_fit(scored.values, types)
    ranked = {}
    for post, value, (feature, added) in zip(features, scored.values, scored.reasons, strict=True):
        weight = steering.lift(
            context.weights.get(post.content_type, 1.0), post.type_confidence, fit[post.content_type]
        )
        value = float(value)
        final = value * weight if value >= 0 or weight <= 0 else value / weight
        reason = _learned_reason(post, reader, feature, added)
        if weight >= BOOST_REASON_MIN_WEIGHT and final - final / weight > added:
            reason = Reason("boost", post.content_type)
        ranked[post.post_id] = Ranked(
            post_id=post.post_id,
            score=final,
            reason=reason,
            content_type=post.content_type,
            author_id=post.author_id,
            new_voice=post.post_id in new_voices,
        )
    return ranked


def _learned_reason(post: Features, reader: learned.Reader, feature: str, added: float) -> Reason:
    """The reason a feature names, in the reader's words; "Picked for you" when nothing stood out."""
    code = learned.REASON_OF_FEATURE.get(feature) if added > 0 else None
    if code in {"asset", "trade"}:
        strength = reader.reads if code == "asset" else reader.trades
        best = max(post.assets, key=lambda asset: strength(f"asset:{asset}"), default="")
        return Reason(code, best) if best else Reason("picked")
    if code == "topic":
        return Reason(
            "topic",
            max(
                post.topics,
                key=lambda topic: reader.reads(f"topic:{topic}") + reader.trades(f"topic:{topic}"),
                default="",
            ),
        )
    if code == "type":
        return Reason("type", post.content_type)
    if code in {"creator", "follow", "explore"}:
        return Reason(code, post.username)
    if code == "trending":
        return Reason("trending")
    return Reason("picked")


# --- Variety -----------------------------------------------------------------------------


def diversify(
    ranked: list[Ranked],
    *,
    page_size: int,
    per_author: int,
    per_type: int,
    new_voices: int,
    limit: int | None = None,
    author_slots: dict[int, int] | None = None,
) -> list[Ranked]:
    """Re-rank page by page: at most `per_author` posts of one author (or their `author_slots`, for
    the creators a reader reads most) and `per_type` of one type per page, with up to `new_voices`
    slots for new voices. What does not fit waits for the next page.

    When the caps cannot fill a page (too little variety left), the type cap gives way first, then
    the author cap: a full page beats a short one. Stops once `limit` items are placed: a page
    depends only on the pages before it, so the first `limit` items are the same either way.
    """
    waiting = sorted(ranked, key=lambda item: -item.score)
    slots = author_slots or {}
    ordered: list[Ranked] = []
    unlimited = len(ranked)
    wanted = unlimited if limit is None else limit
    while waiting and len(ordered) < wanted:
        page: list[Ranked] = []
        placed: set[int] = set()
        authors: dict[int, int] = {}
        types: dict[str, int] = {}
        explorers = [item for item in waiting if item.new_voice][:new_voices]
        explorer_ids = {item.post_id for item in explorers}
        queue = explorers + [item for item in waiting if item.post_id not in explorer_ids]
        for author_cap, type_cap in ((per_author, per_type), (per_author, unlimited), (unlimited, unlimited)):
            for item in queue:
                if len(page) == page_size:
                    break
                if item.post_id in placed or authors.get(item.author_id, 0) >= max(
                    author_cap, slots.get(item.author_id, 0)
                ):
                    continue
                if types.get(item.content_type, 0) >= type_cap:
                    continue
                page.append(item)
                placed.add(item.post_id)
                authors[item.author_id] = authors.get(item.author_id, 0) + 1
                types[item.content_type] = types.get(item.content_type, 0) + 1
        # Explorers are placed by score within the page, not pinned to its top.
        page.sort(key=lambda item: -item.score)
        ordered.extend(page)
        waiting = [item for item in waiting if item.post_id not in placed]
    return ordered


# --- Exploration -------------------------------------------------------------------------


def exploration_pool(
    features: list[Features], scored: dict[int, Ranked], *, interest: dict[str, float], followed: set[int]
) -> list[Ranked]:
    """Every candidate the tagger found good enough (EXPLORE_MIN_QUALITY), as an exploration item
    whose `draw_weight` falls with its rank by score (`rank_weight`). One that shows the reader
    something new (a creator they neither follow nor read, else a content type they hardly read, else
    assets they never read about) says so in its reason and weighs NEW_DRAW_WEIGHT times more; the
    others keep their own reason."""
    by_score = sorted(scored, key=lambda post_id: -scored[post_id].score)
    rank_of = {post_id: rank for rank, post_id in enumerate(by_score)}
    pool = []
    for post in features:
        if post.quality < EXPLORE_MIN_QUALITY:
            continue
        ranked = scored[post.post_id]
        reason, new = ranked.reason, True
        if post.author_id not in followed and interest.get(f"creator:{post.author_id}", 0.0) <= 0:
            reason = Reason("new_creator", post.username)
        elif interest.get(f"type:{post.content_type}", 0.0) < NEW_TYPE_INTEREST:
            reason = Reason("new_type", post.content_type)
        elif post.assets and all(interest.get(f"asset:{asset}", 0.0) <= 0 for asset in post.assets):
            reason = Reason("new_asset", post.assets[0])
        else:
            new = False
        pool.append(
            Ranked(
                post_id=post.post_id,
                score=ranked.score,
                reason=reason,
                content_type=ranked.content_type,
                author_id=ranked.author_id,
                source="explore",
                draw_weight=(NEW_DRAW_WEIGHT if new else 1.0) * rank_weight(rank_of[post.post_id]),
            )
        )
    return pool


def rank_weight(rank: int) -> float:
    return EXPLORE_RANK_FLOOR + 1.0 / (1.0 + rank / EXPLORE_RANK_SCALE)


def add_exploration(ordered: list[Ranked], pool: list[Ranked], *, share: float, rng: random.Random) -> list[Ranked]:
    """Give a share of the list's places to exploration. Each place, in order, is an exploration place
    with probability `share` (while the pool lasts), and takes a post drawn from the pool posts not
    drawn yet, each with probability proportional to its `draw_weight`. The draws come first and do
    not depend on the ranking: the other places take the ranked items in order, skipping drawn ones,
    so nothing appears twice and the list keeps its length.

    Every item records its propensity, the probability that it got its place given the places before
    it: `share * weight / (the weights left in the pool)` for a drawn post, `1 - share` for a ranked
    one (1 where the pool was empty and the place could not explore). With the share, that is what
    inverse-propensity evaluation of another ranker needs (ranking.offline)."""
    share = min(max(share, 0.0), 1.0)
    left = list(pool)
    drawn: dict[int, Ranked] = {}  # place → drawn post
    could_explore: list[bool] = []
    for place in range(len(ordered)):
        could_explore.append(bool(left) and share > 0)
        if not could_explore[-1] or rng.random() >= share:
            continue
        total = sum(item.draw_weight for item in left)
        pick = rng.random() * total
        index = 0
        while index < len(left) - 1 and pick >= left[index].draw_weight:
            pick -= left[index].draw_weight
            index += 1
        item = left.pop(index)
        item.propensity = share * item.draw_weight / total
        drawn[place] = item
    taken = {item.post_id for item in drawn.values()}
    ranked = (item for item in ordered if item.post_id not in taken)
    result: list[Ranked] = []
    for place in range(len(ordered)):
        placed = drawn.get(place) or next(ranked, None)
        if placed is None:
            break
        if place not in drawn:
            placed.propensity = 1.0 - share if could_explore[place] else 1.0
        result.append(placed)
    return result


# --- Entry point -------------------------------------------------------------------------


def rank_for_user(
    user_id: int,
    *,
    context: Context | None = None,
    limit: int = 200,
    refresh_interest: bool = False,
    explore_share: float | None = None,
    rng: random.Random | None = None,
    model: learned.Model | object | None = ACTIVE,
) -> list[Ranked]:
    """The user's For You list, best first, at most `limit` items, with a share `explore_share`
    (default ORBIT_FOR_YOU_EXPLORE_SHARE) of its places given to exploration drawn with `rng`.

    Scored by `model`: the active learned ranker by default (ranking.learned), the heuristic of
    score_post when none is active or with `model=None`; `context.model_version` says which.

    Live ranking uses the stored interest profile, first folding in new engagement when
    `refresh_interest` (Celery builds; the web fallback only reads). A past moment rebuilds
    the profile from the engagement before it.
    """
    context = context or Context.live()
    now = context.now
    if context.moment is not None:
        parts = profiles.parts_as_of(user_id, as_of=context.moment)
    elif refresh_interest:
        parts = profiles.refreshed_parts(user_id)
    else:
        parts = profiles.stored_parts(user_id)
    interest = parts.combined
    traded_assets = {
        symbol.upper()
        for symbol in TradingProfile.objects.filter(user_id=user_id).values_list("traded_assets", flat=True).first()
        or ()
    }
    followed = set(
        Follow.objects.filter(follower_id=user_id, created_at__lte=now).values_list("followee_id", flat=True)
    )
    sources = gather_candidates(user_id, interest=interest, context=context, followed=followed)
    excluded = excluded_posts(user_id, now=now)
    for post_id in excluded:
        sources.pop(post_id, None)
    features = load_features(sources, hidden=hidden_author_id_set(user_id), user_id=user_id, now=now)
    trending_top = max((f.trending for f in features), default=0.0)
    if context.trending_scores:
        trending_top = max(context.trending_scores.values())
    language = reader_language(user_id)
    scorer = learned.active_model() if model is ACTIVE else model
    author_slots = None
    if isinstance(scorer, learned.Model):
        context.model_version = scorer.version
        reader = learned.Reader(parts=parts, followed=followed, language=language)
        scored = score_learned(scorer, reader, features, context=context, trending_top=trending_top)
        author_slots = reader.author_slots(
            page_size=settings.ORBIT_FOR_YOU_PAGE_SIZE, per_author=settings.ORBIT_FOR_YOU_MAX_PER_AUTHOR
        )
    else:
        context.model_version = MODEL_VERSION
        level = profiles.user_level(interest)
        scored = {}
        for post in features:
            scored[post.post_id] = score_post(
                post,
                interest=interest,
                sources=sources[post.post_id],
                followed=followed,
                context=context,
                language=language,
                level=level,
                trending_top=trending_top,
                traded_assets=traded_assets,
            )
    # Only the best few times `limit` can reach the first `limit` places after the caps; a
    # request-time page then re-ranks a hundred items, not six hundred.
    ranked = sorted(scored.values(), key=lambda item: -item.score)[: max(3 * limit, 100)]
    ranked = diversify(
        ranked,
        page_size=settings.ORBIT_FOR_YOU_PAGE_SIZE,
        per_author=settings.ORBIT_FOR_YOU_MAX_PER_AUTHOR,
        per_type=settings.ORBIT_FOR_YOU_MAX_PER_TYPE,
        new_voices=settings.ORBIT_FOR_YOU_EXPLORE_PER_PAGE,
        limit=limit,
        author_slots=author_slots,
    )[:limit]
    if explore_share is None:
        explore_share = settings.ORBIT_FOR_YOU_EXPLORE_SHARE
    pool = exploration_pool(features, scored, interest=interest, followed=followed)
    return add_exploration(ranked, pool, share=explore_share, rng=rng or random.Random())


def latest_fill(user_id: int, *, exclude: set[int], limit: int, allow_seen: bool) -> list[Ranked]:
    """When too little is relevant: the newest visible posts the user has not seen; with
    `allow_seen`, when there are none, the newest ones anyway, so a page is never empty."""
    now = timezone.now()
    hidden = hidden_author_id_set(user_id) | {user_id}
    visible = (
        Post.objects.filter(status=Post.Status.PUBLISHED, repost_of__isnull=True, author__suspended_at__isnull=True)
        .exclude(author_id__in=list(hidden))
        .exclude(pk__in=list(exclude))
        .order_by("-created_at")
    )
    rejected = set(
        Engagement.objects.filter(actor_id=user_id, kind__in=[Kind.HIDE, Kind.REPORT])
        .exclude(post_id__isnull=True)
        .values_list("post_id", flat=True)
    )
    rows = list(
        visible.exclude(pk__in=list(excluded_posts(user_id, now=now))).values_list(
            "pk", "author_id", "content_type_id"
        )[:limit]
    )
    if not rows and allow_seen:
        rows = list(visible.exclude(pk__in=list(rejected)).values_list("pk", "author_id", "content_type_id")[:limit])
    return [
        Ranked(
            post_id=pk,
            score=0.0,
            reason=Reason("latest"),
            content_type=content_type,
            author_id=author_id,
            source="latest",
        )
        for pk, author_id, content_type in rows
    ]
