"""Planted cheating for anti-abuse detectors to find, chosen from the seed alone: creators who
view and like their own posts, a like ring of small to mid-sized creators, and a sign-up burst that pumps one
small creator's new_asset posts (see demo.seeding for the patterns)."""

from __future__ import annotations

import numpy as np

from demo.engagement import EngagementBatch
from demo.parameters import HOUR, MINUTE, SECOND
from demo.sampling import GeneratorBase, random_delays
from feed.models import Engagement

Kind = Engagement.Kind


class CheatingGenerator(GeneratorBase):
    """Who cheats and the engagement rows they plant (a part of DemoGenerator)."""

    def _plant_creators(self, rng: np.random.Generator, author: np.ndarray) -> None:
        """Pick the ring, the self-likers and the burst's beneficiary among creators who post."""
        counts = np.bincount(author, minlength=self.n_users)
        by_rank = [int(c) for c in self.creators if counts[c] >= 1]
        # The ring: small to mid-sized creators, well below the stars, whose pod gives them a large
        # share of what they receive (readers who trade make a big audience outweigh any pod).
        middle = [c for c in by_rank[max(3, len(by_rank) // 3) : max(12, len(by_rank) * 4 // 5)] if counts[c] >= 2]
        ring_size = min(6, len(middle), len(by_rank) // 3)
        self.ring = [int(c) for c in rng.choice(middle, size=ring_size, replace=False)] if ring_size >= 3 else []
        rest = [c for c in by_rank if c not in self.ring]
        n_self = min(len(rest) // 3, max(2, round(0.03 * len(self.creators))), 30)
        self.self_likers = [int(c) for c in rng.choice(rest, size=n_self, replace=False)] if n_self else []
        rest = [c for c in rest if c not in self.self_likers]
        small = rest[len(rest) // 2 :] or rest
        self.beneficiary = int(rng.choice(small)) if self.n_burst and small else -1

        planted = self.report.planted
        planted.ring = [self.usernames[c] for c in self.ring]
        planted.self_likers = [self.usernames[c] for c in self.self_likers]
        planted.burst_beneficiary = self.usernames[self.beneficiary] if self.beneficiary >= 0 else None

    def _self_engagement(self, rng: np.random.Generator) -> EngagementBatch:
        """Creators viewing and liking their own posts, minutes after publishing."""
        own = np.isin(self.post_author, self.self_likers)
        posts = np.flatnonzero(own & (self.post_created < self.anchor_ms - HOUR))
        posts = np.sort(rng.permutation(posts)[: self.budget_self // 2])
        start = np.maximum(self.post_created[posts], self.window_start_ms) + random_delays(
            rng, len(posts), MINUTE, 20 * MINUTE
        )
        viewed = np.minimum(start, self.anchor_ms - 2 * MINUTE)
        liked = viewed + random_delays(rng, len(posts), 5 * SECOND, 60 * SECOND)
        authors = self.post_author[posts]
        batch = EngagementBatch.concat(
            [
                EngagementBatch.of(actor=authors, post=posts, creator=authors, kind=Kind.VIEW, at=viewed),
                EngagementBatch.of(actor=authors, post=posts, creator=authors, kind=Kind.LIKE, at=liked),
            ]
        )
        self.report.planted.self_engagement_rows = len(batch)
        return batch

    def _ring_engagement(self, rng: np.random.Generator) -> EngagementBatch:
        """Ring members view, dwell on, like and comment on each other's posts right after publication."""
        if not self.ring:
            return EngagementBatch.of(actor=[], post=[], creator=[], kind=Kind.VIEW, at=[])
        ring = np.array(self.ring)
        posts = np.flatnonzero(np.isin(self.post_author, ring) & (self.post_created < self.anchor_ms - HOUR))
        post_of = np.repeat(posts, len(ring))
        actor = np.tile(ring, len(posts))
        keep = actor != self.post_author[post_of]
        post_of, actor = post_of[keep], actor[keep]
        commented = rng.random(len(post_of)) < 0.6
        cost = 3 + commented.astype(np.int64)
        # Within the budget, every member first engages with every other member once, then more.
        order = rng.permutation(len(post_of))
        pair = actor[order] * self.n_users + self.post_author[post_of[order]]
        by_pair = np.argsort(pair, kind="stable")
        starts = np.r_[True, pair[by_pair][1:] != pair[by_pair][:-1]]
        nth_of_pair = np.empty(len(order), dtype=np.int64)
        nth_of_pair[by_pair] = np.arange(len(order)) - np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
        order = order[np.argsort(nth_of_pair, kind="stable")]
        fits = order[np.cumsum(cost[order]) <= self.budget_ring]
        fits = np.sort(fits)
        post_of, actor, commented = post_of[fits], actor[fits], commented[fits]
        size = len(post_of)
        viewed = np.maximum(self.post_created[post_of], self.window_start_ms) + random_delays(
            rng, size, MINUTE, 15 * MINUTE
        )
        viewed = np.minimum(viewed, self.anchor_ms - 10 * MINUTE)
        dwell = random_delays(rng, size, 60 * SECOND, 300 * SECOND)
        creator = self.post_author[post_of]
        comment_posts = post_of[commented]
        self.comment_texts.append(self._comment_texts(rng, comment_posts, hype=True))
        batch = EngagementBatch.concat(
            [
                EngagementBatch.of(actor=actor, post=post_of, creator=creator, kind=Kind.VIEW, at=viewed),
                EngagementBatch.of(
                    actor=actor, post=post_of, creator=creator, kind=Kind.DWELL, at=viewed + dwell, dwell_ms=dwell
                ),
                EngagementBatch.of(
                    actor=actor,
                    post=post_of,
                    creator=creator,
                    kind=Kind.LIKE,
                    at=viewed + random_delays(rng, size, 10 * SECOND, 50 * SECOND),
                ),
                EngagementBatch.of(
                    actor=actor[commented],
                    post=comment_posts,
                    creator=creator[commented],
                    kind=Kind.COMMENT,
                    at=viewed[commented] + random_delays(rng, len(comment_posts), 60 * SECOND, 5 * MINUTE),
                ),
            ]
        )
        self.report.planted.ring_engagement_rows = len(batch)
        return batch

    def _burst_engagement(self, rng: np.random.Generator) -> EngagementBatch:
        """Fresh accounts follow one creator and like and view their posts within 15 minutes."""
        empty = EngagementBatch.of(actor=[], post=[], creator=[], kind=Kind.VIEW, at=[])
        self.burst_follows = (np.empty(0, np.int64), np.empty(0, np.int64))
        if self.beneficiary < 0 or not len(self.beneficiary_posts):
            return empty
        accounts = np.flatnonzero(self.is_burst)
        per_account = self.budget_burst // len(accounts)
        if per_account < 2:
            return empty
        follows = per_account >= 3
        n_posts = min(len(self.beneficiary_posts), (per_account - int(follows)) // 2)
        if n_posts < 1:
            return empty
        posts = self.beneficiary_posts[-n_posts:]
        start = self.burst_act_ms
        size = len(accounts)
        followed_at = start + random_delays(rng, size, 0, 5 * MINUTE)
        batches = []
        if follows:
            batches.append(
                EngagementBatch.of(
                    actor=accounts,
                    post=np.full(size, -1),
                    creator=np.full(size, self.beneficiary),
                    kind=Kind.FOLLOW,
                    at=followed_at,
                )
            )
            self.burst_follows = (accounts, followed_at)
        for post in posts:
            viewed = start + random_delays(rng, size, 0, 14 * MINUTE)
            creator = np.full(size, self.beneficiary)
            batches.append(
                EngagementBatch.of(actor=accounts, post=np.full(size, post), creator=creator, kind=Kind.VIEW, at=viewed)
            )
            batches.append(
                EngagementBatch.of(
                    actor=accounts,
                    post=np.full(size, post),
                    creator=creator,
                    kind=Kind.LIKE,
                    at=viewed + random_delays(rng, size, 3 * SECOND, 40 * SECOND),
                )
            )
        batch = EngagementBatch.concat(batches)
        self.report.planted.burst_engagement_rows = len(batch)
        return batch
