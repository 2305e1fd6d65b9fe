"""Posts and their text: who writes what type of post in which language and when, the bodies
drawn from demo.tables' templates with the prices of the seeded candles, their cashtag and hashtag links,
and the Markdown rendering of every body.

PostGenerator sets, per post (index 0..posts-1): author, content type, language, publication and
edit times, quality, primary asset, body, and the (post, asset) and (post, hashtag) links.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import time

import numpy as np

from demo.copy_writer import CopyWriter, csv_lines, csv_quoted, int_texts, timestamp_texts
from demo.parameters import DAY, HOUR, MINUTE, OLD_POST_DAYS, POST_DAYS, POST_TYPE_SHARES, POST_TYPES
from demo.sampling import GeneratorBase, weighted_draw, zipf_weights
from demo.tables import ASSET_HASHTAGS, ASSETS, CLOSERS, OPENERS, TEMPLATES, TIMEFRAMES, TYPE_HASHTAGS
from demo.trading import SHORT_RE
from feed import markdown
from feed.cashtags import cashtags_in
from feed.models import Post
from markets.market_data import DOLLARS

# Hashtags as publishing reads them (feed.markdown); cashtags are read with feed.cashtags.
HASHTAG = re.compile(markdown.HASHTAG)


def framed_body(body: str, *, rand: random.Random, language: str) -> str:
    """A template's text with, sometimes, an opening and a closing line, as people write them."""
    if rand.random() < 0.2:
        body = f"{rand.choice(OPENERS[language])}\n\n{body}"
    if rand.random() < 0.4:
        body = f"{body}\n\n{rand.choice(CLOSERS[language])}"
    return body


