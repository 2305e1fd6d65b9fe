"""Deterministic demo data for Orbit: readers, creators, posts and two weeks of engagement.

`seed_demo_data` generates everything from `random.Random` and `numpy.random.default_rng`
streams derived from the seed, with every timestamp relative to the anchor, and writes it with
PostgreSQL COPY inside one transaction. The same seed, anchor and sizes on the same database
state give the same rows. Ids continue after the largest id of each table, so seeding a database
that already holds data appends to it (clashing usernames get a numeric suffix).

What is written, besides `users` generated accounts, `posts` posts and exactly `events`
engagement rows:

* the fixed accounts `demo` (a reader: KYC 2, active BTC/ETH/SOL trader, follows a dozen
  creators) and `operator` (staff and superuser), unless an account of that name exists;
* a Profile and a TradingProfile for every account, and a follow graph in which a few creators
  have most of the followers;
* the current-state rows that match the log: one Like per like event, one Comment per comment
  event, one Share per share event, one Report per report event, and a follow event for each
  follow created in the last two weeks;
* exchange data, so that prices, verified trade cards, graded calls, the Performance tab and
  disclosures work offline: hourly candles of every listed asset over the posts' whole span (a
  random walk ending at the asset's reference price at the anchor; bars already stored are kept
  and priced from), trade cards on trade_share posts (about 70% backed by the author's fills 1 to
  24 hours before the post, the rest with no matching fill), calls on about 10% of analysis and
  trade_share posts, and fills of linked accounts: the everyday trading of most creators and of
  `demo`, the fills behind the cards, and trades of assets their posts name within a few days.
  The seed then verifies the cards and grades the due calls with feed.verification and
  feed.calls, and rebuilds the trading profiles of accounts with fills from them
  (creators.exchange.refresh_trading_profiles), all as of the anchor.

Organic engagement follows interests, so that a ranker can be evaluated on it: readers mostly open
posts of people they follow and posts about assets they trade, filtered by a taste over content
types that each reader keeps for the whole two weeks (beginners lean to education), and a post's
quality and its author's reach make it more likely to be read. Likes, comments, shares, trade
clicks and long dwell follow views in proportion to quality times the same affinity (see
VIEW_CHANNELS and the constants after it).

Planted cheating, about 2-5% of the engagement rows (a little more in very small seeds), for
anti-abuse detectors to find. It is chosen from the seed alone; `SeedReport.planted` and the
command's output name the accounts.

* Self-engagement: a few creators (3% of creators, at least 2) view and like their own posts
  a few minutes after publishing them (rows where actor == creator, kinds VIEW and LIKE).
  Organic engagement never has actor == creator.
* Like ring: 6 mid-sized creators who all follow each other and, minutes after one of them
  posts, view, dwell on (1 to 5 minutes), like and often comment ("🔥", "大佬牛逼") on each
  other's posts. Their usernames look organic; the dense mutual like graph gives them away.
* Sign-up burst: 40 accounts (fewer below 200 users or 4,000 events) that joined within one
  hour 2 to 5 days before the anchor, named `<moonbag|gemhunter|airdropfan|luckycoin|x100gem>_NNNN`
  (4 digits), with no bio, KYC 0, volume tier 0, no trades and no traded assets. About three in
  four of them share one of 5 device fingerprints. Within 15 minutes, an hour or more after
  joining, they follow one small creator (the beneficiary) and view and like the 1 to 4
  new_asset posts that creator published in the day before.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, OuterRef, Subquery, Value, When

from creators.exchange import refresh_trading_profiles
from creators.models import Fill, Follow, Profile, TradingProfile, User
from creators.names import username_skeleton
from feed import markdown
from feed.calls import grade_due_calls
from feed.counters import recount_posts
from feed.models import (
    Asset,
    Call,
    Candle,
    Comment,
    Engagement,
    Hashtag,
    Like,
    Post,
    PostType,
    Report,
    Share,
    TradeCard,
)
from feed.verification import verify_trade_card

DEFAULT_DEMO_PASSWORD = "orbit-demo-2026"  # noqa: S105 - the documented password of a local demo
DEMO_USERNAME = "demo"
OPERATOR_USERNAME = "operator"

# Posts span 16 days before the anchor (a few are older); the engagement log spans 14.
POST_DAYS = 16
OLD_POST_DAYS = 45
ENGAGEMENT_DAYS = 14

MS = 1
SECOND = 1000 * MS
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# Rows per COPY statement: bounds the size of the CSV text held in memory at once.
COPY_CHUNK_ROWS = 200_000

Kind = Engagement.Kind

# (symbol, name, reference price in USD, how often people trade and talk about it)
ASSETS = [
    ("BTC", "Bitcoin", 96_000.0, 30.0),
    ("ETH", "Ethereum", 3_400.0, 20.0),
    ("SOL", "Solana", 180.0, 12.0),
    ("BNB", "BNB", 650.0, 4.0),
    ("XRP", "XRP", 2.3, 4.0),
    ("DOGE", "Dogecoin", 0.32, 4.0),
    ("PEPE", "Pepe", 0.000018, 3.0),
    ("LINK", "Chainlink", 22.0, 2.5),
    ("SUI", "Sui", 3.8, 2.5),
    ("TON", "Toncoin", 5.4, 2.0),
    ("ADA", "Cardano", 0.9, 2.0),
    ("AVAX", "Avalanche", 38.0, 2.0),
    ("WIF", "dogwifhat", 2.4, 2.0),
    ("ARB", "Arbitrum", 0.8, 1.5),
    ("OP", "Optimism", 1.9, 1.2),
    ("BONK", "Bonk", 0.000032, 1.2),
    ("APT", "Aptos", 9.5, 1.0),
    ("TRX", "TRON", 0.25, 1.0),
    ("DOT", "Polkadot", 7.2, 1.0),
    ("LTC", "Litecoin", 105.0, 1.0),
    ("NEAR", "NEAR Protocol", 5.6, 1.0),
    ("UNI", "Uniswap", 13.0, 1.0),
    ("AAVE", "Aave", 320.0, 1.0),
    ("ENA", "Ethena", 0.95, 1.0),
    ("ONDO", "Ondo", 1.4, 1.0),
    ("ATOM", "Cosmos", 6.8, 0.8),
    ("INJ", "Injective", 24.0, 0.8),
    ("FET", "Fetch.ai", 1.3, 0.8),
    ("TIA", "Celestia", 5.2, 0.7),
    ("SEI", "Sei", 0.45, 0.7),
    ("RENDER", "Render", 7.5, 0.7),
    ("USDT", "Tether", 1.0, 0.5),
]
STABLECOINS = {"USDT"}

POST_TYPES = ["trade_share", "analysis", "education", "new_asset", "news", "chat"]
POST_TYPE_SHARES = [0.18, 0.22, 0.10, 0.08, 0.14, 0.28]
# How long people stay on a post of each type, relative to the median dwell.
DWELL_FACTOR = {"trade_share": 0.9, "analysis": 1.6, "education": 1.8, "new_asset": 1.1, "news": 0.8, "chat": 0.5}
# How likely a reader of each type clicks through to trade.
TRADE_CLICK_FACTOR = {"trade_share": 3.0, "analysis": 2.0, "education": 0.5, "new_asset": 3.0, "news": 1.0, "chat": 0.3}

# Why a reader opens a post (see _DemoGenerator._views): a post of someone they follow, a post about an
# asset they trade, or anything else; readers who follow nobody who posts, or trade nothing, read the rest.
VIEW_CHANNELS = {"following": 0.40, "assets": 0.30, "anything": 0.30}
# A reader's taste in content types is a Dirichlet draw around these interests (lower concentration
# means more pronounced tastes): beginners (volume tier 0 or 1) lean to education, active traders
# (tier 3 and up) to trades, analysis and new assets.
TASTE_CONCENTRATION = 0.8
BEGINNER_INTERESTS = {"education": 4.0}
ACTIVE_TRADER_INTERESTS = {"trade_share": 2.0, "analysis": 2.0, "new_asset": 1.5}
# A reader opens a post of a type they like less than their favourite with probability
# TASTE_FLOOR + (1 - TASTE_FLOOR) * (liking of the type / liking of the favourite).
TASTE_FLOOR = 0.1
# What a view leads to (likes, comments, shares, trade clicks, long dwell) grows with the reader's
# affinity for the post: their relative liking of its type (plus a floor), times 1 + FOLLOW_AFFINITY when
# they follow the author, times 1 + ASSET_AFFINITY per traded asset it mentions (up to two).
AFFINITY_TASTE_FLOOR = 0.25
FOLLOW_AFFINITY = 2.0
ASSET_AFFINITY = 1.5

CASHTAG_RE = re.compile(r"\$([A-Z][A-Z0-9]{1,19})\b")
HASHTAG_RE = re.compile(r"#(\w+)")

# --- Text --------------------------------------------------------------------------------------
# Placeholders: {a} {b} symbols, {A} name of a, {p} price of a, {s1} support, {r1} resistance,
# {tp} target, {sl} stop, {pct} {pnl} {apr} percentages, {lev} leverage, {tf} timeframe,
# {days} {n} small integers, {amt} millions of USD, {amt_yi} hundreds of millions of USD.

TEMPLATES = {
    ("trade_share", "en"): [
        "Closed my ${a} long at {tp} for **+{pnl}%**.\n\nEntry {p}, stop was {sl}. "
        "Took half off at the first target and let the rest ride.",
        "**Trade recap: ${a} {tf}**\n- Entry: {p}\n- Stop: {sl}\n- Target: {tp}\n- Leverage: {lev}x\n\n"
        "Risking 1% of the account on this one.",
        "Opened a small ${a} short here. Funding is hot and price keeps failing at {r1}. "
        "Stop above {sl}, no hero trades.",
        "Spot bag update: added more ${a} under {s1}, still holding ${b}. "
        "Averaging in, not trying to catch the exact bottom.",
        "Took a loss on ${a} today (-{pct}%). Stop got hit at {sl} right before the move I wanted. "
        "Position size kept it small.",
        "Grid bot on ${a}/USDT between {s1} and {r1} made **{pct}%** this week while price went nowhere. "
        "Boring, but it works.",
        "Scaled out of ${a}: 30% at {r1}, 30% at {tp}, runner with the stop at breakeven. "
        "Up **{pnl}%** on the position.",
        "Longed the ${a} reclaim of {s1} on the {tf}. Invalidation is a close back below, target {tp}.",
        "Rotated some ${b} profits into ${a}. Thesis: relative strength on the {tf} and spot volume picking up.",
        "My ${a} perp is up **{pnl}%** and the stop sits at {s1}, so the worst case is a small win. "
        "Sleeping well tonight.",
        "First trade of the week: ${a} breakout above {r1}, {lev}x, stop {sl}. Let's see if it holds.",
        "Honest PnL post: {n} trades this week, 60% win rate, net **+{pct}%**. "
        "Biggest winner ${a}, biggest loser ${b}.",
    ],
    ("trade_share", "zh"): [
        "${a} 多单在 {tp} 止盈了，收益 **+{pnl}%**。\n\n入场 {p}，止损设在 {sl}。第一目标先出一半，剩下的让利润奔跑。",
        "**交易复盘：${a} {tf}**\n- 入场：{p}\n- 止损：{sl}\n- 目标：{tp}\n- 杠杆：{lev}x\n\n"
        "这一单只用账户 1% 的风险。",
        "在这里开了一点 ${a} 空单。资金费率偏高，价格在 {r1} 连续受阻。止损放在 {sl} 上方，不硬扛。",
        "现货仓位更新：{s1} 下方又补了一些 ${a}，${b} 继续拿着。分批建仓，不去猜最低点。",
        "今天 ${a} 止损了（-{pct}%），在 {sl} 被扫掉之后才走出我想要的行情。好在仓位控制得好，亏得不多。",
        "${a}/USDT 网格这周在 {s1} 到 {r1} 之间跑出了 **{pct}%**，横盘行情反而是网格的天下。",
        "${a} 分批止盈：{r1} 出 30%，{tp} 再出 30%，剩下的止损提到成本价。整体浮盈 **{pnl}%**。",
        "{tf} 级别 ${a} 重新站上 {s1}，开多。收盘跌回去就认错，目标 {tp}。",
        "把 ${b} 的一部分利润换成了 ${a}，理由是 {tf} 上相对强势，现货成交量也在放大。",
        "${a} 合约浮盈 **{pnl}%**，止损已经移到 {s1}，最坏也是小赚。今晚可以安心睡觉了。",
        "本周第一单：${a} 突破 {r1}，{lev} 倍，止损 {sl}。看看能不能站稳。",
        "老实晒一下本周战绩：{n} 笔交易，胜率六成，净收益 **+{pct}%**。赚最多的是 ${a}，亏最多的是 ${b}。",
    ],
    ("analysis", "en"): [
        "**${a} {tf} outlook**\n\nPrice is holding {s1} support. A clean break of {r1} opens the way to {tp}; "
        "losing {s1} puts {sl} back in play.",
        "${a} funding turned negative while open interest climbed {pct}%. Shorts are crowded; "
        "a squeeze toward {r1} would not surprise me.",
        "The weekly close matters for ${a}: above {r1} the range breaks up, below {s1} we keep chopping.",
        "The ${a}/${b} ratio is at a multi-month extreme. Mean-reversion traders, this is your chart.",
        "On-chain: exchange balances of ${a} dropped another {pct}% this month. "
        "Coins leaving exchanges usually means holders, not sellers.",
        "Three things I'm watching on ${a}:\n1. {s1} as support\n2. The {tf} 200 EMA near {r1}\n3. ETF flows this week",
        "${a} is printing a higher low on the {tf}. RSI reset without price breaking down; that is strength.",
        "Liquidity map for ${a}: big liquidation clusters sit around {s1} and {r1}. "
        "Price tends to visit both before choosing a direction.",
        "Volume profile says {p} is fair value for ${a}. Acceptance above {r1} would shift the value area up.",
        "Macro week ahead: CPI on Wednesday, FOMC minutes on Thursday. Expect ${a} volatility around both; "
        "I keep leverage low.",
        "${a} dominance keeps rising. Until it rolls over, altseason calls are early, ${b} included.",
        "Bear case for ${a}: momentum divergence on the {tf} and falling spot volume. "
        "Bull case: {s1} has held three times. Watching which breaks first.",
    ],
    ("analysis", "zh"): [
        "**${a} {tf} 行情展望**\n\n价格守住了 {s1} 支撑。有效突破 {r1} 可以看 {tp}；跌破 {s1} 则可能回踩 {sl}。",
        "${a} 资金费率转负，持仓量却上升了 {pct}%。空头过于拥挤，向 {r1} 轧空并不意外。",
        "${a} 这根周线收盘很关键：站上 {r1} 区间向上突破，跌破 {s1} 继续震荡。",
        "${a}/${b} 汇率来到几个月来的极值，做均值回归的朋友可以关注一下。",
        "链上数据：${a} 交易所余额本月又减少了 {pct}%。币从交易所流出，通常意味着长期持有而不是抛售。",
        "${a} 接下来我关注三点：\n1. {s1} 的支撑\n2. {tf} 级别 200 均线附近的 {r1}\n3. 本周 ETF 资金流向",
        "${a} 在 {tf} 上走出了更高的低点，RSI 回落但价格没破位，这是强势的表现。",
        "${a} 清算地图：{s1} 和 {r1} 附近都堆着大量清算单，价格往往先把两边都扫一遍再选方向。",
        "成交量分布显示 {p} 是 ${a} 的价值中枢，若能在 {r1} 上方站稳，价值区会整体上移。",
        "下周宏观日程：周三 CPI，周四 FOMC 会议纪要。两个时间点 ${a} 波动都会加大，我会降低杠杆。",
        "${a} 市占率还在上升，在它掉头之前喊山寨季都为时过早，${b} 也一样。",
        "${a} 看空理由：{tf} 动能背离、现货成交萎缩；看多理由：{s1} 三次测试都守住了。看哪边先破。",
    ],
    ("education", "en"): [
        "**What is the funding rate?**\n\nPerpetual futures swap a small fee between longs and shorts every "
        "8 hours to keep the price near spot. Positive funding means longs pay shorts.",
        "Position sizing in one line: risk per trade ÷ distance to stop = position size. "
        "With a $10,000 account, 1% risk and a 5% stop, that's a $2,000 position.",
        "**Spot vs perpetual**\n- Spot: you own the ${a}, no liquidation\n"
        "- Perp: leveraged exposure, funding fees, a liquidation price\n\nStart with spot.",
        "Why your stop keeps getting hit: it sits exactly where everyone else's does. "
        "Give the trade room, and size down to pay for it.",
        "Isolated vs cross margin: isolated limits the loss to one position, cross puts your whole balance "
        "behind every trade. Beginners: use isolated.",
        "How to read an order book: bids below, asks above, the gap is the spread. "
        "Thin books move fast, so use limit orders on coins like ${a}.",
        "DCA explained: buy a fixed amount of ${a} every week and ignore the noise. "
        "It won't catch the bottom, and it won't buy the top either.",
        "**Three rules before your first leveraged trade**\n1. Know your liquidation price\n"
        "2. Never add to a loser\n3. Max {lev}x until you are consistently profitable",
        "What does APR mean on Earn products? It's the simple yearly rate. {apr}% APR on ${a}, paid daily, "
        "compounds to a slightly higher APY.",
        "Take-profit ladders: instead of one exit, sell in three parts ({r1}, {tp} and a trailing stop). "
        "You'll never nail the top, and that's fine.",
        "Stablecoins 101: $USDT is pegged to the dollar. Useful for parking profits, "
        "but understand who backs it and how redemptions work.",
        "Reading candles: a long lower wick at support shows buyers stepped in. "
        "One wick is a hint, not a signal; wait for the close.",
    ],
    ("education", "zh"): [
        "**什么是资金费率？**\n\n永续合约每 8 小时在多空之间结算一次费用，让合约价格贴近现货。"
        "费率为正时，多头付钱给空头。",
        "仓位计算一句话：单笔风险 ÷ 止损距离 = 仓位大小。1 万美元账户、1% 风险、5% 止损，仓位就是 2000 美元。",
        "**现货和永续合约的区别**\n- 现货：真正持有 ${a}，不会爆仓\n- 永续：杠杆敞口，有资金费率和强平价格\n\n"
        "新手建议先从现货开始。",
        "为什么你的止损总被扫？因为它和大家放在同一个位置。给交易留出空间，用更小的仓位来换。",
        "逐仓和全仓的区别：逐仓最多亏掉这一个仓位的保证金，全仓会动用整个账户余额。新手请用逐仓。",
        "怎么看订单簿：下面是买单，上面是卖单，中间的差就是价差。${a} 这类深度薄的币，尽量用限价单。",
        "定投是什么：每周固定买入一定金额的 ${a}，不理会短期波动。买不到最低点，也不会买在最高点。",
        "**第一次开杠杆前的三条规矩**\n1. 清楚自己的强平价格\n2. 亏损的仓位绝不加仓\n3. 稳定盈利之前最多 {lev} 倍",
        "理财产品里的 APR 是什么意思？就是单利年化。${a} {apr}% APR 按天发放，复利下来实际 APY 会略高一点。",
        "分批止盈：不要一次性卖出，分成三份（{r1}、{tp}、再加一个移动止损）。卖不到最高点很正常。",
        "稳定币入门：$USDT 锚定美元，适合存放利润。但要了解它由谁背书、怎样赎回。",
        "K 线入门：支撑位出现长下影线，说明有买盘进场。一根影线只是提示，不是信号，等收盘再说。",
    ],
    ("new_asset", "en"): [
        "**New listing: ${a}** ({A})\n\nSpot trading opens today. Early liquidity is thin, "
        "so expect wide spreads for the first hours.",
        "Launchpool is live for ${a}: stake ${b} and farm it over {days} days. Estimated APR right now: {apr}%.",
        "Strategy idea: delta-neutral on ${a}. Hold spot, short the perp, collect funding. "
        "Worked out to about {apr}% APR last month.",
        "Added ${a} to my watchlist after the listing. Tokenomics: {pct}% unlocked at launch, "
        "the rest vests over {n} years. Mind the unlock dates.",
        "Tried the new ${a} options: bought a {days}-day call at {tp}. Small size, defined risk, lottery ticket.",
        "${a} perpetual launched with up to {lev}x. Funding starts neutral; watch who gets crowded first.",
        "Earn: flexible ${a} savings now pay {apr}% APR. Not life-changing, but better than idle coins.",
        "New on the exchange: ${a}/USDT and ${a}/${b} pairs. "
        "Anyone holding since before the listing? What's the thesis?",
        "My rule for new listings: never buy the first candle. Wait for the first pullback toward {s1}, then decide.",
        "Dual investment on ${a}: sell high at {r1}, {days} days, {apr}% APR. "
        "If it fills I'm happy to take profit there anyway.",
        "Copy-trading update: the ${a} trend bot I follow is up {pnl}% over {days} days, max drawdown {pct}%.",
        "Pre-market ${a} trades at {p}. Pre-market prices are set by a small crowd; don't treat them as fair value.",
    ],
    ("new_asset", "zh"): [
        "**新币上线：${a}**（{A}）\n\n今天开放现货交易。刚上线流动性较差，前几个小时价差会比较大。",
        "${a} Launchpool 已开启：质押 ${b} 挖 {days} 天，当前预估年化 {apr}%。",
        "策略分享：${a} 期现套利。持有现货、做空永续、吃资金费率，上个月折算年化约 {apr}%。",
        "${a} 上线后加入了自选。代币经济：上线时解锁 {pct}%，其余分 {n} 年线性释放，注意解锁时间。",
        "试了一下新上的 ${a} 期权：买了 {days} 天到期、行权价 {tp} 的看涨。小仓位、风险有限，当彩票玩。",
        "${a} 永续合约上线，最高 {lev} 倍。资金费率开局中性，前几天留意哪边更拥挤。",
        "理财：${a} 活期年化 {apr}%。不算多，但总比放着不动好。",
        "交易所新上 ${a}/USDT 和 ${a}/${b} 交易对。有上线前就埋伏的朋友吗？逻辑是什么？",
        "我打新币的原则：第一根 K 线绝不追。等第一次回踩 {s1} 附近再决定。",
        "${a} 双币投资：{days} 天、高卖价 {r1}、年化 {apr}%。真成交了我也愿意在那里止盈。",
        "跟单策略更新：我跟的 ${a} 趋势机器人 {days} 天收益 +{pnl}%，最大回撤 {pct}%。",
        "${a} 盘前交易价格 {p}。盘前价格只由少数人决定，别把它当作公允价格。",
    ],
    ("news", "en"): [
        "**Breaking:** spot ${a} ETFs saw net inflows of ${amt}M yesterday, the {n}th straight day of inflows.",
        "{A} (${a}) network upgrade goes live in {days} days. ${a} deposits and withdrawals pause briefly during it.",
        "The Fed holds rates steady. ${a} dipped {pct}% on the headline and bounced within the hour.",
        "Over ${amt}M in longs liquidated in the past 24h as ${a} lost {s1}. "
        "Leverage flushes like this often mark local lows.",
        "Stablecoin supply hit a new all-time high this week. More dry powder on the sidelines "
        "is usually good for ${a} and ${b}.",
        "${a} open interest hit a record while funding stays high. High OI plus high funding = fragile market.",
        "Token unlock alert: {pct}% of the ${a} supply unlocks in {days} days. "
        "Unlocks don't always dump the price, but they add supply.",
        "The {A} foundation announced a ${amt}M ecosystem fund. ${a} up {pct}% on the news.",
        "Exchange maintenance: ${a} withdrawals paused for about {n} hours during a wallet upgrade. "
        "Trading is not affected.",
        "Hashrate hit a new high; miners keep investing after the halving. Good for ${a} security long term.",
        "Regulators approved new custody rules for ${a}; institutions get a clearer path to hold it.",
        "Weekly recap: ${a} up {pct}%, ${b} lagging, memecoins mixed. The biggest story: ETF flows.",
    ],
    ("news", "zh"): [
        "**快讯：** ${a} 现货 ETF 昨日净流入 {amt_yi} 亿美元，已连续 {n} 天净流入。",
        "{A}（${a}）网络升级将在 {days} 天后进行，升级期间 ${a} 充提会短暂暂停。",
        "美联储维持利率不变，${a} 消息公布时下跌 {pct}%，一小时内收复。",
        "过去 24 小时多单爆仓超过 {amt_yi} 亿美元，${a} 跌破 {s1}。这种去杠杆往往出现在阶段性低点。",
        "稳定币总供应量本周创历史新高，场外资金充足，通常利好 ${a} 和 ${b}。",
        "${a} 合约持仓量创新高，资金费率也偏高，市场比较脆弱。",
        "解锁提醒：${a} 将在 {days} 天后解锁 {pct}% 的供应量。解锁不一定砸盘，但会增加抛压。",
        "{A} 基金会宣布设立 {amt_yi} 亿美元生态基金，${a} 消息公布后上涨 {pct}%。",
        "交易所维护：${a} 钱包升级期间提币暂停约 {n} 小时，交易不受影响。",
        "全网算力再创新高，减半之后矿工仍在持续投入，长期利好 ${a} 的安全性。",
        "监管发布 ${a} 托管新规，机构持有的路径更清晰了。",
        "本周回顾：${a} 上涨 {pct}%，${b} 表现落后，Meme 币涨跌不一。本周最大的看点是 ETF 资金流。",
    ],
    ("chat", "en"): [
        "gm. ${a} at {p} and I'm still holding. Who else is here for the long run?",
        "Anyone else staring at the ${a} chart at 3am instead of sleeping?",
        "Sold ${a} too early again. Some lessons you keep learning.",
        "What's your favourite ${a} narrative this cycle? Mine is boring: adoption.",
        "Unpopular opinion: ${b} is more fun to trade than ${a}.",
        "Market is slow today. Good day to touch grass.",
        "First time posting here. Been trading ${a} since the last cycle, mostly spot. Hi everyone 👋",
        "If ${a} hits {tp} this month I'm buying everyone here a coffee ☕",
        "Portfolio check: ${a} 50%, ${b} 30%, stables 20%. How does yours look?",
        "The ${a} community never sleeps 😂",
        "Which feature do you use most: grid bots, copy trading or plain spot?",
        "Took a week off the charts and my ${a} position is up {pct}%. Maybe I should trade less.",
    ],
    ("chat", "zh"): [
        "早安！${a} 现在 {p}，我还拿着。有一起长期持有的吗？",
        "凌晨三点还在盯 ${a} 的盘，有同款失眠的吗？",
        "${a} 又卖飞了，这个教训好像怎么都学不会。",
        "这轮你最看好 ${a} 的哪个叙事？我比较无聊：真实的使用场景。",
        "说个不太受欢迎的观点：${b} 比 ${a} 好玩多了。",
        "今天行情好无聊，适合出门走走。",
        "第一次在这里发帖，从上一轮牛市开始玩 ${a}，主要做现货。大家好 👋",
        "${a} 这个月要是到 {tp}，我请大家喝奶茶 🧋",
        "晒一下仓位：${a} 50%，${b} 30%，稳定币 20%。你们的呢？",
        "${a} 社区真是 24 小时不打烊 😂",
        "大家最常用交易所哪个功能：网格、跟单还是普通现货？",
        "一周没看盘，${a} 仓位反而涨了 {pct}%。也许我应该少交易一点。",
    ],
}
OPENERS = {
    "en": [
        "Quick one.",
        "Thread 🧵",
        "Morning update.",
        "Short note for the newer folks:",
        "Update:",
        "Market check.",
        "Thoughts after today's session:",
        "Saving this for later, sharing it now.",
    ],
    "zh": [
        "简单说两句。",
        "早盘更新。",
        "给新朋友的一点提醒：",
        "更新一下。",
        "今日盘后小结：",
        "长文预警 🧵",
        "记录一下，也分享给大家。",
    ],
}
CLOSERS = {
    "en": [
        "NFA, DYOR.",
        "What do you think?",
        "Stay safe out there.",
        "Manage your risk.",
        "Will update if anything changes.",
        "Chart in the comments.",
        "Not financial advice.",
        "Questions welcome below 👇",
        "Size accordingly.",
        "Happy trading!",
    ],
    "zh": [
        "不构成投资建议，DYOR。",
        "大家怎么看？",
        "注意风险。",
        "有变化会再更新。",
        "图放在评论区。",
        "欢迎评论区交流 👇",
        "控制好仓位。",
        "祝大家交易顺利！",
    ],
}
TYPE_HASHTAGS = {
    ("trade_share", "en"): ["trading", "pnl", "perps", "gridbot", "riskmanagement"],
    ("trade_share", "zh"): ["交易分享", "合约", "现货", "复盘"],
    ("analysis", "en"): ["ta", "macro", "onchain", "priceaction", "funding"],
    ("analysis", "zh"): ["行情分析", "技术分析", "链上数据"],
    ("education", "en"): ["beginners", "riskmanagement", "learncrypto", "perps", "earn"],
    ("education", "zh"): ["新手入门", "风险管理", "理财"],
    ("new_asset", "en"): ["newlisting", "launchpool", "earn", "options", "strategy"],
    ("new_asset", "zh"): ["新币", "理财", "策略"],
    ("news", "en"): ["news", "etf", "macro", "unlock", "regulation"],
    ("news", "zh"): ["快讯", "etf", "宏观"],
    ("chat", "en"): ["gm", "hodl", "crypto", "community"],
    ("chat", "zh"): ["币圈", "闲聊", "hodl"],
}
ASSET_HASHTAGS = {
    ("BTC", "en"): "bitcoin",
    ("BTC", "zh"): "比特币",
    ("ETH", "en"): "ethereum",
    ("ETH", "zh"): "以太坊",
    ("SOL", "en"): "solana",
    ("SOL", "zh"): "solana",
    ("DOGE", "en"): "memecoin",
    ("PEPE", "en"): "memecoin",
    ("WIF", "en"): "memecoin",
    ("BONK", "en"): "memecoin",
    ("DOGE", "zh"): "meme币",
    ("PEPE", "zh"): "meme币",
    ("WIF", "zh"): "meme币",
    ("BONK", "zh"): "meme币",
    ("ARB", "en"): "layer2",
    ("OP", "en"): "layer2",
    ("ARB", "zh"): "二层网络",
    ("OP", "zh"): "二层网络",
    ("UNI", "en"): "defi",
    ("AAVE", "en"): "defi",
    ("UNI", "zh"): "defi",
    ("AAVE", "zh"): "defi",
}
TIMEFRAMES = ["15m", "1H", "4H", "4H", "1D", "1D", "1W"]

COMMENTS = {
    "en": [
        "Great call, thanks for sharing.",
        "What's your stop on this?",
        "Same setup on my chart 👀",
        "I'm more cautious here, volume is weak.",
        "Saved. This is really helpful.",
        "How did you size this one?",
        "Congrats on the win! 🎉",
        "Good point about funding.",
        "Not convinced, the weekly still looks heavy to me.",
        "This is the kind of post I come here for.",
        "Do you trade this on spot or perps?",
        "Thanks, clear explanation.",
        "Been waiting for this level too.",
        "Careful, the unlock is next week.",
        "Nice breakdown 👍",
        "Took profit too early again 😅",
        "Which indicator is that?",
        "Agree, patience pays.",
        "Source for the ETF numbers?",
        "Following for updates.",
        "Solid risk management.",
        "Bought a little here too.",
        "lol same",
        "gm!",
        "Wen moon?",
        "Useful for beginners like me, thank you.",
        "Interesting take, hadn't thought of the ratio.",
        "What timeframe do you use for entries?",
        "Stop hunting above the range again…",
        "Can you do one on options next?",
    ],
    "zh": [
        "说得很清楚，感谢分享！",
        "止损设在哪里？",
        "我的图上也是同样的形态 👀",
        "这里我会谨慎一点，量能不够。",
        "收藏了，很有帮助。",
        "这单仓位是怎么算的？",
        "恭喜止盈！🎉",
        "资金费率这点说得好。",
        "不太认同，周线看着还是偏弱。",
        "就是来看这种帖子的。",
        "这个是现货还是合约？",
        "讲得很明白，谢谢。",
        "我也在等这个位置。",
        "小心下周的解锁。",
        "分析得不错 👍",
        "又卖飞了 😅",
        "这是什么指标？",
        "同意，耐心最重要。",
        "ETF 数据有来源吗？",
        "关注了，等更新。",
        "风控做得好。",
        "我也在这里买了一点。",
        "哈哈同款",
        "早安！",
        "什么时候起飞？",
        "对新手很有用，谢谢！",
        "这个角度没想到，学到了。",
        "你一般用哪个周期找入场点？",
        "区间上沿又在扫止损了……",
        "下次能讲讲期权吗？",
    ],
}
HYPE_COMMENTS = {
    "en": [
        "🔥🔥🔥",
        "Legend, always on point.",
        "Best analyst on Orbit.",
        "Huge alpha 🚀",
        "Following this one!",
        "Called it again 👑",
        "Everyone needs to read this.",
    ],
    "zh": ["大佬牛逼 🔥", "跟上了！", "又是干货满满", "必须支持 🚀", "大佬又说中了 👑", "这个必须点赞", "建议置顶"],
}
SHARE_CHANNELS = {
    "en": ["x", "x", "telegram", "telegram", "copy_link", "whatsapp", "discord"],
    "zh": ["wechat", "wechat", "telegram", "copy_link", "weibo", "x"],
}
REPORT_REASONS = ["spam", "scam", "manipulation", "misleading", "abuse", "other"]
REPORT_REASON_WEIGHTS = [0.35, 0.2, 0.2, 0.15, 0.05, 0.05]

EN_HANDLE_WORDS = [
    "satoshi",
    "hodl",
    "moon",
    "whale",
    "degen",
    "alpha",
    "chain",
    "block",
    "defi",
    "gwei",
    "ape",
    "bull",
    "bear",
    "stack",
    "node",
    "hash",
    "ledger",
    "vault",
    "candle",
    "pump",
    "rekt",
    "fomo",
    "wagmi",
    "based",
    "onchain",
    "sats",
    "lambo",
    "diamond",
    "yield",
    "farm",
    "delta",
    "gamma",
    "theta",
    "vega",
    "nova",
    "lunar",
    "solar",
    "quant",
    "macro",
    "swing",
    "scalp",
    "pixel",
    "crypto",
    "token",
    "dex",
    "perp",
    "basis",
    "funding",
    "wick",
]
EN_HANDLE_SUFFIXES = [
    "trader",
    "capital",
    "maxi",
    "labs",
    "dao",
    "hands",
    "hunter",
    "sniper",
    "signals",
    "research",
    "wizard",
    "ninja",
    "king",
    "queen",
    "dad",
    "anon",
    "bro",
    "pro",
    "fi",
    "xyz",
    "hq",
    "club",
    "desk",
    "notes",
    "charts",
    "_eth",
    "_sol",
    "_btc",
]
ZH_HANDLE_WORDS = [
    "laowang",
    "xiaoli",
    "ahua",
    "dashan",
    "xiaobai",
    "laozhou",
    "jiucai",
    "bizhong",
    "lianshang",
    "hongli",
    "feilong",
    "xiaoyu",
    "mingyue",
    "chenchen",
    "lele",
    "fangfang",
    "laoliu",
    "aqiang",
    "dage",
    "xiaoming",
    "tiantian",
    "haoran",
    "zixuan",
    "yutong",
    "kaiwen",
    "junjie",
]
ZH_HANDLE_SUFFIXES = ["_btc", "88", "168", "666", "888", "_crypto", "_trader", "bi", "_eth", "coin", "_sol", ""]
EN_FIRST_NAMES = [
    "Alex",
    "Maya",
    "Leo",
    "Nina",
    "Sam",
    "Omar",
    "Priya",
    "Lucas",
    "Chloe",
    "Ethan",
    "Sofia",
    "Daniel",
    "Aiko",
    "Marco",
    "Hannah",
    "Ivan",
    "Zoe",
    "Ravi",
    "Emma",
    "Kenji",
    "Lina",
    "Noah",
    "Sara",
    "Tom",
    "Yuki",
    "Diego",
    "Fatima",
    "Ben",
    "Clara",
    "Jonas",
]
EN_LAST_NAMES = [
    "Chen",
    "Park",
    "Nguyen",
    "Müller",
    "Silva",
    "Kim",
    "Rossi",
    "Okafor",
    "Novak",
    "Haddad",
    "Tanaka",
    "Singh",
    "Costa",
    "Ward",
    "Lee",
    "Berg",
]
ZH_NAME_PREFIXES = [
    "币圈",
    "链上",
    "佛系",
    "合约",
    "现货",
    "趋势",
    "量化",
    "夜猫",
    "深圳",
    "上海",
    "杭州",
    "成都",
    "北京",
    "香港",
    "新加坡",
]
ZH_NAME_NOUNS = [
    "老王",
    "小白",
    "阿强",
    "小李",
    "大熊",
    "老周",
    "交易员",
    "研究员",
    "观察员",
    "玩家",
    "囤币人",
    "猎手",
    "老韭菜",
    "分析师",
    "小鱼",
]
BIOS = {
    "en": [
        "Swing trader since {year}. Mostly $BTC and $ETH.",
        "Spot only. Long-term ${a} holder. Not financial advice.",
        "Quant dev by day, perp degen by night.",
        "Writing about market structure, funding and liquidations.",
        "Learning in public, mistakes included.",
        "DeFi, yields and the occasional memecoin.",
        "Ex-TradFi, full-time crypto since {year}.",
        "Options nerd. Volatility is a feature.",
        "I post my trades, wins and losses.",
        "Here for the charts and the community.",
        "Risk first, profits second.",
        "Macro + on-chain. Weekly outlook every Sunday.",
        "Building, holding, sometimes trading.",
        "Just a ${a} fan trying not to get liquidated.",
        "Grid bots and patience.",
    ],
    "zh": [
        "{year} 年入圈，主做 $BTC 和 $ETH 波段。",
        "只做现货，长期持有 ${a}。不构成投资建议。",
        "白天写代码，晚上玩合约。",
        "分享市场结构、资金费率和清算数据。",
        "公开学习，也公开犯错。",
        "DeFi、理财，偶尔冲一下 Meme。",
        "前传统金融从业者，{year} 年起全职加密。",
        "期权爱好者，波动就是机会。",
        "盈亏都晒，只记录真实交易。",
        "来看盘，也来交朋友。",
        "风险第一，收益第二。",
        "宏观 + 链上，每周日发周报。",
        "佛系囤币，偶尔交易。",
        "努力不爆仓的 ${a} 信仰者。",
        "网格和耐心。",
    ],
}
BURST_PREFIXES = ["moonbag", "gemhunter", "airdropfan", "luckycoin", "x100gem"]
INSTRUMENTS = ["spot", "perpetual", "options", "earn"]

# --- Exchange data -----------------------------------------------------------------------------
# Hourly candles of every listed asset (not stablecoins) cover the oldest post and the fills before
# it; each is a random walk that ends at the asset's reference price (ASSETS) at the anchor, so the
# live poll later continues from about where the demo leaves off.
CANDLE_DAYS = OLD_POST_DAYS + 2
CANDLE_QUOTE = "USDT"
CANDLE_BAR = "1H"
# Of the trade_share posts, this share carries a trade card; of the cards, this share is backed by
# the author's own fills (feed.verification marks them verified), the rest show as self-reported.
TRADE_CARD_SHARE = 0.4
BACKED_CARD_SHARE = 0.7
# A backed card's fills: 1 to 24 hours before the post, within this fraction of its entry price
# (verification allows ORBIT_TRADE_CARD_PRICE_TOLERANCE, 0.5% by default); most are closed later.
CARD_FILL_SPREAD = 0.0015
CARD_CLOSED_SHARE = 0.6
# Of the analysis and trade_share posts, this share carries a call on the asset it is about.
CALL_SHARE = 0.10
CALL_HORIZON_DAYS = [1, 3, 7]
# Creators who trade on the exchange besides the authors of backed cards (who all do): their fills
# over CANDLE_DAYS follow their profile's 30-day trades and volume, capped at MAX_FILLS_PER_ACCOUNT
# fills (whales then trade larger fills instead of more of them).
TRADING_CREATOR_SHARE = 0.6
MAX_FILLS_PER_ACCOUNT = 200
PERPETUAL_FILL_SHARE = 0.4
# Posts whose author also trades the asset within DISCLOSED_DAYS of it (so disclosures show).
DISCLOSED_POST_SHARE = 0.25
DISCLOSED_DAYS = 3
TAKER_FEE = Decimal("0.001")  # of the notional, paid in the quote currency
CENT = Decimal("0.01")
FEE_UNIT = Decimal("0.00000001")
# How a trade card's post reads decides its instrument and side (a "short" is a perpetual short).
SHORT_RE = re.compile(r"\bshort\b|空单|做空", re.IGNORECASE)
PERPETUAL_RE = re.compile(r"\bperps?\b|leverage|\b\d+x\b|合约|杠杆|倍", re.IGNORECASE)
SPOT_RE = re.compile(r"\bspot\b|\bgrid\b|\bDCA\b|现货|网格|定投", re.IGNORECASE)


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int
    seconds: float  # building the CSV text and running COPY

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


@dataclass
class PlantedCheating:
    """Who the planted cheaters are, by username (see the module docstring)."""

    self_likers: list[str] = field(default_factory=list)
    ring: list[str] = field(default_factory=list)
    burst_accounts: list[str] = field(default_factory=list)
    burst_beneficiary: str | None = None
    burst_joined_from: datetime | None = None
    burst_fingerprints: list[str] = field(default_factory=list)
    self_engagement_rows: int = 0
    ring_engagement_rows: int = 0
    burst_engagement_rows: int = 0


@dataclass
class SeedReport:
    seed: int
    anchor: datetime
    loads: list[TableLoad] = field(default_factory=list)
    stages: list[tuple[str, float]] = field(default_factory=list)  # (what was generated, seconds)
    fixed_accounts_created: bool = False
    planted: PlantedCheating = field(default_factory=PlantedCheating)
    # What the exchange-data services made of the seeded fills and candles.
    verified_cards: int = 0
    calls_by_status: dict[str, int] = field(default_factory=dict)
    profiles_from_fills: int = 0
    total_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(load.rows for load in self.loads)

    def rows_in(self, table: str) -> int:
        return sum(load.rows for load in self.loads if load.table == table)


# --- Entry point -------------------------------------------------------------------------------


def default_anchor() -> datetime:
    """The current UTC time truncated to the hour: reruns within an hour give the same data."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


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


