"""What a reader does in one visit: look down lists, open what attracts them, act through the services.

A visit reads the For You list the ranker served, sometimes the Following list (the newest posts of
the creators they follow, 35% of visits) and sometimes Latest (20%). In each list the reader
examines position i (from 0) with probability 0.5 ** (i / h): the chance halves every h positions
(h = 5 in For You, 3 in Following, 2 in Latest; at most 30, 15 and 15 positions), whatever is
there, so what they click depends on what they were shown and where, as real clicks do.

An examined post they have not opened before is opened with probability 0.02 + 1.2 u (at most
0.95), where u is its true utility for them at that moment (demo.simulation.utility). Opening it
is what the post page does: a view (`record_view`) and a render token (`render_tokens.issue`). The
time they then stay grows with u (4 s + 150 s * u^1.3, times the content type's usual reading time
from demo.parameters.DWELL_FACTOR, with log-normal noise, 2 s to 10 minutes) and is reported with
the token (`record_dwell`), as the page's beacon does. Then, each with a probability rising with
u: like (0.65 u²), comment (0.2 u³), share (0.12 u³), follow the author (0.3 u², if not yet), and
on a post with a trade card, the Trade button (`trade_redirect_url`, 0.35 u²). An examined post
they do not open and truly do not care for (u below 0.05) is hidden ("not interested") 3% of the
time. Looking at a card takes 2 to 6 s.

A simulation can have its readers read For You alone (`only_for_you`): then whatever a reader does
with a post follows a For You impression of it, as the unbiased evaluation from the impression log
assumes (demo.simulation.ab).

`action_probabilities`, `best_grade_chances` and `expected_grade` say the same model in closed form:
how likely each graded action is once a post is opened, and the best grade (ranking.evaluation.GRADES)
a reader gives an opened post, for the exact value of a list (demo.simulation.ab).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.contrib.auth import get_user_model

from creators.models import Follow
from creators.services import follow_user
from demo.parameters import DWELL_FACTOR
from demo.tables import COMMENTS, SHARE_CHANNELS
from feed import render_tokens
from feed.models import Comment, Engagement, Like, Post, Share
from feed.services import (
    comment_on_post,
    hide_post_for_viewer,
    like_post,
    record_dwell,
    record_view,
    share_post,
    trade_redirect_url,
)
from ranking.evaluation import GRADES, LONG_DWELL_MS

from .clock import SimulatedClock, backdate
from .community import Community, Reader

User = get_user_model()

# Per list: the positions over which the chance of examining halves, and how far readers go at most.
HALF_EXAMINED_AT = {"for_you": 5.0, "following": 3.0, "latest": 2.0}
DEEPEST = {"for_you": 30, "following": 15, "latest": 15}
FOLLOWING_CHANCE = 0.35
LATEST_CHANCE = 0.2
ORGANIC_DAYS = 3  # how far back the Following and Latest lists a reader scrolls go
OPEN_BASE, OPEN_SLOPE, OPEN_MOST = 0.02, 1.2, 0.95
DWELL_BASE_SECONDS, DWELL_SPAN_SECONDS = 4.0, 150.0
DWELL_UTILITY_POWER, DWELL_NOISE = 1.3, 0.35  # the noise: sigma of the log-normal factor
SHORTEST_DWELL_SECONDS, LONGEST_DWELL_SECONDS = 2.0, 600.0
LIKE, COMMENT, SHARE, FOLLOW, TRADE_CLICK = 0.65, 0.2, 0.12, 0.3, 0.35
HIDE_BELOW, HIDE_CHANCE = 0.05, 0.03


def examine_probability(position: int, source: str) -> float:
    """The chance a reader looks at position `position` (0 is the top) of a list."""
    return 0.5 ** (position / HALF_EXAMINED_AT[source])


def open_probability(utility: float) -> float:
    return min(OPEN_MOST, OPEN_BASE + OPEN_SLOPE * utility)


def action_probabilities(utility: float, *, content_type: str, trade_card: bool) -> dict[Engagement.Kind, float]:
    """How likely a reader who opens a post of this utility is to do each graded thing with it
    (engagement kind → probability), as `Reading._open` draws them: each independently of the others."""
    typical_seconds = DWELL_SPAN_SECONDS * utility**DWELL_UTILITY_POWER * DWELL_FACTOR[content_type]
    # Time spent counts from LONG_DWELL_MS on: the log-normal factor must reach (threshold - base) / typical.
    needed = (LONG_DWELL_MS / 1000 - DWELL_BASE_SECONDS) / typical_seconds if typical_seconds > 0 else math.inf
    long_dwell = 0.5 * math.erfc(math.log(needed) / (DWELL_NOISE * math.sqrt(2))) if needed > 0 else 1.0
    kinds = Engagement.Kind
    return {
        kinds.DWELL: long_dwell,
        kinds.LIKE: LIKE * utility**2,
        kinds.COMMENT: COMMENT * utility**3,
        kinds.SHARE: SHARE * utility**3,
        kinds.TRADE_CLICK: TRADE_CLICK * utility**2 if trade_card else 0.0,
    }


def best_grade_chances(utility: float, *, content_type: str, trade_card: bool) -> dict[int, float]:
    """For each grade g of ranking.evaluation.GRADES, the chance that the best of what a reader does with
    a post of this utility, once they open it, grades g or more."""
    chances = action_probabilities(utility, content_type=content_type, trade_card=trade_card)
    return {
        grade: 1.0 - math.prod([1.0 - chance for kind, chance in chances.items() if GRADES[kind] >= grade], start=1.0)
        for grade in range(1, max(GRADES.values()) + 1)
    }


def expected_grade(utility: float, *, content_type: str, trade_card: bool) -> float:
    """The grade a reader gives, on average, a post of this utility once they open it: the best grade
    of what they do with it (0 for nothing graded), E[best] = Σ_g P(best ≥ g)."""
    return sum(best_grade_chances(utility, content_type=content_type, trade_card=trade_card).values())


@dataclass
class ReadingStats:
    visits: int = 0
    actions: Counter = field(default_factory=Counter)
    # source → position → count, for the examination check in the report.
    examined: dict[str, Counter] = field(default_factory=lambda: {source: Counter() for source in DEEPEST})
    opened: dict[str, Counter] = field(default_factory=lambda: {source: Counter() for source in DEEPEST})


class Reading:
    """Readers' visits through the services, with what must be moved to simulated time afterwards."""

    def __init__(
        self, community: Community, *, clock: SimulatedClock, rng: np.random.Generator, only_for_you: bool = False
    ):
        self.community = community
        self.clock = clock
        self.rng = rng
        self.only_for_you = only_for_you
        self.stats = ReadingStats()
        self.users = User.objects.in_bulk([reader.user_id for reader in community.readers])
        self.posts: dict[int, Post] = {}
        self.opened: dict[int, set[int]] = {reader.user_id: set() for reader in community.readers}
        # When each reader's last visit ended: one person reads one thing at a time.
        self.busy_until: dict[int, datetime] = {}
        self.following: dict[int, set[int]] = {reader.user_id: set() for reader in community.readers}
        for follower_id, followee_id in Follow.objects.filter(follower_id__in=self.users).values_list(
            "follower_id", "followee_id"
        ):
            self.following[follower_id].add(followee_id)
        # Rows the database stamped with its own clock, and the simulated moments they belong to.
        self.likes: list[tuple[int, int, datetime]] = []
        self.comments: list[tuple[int, datetime]] = []
        self.shares: list[tuple[int, datetime]] = []

    def add_post(self, post: Post) -> None:
        self.posts[post.pk] = post

    def visit(self, reader: Reader, *, for_you: list[int]) -> None:
        self.stats.visits += 1
        lists = [("for_you", for_you)]
        # The chances are drawn either way, so reading For You alone leaves the rest of the run's draws as they were.
        if self.rng.random() < FOLLOWING_CHANCE and not self.only_for_you:
            lists.append(("following", self._following(reader)))
        if self.rng.random() < LATEST_CHANCE and not self.only_for_you:
            lists.append(("latest", self._latest()))
        handled: set[int] = set()
        for source, post_ids in lists:
            self._read(reader, source, post_ids, handled)
        self.busy_until[reader.user_id] = self.clock.now()

    def free_at(self, reader: Reader, moment: datetime) -> datetime:
        """When a visit planned for `moment` can start: not before the reader's previous one ended."""
        return max(moment, self.busy_until.get(reader.user_id, moment))

    def move_to_simulated_time(self) -> None:
        """Likes, comments and shares get the moments they were made at (see demo.simulation.clock)."""
        backdate(Like, self.likes, key=("user_id", "post_id"))
        backdate(Comment, self.comments)
        backdate(Share, self.shares)
        self.likes, self.comments, self.shares = [], [], []

    def _following(self, reader: Reader) -> list[int]:
        """The Following list: the newest posts of the creators the reader follows."""
        now = self.clock.now()
        return list(
            self._recent(now)
            .filter(author_id__in=list(self.following[reader.user_id]))
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)[: DEEPEST["following"]]
        )

    def _latest(self) -> list[int]:
        return list(
            self._recent(self.clock.now())
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)[: DEEPEST["latest"]]
        )

    @staticmethod
    def _recent(now: datetime):
        return Post.objects.filter(
            status=Post.Status.PUBLISHED,
            repost_of__isnull=True,
            created_at__lte=now,
            created_at__gt=now - timedelta(days=ORGANIC_DAYS),
        )

    def _read(self, reader: Reader, source: str, post_ids: list[int], handled: set[int]) -> None:
        shown = [post_id for post_id in post_ids[: DEEPEST[source]] if post_id in self.posts]
        if not shown:
            return
        utility = self.community.utility(reader, shown, at=self.clock.now())
        for position, (post_id, value) in enumerate(zip(shown, utility.tolist(), strict=True)):
            if post_id in handled or self.rng.random() >= examine_probability(position, source):
                continue
            handled.add(post_id)
            self.stats.examined[source][position] += 1
            self.clock.advance(seconds=float(self.rng.uniform(2, 6)))
            if post_id in self.opened[reader.user_id]:
                continue
            if self.rng.random() < open_probability(value):
                self.stats.opened[source][position] += 1
                self._open(reader, self.posts[post_id], value)
            elif value < HIDE_BELOW and self.rng.random() < HIDE_CHANCE:
                hide_post_for_viewer(user=self.users[reader.user_id], post_id=post_id)
                self.stats.actions["hide"] += 1

    def _open(self, reader: Reader, post: Post, utility: float) -> None:
        user = self.users[reader.user_id]
        truth = self.community.posts[self.community.row_of_post[post.pk]].truth
        record_view(viewer=user, post=post)
        token = render_tokens.issue(reader=user, post_id=post.pk)
        self.opened[reader.user_id].add(post.pk)
        self.stats.actions["view"] += 1
        seconds = DWELL_BASE_SECONDS + DWELL_SPAN_SECONDS * utility**DWELL_UTILITY_POWER * DWELL_FACTOR[
            truth.content_type
        ] * float(self.rng.lognormal(0.0, DWELL_NOISE))
        seconds = min(max(seconds, SHORTEST_DWELL_SECONDS), LONGEST_DWELL_SECONDS)
        self.clock.advance(seconds=seconds)
        if record_dwell(viewer=user, items=[{"post": post.pk, "ms": int(seconds * 1000), "token": token}]):
            self.stats.actions["dwell"] += 1
        roll = self.rng.random(5)
        if roll[0] < LIKE * utility**2 and like_post(user=user, post_id=post.pk):
            self.likes.append((user.pk, post.pk, self.clock.now()))
            self.stats.actions["like"] += 1
        if roll[1] < COMMENT * utility**3:
            self.clock.advance(seconds=float(self.rng.uniform(10, 60)))
            comments = COMMENTS[truth.language]
            comment = comment_on_post(
                author=user, post_id=post.pk, body=comments[int(self.rng.integers(len(comments)))]
            )
            self.comments.append((comment.pk, self.clock.now()))
            self.stats.actions["comment"] += 1
        if roll[2] < SHARE * utility**3:
            channels = SHARE_CHANNELS[truth.language]
            share = share_post(user=user, post_id=post.pk, channel=channels[int(self.rng.integers(len(channels)))])
            self.shares.append((share.pk, self.clock.now()))
            self.stats.actions["share"] += 1
        author = self.community.creators[truth.creator]
        if roll[3] < FOLLOW * utility**2 and author.user_id not in self.following[user.pk]:
            follow_user(follower=user, username=author.username)
            self.following[user.pk].add(author.user_id)
            self.stats.actions["follow"] += 1
        if roll[4] < TRADE_CLICK * utility**2 and self.community.posts[self.community.row_of_post[post.pk]].trade_card:
            trade_redirect_url(viewer=user, post_id=post.pk)
            self.stats.actions["trade_click"] += 1
