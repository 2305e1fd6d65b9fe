"""People: generated accounts with their profiles and trading profiles, the fixed `demo` and
`operator` accounts, and the follow graph in which a few creators have most of the followers.

PeopleGenerator sets, per generated user (index 0..users-1): when they joined, whether they are a
creator, a sign-up burst account or Chinese-speaking, how much they read (activity), their KYC level,
volume tier, traded assets and instruments, whether their exchange account is linked, and the
follows (follow_follower, follow_followee, follow_at, follow_recent, follower_counts).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from fractions import Fraction

import numpy as np

from creators.models import Follow, Profile, User
from creators.names import username_skeleton
from demo import sampling
from demo.copy_writer import CopyWriter, csv_lines, csv_quoted, int_texts, timestamp_text, timestamp_texts
from demo.parameters import DAY, DEMO_USERNAME, HOUR, MINUTE, OPERATOR_USERNAME
from demo.sampling import GeneratorBase, device_fingerprint, weighted_draw, zipf_weights
from demo.tables import (
    BIOS,
    BURST_PREFIXES,
    EN_FIRST_NAMES,
    EN_HANDLE_SUFFIXES,
    EN_HANDLE_WORDS,
    EN_LAST_NAMES,
    ZH_HANDLE_SUFFIXES,
    ZH_HANDLE_WORDS,
    ZH_NAME_NOUNS,
    ZH_NAME_PREFIXES,
)
from markets.market_data import DOLLARS
from markets.models import TradingProfile

# Trading profiles' instruments, as plain strings (the seed writes them into CSV).
SPOT, PERPETUAL, OPTIONS, EARN = (instrument.value for instrument in TradingProfile.Instrument)


class PeopleGenerator(GeneratorBase):
    """Accounts, profiles, trading profiles and follows (a part of DemoGenerator)."""

    def _generate_users(self) -> None:
        rng = self._rng("users")
        rand = self._rand("users")
        n, n_burst = self.n_users, self.n_burst
        anchor = self.anchor_ms

        # Sign-ups grow over two years (more recent ones are more common); the burst is one hour.
        ages = (730 * DAY * rng.random(n - n_burst) ** 1.6).astype(np.int64)
        organic_joined = anchor - np.maximum(ages, 2 * HOUR)
        self.burst_start_ms = anchor - int(rng.integers(2 * DAY, 5 * DAY)) // MINUTE * MINUTE
        burst_joined = self.burst_start_ms + np.sort(rng.integers(0, 55 * MINUTE, size=n_burst))
        joined = np.concatenate([organic_joined, burst_joined])
        is_burst = np.concatenate([np.zeros(n - n_burst, bool), np.ones(n_burst, bool)])
        # Ids follow sign-up order, as they would in production.
        order = np.argsort(joined, kind="stable")
        self.joined = joined[order]
        self.is_burst = is_burst[order]
        self.is_zh = rng.random(n) < 0.3

        organic = ~self.is_burst
        eligible = np.flatnonzero(organic & (self.joined < anchor - 60 * DAY))
        n_creators = max(min(24, n - n_burst), round(0.07 * n))
        if len(eligible) < n_creators:
            eligible = np.flatnonzero(organic)
        n_creators = min(n_creators, len(eligible))
        self.creators = rng.choice(eligible, size=n_creators, replace=False)  # in rank order: [0] is the biggest
        self.is_creator = np.zeros(n, bool)
        self.is_creator[self.creators] = True

        # How much each reader reads; the burst accounts only ever do their planted job.
        self.activity = rng.lognormal(0.0, 1.0, size=n) * np.where(self.is_creator, 1.5, 1.0)
        self.activity[self.is_burst] = 0.0
        lurkers = rng.random(n) < 0.12
        self.activity[lurkers & organic] *= 0.05

        self.usernames = self._usernames(rand)
        self.fingerprints = [device_fingerprint(self.seed, username) for username in self.usernames]
        burst_indices = np.flatnonzero(self.is_burst)
        self.burst_fingerprints = [device_fingerprint(self.seed, f"burst-device-{k}") for k in range(5)]
        for index in burst_indices:
            if rand.random() < 0.75:
                self.fingerprints[index] = rand.choice(self.burst_fingerprints)
        self.report.planted.burst_accounts = [self.usernames[i] for i in burst_indices]
        self.report.planted.burst_fingerprints = sorted(
            {self.fingerprints[i] for i in burst_indices} & set(self.burst_fingerprints)
        )
        if n_burst:
            self.report.planted.burst_joined_from = datetime.fromtimestamp(self.burst_start_ms / 1000, UTC)

        self._generate_trading(rng)
        self.last_login = np.where(
            rng.random(n) < 0.8,
            np.maximum(anchor - rng.exponential(3 * DAY, size=n).astype(np.int64), self.joined + MINUTE),
            -1,
        )
        self.last_login[self.is_burst] = self.joined[self.is_burst] + rng.integers(MINUTE, 50 * MINUTE, size=n_burst)
        self.last_login = np.minimum(self.last_login, anchor - MINUTE)

        fixed = {}
        existing = set(
            User.objects.filter(username__in=[DEMO_USERNAME, OPERATOR_USERNAME]).values_list("username", flat=True)
        )
        self.create_fixed = not existing
        if existing:
            self.say(f"  fixed accounts exist ({', '.join(sorted(existing))}); not creating them again")
        self.report.fixed_accounts_created = self.create_fixed
        first_id = self.next_ids[User._meta.db_table]
        if self.create_fixed:
            fixed = {DEMO_USERNAME: first_id, OPERATOR_USERNAME: first_id + 1}
        self.fixed_ids = fixed
        self.user_base = first_id + len(fixed)
        self.demo_linked = False  # set when the fixed accounts are written

    def _usernames(self, rand: random.Random) -> list[str]:
        taken = set(User.objects.values_list("username", flat=True)) if User.objects.exists() else set()
        taken |= {DEMO_USERNAME, OPERATOR_USERNAME}
        # Look-alikes (creators/names.py) would break the unique skeleton: they count as taken too.
        taken_skeletons = {username_skeleton(name) for name in taken}
        names = []
        self.handle_words: list[tuple[str, str] | None] = []  # English handles' words, for display names
        for index in range(self.n_users):
            words = None
            if self.is_burst[index]:
                name = f"{rand.choice(BURST_PREFIXES)}_{rand.randint(1000, 9999)}"
            elif self.is_zh[index]:
                name = rand.choice(ZH_HANDLE_WORDS) + rand.choice(ZH_HANDLE_SUFFIXES)
                if rand.random() < 0.5:
                    name += str(rand.randint(1, 999))
            else:
                word, suffix = rand.choice(EN_HANDLE_WORDS), rand.choice(EN_HANDLE_SUFFIXES)
                words = (word, suffix)
                style = rand.random()
                if style < 0.4:
                    name = word + suffix
                elif style < 0.6:
                    name = f"{word}_{suffix.lstrip('_')}"
                elif style < 0.75:
                    name = rand.choice(["btc", "eth", "sol", "0x", "gm"]) + "_" + word
                else:
                    name = word + suffix + str(rand.randint(1, 9999))
            base = name
            while name in taken or username_skeleton(name) in taken_skeletons:
                name = (
                    f"{base}{rand.randint(2, 99_999)}"
                    if not self.is_burst[index]
                    else (f"{base.rsplit('_', 1)[0]}_{rand.randint(1000, 9999)}")
                )
            taken.add(name)
            taken_skeletons.add(username_skeleton(name))
            names.append(name)
            self.handle_words.append(words)
        return names

    def _generate_trading(self, rng: np.random.Generator) -> None:
        n, anchor = self.n_users, self.anchor_ms
        self.kyc = rng.choice(4, size=n, p=[0.12, 0.25, 0.45, 0.18])
        tier = rng.choice(5, size=n, p=[0.22, 0.30, 0.27, 0.16, 0.05])
        tier = np.where(self.kyc == 0, np.minimum(tier, 1), tier)  # unverified accounts trade little
        tier = np.where(self.is_creator, np.maximum(tier, 1), tier)
        self.kyc[self.is_burst] = 0
        tier[self.is_burst] = 0
        self.tier = tier
        low = np.array([0, 200, 5_000, 50_000, 1_000_000], dtype=np.float64)
        high = np.array([0, 5_000, 50_000, 1_000_000, 40_000_000], dtype=np.float64)
        log_volume = rng.uniform(sampling.log(np.maximum(low[tier], 1)), sampling.log(np.maximum(high[tier], 1)))
        self.volume_cents = np.where(tier > 0, (sampling.exp(log_volume) * 100).astype(np.int64), 0)
        trades_mean = np.array([0, 6, 30, 120, 600])[tier]
        self.trades = np.where(tier > 0, rng.poisson(trades_mean) + 1, 0)
        # The exchange account usually predates joining Orbit, the exchange's community.
        self.account_opened = self.joined - rng.integers(0, 4 * 365 * DAY, size=n)
        self.account_opened[self.is_burst] = self.joined[self.is_burst] + rng.integers(0, 5 * MINUTE, size=self.n_burst)
        last_trade = anchor - rng.exponential(np.array([1, 6, 3, 1, 0.5])[tier] * DAY).astype(np.int64)
        self.last_trade = np.where(tier > 0, np.maximum(last_trade, self.account_opened + HOUR), -1)
        self.is_frozen = (rng.random(n) < 0.005) & ~self.is_creator & ~self.is_burst

        # Most traded first: a weighted draw without replacement, BTC/ETH/SOL far ahead.
        rand = self._rand("trading")
        tradable = [i for i, symbol in enumerate(self.asset_symbols) if symbol not in DOLLARS]
        weights = [self.asset_weights[i] for i in tradable]
        self.traded_assets = []
        self.instruments = []
        for index in range(n):
            if tier[index] == 0:
                self.traded_assets.append([])
                self.instruments.append([EARN] if rand.random() < 0.15 and not self.is_burst[index] else [])
                continue
            count = min(len(tradable), 1 + int(rand.expovariate(1 / (1 + tier[index]))))
            picked = []
            while len(picked) < count:
                symbol = self.asset_symbols[rand.choices(tradable, weights)[0]]
                if symbol not in picked:
                    picked.append(symbol)
            self.traded_assets.append(picked)
            kinds = [SPOT]
            if rand.random() < 0.25 + 0.15 * tier[index]:
                kinds.append(PERPETUAL)
            if rand.random() < 0.04 * tier[index] ** 1.5:
                kinds.append(OPTIONS)
            if rand.random() < 0.3:
                kinds.append(EARN)
            self.instruments.append(kinds)

    def _profile_text(self, rand: random.Random, index: int) -> tuple[str, str]:
        """(display name, bio)"""
        if self.is_burst[index]:
            return "", ""
        language = "zh" if self.is_zh[index] else "en"
        if language == "zh":
            name = rand.choice(ZH_NAME_PREFIXES) + rand.choice(ZH_NAME_NOUNS)
        elif rand.random() < 0.5:
            name = f"{rand.choice(EN_FIRST_NAMES)} {rand.choice(EN_LAST_NAMES)}"
        elif self.handle_words[index]:
            word, suffix = self.handle_words[index]
            name = f"{word.title()} {suffix.strip('_').upper() if suffix.startswith('_') else suffix.title()}"
        else:
            name = self.usernames[index]
        if not self.is_creator[index] and rand.random() < 0.5:
            return name, ""
        symbol = rand.choice(["BTC", "ETH", "SOL", "DOGE", "LINK", "SUI"])
        bio = rand.choice(BIOS[language]).format(year=rand.randint(2016, 2023), a=symbol)
        return name, bio

    def _write_users(self, writer: CopyWriter) -> None:
        anchor = self.anchor_ms
        n = self.n_users
        ids = self.user_base + np.arange(n)
        rand = self._rand("profiles")
        joined = timestamp_texts(self.joined)
        last_login = timestamp_texts(np.maximum(self.last_login, 0))
        now = timestamp_text(anchor)
        password = csv_quoted(self.password_hash)

        user_rows, profile_rows, trading_rows = [], [], []
        if self.create_fixed:
            self._fixed_account_rows(user_rows, profile_rows, trading_rows, password, now)
        for index in range(n):
            user_id = int(ids[index])
            username = self.usernames[index]
            user_rows.append(
                f"{user_id},{password},{last_login[index] if self.last_login[index] >= 0 else ''},f,"
                f'{csv_quoted(username)},"","",{csv_quoted(username + "@example.org")},f,t,{joined[index]},,'
                f"{csv_quoted(username_skeleton(username))}"
            )
            display_name, bio = self._profile_text(rand, index)
            language = (Profile.Language.CHINESE if self.is_zh[index] else Profile.Language.ENGLISH).value
            profile_rows.append(f'{user_id},{csv_quoted(display_name)},{csv_quoted(bio)},"",{language},{now}')
        opened = timestamp_texts(self.account_opened)
        last_trade = timestamp_texts(np.maximum(self.last_trade, 0))
        exchange_uids = self._exchange_uids(ids)
        # Only accounts linked to the exchange, and not frozen there, have fills.
        self.linked = np.array([bool(uid) for uid in exchange_uids], dtype=bool) & ~self.is_frozen
        joined_text = timestamp_texts(self.joined)
        for index in range(n):
            cents = int(self.volume_cents[index])
            trading_rows.append(
                f"{int(ids[index])},{exchange_uids[index]},{int(self.kyc[index])},{int(self.tier[index])},"
                f'"{{{",".join(self.traded_assets[index])}}}","{{{",".join(self.instruments[index])}}}",'
                f"{cents // 100}.{cents % 100:02d},{int(self.trades[index])},{opened[index]},"
                f"{last_trade[index] if self.last_trade[index] >= 0 else ''},"
                f"{'t' if self.is_frozen[index] else 'f'},{now},"
                f"{csv_quoted(_volume_by_asset(self.traded_assets[index], cents))},"
                f"{joined_text[index] if exchange_uids[index] else ''}"
            )
        writer.copy(
            User._meta.db_table,
            [
                "id",
                "password",
                "last_login",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
                "suspended_at",
                "username_skeleton",
            ],
            csv_lines(user_rows),
        )
        writer.copy(
            Profile._meta.db_table,
            ["user_id", "display_name", "bio", "avatar", "language", "updated_at"],
            csv_lines(profile_rows),
        )
        writer.copy(
            TradingProfile._meta.db_table,
            [
                "user_id",
                "exchange_uid",
                "kyc_level",
                "volume_tier",
                "traded_assets",
                "instruments",
                "volume_30d_usd",
                "trades_30d",
                "account_opened_at",
                "last_trade_at",
                "is_frozen",
                "updated_at",
                "volume_by_asset",
                "linked_at",
            ],
            csv_lines(trading_rows),
        )

    def _exchange_uids(self, ids: np.ndarray) -> list[str]:
        # A bijection of the user id (48271 is prime and does not divide 9e9), so generated uids never
        # collide with each other; a clash with a uid from elsewhere leaves that profile unlinked.
        uids = [str((int(user_id) * 48271 + 1_000_003) % 9_000_000_000 + 1_000_000_000) for user_id in ids]
        clashing = set(TradingProfile.objects.filter(exchange_uid__in=uids).values_list("exchange_uid", flat=True))
        return ["" if uid in clashing else uid for uid in uids]

    def _fixed_account_rows(self, user_rows, profile_rows, trading_rows, password, now) -> None:
        anchor = self.anchor_ms
        demo_id, operator_id = self.fixed_ids[DEMO_USERNAME], self.fixed_ids[OPERATOR_USERNAME]
        demo_joined, operator_joined = timestamp_text(anchor - 400 * DAY), timestamp_text(anchor - 700 * DAY)
        user_rows.append(
            f'{demo_id},{password},{timestamp_text(anchor - 2 * HOUR)},f,demo,"","",demo@example.org,f,t,'
            f"{demo_joined},,"
            f"{csv_quoted(username_skeleton(DEMO_USERNAME))}"
        )
        user_rows.append(
            f'{operator_id},{password},{timestamp_text(anchor - 5 * HOUR)},t,operator,"","",'
            f"operator@example.org,t,t,{operator_joined},,{csv_quoted(username_skeleton(OPERATOR_USERNAME))}"
        )
        profile_rows.append(
            f'{demo_id},"Demo Trader",{csv_quoted("The demo reader: spot and perps, BTC/ETH/SOL.")},"",en,{now}'
        )
        profile_rows.append(
            f'{operator_id},"Orbit Operator",{csv_quoted("Staff account for moderation and payouts.")},"",en,{now}'
        )
        demo_uid, operator_uid = self._exchange_uids(np.array([demo_id, operator_id]))
        self.demo_linked = bool(demo_uid)
        trading_rows.append(
            f'{demo_id},{demo_uid},2,3,"{{BTC,ETH,SOL}}","{{spot,perpetual,earn}}",184250.00,46,'
            f"{timestamp_text(anchor - 900 * DAY)},{timestamp_text(anchor - 7 * HOUR)},f,{now},"
            f"{csv_quoted(_volume_by_asset(['BTC', 'ETH', 'SOL'], 18_425_000))},{demo_joined if demo_uid else ''}"
        )
        trading_rows.append(
            f'{operator_id},{operator_uid},3,0,"{{}}","{{}}",0.00,0,{timestamp_text(anchor - 800 * DAY)},,f,{now},'
            f'"{{}}",{operator_joined if operator_uid else ""}'
        )

    def _generate_follows(self) -> None:
        rng = self._rng("follows")
        n, anchor, window = self.n_users, self.anchor_ms, self.window_start_ms
        organic = np.flatnonzero(~self.is_burst)
        target = n * min(10, max(2, len(self.creators) // 2))
        # Followers in proportion to how much they read; followees mostly creators, by rank (Zipf).
        follower = organic[weighted_draw(rng, self.activity[organic] + 0.05, target)]
        followee = self.creators[weighted_draw(rng, zipf_weights(len(self.creators), 0.9), target)]
        # Most people follow creators who write in their language.
        same_language = rng.random(target) < 0.8
        for zh in (False, True):
            members = self._creators_speaking(zh)
            chosen = same_language & (self.is_zh[follower] == zh)
            followee[chosen] = members[weighted_draw(rng, zipf_weights(len(members), 0.9), int(chosen.sum()))]
        not_creator = rng.random(target) < 0.15
        followee[not_creator] = organic[rng.integers(0, len(organic), size=int(not_creator.sum()))]
        ring = np.array(self.ring, dtype=np.int64)
        follower = np.concatenate([follower, np.repeat(ring, len(ring))])
        followee = np.concatenate([followee, np.tile(ring, len(ring))])
        keep = follower != followee
        pairs = np.unique(follower[keep] * n + followee[keep])
        pairs = pairs[rng.permutation(len(pairs))]
        follower, followee = pairs // n, pairs % n

        # Follows made in the last two weeks appear in the log too; older ones predate it.
        earliest = np.maximum(self.joined[follower], self.joined[followee]) + HOUR
        must_be_recent = earliest >= window
        in_ring = np.isin(follower, ring) & np.isin(followee, ring)
        budget = self.budget_follow_events
        recent = np.zeros(len(pairs), bool)
        forced = np.flatnonzero(must_be_recent & ~in_ring)[:budget]
        recent[forced] = True
        optional = np.flatnonzero(~must_be_recent & ~in_ring)
        extra = min(max(0, round(0.12 * len(pairs)) - len(forced)), budget - len(forced), len(optional))
        recent[optional[:extra]] = True
        keep = recent | ~must_be_recent
        follower, followee, earliest, recent = follower[keep], followee[keep], earliest[keep], recent[keep]
        span_old = np.maximum(window - earliest, 1)
        old_at = earliest + (rng.random(len(follower)) * span_old).astype(np.int64)
        recent_from = np.maximum(earliest, window)
        recent_at = recent_from + (rng.random(len(follower)) * np.maximum(anchor - MINUTE - recent_from, 1)).astype(
            np.int64
        )
        self.follow_follower = follower
        self.follow_followee = followee
        self.follow_at = np.where(recent, recent_at, old_at)
        self.follow_recent = recent
        self.follower_counts = np.bincount(followee, minlength=n)

    def _write_follows(self, writer: CopyWriter) -> None:
        # The burst's follows of the beneficiary are written with the engagement, which decides them.
        self.follow_base = self.next_ids[Follow._meta.db_table]
        rows = []
        next_id = self.follow_base
        if self.create_fixed:
            rand = self._rand("demo-follows")
            english = [int(c) for c in self._creators_speaking(False)]
            top, rest = english[:8], english[8:]
            others = rand.sample(rest, k=min(4, len(rest)))
            demo_id = self.fixed_ids[DEMO_USERNAME]
            for followee in top + others:
                # Some time after both accounts existed, before the log's two weeks.
                since = int(max(self.joined[followee], self.anchor_ms - 400 * DAY)) + DAY
                at = timestamp_text(since + int(rand.random() * max(self.window_start_ms - since, 1)))
                rows.append(f"{next_id},{demo_id},{self.user_base + followee},{at}")
                next_id += 1
        follower_ids = int_texts(self.user_base + self.follow_follower)
        followee_ids = int_texts(self.user_base + self.follow_followee)
        at = timestamp_texts(self.follow_at)
        rows.extend(f"{next_id + k},{follower_ids[k]},{followee_ids[k]},{at[k]}" for k in range(len(at)))
        self.follow_next_id = next_id + len(at)
        self.follow_rows = rows


def _volume_by_asset(symbols: list[str], cents: int) -> str:
    """A profile's 30-day volume split over its traded assets, most traded first (shares 1, 1/2, 1/3…),
    as the JSON the exchange sync writes: {"BTC": "1234.56", …}, summing exactly to the volume."""
    if not symbols or not cents:
        return "{}"
    weights = [Fraction(1, rank + 1) for rank in range(len(symbols))]
    parts = [int(cents * weight / sum(weights)) for weight in weights]
    parts[0] += cents - sum(parts)  # the rounding remainder stays with the largest
    return json.dumps({symbol: f"{part // 100}.{part % 100:02d}" for symbol, part in zip(symbols, parts, strict=True)})