def seed_demo_data(
    *,
    users: int,
    posts: int,
    events: int,
    seed: int,
    anchor: datetime,
    demo_password: str = DEFAULT_DEMO_PASSWORD,
    only_if_empty: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SeedReport | None:
    """Generate and COPY the demo data; return None when only_if_empty and posts exist."""
    if users < 10 or posts < 1 or events < 0:
        raise ValueError("Seed at least 10 users and 1 post, and a non-negative number of events.")
    if anchor.tzinfo is None:
        raise ValueError("The anchor must be timezone-aware.")
    say = progress or (lambda message: None)
    if only_if_empty and Post.objects.exists():
        return None  # checked again under the lock; this spares the lock on every `make run`
    started = time.perf_counter()
    report = SeedReport(seed=seed, anchor=anchor.astimezone(UTC))
    with transaction.atomic(), connection.cursor() as cursor:
        # Ids are taken as max(id)+1, so nothing else may insert into these tables until we
        # commit and move the sequences past our rows. Reads go on; writers wait for the seed.
        cursor.execute(f"LOCK TABLE {', '.join(_written_tables())} IN SHARE ROW EXCLUSIVE MODE")
        if only_if_empty and Post.objects.exists():
            return None
        # Check foreign keys as each COPY ends rather than all at commit: the cost is the same, but it
        # lands on the table that causes it, so the progress lines tell the truth.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        missing = set(POST_TYPES) - set(PostType.objects.filter(slug__in=POST_TYPES).values_list("slug", flat=True))
        if missing:
            raise ValueError(f"Content types missing (run the migrations): {', '.join(sorted(missing))}")
        writer = _CopyWriter(cursor, report, say)
        generator = _DemoGenerator(
            users=users,
            posts=posts,
            events=events,
            seed=seed,
            anchor=report.anchor,
            password_hash=make_password(demo_password),
            asset_ids=_ensure_assets(),
            hashtag_ids=_ensure_hashtags(),
            next_ids={
                table: _next_id(cursor, table) for table in _written_tables() if table not in _one_to_one_tables()
            },
            report=report,
            say=say,
        )
        first_user_id = generator.next_ids[User._meta.db_table]
        generator.run(writer)
        # Performance is private unless its owner opts in; the compose page asks those who attach a
        # trade card, and the demo's card authors said yes.
        cursor.execute(
            f"UPDATE {Profile._meta.db_table} SET show_performance = true WHERE user_id >= %s AND user_id IN "  # noqa: S608
            f"(SELECT p.author_id FROM {Post._meta.db_table} p JOIN {TradeCard._meta.db_table} c ON c.post_id = p.id)",
            [first_user_id],
        )
        for table in _written_tables():
            if table not in _one_to_one_tables() and report.rows_in(table):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
                )
        # Back to Django's default, for callers that keep using this transaction (tests do).
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    report.total_seconds = time.perf_counter() - started
    say(
        f"seeded {report.total_rows:,} rows in {report.total_seconds:.1f} s "
        f"({report.total_rows / report.total_seconds:,.0f} rows/s)"
    )
    return report


