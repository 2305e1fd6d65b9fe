"""Organic engagement and the current-state rows that match the log.

Readers open posts through VIEW_CHANNELS (people they follow, assets they trade, anything in their
language), filtered by a taste over content types; dwell, likes, comments, shares, trade clicks,
hides and reports follow views in proportion to quality times affinity. The log is written in time
order, with one Like, Comment, Share and Report row per event of that kind, and follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creators.models import Follow
from demo.copy_writer import CopyWriter, chunked_csv, csv_lines, csv_quoted, int_texts, timestamp_texts
from demo.parameters import (
    ACTIVE_TRADER_INTERESTS,
    AFFINITY_TASTE_FLOOR,
    ASSET_AFFINITY,
    BEGINNER_INTERESTS,
    DAY,
    DWELL_FACTOR,
    FOLLOW_AFFINITY,
    HOUR,
    MINUTE,
    POST_TYPES,
    REPORT_REASON_WEIGHTS,
    SECOND,
    TASTE_CONCENTRATION,
    TASTE_FLOOR,
    TRADE_CLICK_FACTOR,
    VIEW_CHANNELS,
)
from demo.sampling import GeneratorBase, WeightedGroups, contains_sorted, weighted_distinct, weighted_draw
from demo.tables import ASSETS, COMMENTS, HYPE_COMMENTS, SHARE_CHANNELS
from feed.models import Comment, Engagement, Like, Report, Share

Kind = Engagement.Kind


@dataclass
class EngagementBatch:
    """A batch of engagement rows as parallel arrays; post is -1 for events about a person."""

    actor: np.ndarray
    post: np.ndarray
    creator: np.ndarray
    kind: np.ndarray
    dwell_ms: np.ndarray
    at: np.ndarray

    @classmethod
    def of(cls, *, actor, post, creator, kind, at, dwell_ms=None) -> EngagementBatch:
        actor = np.asarray(actor, dtype=np.int64)
        size = len(actor)
        kinds = np.full(size, kind, dtype=np.int16) if np.isscalar(kind) else np.asarray(kind, dtype=np.int16)
        return cls(
            actor=actor,
            post=np.asarray(post, dtype=np.int64),
            creator=np.asarray(creator, dtype=np.int64),
            kind=kinds,
            dwell_ms=np.zeros(size, dtype=np.int64) if dwell_ms is None else np.asarray(dwell_ms, dtype=np.int64),
            at=np.asarray(at, dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.actor)

    @classmethod
    def concat(cls, batches: list[EngagementBatch]) -> EngagementBatch:
        return cls(
            *(
                np.concatenate([getattr(b, name) for b in batches])
                for name in ("actor", "post", "creator", "kind", "dwell_ms", "at")
            )
        )


class EngagementGenerator(GeneratorBase):
    """Reader interests, organic views and what follows them, and the writing of the log (a part of
    DemoGenerator; the planted rows come from CheatingGenerator)."""

    def _prepare_interests(self) -> None:
        """Each reader's taste in content types, what they trade, whom they follow, and the pools of
        posts views are drawn from (see _views)."""
        rng = self._rng("tastes")
        n_users, n_posts = self.n_users, self.n_posts
        interests = np.ones((n_users, len(POST_TYPES)))
        for chosen, boosts in ((self.tier <= 1, BEGINNER_INTERESTS), (self.tier >= 3, ACTIVE_TRADER_INTERESTS)):
            for slug, boost in boosts.items():
                interests[chosen, POST_TYPES.index(slug)] = boost
        taste = rng.gamma(TASTE_CONCENTRATION * interests)  # normalised gamma draws are Dirichlet draws
        taste /= taste.sum(axis=1, keepdims=True)
        # Liking of each type relative to the reader's favourite, in (0, 1].
        self.taste_ratio = taste / taste.max(axis=1, keepdims=True)

        # Assets as bit masks (bit k = ASSETS[k]), so "assets in common" is a popcount.
        asset_index = np.full(max(self.asset_ids.values()) + 1, -1, dtype=np.int64)
        asset_index[list(self.asset_ids.values())] = [self.asset_symbols.index(s) for s in self.asset_ids]
        pairs = np.array(self.post_asset_pairs, dtype=np.int64).reshape(-1, 2)
        pair_post, pair_asset = pairs[:, 0], asset_index[pairs[:, 1]]
        self.post_asset_mask = np.zeros(n_posts, dtype=np.int64)
        np.bitwise_or.at(self.post_asset_mask, pair_post, np.left_shift(1, pair_asset))
        traded = [
            (reader, self.asset_symbols.index(symbol), rank)
            for reader, symbols in enumerate(self.traded_assets)
            for rank, symbol in enumerate(symbols)
        ]
        trade_reader, trade_asset, trade_rank = np.array(traded, dtype=np.int64).reshape(-1, 3).T
        self.reader_asset_mask = np.zeros(n_users, dtype=np.int64)
        np.bitwise_or.at(self.reader_asset_mask, trade_reader, np.left_shift(1, trade_asset))
        self.follow_keys = np.sort(self.follow_follower * n_users + self.follow_followee)

        # Appeal: quality and the author's reach, as any channel sees a post. Posts older than the
        # window get less attention during it.
        appeal = self.post_quality * (self.follower_counts[self.post_author] + 3.0) ** 0.5
        appeal *= np.where(self.post_created < self.window_start_ms, 0.3, 1.0)
        every_post = np.arange(n_posts)
        self.posts_by_author = WeightedGroups.build(
            groups=self.post_author, items=every_post, weights=appeal, n_groups=n_users
        )
        # A followee is drawn by the appeal of all their posts, then one of those posts by its own.
        self.followees_by_reader = WeightedGroups.build(
            groups=self.follow_follower,
            items=self.follow_followee,
            weights=self.posts_by_author.totals[self.follow_followee],
            n_groups=n_users,
        )
        # The most traded asset first: weights 1, 1/2, 1/3…
        self.assets_by_reader = WeightedGroups.build(
            groups=trade_reader, items=trade_asset, weights=1.0 / (trade_rank + 1), n_groups=n_users
        )
        self.posts_by_asset_language = WeightedGroups.build(
            groups=pair_asset * 2 + self.post_zh[pair_post],
            items=pair_post,
            weights=appeal[pair_post],
            n_groups=2 * len(ASSETS),
        )
        self.posts_by_language = WeightedGroups.build(
            groups=self.post_zh.astype(np.int64), items=every_post, weights=appeal, n_groups=2
        )
        channel_weights = np.column_stack(
            [
                np.where(self.followees_by_reader.totals > 0, VIEW_CHANNELS["following"], 0.0),
                np.where(self.assets_by_reader.totals > 0, VIEW_CHANNELS["assets"], 0.0),
                np.full(n_users, VIEW_CHANNELS["anything"]),
            ]
        )
        self.channel_cdf = np.cumsum(channel_weights / channel_weights.sum(axis=1, keepdims=True), axis=1)

    def _affinity(self, actor: np.ndarray, post: np.ndarray) -> np.ndarray:
        """How much each reader cares about each post: liking of its type, following its author,
        trading its assets (see AFFINITY_TASTE_FLOOR)."""
        follows = contains_sorted(self.follow_keys, actor * self.n_users + self.post_author[post])
        shared_assets = np.bitwise_count(self.reader_asset_mask[actor] & self.post_asset_mask[post])
        return (
            (AFFINITY_TASTE_FLOOR + self.taste_ratio[actor, self.post_type[post]])
            * (1.0 + FOLLOW_AFFINITY * follows)
            * (1.0 + ASSET_AFFINITY * np.minimum(shared_assets, 2))
        )

    def _reading_choices(self, rng: np.random.Generator, actor: np.ndarray) -> np.ndarray:
        """A post for each reader in actor, through one of the VIEW_CHANNELS; not yet filtered by taste."""
        size = len(actor)
        post = np.full(size, -1, dtype=np.int64)
        cdf = self.channel_cdf[actor]
        draw = rng.random(size)
        channel = (draw >= cdf[:, 0]).astype(np.int64) + (draw >= cdf[:, 1])
        # Readers mostly read their own language.
        language = (self.is_zh[actor] ^ (rng.random(size) < 0.15)).astype(np.int64)

        following = np.flatnonzero(channel == 0)
        followee = self.followees_by_reader.draw(rng, actor[following])
        post[following] = self.posts_by_author.draw(rng, followee)

        trading = np.flatnonzero(channel == 1)
        pools = self.posts_by_asset_language
        group = self.assets_by_reader.draw(rng, actor[trading]) * 2 + language[trading]
        group = np.where(pools.totals[group] > 0, group, group ^ 1)  # nothing in that language: the other
        found = pools.totals[group] > 0
        post[trading[found]] = pools.draw(rng, group[found])

        anything = np.flatnonzero(post < 0)  # the third channel, and assets nobody wrote about
        group = language[anything]
        group = np.where(self.posts_by_language.totals[group] > 0, group, group ^ 1)
        post[anything] = self.posts_by_language.draw(rng, group)
        return post

    def _generate_engagement(self) -> None:
        self._prepare_interests()
        rng = self._rng("engagement")
        self.comment_texts: list[np.ndarray] = []  # parallel to the comment events, in generation order
        self.report_rows: EngagementBatch | None = None
        cheats = [
            self._self_engagement(self._rng("self-likes")),
            self._ring_engagement(self._rng("ring")),
            self._burst_engagement(self._rng("burst")),
        ]
        cheats = [batch for batch in cheats if len(batch)]
        follow_events = EngagementBatch.of(
            actor=self.follow_follower[self.follow_recent],
            post=np.full(int(self.follow_recent.sum()), -1),
            creator=self.follow_followee[self.follow_recent],
            kind=Kind.FOLLOW,
            at=self.follow_at[self.follow_recent],
        )
        used = sum(len(batch) for batch in cheats) + len(follow_events)
        organic = self._organic_engagement(rng, self.n_events - used, cheats)
        self.events = EngagementBatch.concat([*cheats, follow_events, *organic])
        if len(self.events) != self.n_events:  # the exact count is a promise to callers and tests
            raise RuntimeError(f"Generated {len(self.events):,} engagement rows instead of {self.n_events:,}.")

    def _organic_engagement(
        self, rng: np.random.Generator, budget: int, cheats: list[EngagementBatch]
    ) -> list[EngagementBatch]:
        """Views drive everything: dwell, likes, comments, shares and trade clicks follow a view."""
        if budget <= 0:
            return []
        shares = {
            Kind.DWELL: 0.22,
            Kind.LIKE: 0.095,
            Kind.COMMENT: 0.02,
            Kind.SHARE: 0.01,
            Kind.TRADE_CLICK: 0.03,
            Kind.HIDE: 0.004,
            Kind.REPORT: 0.001,
        }
        wanted = {kind: int(budget * share) for kind, share in shares.items()}
        n_views = budget - sum(wanted.values())
        cheat = EngagementBatch.concat(cheats) if cheats else None
        view_keys = (
            self._day_keys(
                cheat.actor[cheat.kind == Kind.VIEW],
                cheat.post[cheat.kind == Kind.VIEW],
                cheat.at[cheat.kind == Kind.VIEW],
            )
            if cheat
            else np.empty(0, np.int64)
        )
        liked_keys = (
            cheat.actor[cheat.kind == Kind.LIKE] * self.n_posts + cheat.post[cheat.kind == Kind.LIKE]
            if cheat
            else np.empty(0, np.int64)
        )

        views = self._views(rng, n_views, view_keys)
        batches = [views]
        # Pairs a reader viewed, each once (its first view), for the once-per-pair actions.
        pair_keys = views.actor * self.n_posts + views.post
        _, first_view = np.unique(pair_keys, return_index=True)
        first_view = np.sort(first_view)
        quality = self.post_quality[views.post]
        affinity = self._affinity(views.actor, views.post)
        # What a reader does after a view depends on how good the post is and how much they care.
        interest = quality * affinity

        dwell_rows = rng.choice(len(views), size=min(wanted[Kind.DWELL], len(views)), replace=False)
        dwell_rows.sort()
        median = 15 * SECOND * np.array([DWELL_FACTOR[slug] for slug in POST_TYPES])[self.post_type[views.post]]
        median = median * np.sqrt(affinity / np.median(affinity))  # people stay longer on what they care about
        dwell = np.clip(rng.lognormal(0.0, 0.9, size=len(views)) * median, 800, 10 * MINUTE).astype(np.int64)
        dwell = np.minimum(dwell[dwell_rows], self.anchor_ms - 1 - views.at[dwell_rows])
        batches.append(self._follow_up(views, dwell_rows, Kind.DWELL, views.at[dwell_rows] + dwell, dwell_ms=dwell))

        likeable = first_view[~np.isin(pair_keys[first_view], liked_keys)]
        liked = likeable[weighted_distinct(rng, interest[likeable], wanted[Kind.LIKE])]
        batches.append(self._follow_up(views, liked, Kind.LIKE, self._after(rng, views, liked, 2, 120)))

        not_liked = np.setdiff1d(likeable, liked)
        # People hide what they don't care about, and report what is bad whatever their interests.
        for kind, weights in ((Kind.HIDE, 1 / interest[not_liked]), (Kind.REPORT, 1 / quality[not_liked])):
            rows = not_liked[weighted_distinct(rng, weights, wanted[kind])]
            batches.append(self._follow_up(views, rows, kind, self._after(rng, views, rows, 3, 90)))
        self.report_rows = batches[-1]

        commented = (
            weighted_draw(rng, interest, wanted[Kind.COMMENT]) if wanted[Kind.COMMENT] else np.empty(0, np.int64)
        )
        commented.sort()
        self.comment_texts.append(self._comment_texts(rng, views.post[commented], hype=False))
        batches.append(self._follow_up(views, commented, Kind.COMMENT, self._after(rng, views, commented, 20, 900)))

        shared = weighted_draw(rng, interest, wanted[Kind.SHARE]) if wanted[Kind.SHARE] else np.empty(0, np.int64)
        shared.sort()
        batches.append(self._follow_up(views, shared, Kind.SHARE, self._after(rng, views, shared, 5, 300)))

        click_factor = np.array([TRADE_CLICK_FACTOR[slug] for slug in POST_TYPES])[self.post_type[views.post]]
        click_weights = interest * click_factor * self.post_has_assets[views.post]
        if wanted[Kind.TRADE_CLICK] and click_weights.sum() > 0:
            clicked = np.sort(weighted_draw(rng, click_weights, wanted[Kind.TRADE_CLICK]))
        else:
            clicked = np.empty(0, np.int64)
        batches.append(self._follow_up(views, clicked, Kind.TRADE_CLICK, self._after(rng, views, clicked, 3, 600)))

        # Anything that could not be placed (tiny populations) becomes more views.
        missing = budget - sum(len(batch) for batch in batches)
        if missing:
            all_keys = np.concatenate([view_keys, self._day_keys(views.actor, views.post, views.at)])
            batches.append(self._views(rng, missing, all_keys))
        return batches

    def _after(self, rng, views: EngagementBatch, rows: np.ndarray, low_s: int, high_s: int) -> np.ndarray:
        """Times low_s to high_s seconds after the views in rows, squeezed to end before the anchor."""
        viewed = views.at[rows]
        high = np.minimum(high_s * SECOND, self.anchor_ms - 1 - viewed)
        low = np.minimum(low_s * SECOND, high // 2)
        return viewed + low + (rng.random(len(rows)) * (high - low)).astype(np.int64)

    @staticmethod
    def _follow_up(
        views: EngagementBatch, rows: np.ndarray, kind: int, at: np.ndarray, dwell_ms=None
    ) -> EngagementBatch:
        return EngagementBatch.of(
            actor=views.actor[rows],
            post=views.post[rows],
            creator=views.creator[rows],
            kind=kind,
            at=at,
            dwell_ms=dwell_ms,
        )

    def _day_keys(self, actor: np.ndarray, post: np.ndarray, at: np.ndarray) -> np.ndarray:
        # UTC calendar days; the window is far shorter than 64 days, so day % 64 tells days apart.
        return (actor * self.n_posts + post) * 64 + (at // DAY) % 64

    def _views(self, rng: np.random.Generator, count: int, taken_keys: np.ndarray) -> EngagementBatch:
        """count organic views, at most one per (reader, post, day) including taken_keys.

        A view starts with a reader, drawn by activity, who comes to a post through one of the
        VIEW_CHANNELS (a followed author's post, a post about an asset they trade, or anything in
        their language, mostly), each drawing posts by appeal; the reader's taste in content types
        then keeps the post or passes on it (TASTE_FLOOR).
        """
        anchor, window = self.anchor_ms, self.window_start_ms
        readers = np.flatnonzero(self.activity > 0)
        parts: list[tuple[np.ndarray, ...]] = []
        keys = taken_keys
        have = 0
        placed_share = 0.4  # of proposals, updated from each round: sizes the next round
        for _attempt in range(60):
            need = count - have
            if need <= 0:
                break
            size = int(need / max(placed_share, 0.05) * 1.1) + 64
            actor = readers[weighted_draw(rng, self.activity[readers], size)]
            post = self._reading_choices(rng, actor)
            liking = TASTE_FLOOR + (1 - TASTE_FLOOR) * self.taste_ratio[actor, self.post_type[post]]
            # Nobody "organically" views their own post.
            kept = (rng.random(size) < liking) & (actor != self.post_author[post])
            actor, post = actor[kept], post[kept]
            lower = np.maximum(np.maximum(self.post_created[post], self.joined[actor]), window) + SECOND
            span = anchor - MINUTE - lower
            valid = span > SECOND
            post, actor, lower, span = post[valid], actor[valid], lower[valid], span[valid]
            # Most views come in the first day after publication; the rest trickle in later.
            delay = rng.exponential(18 * HOUR, size=len(post)).astype(np.int64)
            late = delay >= span
            delay[late] = (rng.random(int(late.sum())) * span[late]).astype(np.int64)
            at = lower + delay
            new_keys = self._day_keys(actor, post, at)
            _, first = np.unique(new_keys, return_index=True)
            first = np.sort(first)
            first = first[~np.isin(new_keys[first], keys)]
            placed_share = len(first) / size
            first = first[:need]
            parts.append((actor[first], post[first], at[first]))
            keys = np.concatenate([keys, new_keys[first]])
            have += len(first)
        if have < count:
            raise ValueError(
                f"Cannot place {count:,} views with at most one per reader, post and day: "
                "ask for fewer events or more users and posts."
            )
        actor, post, at = (np.concatenate([part[i] for part in parts]) for i in range(3))
        return EngagementBatch.of(actor=actor, post=post, creator=self.post_author[post], kind=Kind.VIEW, at=at)

    def _comment_texts(self, rng: np.random.Generator, posts: np.ndarray, *, hype: bool) -> np.ndarray:
        pools = HYPE_COMMENTS if hype else COMMENTS
        english = np.array(pools["en"], dtype=object)
        chinese = np.array(pools["zh"], dtype=object)
        return np.where(
            self.post_zh[posts],
            chinese[rng.integers(0, len(chinese), size=len(posts))],
            english[rng.integers(0, len(english), size=len(posts))],
        )

    def _write_engagement(self, writer: CopyWriter) -> None:
        events = self.events
        rng = self._rng("engagement-state")
        order = np.argsort(events.at, kind="stable")  # the log arrives in time order (BRIN-friendly)
        actor, post, creator = events.actor[order], events.post[order], events.creator[order]
        kind, dwell, at = events.kind[order], events.dwell_ms[order], events.at[order]
        fingerprints = np.array(self.fingerprints, dtype=object)
        base = self.next_ids[Engagement._meta.db_table]
        user_base, post_base = self.user_base, self.post_base

        def engagement_columns(part: slice) -> list[list[str]]:
            post_ids = np.where(post[part] >= 0, post[part] + post_base, -1)
            return [
                int_texts(np.arange(part.start, part.stop) + base),
                int_texts(actor[part] + user_base),
                [value if value != "-1" else "" for value in int_texts(post_ids)],
                int_texts(creator[part] + user_base),
                int_texts(kind[part]),
                int_texts(dwell[part]),
                timestamp_texts(at[part]),
                fingerprints[actor[part]].tolist(),
            ]

        writer.copy(
            Engagement._meta.db_table,
            ["id", "actor_id", "post_id", "creator_id", "kind", "dwell_ms", "occurred_at", "fingerprint"],
            chunked_csv(engagement_columns, len(at)),
        )

        # Burst follows join the follow table, now that their times are known.
        burst_accounts, burst_at = self.burst_follows
        follow_rows = self.follow_rows
        burst_ids = int_texts(burst_accounts + user_base)
        burst_times = timestamp_texts(burst_at)
        follow_rows.extend(
            f"{self.follow_next_id + k},{burst_ids[k]},{self.beneficiary + user_base},{burst_times[k]}"
            for k in range(len(burst_ids))
        )
        writer.copy(Follow._meta.db_table, ["id", "follower_id", "followee_id", "created_at"], csv_lines(follow_rows))

        self._write_likes(writer, kind, actor, post, at)
        self._write_comments(writer)
        self._write_shares(writer, kind, actor, post, at)
        self._write_reports(writer, rng)

    def _write_likes(self, writer, kind, actor, post, at) -> None:
        likes = np.flatnonzero(kind == Kind.LIKE)  # unique per (reader, post) by construction
        base = self.next_ids[Like._meta.db_table]

        def like_columns(part: slice) -> list[list[str]]:
            rows = likes[part]
            return [
                int_texts(np.arange(part.start, part.stop) + base),
                int_texts(actor[rows] + self.user_base),
                int_texts(post[rows] + self.post_base),
                timestamp_texts(at[rows]),
            ]

        writer.copy(
            Like._meta.db_table, ["id", "user_id", "post_id", "created_at"], chunked_csv(like_columns, len(likes))
        )

    def _write_comments(self, writer) -> None:
        events = self.events
        comments = np.flatnonzero(events.kind == Kind.COMMENT)  # generation order, matches comment_texts
        texts = np.concatenate(self.comment_texts) if self.comment_texts else np.empty(0, dtype=object)
        order = np.argsort(events.at[comments], kind="stable")
        comments, texts = comments[order], texts[order]
        post, author, at = events.post[comments], events.actor[comments], events.at[comments]
        base = self.next_ids[Comment._meta.db_table]
        ids = base + np.arange(len(comments))
        # A reply answers the first (top-level) comment on the post.
        by_post = np.lexsort((np.arange(len(comments)), post))
        first_of_post = np.empty(len(comments), np.int64)
        starts = np.r_[True, post[by_post][1:] != post[by_post][:-1]] if len(comments) else np.empty(0, bool)
        first_of_post[by_post] = by_post[np.maximum.accumulate(np.where(starts, np.arange(len(comments)), 0))]
        rng = self._rng("replies")
        is_reply = (first_of_post != np.arange(len(comments))) & (rng.random(len(comments)) < 0.3)
        is_reply &= author != author[first_of_post]
        parent = np.where(is_reply, ids[first_of_post], -1)
        id_text, post_text, author_text = (
            int_texts(ids),
            int_texts(post + self.post_base),
            int_texts(author + self.user_base),
        )
        parent_text, at_text = int_texts(parent), timestamp_texts(at)
        rows = [
            f"{id_text[k]},{post_text[k]},{author_text[k]},{parent_text[k] if parent[k] >= 0 else ''},"
            f"{csv_quoted(texts[k])},{at_text[k]}"
            for k in range(len(comments))
        ]
        writer.copy(
            Comment._meta.db_table, ["id", "post_id", "author_id", "parent_id", "body", "created_at"], csv_lines(rows)
        )

    def _write_shares(self, writer, kind, actor, post, at) -> None:
        shares = np.flatnonzero(kind == Kind.SHARE)
        base = self.next_ids[Share._meta.db_table]
        rand = self._rand("share-codes")
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        at_text = timestamp_texts(at[shares])
        rows = []
        for k, row in enumerate(shares):
            share_id = base + k
            # A bijection of the id (48271 shares no factor with 62**6) keeps codes unique; the tail
            # makes them hard to guess.
            code = _base62((share_id * 48271 + 7_777_777) % 62**6, 6) + "".join(rand.choices(alphabet, k=4))
            language = "zh" if self.post_zh[post[row]] else "en"
            rows.append(
                f"{share_id},{actor[row] + self.user_base},{post[row] + self.post_base},{code},"
                f"{rand.choice(SHARE_CHANNELS[language])},{at_text[k]}"
            )
        writer.copy(
            Share._meta.db_table, ["id", "user_id", "post_id", "code", "channel", "created_at"], csv_lines(rows)
        )

    def _write_reports(self, writer, rng) -> None:
        reports = self.report_rows
        base = self.next_ids[Report._meta.db_table]
        rows = []
        if reports is not None and len(reports):
            order = np.argsort(reports.at, kind="stable")
            reasons = list(REPORT_REASON_WEIGHTS)
            drawn = rng.choice(len(reasons), size=len(order), p=list(REPORT_REASON_WEIGHTS.values()))
            at_text = timestamp_texts(reports.at[order])
            for k, row in enumerate(order):
                rows.append(
                    f"{base + k},{reports.actor[row] + self.user_base},{reports.post[row] + self.post_base},"
                    f'{reasons[drawn[k]].value},"",{Report.Status.OPEN.value},{at_text[k]}'
                )
        writer.copy(
            Report._meta.db_table,
            ["id", "reporter_id", "post_id", "reason", "details", "status", "created_at"],
            csv_lines(rows),
        )


def _base62(number: int, width: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(alphabet[digit])
    return "".join(reversed(digits))