class PostGenerator(GeneratorBase):
    """Posts, their bodies and links (a part of DemoGenerator)."""

    def _generate_posts(self) -> None:
        rng = self._rng("posts")
        n, anchor = self.n_posts, self.anchor_ms

        # 30% of posts are Chinese, written by Chinese-speaking creators (a few bilingual ones cross over).
        post_zh = rng.random(n) < 0.3
        author_zh = post_zh ^ (rng.random(n) < 0.04)
        author = np.empty(n, dtype=np.int64)
        for zh in (False, True):
            members = self._creators_speaking(zh)
            chosen = author_zh == zh
            # Zipf-like: the creator of rank r posts in proportion to 1 / (r + 1).
            author[chosen] = members[weighted_draw(rng, zipf_weights(len(members), 1.05), int(chosen.sum()))]
        favourite_type = rng.choice(len(POST_TYPES), size=self.n_users, p=POST_TYPE_SHARES)
        post_type = np.where(
            rng.random(n) < 0.35, favourite_type[author], rng.choice(len(POST_TYPES), size=n, p=POST_TYPE_SHARES)
        )
        created = self._post_times(rng, n)

        self._plant_creators(rng, author)
        if self.beneficiary >= 0:
            # The pump target publishes a few new_asset posts in the day before the burst acts.
            count = int(min(4, max(1, n // 50)))
            planted = rng.choice(n, size=count, replace=False)
            author[planted] = self.beneficiary
            post_zh[planted] = self.is_zh[self.beneficiary]
            post_type[planted] = POST_TYPES.index("new_asset")
            self.burst_act_ms = self.burst_start_ms + HOUR + int(rng.integers(30 * MINUTE, 3 * HOUR))
            created[planted] = self.burst_act_ms - rng.integers(2 * HOUR, 24 * HOUR, size=count)
        created = np.maximum(created, self.joined[author] + HOUR)  # only matters for tiny populations

        order = np.argsort(created, kind="stable")  # ids follow publication order
        self.post_author = author[order]
        self.post_type = post_type[order]
        self.post_created = created[order]
        self.post_zh = post_zh[order]
        self.post_edited = np.where(
            rng.random(n) < 0.05, np.minimum(self.post_created + rng.integers(MINUTE, 6 * HOUR, size=n), anchor), -1
        )
        self.post_quality = rng.lognormal(0.0, 0.8, size=n)
        if self.beneficiary >= 0:
            self.beneficiary_posts = np.flatnonzero(
                (self.post_author == self.beneficiary)
                & (self.post_type == POST_TYPES.index("new_asset"))
                & (self.post_created < self.burst_act_ms)
                & (self.post_created > self.burst_act_ms - DAY)
            )[-4:]
        self._render_posts(rng)

    def _creators_speaking(self, zh: bool) -> np.ndarray:
        """Creators of one language, biggest first (all creators if there are none)."""
        members = self.creators[self.is_zh[self.creators] == zh]
        return members if len(members) else self.creators

    def _post_times(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Publication times: 97% in the last 16 days, busier in Asian and US hours; the rest older."""
        anchor = self.anchor_ms
        hour_weights = np.array([4, 4, 5, 6, 6, 6, 5, 5, 4, 3, 3, 3, 4, 5, 6, 6, 6, 5, 4, 3, 3, 3, 3, 3], float)
        accept = hour_weights / hour_weights.max()
        times = np.empty(0, dtype=np.int64)
        while len(times) < n:
            candidates = anchor - rng.integers(10 * MINUTE, POST_DAYS * DAY, size=2 * n)
            hours = (candidates // HOUR) % 24
            times = np.concatenate([times, candidates[rng.random(2 * n) < accept[hours]]])
        times = times[:n]
        older = rng.random(n) < 0.03
        times[older] = anchor - rng.integers(POST_DAYS * DAY, OLD_POST_DAYS * DAY, size=int(older.sum()))
        return times

    def _render_posts(self, rng: np.random.Generator) -> None:
        rand = self._rand("bodies")
        n = self.n_posts
        n_assets = len(ASSETS)
        weights = self.asset_weights / self.asset_weights.sum()
        small_caps = (1 / self.asset_weights) / (1 / self.asset_weights).sum()
        primary = np.where(
            self.post_type == POST_TYPES.index("new_asset"),
            rng.choice(n_assets, size=n, p=small_caps),
            rng.choice(n_assets, size=n, p=weights),
        )
        stable = [i for i, (symbol, *_rest) in enumerate(ASSETS) if symbol in DOLLARS]
        primary = np.where(np.isin(primary, stable), 0, primary)  # nobody writes "$USDT breakout"
        secondary = rng.choice(n_assets, size=n, p=weights)
        secondary = np.where(
            (secondary == primary) | np.isin(secondary, stable), (primary + 1) % (n_assets - 1), secondary
        )
        self.post_primary = primary
        self._plan_trade_cards()
        # The price a post quotes is the close of the hourly bar it was written in (what the asset page
        # showed its author), a trade card's post the card's entry (within CARD_ENTRY_BAND of that
        # close); the levels sit a few percent away from both, on their side: supports and stops below,
        # resistances and targets above (a short's target below and its stop above).
        close = self.candle_close[primary, self._bar(self.post_created)]
        price = close.copy()
        price[self.card_post] = self.card_entry
        support = np.minimum(price, close) * (1 - rng.uniform(0.015, 0.06, size=n))
        resistance = np.maximum(price, close) * (1 + rng.uniform(0.015, 0.07, size=n))
        target = resistance * (1 + rng.uniform(0.01, 0.05, size=n))
        stop = support * (1 - rng.uniform(0.005, 0.03, size=n))
        short_target = support * (1 - rng.uniform(0.01, 0.05, size=n))
        short_stop = resistance * (1 + rng.uniform(0.005, 0.03, size=n))
        pct = rng.uniform(0.8, 18.0, size=n)
        pnl = rng.lognormal(2.3, 0.7, size=n)
        apr = rng.uniform(2.0, 38.0, size=n)
        leverage = rng.choice([2, 3, 3, 5, 5, 10, 10, 20], size=n)
        timeframe = rng.integers(0, len(TIMEFRAMES), size=n)
        days = rng.integers(3, 30, size=n)
        small = rng.integers(2, 9, size=n)
        amount = rng.integers(80, 950, size=n)

        self.bodies = []
        self.post_asset_pairs = []  # (post index, asset id)
        self.post_hashtag_pairs = []  # (post index, hashtag id)
        for index in range(n):
            slug = POST_TYPES[self.post_type[index]]
            language = "zh" if self.post_zh[index] else "en"
            symbol = self.asset_symbols[primary[index]]
            template = rand.choice(TEMPLATES[slug, language])
            short = SHORT_RE.search(template) is not None
            take_profit, stop_loss = (short_target, short_stop) if short else (target, stop)
            if "{pnl}" in template and "{p}" in template and "{tp}" in template:
                # "Closed at {tp} for +{pnl}%, entry {p}": the gain is what the two prices say.
                pnl[index] = abs(take_profit[index] / price[index] - 1) * 100
            fields = {
                "a": symbol,
                "b": self.asset_symbols[secondary[index]],
                "A": ASSETS[primary[index]][1],
                "p": quoted_price(price[index]),
                "s1": quoted_price(support[index]),
                "r1": quoted_price(resistance[index]),
                "tp": quoted_price(take_profit[index]),
                "sl": quoted_price(stop_loss[index]),
                "pct": f"{pct[index]:.1f}",
                "pnl": f"{pnl[index]:.1f}",
                "apr": f"{apr[index]:.1f}",
                "lev": int(leverage[index]),
                "tf": TIMEFRAMES[timeframe[index]],
                "days": int(days[index]),
                "n": int(small[index]),
                "amt": int(amount[index]),
                "amt_yi": f"{amount[index] / 100:.1f}",
            }
            body = framed_body(template.format(**fields), rand=rand, language=language)
            tags = rand.sample(
                TYPE_HASHTAGS[slug, language], k=min(len(TYPE_HASHTAGS[slug, language]), rand.choice([1, 1, 2, 2, 3]))
            )
            asset_tag = ASSET_HASHTAGS.get((symbol, language))
            if asset_tag and asset_tag not in tags and rand.random() < 0.6:
                tags.insert(0, asset_tag)
            body = f"{body}\n\n{' '.join('#' + tag for tag in tags)}"
            self.bodies.append(body)
            for cashtag in cashtags_in(body):
                if cashtag in self.asset_ids:
                    self.post_asset_pairs.append((index, self.asset_ids[cashtag]))
            for tag in dict.fromkeys(match.lower() for match in HASHTAG.findall(body)):
                if tag in self.hashtag_ids:
                    self.post_hashtag_pairs.append((index, self.hashtag_ids[tag]))
        self.post_has_assets = np.zeros(n, bool)
        self.post_has_assets[[pair[0] for pair in self.post_asset_pairs]] = True
        self._shape_trade_cards(leverage)
        self._plan_calls()

    def _write_posts(self, writer: CopyWriter) -> None:
        self.post_base = self.next_ids[Post._meta.db_table]
        ids = int_texts(self.post_base + np.arange(self.n_posts))
        authors = int_texts(self.user_base + self.post_author)
        created = timestamp_texts(self.post_created)
        edited = timestamp_texts(np.maximum(self.post_edited, 0))
        began = time.perf_counter()
        bodies_html = _render_all(self.bodies, known_assets=set(self.asset_symbols))
        self._stage(f"{self.n_posts:,} post bodies rendered", began)
        english, chinese, published = (
            Post.Language.ENGLISH.value,
            Post.Language.CHINESE.value,
            Post.Status.PUBLISHED.value,
        )
        rows = [
            f"{ids[i]},{authors[i]},{POST_TYPES[self.post_type[i]]},{csv_quoted(self.bodies[i])},"
            f"{csv_quoted(bodies_html[i])},{chinese if self.post_zh[i] else english},{published},{created[i]},"
            f"{edited[i] if self.post_edited[i] >= 0 else ''},"
            for i in range(self.n_posts)
        ]
        writer.copy(
            Post._meta.db_table,
            [
                "id", "author_id", "content_type", "body", "body_html", "language", "status", "created_at",
                "edited_at", "deleted_at",
            ],
            csv_lines(rows),
        )  # fmt: skip
        for through, column, pairs in (
            (Post.assets.through, "asset_id", self.post_asset_pairs),
            (Post.hashtags.through, "hashtag_id", self.post_hashtag_pairs),
        ):
            table = through._meta.db_table
            first = self.next_ids[table]
            rows = [f"{first + k},{self.post_base + post},{other}" for k, (post, other) in enumerate(pairs)]
            writer.copy(table, ["id", "post_id", column], csv_lines(rows))


def _render_chunk(args: tuple[list[str], set[str]]) -> list[str]:
    bodies, known_assets = args
    return [markdown.render(body, known_assets=known_assets).html for body in bodies]


def _render_all(bodies: list[str], *, known_assets: set[str]) -> list[str]:
    """Markdown to sanitized HTML for every body (~0.2 ms each), on every core for large seeds."""
    if len(bodies) < 20_000:
        return _render_chunk((bodies, known_assets))
    step = 5_000
    chunks = [(bodies[i : i + step], known_assets) for i in range(0, len(bodies), step)]
    # fork: the children inherit Django's loaded settings and URLs; they touch no database.
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        return [html for chunk in pool.map(_render_chunk, chunks) for html in chunk]


def quoted_price(value: float) -> str:
    """A price as posts write it: whole dollars from 1,000, cents from 1, then four or eight places."""
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    if value >= 0.01:
        return f"{value:.4f}"
    return f"{value:.8f}".rstrip("0")