def _written_tables() -> list[str]:
    return [
        User._meta.db_table,
        Profile._meta.db_table,
        TradingProfile._meta.db_table,
        Follow._meta.db_table,
        Post._meta.db_table,
        Post.assets.through._meta.db_table,
        Post.hashtags.through._meta.db_table,
        Engagement._meta.db_table,
        Like._meta.db_table,
        Comment._meta.db_table,
        Share._meta.db_table,
        Report._meta.db_table,
        Candle._meta.db_table,
        TradeCard._meta.db_table,
        Call._meta.db_table,
        Fill._meta.db_table,
        TradeCard.fills.through._meta.db_table,
    ]


def _one_to_one_tables() -> set[str]:
    """Tables keyed by user_id or post_id, without a sequence of their own."""
    return {
        Profile._meta.db_table,
        TradingProfile._meta.db_table,
        TradeCard._meta.db_table,
        Call._meta.db_table,
    }


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 - table names from models
    return cursor.fetchone()[0]


def _ensure_assets() -> dict[str, int]:
    ids = {}
    for symbol, name, _price, _weight in ASSETS:
        asset, _created = Asset.objects.get_or_create(symbol=symbol, defaults={"name": name})
        ids[symbol] = asset.pk
    return ids


def _ensure_hashtags() -> dict[str, int]:
    names = [name for tags in TYPE_HASHTAGS.values() for name in tags] + list(ASSET_HASHTAGS.values())
    ids = {}
    for name in dict.fromkeys(names):  # de-duplicated, first-seen order
        hashtag, _created = Hashtag.objects.get_or_create(name=name)
        ids[name] = hashtag.pk
    return ids


# --- Writing -----------------------------------------------------------------------------------


class _CopyWriter:
    def __init__(self, cursor, report: SeedReport, say: Callable[[str], None]):
        self.cursor = cursor
        self.report = report
        self.say = say
        self.started = time.perf_counter()

    def copy(self, table: str, columns: list[str], chunks: Iterable[tuple[int, str]]) -> int:
        """COPY CSV text into table; chunks yields (row count, CSV text with a trailing newline)."""
        began = time.perf_counter()
        rows = 0
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        for count, text in chunks:
            if count:
                self.cursor.copy_expert(sql, io.BytesIO(text.encode()), 1 << 20)  # size of each read
                rows += count
        seconds = time.perf_counter() - began
        load = TableLoad(table, rows, seconds)
        self.report.loads.append(load)
        self.say(
            f"  {table:<24} {rows:>10,} rows  {seconds:6.2f} s  {load.rows_per_second:>10,.0f} rows/s"
            f"   (elapsed {time.perf_counter() - self.started:.1f} s)"
        )
        return rows


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _timestamps(ms: np.ndarray) -> list[str]:
    return np.datetime_as_string(
        np.asarray(ms, dtype=np.int64).astype("datetime64[ms]"), unit="ms", timezone="UTC"
    ).tolist()


def _timestamp(ms: int) -> str:
    return _timestamps(np.array([ms]))[0]


def _ints(values: np.ndarray) -> list[str]:
    return list(map(str, np.asarray(values).tolist()))


def _chunked_csv(columns: Callable[[slice], list[list[str]]], rows: int) -> Iterator[tuple[int, str]]:
    """CSV text for rows in chunks; columns(slice) returns the formatted columns of that slice."""
    for start in range(0, rows, COPY_CHUNK_ROWS):
        part = slice(start, min(start + COPY_CHUNK_ROWS, rows))
        cols = columns(part)
        yield part.stop - part.start, "\n".join(map(",".join, zip(*cols, strict=True))) + "\n"


def _lines(rows: list[str]) -> Iterator[tuple[int, str]]:
    for start in range(0, len(rows), COPY_CHUNK_ROWS):
        part = rows[start : start + COPY_CHUNK_ROWS]
        yield len(part), "\n".join(part) + "\n"


# --- Sampling helpers --------------------------------------------------------------------------


def _weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with replacement, proportional to weights."""
    if size == 0:
        return np.empty(0, dtype=np.int64)
    cdf = np.cumsum(weights, dtype=np.float64)
    picks = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return np.minimum(picks, len(weights) - 1)


def _weighted_distinct(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """size distinct indices, drawn without replacement proportionally to weights, in index order."""
    size = min(size, int(np.count_nonzero(weights > 0)))
    if size <= 0:
        return np.empty(0, dtype=np.int64)
    with np.errstate(divide="ignore"):
        keys = rng.exponential(size=len(weights)) / weights  # Efraimidis-Spirakis: smallest keys win
    return np.sort(np.argpartition(keys, size - 1)[:size])


def _contains(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of values occur in the sorted array sorted_values."""
    if not len(sorted_values):
        return np.zeros(len(values), bool)
    positions = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[positions] == values


@dataclass
class _WeightedGroups:
    """Items bucketed by group (posts by author, followees by follower…) to draw one item of a given
    group in proportion to the items' weights, for many groups at once.

    One running sum over all items, ordered by group, serves every group: a group's items are the
    slice starts[g]:ends[g], and a uniform number between the running sums at its two ends lands on
    an item with probability proportional to its weight.
    """

    items: np.ndarray
    cumulative: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    totals: np.ndarray  # summed weight of each group; 0 for a group without items

    @classmethod
    def build(cls, *, groups: np.ndarray, items: np.ndarray, weights: np.ndarray, n_groups: int) -> _WeightedGroups:
        order = np.argsort(groups, kind="stable")
        sorted_groups = groups[order]
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
        starts = np.searchsorted(sorted_groups, np.arange(n_groups), side="left")
        ends = np.searchsorted(sorted_groups, np.arange(n_groups), side="right")
        padded = np.r_[0.0, cumulative]
        return cls(np.asarray(items)[order], cumulative, starts, ends, padded[ends] - padded[starts])

    def draw(self, rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
        """One item from each of groups (each must have a positive total)."""
        if not len(groups):
            return np.empty(0, dtype=self.items.dtype)
        starts, ends = self.starts[groups], self.ends[groups]
        before = np.r_[0.0, self.cumulative][starts]
        picks = np.searchsorted(self.cumulative, before + rng.random(len(groups)) * self.totals[groups], side="right")
        # Rounding can land one past the group's end; items of zero weight are never picked.
        return self.items[np.clip(picks, starts, ends - 1)]


def _zipf(size: int, exponent: float) -> np.ndarray:
    return 1.0 / (np.arange(size) + 1.0) ** exponent


def _delays(rng: np.random.Generator, size: int, low_ms: int, high_ms: int) -> np.ndarray:
    return rng.integers(low_ms, high_ms, size=size, dtype=np.int64)


def _fingerprint(seed: int, label: str) -> str:
    return hashlib.blake2b(f"orbit-demo:{seed}:{label}".encode(), digest_size=16).hexdigest()


def _price(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    if value >= 0.01:
        return f"{value:.4f}"
    return f"{value:.8f}".rstrip("0")


def _base62(number: int, width: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(alphabet[digit])
    return "".join(reversed(digits))


def _volume_by_asset(symbols: list[str], cents: int) -> str:
    """A profile's 30-day volume split over its traded assets, most traded first (shares 1, 1/2, 1/3…),
    as the JSON the exchange sync writes: {"BTC": "1234.56", …}, summing exactly to the volume."""
    if not symbols or not cents:
        return "{}"
    weights = [Fraction(1, rank + 1) for rank in range(len(symbols))]
    parts = [int(cents * weight / sum(weights)) for weight in weights]
    parts[0] += cents - sum(parts)  # the rounding remainder stays with the largest
    return json.dumps({symbol: f"{part // 100}.{part % 100:02d}" for symbol, part in zip(symbols, parts, strict=True)})


def _card_shape(text: str, hashtags: str, *, guess_perpetual: bool) -> tuple[bool, bool]:
    """(perpetual, short) of a trade card, as its post's text reads, else as its hashtags do."""
    if SHORT_RE.search(text):
        return True, True
    for words in (text, hashtags):
        if PERPETUAL_RE.search(words):
            return True, False
        if SPOT_RE.search(words):
            return False, False
    return guess_perpetual, False


def _epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


# --- Generation --------------------------------------------------------------------------------


@dataclass
class _Events:
    """A batch of engagement rows as parallel arrays; post is -1 for events about a person."""

    actor: np.ndarray
    post: np.ndarray
    creator: np.ndarray
    kind: np.ndarray
    dwell_ms: np.ndarray
    at: np.ndarray

    @classmethod
    def of(cls, *, actor, post, creator, kind, at, dwell_ms=None) -> _Events:
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
    def concat(cls, batches: list[_Events]) -> _Events:
        return cls(
            *(
                np.concatenate([getattr(b, name) for b in batches])
                for name in ("actor", "post", "creator", "kind", "dwell_ms", "at")
            )
        )


class _DemoGenerator:
    """Holds the generated population; users and posts are indexed 0..n-1 until written."""

    def __init__(
        self, *, users, posts, events, seed, anchor, password_hash, asset_ids, hashtag_ids, next_ids, report, say
    ):
        self.n_users = users
        self.n_posts = posts
        self.n_events = events
        self.seed = seed
        self.anchor_ms = _epoch_ms(anchor)
        self.window_start_ms = self.anchor_ms - ENGAGEMENT_DAYS * DAY
        self.password_hash = password_hash
        self.asset_ids = asset_ids
        self.hashtag_ids = hashtag_ids
        self.next_ids = next_ids
        self.report = report
        self.say = say

        # The planted patterns and the follow events get fixed shares of the event budget.
        self.n_burst = min(40, users // 5, events // 100)
        self.budget_self = round(0.005 * events)
        # Enough for each ring member to engage once with each other member (6 * 5 pairs, 3-4 rows each).
        self.budget_ring = max(round(0.015 * events), 120 if events >= 2_000 else 0)
        self.budget_burst = max(round(0.012 * events), 3 * self.n_burst) if self.n_burst else 0
        self.budget_follow_events = round(0.02 * events)

        self.asset_symbols = [symbol for symbol, *_ in ASSETS]
        self.asset_prices = np.array([price for _s, _n, price, _w in ASSETS])
        self.asset_weights = np.array([weight for *_, weight in ASSETS])

    def _rng(self, part: str) -> np.random.Generator:
        # One independent stream per part, so a change in one part leaves the others' rows alone.
        part_key = int.from_bytes(hashlib.blake2b(part.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng([self.seed, part_key])

    def _rand(self, part: str) -> random.Random:
        return random.Random(f"orbit-demo:{self.seed}:{part}")

    def _stage(self, name: str, began: float) -> None:
        seconds = time.perf_counter() - began
        self.report.stages.append((name, seconds))
        self.say(f"  generated {name} in {seconds:.2f} s")

    def run(self, writer: _CopyWriter) -> None:
        # Candles first: post bodies, trade cards, calls and fills all quote their prices.
        began = time.perf_counter()
        self._generate_candles()
        self._stage(f"{self.n_bars:,} hourly candles of {len(self.candle_assets)} assets", began)
        self._write_candles(writer)

        began = time.perf_counter()
        self._generate_users()
        self._stage(f"{self.n_users:,} users", began)
        self._write_users(writer)

        began = time.perf_counter()
        self._generate_posts()
        self._stage(f"{self.n_posts:,} posts", began)
        self._write_posts(writer)
        self._write_trade_cards(writer)
        self._write_calls(writer)

        began = time.perf_counter()
        self._generate_follows()
        self._stage(f"{len(self.follow_follower):,} follows", began)
        self._write_follows(writer)

        began = time.perf_counter()
        self._generate_engagement()
        self._stage(f"{self.n_events:,} engagement rows", began)
        self._write_engagement(writer)
        recount_posts(first_id=self.post_base)

        began = time.perf_counter()
        self._generate_fills()
        self._stage(f"{len(self.fills):,} fills", began)
        self._write_fills(writer)
        self._apply_exchange_services()

    # --- Users ---------------------------------------------------------------------------------

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
        self.fingerprints = [_fingerprint(self.seed, username) for username in self.usernames]
        burst_indices = np.flatnonzero(self.is_burst)
        self.burst_fingerprints = [_fingerprint(self.seed, f"burst-device-{k}") for k in range(5)]
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
        log_volume = rng.uniform(np.log(np.maximum(low[tier], 1)), np.log(np.maximum(high[tier], 1)))
        self.volume_cents = np.where(tier > 0, (np.exp(log_volume) * 100).astype(np.int64), 0)
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
        tradable = [i for i, symbol in enumerate(self.asset_symbols) if symbol not in STABLECOINS]
        weights = [self.asset_weights[i] for i in tradable]
        self.traded_assets = []
        self.instruments = []
        for index in range(n):
            if tier[index] == 0:
                self.traded_assets.append([])
                self.instruments.append(["earn"] if rand.random() < 0.15 and not self.is_burst[index] else [])
                continue
            count = min(len(tradable), 1 + int(rand.expovariate(1 / (1 + tier[index]))))
            picked = []
            while len(picked) < count:
                symbol = self.asset_symbols[rand.choices(tradable, weights)[0]]
                if symbol not in picked:
                    picked.append(symbol)
            self.traded_assets.append(picked)
            kinds = ["spot"]
            if rand.random() < 0.25 + 0.15 * tier[index]:
                kinds.append("perpetual")
            if rand.random() < 0.04 * tier[index] ** 1.5:
                kinds.append("options")
            if rand.random() < 0.3:
                kinds.append("earn")
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

    def _write_users(self, writer: _CopyWriter) -> None:
        anchor = self.anchor_ms
        n = self.n_users
        ids = self.user_base + np.arange(n)
        rand = self._rand("profiles")
        joined = _timestamps(self.joined)
        last_login = _timestamps(np.maximum(self.last_login, 0))
        now = _timestamp(anchor)
        password = _quote(self.password_hash)

        user_rows, profile_rows, trading_rows = [], [], []
        if self.create_fixed:
            self._fixed_account_rows(user_rows, profile_rows, trading_rows, password, now)
        for index in range(n):
            user_id = int(ids[index])
            username = self.usernames[index]
            user_rows.append(
                f"{user_id},{password},{last_login[index] if self.last_login[index] >= 0 else ''},f,"
                f'{_quote(username)},"","",{_quote(username + "@example.org")},f,t,{joined[index]},,'
                f"{_quote(username_skeleton(username))}"
            )
            display_name, bio = self._profile_text(rand, index)
            language = "zh-hans" if self.is_zh[index] else "en"
            profile_rows.append(f'{user_id},{_quote(display_name)},{_quote(bio)},"",{language},{now}')
        opened = _timestamps(self.account_opened)
        last_trade = _timestamps(np.maximum(self.last_trade, 0))
        exchange_uids = self._exchange_uids(ids)
        # Only accounts linked to the exchange, and not frozen there, have fills.
        self.linked = np.array([bool(uid) for uid in exchange_uids], dtype=bool) & ~self.is_frozen
        joined_text = _timestamps(self.joined)
        for index in range(n):
            cents = int(self.volume_cents[index])
            trading_rows.append(
                f"{int(ids[index])},{exchange_uids[index]},{int(self.kyc[index])},{int(self.tier[index])},"
                f'"{{{",".join(self.traded_assets[index])}}}","{{{",".join(self.instruments[index])}}}",'
                f"{cents // 100}.{cents % 100:02d},{int(self.trades[index])},{opened[index]},"
                f"{last_trade[index] if self.last_trade[index] >= 0 else ''},"
                f"{'t' if self.is_frozen[index] else 'f'},{now},"
                f"{_quote(_volume_by_asset(self.traded_assets[index], cents))},"
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
            _lines(user_rows),
        )
        writer.copy(
            Profile._meta.db_table,
            ["user_id", "display_name", "bio", "avatar", "language", "updated_at"],
            _lines(profile_rows),
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
            _lines(trading_rows),
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
        demo_joined, operator_joined = _timestamp(anchor - 400 * DAY), _timestamp(anchor - 700 * DAY)
        user_rows.append(
            f'{demo_id},{password},{_timestamp(anchor - 2 * HOUR)},f,demo,"","",demo@example.org,f,t,{demo_joined},,'
            f"{_quote(username_skeleton(DEMO_USERNAME))}"
        )
        user_rows.append(
            f'{operator_id},{password},{_timestamp(anchor - 5 * HOUR)},t,operator,"","",'
            f"operator@example.org,t,t,{operator_joined},,{_quote(username_skeleton(OPERATOR_USERNAME))}"
        )
        profile_rows.append(
            f'{demo_id},"Demo Trader",{_quote("The demo reader: spot and perps, BTC/ETH/SOL.")},"",en,{now}'
        )
        profile_rows.append(
            f'{operator_id},"Orbit Operator",{_quote("Staff account for moderation and payouts.")},"",en,{now}'
        )
        demo_uid, operator_uid = self._exchange_uids(np.array([demo_id, operator_id]))
        self.demo_linked = bool(demo_uid)
        trading_rows.append(
            f'{demo_id},{demo_uid},2,3,"{{BTC,ETH,SOL}}","{{spot,perpetual,earn}}",184250.00,46,'
            f"{_timestamp(anchor - 900 * DAY)},{_timestamp(anchor - 7 * HOUR)},f,{now},"
            f"{_quote(_volume_by_asset(['BTC', 'ETH', 'SOL'], 18_425_000))},{demo_joined if demo_uid else ''}"
        )
        trading_rows.append(
            f'{operator_id},{operator_uid},3,0,"{{}}","{{}}",0.00,0,{_timestamp(anchor - 800 * DAY)},,f,{now},'
            f'"{{}}",{operator_joined if operator_uid else ""}'
        )

    # --- Posts ---------------------------------------------------------------------------------

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
            author[chosen] = members[_weighted(rng, _zipf(len(members), 1.05), int(chosen.sum()))]
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

    def _plant_creators(self, rng: np.random.Generator, author: np.ndarray) -> None:
        """Pick the ring, the self-likers and the burst's beneficiary among creators who post."""
        counts = np.bincount(author, minlength=self.n_users)
        by_rank = [int(c) for c in self.creators if counts[c] >= 1]
        # The ring: mid-sized creators, below the stars.
        middle = [c for c in by_rank[3 : max(12, len(by_rank) * 3 // 10)] if counts[c] >= 2]
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
        stable = [i for i, (symbol, *_rest) in enumerate(ASSETS) if symbol in STABLECOINS]
        primary = np.where(np.isin(primary, stable), 0, primary)  # nobody writes "$USDT breakout"
        secondary = rng.choice(n_assets, size=n, p=weights)
        secondary = np.where(
            (secondary == primary) | np.isin(secondary, stable), (primary + 1) % (n_assets - 1), secondary
        )
        self.post_primary = primary
        self._plan_trade_cards()
        # Prices in the text are near the market when the post was written; a trade card's post
        # quotes the card's entry price.
        price = self.candle_close[primary, self._bar(self.post_created)] * rng.uniform(0.92, 1.08, size=n)
        price[self.card_post] = self.card_entry
        support = price * (1 - rng.uniform(0.02, 0.08, size=n))
        resistance = price * (1 + rng.uniform(0.02, 0.10, size=n))
        target = resistance * (1 + rng.uniform(0.02, 0.12, size=n))
        stop = support * (1 - rng.uniform(0.01, 0.05, size=n))
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
            fields = {
                "a": symbol,
                "b": self.asset_symbols[secondary[index]],
                "A": ASSETS[primary[index]][1],
                "p": _price(price[index]),
                "s1": _price(support[index]),
                "r1": _price(resistance[index]),
                "tp": _price(target[index]),
                "sl": _price(stop[index]),
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
            body = rand.choice(TEMPLATES[slug, language]).format(**fields)
            if rand.random() < 0.2:
                body = f"{rand.choice(OPENERS[language])}\n\n{body}"
            if rand.random() < 0.4:
                body = f"{body}\n\n{rand.choice(CLOSERS[language])}"
            tags = rand.sample(
                TYPE_HASHTAGS[slug, language], k=min(len(TYPE_HASHTAGS[slug, language]), rand.choice([1, 1, 2, 2, 3]))
            )
            asset_tag = ASSET_HASHTAGS.get((symbol, language))
            if asset_tag and asset_tag not in tags and rand.random() < 0.6:
                tags.insert(0, asset_tag)
            body = f"{body}\n\n{' '.join('#' + tag for tag in tags)}"
            self.bodies.append(body)
            for cashtag in dict.fromkeys(CASHTAG_RE.findall(body)):
                if cashtag in self.asset_ids:
                    self.post_asset_pairs.append((index, self.asset_ids[cashtag]))
            for tag in dict.fromkeys(match.lower() for match in HASHTAG_RE.findall(body)):
                if tag in self.hashtag_ids:
                    self.post_hashtag_pairs.append((index, self.hashtag_ids[tag]))
        self.post_has_assets = np.zeros(n, bool)
        self.post_has_assets[[pair[0] for pair in self.post_asset_pairs]] = True
        self._shape_trade_cards(leverage)
        self._plan_calls()

    def _write_posts(self, writer: _CopyWriter) -> None:
        self.post_base = self.next_ids[Post._meta.db_table]
        ids = _ints(self.post_base + np.arange(self.n_posts))
        authors = _ints(self.user_base + self.post_author)
        created = _timestamps(self.post_created)
        edited = _timestamps(np.maximum(self.post_edited, 0))
        began = time.perf_counter()
        bodies_html = _render_all(self.bodies, known_assets=set(self.asset_symbols))
        self._stage(f"{self.n_posts:,} post bodies rendered", began)
        rows = [
            f"{ids[i]},{authors[i]},{POST_TYPES[self.post_type[i]]},{_quote(self.bodies[i])},"
            f"{_quote(bodies_html[i])},{'zh' if self.post_zh[i] else 'en'},published,{created[i]},"
            f"{edited[i] if self.post_edited[i] >= 0 else ''},"
            for i in range(self.n_posts)
        ]
        writer.copy(
            Post._meta.db_table,
            [
                "id", "author_id", "content_type", "body", "body_html", "language", "status", "created_at",
                "edited_at", "deleted_at",
            ],
            _lines(rows),
        )  # fmt: skip
        for through, column, pairs in (
            (Post.assets.through, "asset_id", self.post_asset_pairs),
            (Post.hashtags.through, "hashtag_id", self.post_hashtag_pairs),
        ):
            table = through._meta.db_table
            first = self.next_ids[table]
            rows = [f"{first + k},{self.post_base + post},{other}" for k, (post, other) in enumerate(pairs)]
            writer.copy(table, ["id", "post_id", column], _lines(rows))

    # --- Follows -------------------------------------------------------------------------------

    def _generate_follows(self) -> None:
        rng = self._rng("follows")
        n, anchor, window = self.n_users, self.anchor_ms, self.window_start_ms
        organic = np.flatnonzero(~self.is_burst)
        target = n * min(10, max(2, len(self.creators) // 2))
        # Followers in proportion to how much they read; followees mostly creators, by rank (Zipf).
        follower = organic[_weighted(rng, self.activity[organic] + 0.05, target)]
        followee = self.creators[_weighted(rng, _zipf(len(self.creators), 0.9), target)]
        # Most people follow creators who write in their language.
        same_language = rng.random(target) < 0.8
        for zh in (False, True):
            members = self._creators_speaking(zh)
            chosen = same_language & (self.is_zh[follower] == zh)
            followee[chosen] = members[_weighted(rng, _zipf(len(members), 0.9), int(chosen.sum()))]
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

    def _write_follows(self, writer: _CopyWriter) -> None:
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
                at = _timestamp(since + int(rand.random() * max(self.window_start_ms - since, 1)))
                rows.append(f"{next_id},{demo_id},{self.user_base + followee},{at}")
                next_id += 1
        follower_ids = _ints(self.user_base + self.follow_follower)
        followee_ids = _ints(self.user_base + self.follow_followee)
        at = _timestamps(self.follow_at)
        rows.extend(f"{next_id + k},{follower_ids[k]},{followee_ids[k]},{at[k]}" for k in range(len(at)))
        self.follow_next_id = next_id + len(at)
        self.follow_rows = rows

    # --- Reader interests ----------------------------------------------------------------------

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
        self.posts_by_author = _WeightedGroups.build(
            groups=self.post_author, items=every_post, weights=appeal, n_groups=n_users
        )
        # A followee is drawn by the appeal of all their posts, then one of those posts by its own.
        self.followees_by_reader = _WeightedGroups.build(
            groups=self.follow_follower,
            items=self.follow_followee,
            weights=self.posts_by_author.totals[self.follow_followee],
            n_groups=n_users,
        )
        # The most traded asset first: weights 1, 1/2, 1/3…
        self.assets_by_reader = _WeightedGroups.build(
            groups=trade_reader, items=trade_asset, weights=1.0 / (trade_rank + 1), n_groups=n_users
        )
        self.posts_by_asset_language = _WeightedGroups.build(
            groups=pair_asset * 2 + self.post_zh[pair_post],
            items=pair_post,
            weights=appeal[pair_post],
            n_groups=2 * len(ASSETS),
        )
        self.posts_by_language = _WeightedGroups.build(
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
        follows = _contains(self.follow_keys, actor * self.n_users + self.post_author[post])
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

    # --- Engagement ----------------------------------------------------------------------------

    def _generate_engagement(self) -> None:
        self._prepare_interests()
        rng = self._rng("engagement")
        self.comment_texts: list[np.ndarray] = []  # parallel to the comment events, in generation order
        self.report_rows: _Events | None = None
        cheats = [
            self._self_engagement(self._rng("self-likes")),
            self._ring_engagement(self._rng("ring")),
            self._burst_engagement(self._rng("burst")),
        ]
        cheats = [batch for batch in cheats if len(batch)]
        follow_events = _Events.of(
            actor=self.follow_follower[self.follow_recent],
            post=np.full(int(self.follow_recent.sum()), -1),
            creator=self.follow_followee[self.follow_recent],
            kind=Kind.FOLLOW,
            at=self.follow_at[self.follow_recent],
        )
        used = sum(len(batch) for batch in cheats) + len(follow_events)
        organic = self._organic_engagement(rng, self.n_events - used, cheats)
        self.events = _Events.concat([*cheats, follow_events, *organic])
        if len(self.events) != self.n_events:  # the exact count is a promise to callers and tests
            raise RuntimeError(f"Generated {len(self.events):,} engagement rows instead of {self.n_events:,}.")

    def _self_engagement(self, rng: np.random.Generator) -> _Events:
        """Creators viewing and liking their own posts, minutes after publishing."""
        own = np.isin(self.post_author, self.self_likers)
        posts = np.flatnonzero(own & (self.post_created < self.anchor_ms - HOUR))
        posts = np.sort(rng.permutation(posts)[: self.budget_self // 2])
        start = np.maximum(self.post_created[posts], self.window_start_ms) + _delays(
            rng, len(posts), MINUTE, 20 * MINUTE
        )
        viewed = np.minimum(start, self.anchor_ms - 2 * MINUTE)
        liked = viewed + _delays(rng, len(posts), 5 * SECOND, 60 * SECOND)
        authors = self.post_author[posts]
        batch = _Events.concat(
            [
                _Events.of(actor=authors, post=posts, creator=authors, kind=Kind.VIEW, at=viewed),
                _Events.of(actor=authors, post=posts, creator=authors, kind=Kind.LIKE, at=liked),
            ]
        )
        self.report.planted.self_engagement_rows = len(batch)
        return batch

    def _ring_engagement(self, rng: np.random.Generator) -> _Events:
        """Ring members view, dwell on, like and comment on each other's posts right after publication."""
        if not self.ring:
            return _Events.of(actor=[], post=[], creator=[], kind=Kind.VIEW, at=[])
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
        viewed = np.maximum(self.post_created[post_of], self.window_start_ms) + _delays(rng, size, MINUTE, 15 * MINUTE)
        viewed = np.minimum(viewed, self.anchor_ms - 10 * MINUTE)
        dwell = _delays(rng, size, 60 * SECOND, 300 * SECOND)
        creator = self.post_author[post_of]
        comment_posts = post_of[commented]
        self.comment_texts.append(self._comment_texts(rng, comment_posts, hype=True))
        batch = _Events.concat(
            [
                _Events.of(actor=actor, post=post_of, creator=creator, kind=Kind.VIEW, at=viewed),
                _Events.of(
                    actor=actor, post=post_of, creator=creator, kind=Kind.DWELL, at=viewed + dwell, dwell_ms=dwell
                ),
                _Events.of(
                    actor=actor,
                    post=post_of,
                    creator=creator,
                    kind=Kind.LIKE,
                    at=viewed + _delays(rng, size, 10 * SECOND, 50 * SECOND),
                ),
                _Events.of(
                    actor=actor[commented],
                    post=comment_posts,
                    creator=creator[commented],
                    kind=Kind.COMMENT,
                    at=viewed[commented] + _delays(rng, len(comment_posts), 60 * SECOND, 5 * MINUTE),
                ),
            ]
        )
        self.report.planted.ring_engagement_rows = len(batch)
        return batch

    def _burst_engagement(self, rng: np.random.Generator) -> _Events:
        """Fresh accounts follow one creator and like and view their posts within 15 minutes."""
        empty = _Events.of(actor=[], post=[], creator=[], kind=Kind.VIEW, at=[])
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
        followed_at = start + _delays(rng, size, 0, 5 * MINUTE)
        batches = []
        if follows:
            batches.append(
                _Events.of(
                    actor=accounts,
                    post=np.full(size, -1),
                    creator=np.full(size, self.beneficiary),
                    kind=Kind.FOLLOW,
                    at=followed_at,
                )
            )
            self.burst_follows = (accounts, followed_at)
        for post in posts:
            viewed = start + _delays(rng, size, 0, 14 * MINUTE)
            creator = np.full(size, self.beneficiary)
            batches.append(
                _Events.of(actor=accounts, post=np.full(size, post), creator=creator, kind=Kind.VIEW, at=viewed)
            )
            batches.append(
                _Events.of(
                    actor=accounts,
                    post=np.full(size, post),
                    creator=creator,
                    kind=Kind.LIKE,
                    at=viewed + _delays(rng, size, 3 * SECOND, 40 * SECOND),
                )
            )
        batch = _Events.concat(batches)
        self.report.planted.burst_engagement_rows = len(batch)
        return batch

    def _organic_engagement(self, rng: np.random.Generator, budget: int, cheats: list[_Events]) -> list[_Events]:
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
        cheat = _Events.concat(cheats) if cheats else None
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
        liked = likeable[_weighted_distinct(rng, interest[likeable], wanted[Kind.LIKE])]
        batches.append(self._follow_up(views, liked, Kind.LIKE, self._after(rng, views, liked, 2, 120)))

        not_liked = np.setdiff1d(likeable, liked)
        # People hide what they don't care about, and report what is bad whatever their interests.
        for kind, weights in ((Kind.HIDE, 1 / interest[not_liked]), (Kind.REPORT, 1 / quality[not_liked])):
            rows = not_liked[_weighted_distinct(rng, weights, wanted[kind])]
            batches.append(self._follow_up(views, rows, kind, self._after(rng, views, rows, 3, 90)))
        self.report_rows = batches[-1]

        commented = _weighted(rng, interest, wanted[Kind.COMMENT]) if wanted[Kind.COMMENT] else np.empty(0, np.int64)
        commented.sort()
        self.comment_texts.append(self._comment_texts(rng, views.post[commented], hype=False))
        batches.append(self._follow_up(views, commented, Kind.COMMENT, self._after(rng, views, commented, 20, 900)))

        shared = _weighted(rng, interest, wanted[Kind.SHARE]) if wanted[Kind.SHARE] else np.empty(0, np.int64)
        shared.sort()
        batches.append(self._follow_up(views, shared, Kind.SHARE, self._after(rng, views, shared, 5, 300)))

        click_factor = np.array([TRADE_CLICK_FACTOR[slug] for slug in POST_TYPES])[self.post_type[views.post]]
        click_weights = interest * click_factor * self.post_has_assets[views.post]
        if wanted[Kind.TRADE_CLICK] and click_weights.sum() > 0:
            clicked = np.sort(_weighted(rng, click_weights, wanted[Kind.TRADE_CLICK]))
        else:
            clicked = np.empty(0, np.int64)
        batches.append(self._follow_up(views, clicked, Kind.TRADE_CLICK, self._after(rng, views, clicked, 3, 600)))

        # Anything that could not be placed (tiny populations) becomes more views.
        missing = budget - sum(len(batch) for batch in batches)
        if missing:
            all_keys = np.concatenate([view_keys, self._day_keys(views.actor, views.post, views.at)])
            batches.append(self._views(rng, missing, all_keys))
        return batches

    def _after(self, rng, views: _Events, rows: np.ndarray, low_s: int, high_s: int) -> np.ndarray:
        """Times low_s to high_s seconds after the views in rows, squeezed to end before the anchor."""
        viewed = views.at[rows]
        high = np.minimum(high_s * SECOND, self.anchor_ms - 1 - viewed)
        low = np.minimum(low_s * SECOND, high // 2)
        return viewed + low + (rng.random(len(rows)) * (high - low)).astype(np.int64)

    @staticmethod
    def _follow_up(views: _Events, rows: np.ndarray, kind: int, at: np.ndarray, dwell_ms=None) -> _Events:
        return _Events.of(
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

    def _views(self, rng: np.random.Generator, count: int, taken_keys: np.ndarray) -> _Events:
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
            actor = readers[_weighted(rng, self.activity[readers], size)]
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
        return _Events.of(actor=actor, post=post, creator=self.post_author[post], kind=Kind.VIEW, at=at)

    def _comment_texts(self, rng: np.random.Generator, posts: np.ndarray, *, hype: bool) -> np.ndarray:
        pools = HYPE_COMMENTS if hype else COMMENTS
        english = np.array(pools["en"], dtype=object)
        chinese = np.array(pools["zh"], dtype=object)
        return np.where(
            self.post_zh[posts],
            chinese[rng.integers(0, len(chinese), size=len(posts))],
            english[rng.integers(0, len(english), size=len(posts))],
        )

    def _write_engagement(self, writer: _CopyWriter) -> None:
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
                _ints(np.arange(part.start, part.stop) + base),
                _ints(actor[part] + user_base),
                [value if value != "-1" else "" for value in _ints(post_ids)],
                _ints(creator[part] + user_base),
                _ints(kind[part]),
                _ints(dwell[part]),
                _timestamps(at[part]),
                fingerprints[actor[part]].tolist(),
            ]

        writer.copy(
            Engagement._meta.db_table,
            ["id", "actor_id", "post_id", "creator_id", "kind", "dwell_ms", "occurred_at", "fingerprint"],
            _chunked_csv(engagement_columns, len(at)),
        )

        # Burst follows join the follow table, now that their times are known.
        burst_accounts, burst_at = self.burst_follows
        follow_rows = self.follow_rows
        burst_ids = _ints(burst_accounts + user_base)
        burst_times = _timestamps(burst_at)
        follow_rows.extend(
            f"{self.follow_next_id + k},{burst_ids[k]},{self.beneficiary + user_base},{burst_times[k]}"
            for k in range(len(burst_ids))
        )
        writer.copy(Follow._meta.db_table, ["id", "follower_id", "followee_id", "created_at"], _lines(follow_rows))

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
                _ints(np.arange(part.start, part.stop) + base),
                _ints(actor[rows] + self.user_base),
                _ints(post[rows] + self.post_base),
                _timestamps(at[rows]),
            ]

        writer.copy(
            Like._meta.db_table, ["id", "user_id", "post_id", "created_at"], _chunked_csv(like_columns, len(likes))
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
        id_text, post_text, author_text = _ints(ids), _ints(post + self.post_base), _ints(author + self.user_base)
        parent_text, at_text = _ints(parent), _timestamps(at)
        rows = [
            f"{id_text[k]},{post_text[k]},{author_text[k]},{parent_text[k] if parent[k] >= 0 else ''},"
            f"{_quote(texts[k])},{at_text[k]}"
            for k in range(len(comments))
        ]
        writer.copy(
            Comment._meta.db_table, ["id", "post_id", "author_id", "parent_id", "body", "created_at"], _lines(rows)
        )

    def _write_shares(self, writer, kind, actor, post, at) -> None:
        shares = np.flatnonzero(kind == Kind.SHARE)
        base = self.next_ids[Share._meta.db_table]
        rand = self._rand("share-codes")
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        at_text = _timestamps(at[shares])
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
        writer.copy(Share._meta.db_table, ["id", "user_id", "post_id", "code", "channel", "created_at"], _lines(rows))

    def _write_reports(self, writer, rng) -> None:
        reports = self.report_rows
        base = self.next_ids[Report._meta.db_table]
        rows = []
        if reports is not None and len(reports):
            order = np.argsort(reports.at, kind="stable")
            reasons = rng.choice(len(REPORT_REASONS), size=len(order), p=REPORT_REASON_WEIGHTS)
            at_text = _timestamps(reports.at[order])
            for k, row in enumerate(order):
                rows.append(
                    f"{base + k},{reports.actor[row] + self.user_base},{reports.post[row] + self.post_base},"
                    f'{REPORT_REASONS[reasons[k]]},"",open,{at_text[k]}'
                )
        writer.copy(
            Report._meta.db_table,
            ["id", "reporter_id", "post_id", "reason", "details", "status", "created_at"],
            _lines(rows),
        )

    # --- Exchange data: candles, trade cards, calls, fills --------------------------------------

    def _bar(self, ms) -> np.ndarray:
        """Index of the hourly candle that holds each moment."""
        return np.clip((np.asarray(ms, dtype=np.int64) - self.candle_first_ms) // HOUR, 0, self.n_bars - 1)

    def _round_prices(self, values: np.ndarray, assets: np.ndarray) -> np.ndarray:
        """Prices rounded to each asset's tick (rounding keeps their order, so a price drawn between a
        bar's low and high stays there)."""
        scale = 10.0 ** self.price_places[assets]
        return np.rint(values * scale) / scale

    def _price_text(self, value: float, asset: int) -> str:
        return f"{value:.{self.price_places[asset]}f}"

    def _close_text(self, asset: int, bar: int) -> str:
        return self.stored_close_text.get((asset, bar)) or self._price_text(self.candle_close[asset, bar], asset)

    def _generate_candles(self) -> None:
        rng = self._rng("candles")
        anchor = self.anchor_ms
        self.candle_first_ms = (anchor // HOUR - CANDLE_DAYS * 24) * HOUR
        # With an anchor inside an hour, the last bar is still open at the anchor.
        self.n_bars = n_bars = int(-(-(anchor - self.candle_first_ms) // HOUR))
        n_assets = len(ASSETS)
        self.candle_assets = [k for k, symbol in enumerate(self.asset_symbols) if symbol not in STABLECOINS]
        # Prices to about six significant digits, like the exchange's ticks (BTC 0.1, ETH 0.01, PEPE
        # 1e-10), and quantities in steps worth well under a cent (BTC 1e-8, PEPE whole tokens).
        magnitude = np.floor(np.log10(self.asset_prices)).astype(np.int64)
        self.price_places = np.clip(5 - magnitude, 1, 12)
        self.quantity_places = np.clip(4 + magnitude, 0, 8)

        # Majors move about 2.5% a day, the smallest caps about twice as much.
        hourly = 0.004 + 0.006 / np.sqrt(self.asset_weights)
        returns = rng.standard_normal((n_assets, n_bars)) * hourly[:, None]
        log_close = np.cumsum(returns, axis=1)
        close = self.asset_prices[:, None] * np.exp(log_close - log_close[:, -1:])
        opens = np.concatenate([close[:, :1] * np.exp(-returns[:, :1]), close[:, :-1]], axis=1)
        wicks = np.abs(rng.standard_normal((2, n_assets, n_bars))) * 0.6 * hourly[:, None]
        high = np.maximum(opens, close) * np.exp(wicks[0])
        low = np.minimum(opens, close) * np.exp(-wicks[1])
        dollars = (1e6 * self.asset_weights)[:, None] * rng.lognormal(0.0, 0.6, size=(n_assets, n_bars))

        stored = self._stored_candles()
        for asset, bars in stored.items():
            # Meet the first stored bar, so the walk joins it without a jump.
            first_bar, (first_open, *_prices) = bars[0]
            factor = float(first_open) / opens[asset, first_bar]
            for prices in (opens, high, low, close):
                prices[asset] *= factor
        scale = 10.0 ** self.price_places[:, None]
        self.candle_open, self.candle_high, self.candle_low, self.candle_close = (
            np.rint(prices * scale) / scale for prices in (opens, high, low, close)
        )
        self.candle_volume = dollars / close
        self.candle_stored = np.zeros((n_assets, n_bars), bool)
        self.stored_close_text: dict[tuple[int, int], str] = {}
        for asset, bars in stored.items():
            for bar, (open_, high_, low_, close_) in bars:
                self.candle_open[asset, bar], self.candle_high[asset, bar] = float(open_), float(high_)
                self.candle_low[asset, bar], self.candle_close[asset, bar] = float(low_), float(close_)
                self.candle_stored[asset, bar] = True
                self.stored_close_text[asset, bar] = f"{close_:f}"

    def _stored_candles(self) -> dict[int, list[tuple[int, tuple[Decimal, ...]]]]:
        """Bars of the demo's range already stored (an earlier seed, or the live poll), by asset in time
        order: they are kept as they are, and what the seed prices is priced from them."""
        instruments = {f"{self.asset_symbols[k]}-{CANDLE_QUOTE}": k for k in self.candle_assets}
        first = datetime.fromtimestamp(self.candle_first_ms / 1000, UTC)
        rows = (
            Candle.objects.filter(
                instrument__in=instruments,
                bar=CANDLE_BAR,
                opened_at__gte=first,
                opened_at__lt=first + timedelta(hours=self.n_bars),
            )
            .order_by("instrument", "opened_at")
            .values_list("instrument", "opened_at", "open", "high", "low", "close")
        )
        stored: dict[int, list] = {}
        for instrument, opened_at, *prices in rows:
            offset = _epoch_ms(opened_at) - self.candle_first_ms
            if offset % HOUR == 0:
                stored.setdefault(instruments[instrument], []).append((offset // HOUR, tuple(prices)))
        return stored

    def _write_candles(self, writer: _CopyWriter) -> None:
        base = self.next_ids[Candle._meta.db_table]
        opened_ms = self.candle_first_ms + np.arange(self.n_bars, dtype=np.int64) * HOUR
        opened = _timestamps(opened_ms)
        closed = ["t" if at + HOUR <= self.anchor_ms else "f" for at in opened_ms.tolist()]
        rows = []
        for asset in self.candle_assets:
            instrument = f"{self.asset_symbols[asset]}-{CANDLE_QUOTE}"
            places = int(self.price_places[asset])
            opens, highs, lows, closes = (
                [f"{value:.{places}f}" for value in prices[asset].tolist()]
                for prices in (self.candle_open, self.candle_high, self.candle_low, self.candle_close)
            )
            volumes = [f"{value:.4f}" for value in self.candle_volume[asset].tolist()]
            for bar in np.flatnonzero(~self.candle_stored[asset]).tolist():
                rows.append(
                    f"{base + len(rows)},{instrument},{CANDLE_BAR},{opened[bar]},{opens[bar]},{highs[bar]},"
                    f"{lows[bar]},{closes[bar]},{volumes[bar]},{closed[bar]}"
                )
        writer.copy(
            Candle._meta.db_table,
            ["id", "instrument", "bar", "opened_at", "open", "high", "low", "close", "volume", "is_closed"],
            _lines(rows),
        )

    def _plan_trade_cards(self) -> None:
        """Which trade_share posts carry a card, when and at what price the author entered, and whether
        the author's fills back the card."""
        rng = self._rng("trade-cards")
        shares = self.post_type == POST_TYPES.index("trade_share")
        cards = np.flatnonzero(shares & (rng.random(self.n_posts) < TRADE_CARD_SHARE))
        size = len(cards)
        asset = self.post_primary[cards]
        # 1 to 24 hours before posting, with ten minutes to spare for the rest of the order to fill.
        entered = self.post_created[cards] - rng.integers(HOUR + 10 * MINUTE, DAY, size=size)
        bar = self._bar(entered)
        low, high = self.candle_low[asset, bar], self.candle_high[asset, bar]
        self.card_post, self.card_asset, self.card_entered = cards, asset, entered
        self.card_entry = self._round_prices(low + rng.random(size) * (high - low), asset)
        self.card_backed = (rng.random(size) < BACKED_CARD_SHARE) & self.linked[self.post_author[cards]]

    def _shape_trade_cards(self, leverage: np.ndarray) -> None:
        """Instrument, side and leverage of each card, as its post reads: a short or a leveraged trade
        is a perpetual, a spot or grid trade a spot buy, anything else either."""
        rng = self._rng("trade-card-shapes")
        guess_perpetual = rng.random(len(self.card_post)) < PERPETUAL_FILL_SHARE
        shapes = [
            _card_shape(*self.bodies[post].rsplit("\n\n", 1), guess_perpetual=guess)  # text, hashtags
            for post, guess in zip(self.card_post.tolist(), guess_perpetual.tolist(), strict=True)
        ]
        self.card_perpetual = np.array([perpetual for perpetual, _short in shapes], dtype=bool)
        self.card_short = np.array([short for _perpetual, short in shapes], dtype=bool)
        self.card_leverage = np.where(self.card_perpetual, leverage[self.card_post], 1)

    def _plan_calls(self) -> None:
        """A call on the asset an analysis or trade_share post is about, for about CALL_SHARE of them."""
        rng = self._rng("calls")
        n = self.n_posts
        primary_ids = np.array([self.asset_ids[symbol] for symbol in self.asset_symbols])[self.post_primary]
        pairs = np.array(self.post_asset_pairs, dtype=np.int64).reshape(-1, 2)
        self.post_names_primary = np.zeros(n, bool)
        self.post_names_primary[pairs[pairs[:, 1] == primary_ids[pairs[:, 0]], 0]] = True
        kinds = np.isin(self.post_type, [POST_TYPES.index("analysis"), POST_TYPES.index("trade_share")])
        calls = np.flatnonzero(kinds & self.post_names_primary & (rng.random(n) < CALL_SHARE))
        size = len(calls)
        asset = self.post_primary[calls]
        bar = self._bar(self.post_created[calls])
        up = rng.random(size) < 0.6
        card_of_post = np.full(n, -1)
        card_of_post[self.card_post] = np.arange(len(self.card_post))
        card = card_of_post[calls]
        up[card >= 0] = ~self.card_short[card[card >= 0]]  # a post's call goes its trade card's way
        distance = 0.03 + 0.12 * rng.random(size) ** 2  # 3% to 15% away, mostly under 8%
        entry = self.candle_close[asset, bar]
        self.call_post, self.call_asset, self.call_up = calls, asset, up
        self.call_target = self._round_prices(entry * np.where(up, 1 + distance, 1 - distance), asset)
        self.call_entry_text = [self._close_text(int(a), int(b)) for a, b in zip(asset, bar, strict=True)]
        self.call_horizon = rng.choice(CALL_HORIZON_DAYS, size=size).astype(np.int64) * DAY

    def _write_trade_cards(self, writer: _CopyWriter) -> None:
        rows = []
        for k, post in enumerate(self.card_post.tolist()):
            asset = int(self.card_asset[k])
            perpetual, short = self.card_perpetual[k], self.card_short[k]
            instrument = f"{self.asset_symbols[asset]}-{CANDLE_QUOTE}{'-SWAP' if perpetual else ''}"
            side = ("short" if short else "long") if perpetual else "buy"
            rows.append(
                f"{self.post_base + post},{instrument},{side},{self._price_text(self.card_entry[k], asset)},"
                f"{int(self.card_leverage[k])}"
            )
        writer.copy(
            TradeCard._meta.db_table, ["post_id", "instrument", "side", "entry_price", "leverage"], _lines(rows)
        )

    def _write_calls(self, writer: _CopyWriter) -> None:
        made = self.post_created[self.call_post]
        made_text, horizon_text = _timestamps(made), _timestamps(made + self.call_horizon)
        rows = []
        for k, post in enumerate(self.call_post.tolist()):
            asset = int(self.call_asset[k])
            rows.append(
                f"{self.post_base + post},{self.user_base + self.post_author[post]},"
                f"{self.asset_ids[self.asset_symbols[asset]]},{'up' if self.call_up[k] else 'down'},"
                f"{self._price_text(self.call_target[k], asset)},{self.call_entry_text[k]},{made_text[k]},"
                f"{horizon_text[k]},{Call.Status.OPEN}"
            )
        writer.copy(
            Call._meta.db_table,
            [
                "post_id", "author_id", "asset_id", "direction", "target_price", "entry_price", "made_at",
                "horizon_at", "status",
            ],
            _lines(rows),
        )  # fmt: skip

    def _generate_fills(self) -> None:
        """Fills of linked accounts: everyday trading of the creators who trade, the fills behind the
        backed trade cards, trades around the traders' own posts (so disclosures show) and the demo
        reader's trading."""
        rng = self._rng("fills")
        n = self.n_users
        creators = self.creators[self.linked[self.creators]]
        trading = np.zeros(n, bool)
        trading[creators[rng.random(len(creators)) < TRADING_CREATOR_SHARE]] = True
        trading[self.post_author[self.card_post[self.card_backed]]] = True
        # An account's fills over CANDLE_DAYS follow its profile's 30-day trades, and one fill is about
        # its 30-day volume over its 30-day trades (larger when the cap cuts the count).
        self.fill_counts = np.clip(np.rint(self.trades * CANDLE_DAYS / 30), 1, MAX_FILLS_PER_ACCOUNT).astype(np.int64)
        self.trade_size = np.maximum(self.volume_cents / 100 / (self.fill_counts * 30 / CANDLE_DAYS), 10.0)
        self.trades_perpetual = np.array(["perpetual" in kinds for kinds in self.instruments], dtype=bool)
        batches = [
            self._everyday_fills(rng, np.flatnonzero(trading)),
            *self._card_fills(rng),
            self._disclosed_fills(rng, trading),
        ]
        if self.create_fixed and self.demo_linked:
            batches.append(self._demo_fills(rng))
        fills = _Fills.concat(batches)
        fills = fills.take(np.flatnonzero(~self._matching_unbacked_cards(fills)))
        self.fills = fills.take(np.argsort(fills.at, kind="stable"))  # ids in time order, as they arrive

    def _price_in_bar(self, rng: np.random.Generator, asset: np.ndarray, at: np.ndarray) -> np.ndarray:
        bar = self._bar(at)
        low, high = self.candle_low[asset, bar], self.candle_high[asset, bar]
        return self._round_prices(low + rng.random(len(at)) * (high - low), asset)

    def _lots(self, notional: np.ndarray, price: np.ndarray, asset: np.ndarray) -> np.ndarray:
        """Quantities as whole multiples of the asset's quantity step, at least one."""
        return np.maximum(np.rint(notional / price * 10.0 ** self.quantity_places[asset]), 1).astype(np.int64)

    def _trade_sizes(self, rng: np.random.Generator, user: np.ndarray) -> np.ndarray:
        return self.trade_size[user] * rng.lognormal(-0.125, 0.5, size=len(user))  # mean 1

    def _everyday_fills(self, rng: np.random.Generator, traders: np.ndarray) -> _Fills:
        user = np.repeat(traders, self.fill_counts[traders])
        size = len(user)
        asset = self.assets_by_reader.draw(rng, user)  # most traded first (weights 1, 1/2, 1/3…)
        at = rng.integers(self.candle_first_ms, self.anchor_ms - MINUTE, size=size)
        return self._fills_in_bars(rng, user, asset, at, buy_share=0.55)

    def _fills_in_bars(self, rng, user, asset, at, *, buy_share: float) -> _Fills:
        """Fills of these users' usual sizes, each at a price inside the bar of its moment."""
        size = len(user)
        price = self._price_in_bar(rng, asset, at)
        return _Fills.of(
            user=user,
            asset=asset,
            perpetual=self.trades_perpetual[user] & (rng.random(size) < PERPETUAL_FILL_SHARE),
            buy=rng.random(size) < buy_share,
            at=at,
            price=price,
            lots=self._lots(self._trade_sizes(rng, user), price, asset),
        )

    def _card_fills(self, rng: np.random.Generator) -> tuple[_Fills, _Fills]:
        """(the orders that back the cards, filled in 1 to 3 parts; the closing of most of them later)."""
        backed = np.flatnonzero(self.card_backed)
        post = self.card_post[backed]
        user, asset, entry = self.post_author[post], self.card_asset[backed], self.card_entry[backed]
        perpetual, opening_buy = self.card_perpetual[backed], ~self.card_short[backed]
        parts = rng.integers(1, 4, size=len(backed))
        card = np.repeat(np.arange(len(backed)), parts)
        nth = np.arange(len(card)) - np.repeat(np.cumsum(parts) - parts, parts)
        entered = self.card_entered[backed]
        bar = self._bar(entered)
        # The whole order fills within the bar it started in, near the card's entry price.
        bar_end = self.candle_first_ms + (bar + 1) * HOUR - SECOND
        at = np.minimum(entered[card] + nth * rng.integers(5 * SECOND, 3 * MINUTE, size=len(card)), bar_end[card])
        near = entry[card] * (1 + rng.uniform(-CARD_FILL_SPREAD, CARD_FILL_SPREAD, size=len(card)))
        price = self._round_prices(
            np.clip(near, self.candle_low[asset[card], bar[card]], self.candle_high[asset[card], bar[card]]),
            asset[card],
        )
        total = self._trade_sizes(rng, user)[card] * rng.dirichlet(np.ones(3), size=len(backed))[card, nth]
        lots = self._lots(total, price, asset[card])
        opening = _Fills.of(
            user=user[card],
            asset=asset[card],
            perpetual=perpetual[card],
            buy=opening_buy[card],
            at=at,
            price=price,
            lots=lots,
            protected=True,
        )
        closed_at = self.post_created[post] + rng.integers(6 * HOUR, 7 * DAY, size=len(backed))
        closes = np.flatnonzero((rng.random(len(backed)) < CARD_CLOSED_SHARE) & (closed_at < self.anchor_ms - MINUTE))
        opened_lots = np.zeros(len(backed), dtype=np.int64)
        np.add.at(opened_lots, card, lots)
        closing = _Fills.of(
            user=user[closes],
            asset=asset[closes],
            perpetual=perpetual[closes],
            buy=~opening_buy[closes],
            at=closed_at[closes],
            price=self._price_in_bar(rng, asset[closes], closed_at[closes]),
            lots=opened_lots[closes],
        )
        return opening, closing

    def _disclosed_fills(self, rng: np.random.Generator, trading: np.ndarray) -> _Fills:
        """A trade of the asset a post is about, within DISCLOSED_DAYS of it, by its author."""
        has_card = np.zeros(self.n_posts, bool)
        has_card[self.card_post] = True
        drawn = rng.random(self.n_posts) < DISCLOSED_POST_SHARE
        posts = np.flatnonzero(drawn & trading[self.post_author] & self.post_names_primary & ~has_card)
        size = len(posts)
        user, asset = self.post_author[posts], self.post_primary[posts]
        offset = rng.integers(-DISCLOSED_DAYS * DAY, DISCLOSED_DAYS * DAY, size=size)
        at = np.clip(self.post_created[posts] + offset, self.candle_first_ms, self.anchor_ms - MINUTE)
        return self._fills_in_bars(rng, user, asset, at, buy_share=0.6)

    def _demo_fills(self, rng: np.random.Generator) -> _Fills:
        """The demo reader's trades: 46 in the last 30 days for $184,250 (as its profile says), BTC
        then ETH then SOL by volume, and some older ones."""
        batches = []
        month = self.anchor_ms - 30 * DAY
        for symbol, count, share in (("BTC", 20, 0.55), ("ETH", 16, 0.30), ("SOL", 10, 0.15)):
            weights = rng.lognormal(0.0, 0.5, size=count)
            notional = 184_250 * share * weights / weights.sum()
            at = rng.integers(month + HOUR, self.anchor_ms - HOUR, size=count)
            batches.append((np.full(count, self.asset_symbols.index(symbol)), at, notional))
        older = 24
        asset = np.array([self.asset_symbols.index(symbol) for symbol in ("BTC", "ETH", "SOL")])[
            rng.integers(0, 3, size=older)
        ]
        batches.append(
            (
                asset,
                rng.integers(self.candle_first_ms, month - HOUR, size=older),
                4_000 * rng.lognormal(0.0, 0.5, size=older),
            )
        )
        asset, at, notional = (np.concatenate(part) for part in zip(*batches, strict=True))
        price = self._price_in_bar(rng, asset, at)
        size = len(at)
        return _Fills.of(
            user=np.full(size, self.n_users),  # the demo account's index
            asset=asset,
            perpetual=rng.random(size) < PERPETUAL_FILL_SHARE,
            buy=rng.random(size) < 0.55,
            at=at,
            price=price,
            lots=self._lots(notional, price, asset),
        )

    def _matching_unbacked_cards(self, fills: _Fills) -> np.ndarray:
        """Which fills (other than a backed card's own) could verify a card meant to stay unverified:
        the author's, on its instrument and opening side, in the verification window before the post."""
        unbacked = np.flatnonzero(~self.card_backed)
        post = self.card_post[unbacked]
        window = (settings.ORBIT_TRADE_CARD_WINDOW_HOURS + 1) * HOUR

        def keys(user, asset, perpetual, buy) -> np.ndarray:
            # A fill's (account, instrument, side) in the high bits, its second in the demo's range below.
            return (((user * len(ASSETS) + asset) * 2 + perpetual) * 2 + buy).astype(np.int64) << 32

        fill_keys = keys(fills.user, fills.asset, fills.perpetual, fills.buy) | (
            (fills.at - self.candle_first_ms) // SECOND
        )
        order = np.argsort(fill_keys, kind="stable")
        card_keys = keys(
            self.post_author[post], self.card_asset[unbacked], self.card_perpetual[unbacked], ~self.card_short[unbacked]
        )
        since = np.maximum(self.post_created[post] - window - self.candle_first_ms, 0) // SECOND
        until = (self.post_created[post] + HOUR - self.candle_first_ms) // SECOND
        starts = np.searchsorted(fill_keys[order], card_keys | since, side="left")
        ends = np.searchsorted(fill_keys[order], card_keys | until, side="right")
        inside = np.zeros(len(fills) + 1, dtype=np.int64)
        np.add.at(inside, starts, 1)
        np.add.at(inside, ends, -1)
        matching = np.empty(len(fills), bool)
        matching[order] = np.cumsum(inside[:-1]) > 0
        return matching & ~fills.protected

    def _write_fills(self, writer: _CopyWriter) -> None:
        fills = self.fills
        base = self.next_ids[Fill._meta.db_table]
        demo_id = self.fixed_ids.get(DEMO_USERNAME, -1)
        user_ids = _ints(np.where(fills.user < self.n_users, fills.user + self.user_base, demo_id))
        filled_at = _timestamps(fills.at)
        rows = []
        for k, (asset, perpetual, buy, price, lots) in enumerate(
            zip(
                fills.asset.tolist(),
                fills.perpetual.tolist(),
                fills.buy.tolist(),
                fills.price.tolist(),
                fills.lots.tolist(),
                strict=True,
            )
        ):
            symbol = self.asset_symbols[asset]
            price_exact = Decimal(self._price_text(price, asset))
            quantity = Decimal(lots).scaleb(-int(self.quantity_places[asset]))
            notional = price_exact * quantity
            fill_pk = base + k
            # "demo-<id>": unique, and never an id the exchange's own fills use.
            rows.append(
                f"{fill_pk},demo-{fill_pk},{user_ids[k]},{symbol}-{CANDLE_QUOTE}{'-SWAP' if perpetual else ''},"
                f"{'perpetual' if perpetual else 'spot'},{symbol},{CANDLE_QUOTE},{'buy' if buy else 'sell'},"
                f"{quantity:f},{price_exact:f},{(notional * TAKER_FEE).quantize(FEE_UNIT):f},{CANDLE_QUOTE},"
                f"{notional.quantize(CENT):f},{filled_at[k]}"
            )
        writer.copy(
            Fill._meta.db_table,
            [
                "id", "fill_id", "user_id", "instrument", "instrument_type", "asset", "quote", "side", "quantity",
                "price", "fee", "fee_currency", "notional_usd", "filled_at",
            ],
            _lines(rows),
        )  # fmt: skip
        self.fill_user_ids = sorted(set(map(int, user_ids)))

    def _apply_exchange_services(self) -> None:
        """What the exchange integration would have done with these facts, as of the anchor: verify the
        trade cards the fills back, grade the calls whose horizon passed, and rebuild the trading
        profiles of the accounts with fills from them (the others keep their seeded figures)."""
        anchor = datetime.fromtimestamp(self.anchor_ms / 1000, UTC)
        began = time.perf_counter()
        # Each card as publish_post verifies it (verify_pending_cards re-checks only the cards of the
        # last ORBIT_TRADE_CARD_WINDOW_HOURS before the real now; the demo's go back weeks). Cards
        # without any fill of their instrument and opening side near the post cannot match: skipped.
        near = timedelta(hours=settings.ORBIT_TRADE_CARD_WINDOW_HOURS + 24)
        fills_near_post = Fill.objects.filter(
            user_id=OuterRef("post__author_id"),
            instrument=OuterRef("instrument"),
            side=OuterRef("opening_side"),
            filled_at__gte=OuterRef("post__created_at") - near,
            filled_at__lte=OuterRef("post__created_at") + timedelta(days=1),
        )
        cards = (
            TradeCard.objects.filter(post_id__gte=self.post_base)
            .annotate(
                opening_side=Case(
                    When(side__in=[TradeCard.Side.LONG, TradeCard.Side.BUY], then=Value(Fill.Side.BUY)),
                    default=Value(Fill.Side.SELL),
                )
            )
            .filter(Exists(fills_near_post))
            .select_related("post")
        )
        for card in cards.order_by("post_id").iterator(chunk_size=2_000):
            verify_trade_card(card)
        # The fills came before the post, so the card was verified as it was published.
        TradeCard.objects.filter(post_id__gte=self.post_base, verified_at__isnull=False).update(
            verified_at=Subquery(Post.objects.filter(pk=OuterRef("post_id")).values("created_at")[:1])
        )
        grade_due_calls(now=anchor)
        self.report.profiles_from_fills = refresh_trading_profiles(user_ids=self.fill_user_ids, now=anchor)
        self._stage("verified cards, graded calls and trading profiles", began)
        self.report.verified_cards = TradeCard.objects.filter(
            post_id__gte=self.post_base, verified_at__isnull=False
        ).count()
        self.report.calls_by_status = dict(
            Call.objects.filter(post_id__gte=self.post_base)
            .values_list("status")
            .annotate(count=Count("pk"))
            .order_by("status")
        )
        self.say(
            f"  {self.report.verified_cards:,} of {len(self.card_post):,} trade cards verified; calls: "
            + (", ".join(f"{count:,} {status}" for status, count in self.report.calls_by_status.items()) or "none")
        )


@dataclass
class _Fills:
    """A batch of fills as parallel arrays; user is a generated user's index, or n_users for demo."""

    user: np.ndarray
    asset: np.ndarray
    perpetual: np.ndarray
    buy: np.ndarray
    at: np.ndarray
    price: np.ndarray  # rounded to the asset's tick
    lots: np.ndarray  # quantity in the asset's quantity steps
    protected: np.ndarray  # a backed card's own fills, never dropped

    FIELDS = ("user", "asset", "perpetual", "buy", "at", "price", "lots", "protected")

    @classmethod
    def of(cls, *, user, asset, perpetual, buy, at, price, lots, protected=False) -> _Fills:
        user = np.asarray(user, dtype=np.int64)
        return cls(
            user=user,
            asset=np.asarray(asset, dtype=np.int64),
            perpetual=np.asarray(perpetual, dtype=bool),
            buy=np.asarray(buy, dtype=bool),
            at=np.asarray(at, dtype=np.int64),
            price=np.asarray(price, dtype=np.float64),
            lots=np.asarray(lots, dtype=np.int64),
            protected=np.full(len(user), protected, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.user)

    def take(self, rows: np.ndarray) -> _Fills:
        return _Fills(*(getattr(self, name)[rows] for name in self.FIELDS))

    @classmethod
    def concat(cls, batches: list[_Fills]) -> _Fills:
        return cls(*(np.concatenate([getattr(batch, name) for batch in batches]) for name in cls.FIELDS))
