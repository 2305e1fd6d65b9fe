"""Build ranking/corpus/posts.jsonl, the labeled posts the tagger learns from.

    .venv/bin/python -m ranking.corpus.build_corpus [--check]

How the corpus was written
--------------------------
Every post grows from a skeleton written by hand for Orbit, in skeletons_en.txt and
skeletons_zh.txt: 76 to 84 per content type and language (928 in all), each a complete post in
the voice of a crypto trader (Markdown lists and bold, cashtags, emoji, slang, typos, shilling,
spam), with the labels a reader would give the whole post: level, topics and a base quality.
Entry i of a type in one file and entry i of the same type in the other were mostly written as a
pair, from one idea; some Chinese ones say it the Chinese way rather than translate.

Each skeleton is expanded three times (2,784 posts from these two files). An expansion fills the asset slots from a
pool that fits the sentence (a memecoin where it talks about memecoins, a layer 2 where it talks
about rollups), writes each asset the way people do (`$BTC`, `BTC`, `$btc`, "bitcoin", "比特币",
"大饼", mostly a cashtag first), fills prices, percentages, leverage and dollar amounts (`$5k`,
`$100`, which are not assets), and sometimes adds an opener, a closer, an aside that belongs to
another kind of post (a beginner tip in an analysis, a "lol" in a trade), hashtags, a chart link or
image, a source URL (URLs name assets: https://x.com/solana/... is not a mention), typos and lower
case in casual English, and, in Chinese, no spaces between Chinese and Latin text ("买了$BTC现货").

Real feeds are shorter and noisier, so skeletons_stream_en.txt and skeletons_stream_zh.txt hold
stream-like posts written apart (not in pairs, each language on its own): one-liners, "gm", memes
and emoji, giveaways and cashtag or hashtag spam, questions, hot takes, first-person trade stories,
third-party trades and one-line headlines, airdrop, testnet, points and launch threads, threads cut
mid-way, typos and lower case. Their boundaries: a question is chat unless the post goes on to
teach; an opinion is analysis only when it argues a market view with reasons; someone else's trade
is news; an airdrop, testnet or points guide, or the reading of a new protocol or listing, is
new_asset. A missing stream file is skipped. Stream skeletons are expanded three times too, but
with fewer additions (STREAM_SHORT, STREAM_LONG): one of at most STREAM_SHORT_CHARS characters gets
no opener or aside and rarely a closer, image or hashtags, so a one-liner mostly stays one, and
casual English (lower case, typos) reaches every type, not only chat. Their new tokens come from the
"fresh" pool (FRESH_TOKENS, digit-led tickers like $0VIA among them), apart from the "new" pool.

The skeleton files: "== type ==" starts a section; each entry is a header line
"level | topics | quality [| symbols the text names itself]" (level b, i or a; topics from
ranking.tagging.TOPICS, space-separated), the post on the following lines, then a line "--".
Slots: {A:pool} names an asset from a pool of POOLS (later {A} is the same asset, maybe spelled
another way; {An:pool} uses its name), B to D likewise; {p} {lo} {lo2} {hi} {hi2} are prices
around the first asset's, and {pct} {pnl} {apr} {lev} {tf} {days} {n} {usd} {amt} {ratio} {dex}
other numbers and words (numbers_for). Lines starting with "#" before the first section are
comments.

How it was labeled
------------------
content_type, level, topics and the base quality come from the skeleton, chosen when it was
written; quality moves a little per expansion (typos cost, spam stays near zero). assets are the
symbols the expansion wrote plus any named in the skeleton itself, found from what was written,
never by running the tagger's extractor: fictional new tokens mentioned only by name or a bare
ticker are still labeled, so the extractor is scored honestly on what it cannot know. Some
skeletons carry decoys: "ONE day", "the graph", "link in bio", "op", "uni", "near", "a ton of",
"optimism", "Optimistic rollups", "etherscan", "以太网", amounts like "$0.001".

Each line also carries "group" (content type and entry number): posts from the same skeleton and
its pair in the other language share it, so the held-out split never scores a post whose
skeleton it trained on. Stream posts have groups of their own, "stream-<language>-<type>-NN",
which never meet the paired ones. The output is deterministic: every expansion has its own seeded random
stream, so editing one skeleton changes only its own posts. Run with --check to verify that
posts.jsonl is what the skeletons build.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS_PATH = HERE / "posts.jsonl"
SKELETON_FILES = {"en": HERE / "skeletons_en.txt", "zh": HERE / "skeletons_zh.txt"}
# Short, noisy posts as real feeds carry them, written apart from the paired files above (a missing
# file is skipped, so one language's stream can be written before the other's).
STREAM_SKELETON_FILES = {"en": HERE / "skeletons_stream_en.txt", "zh": HERE / "skeletons_stream_zh.txt"}
EXPANSIONS = 3
LEVELS = {"b": "beginner", "i": "intermediate", "a": "advanced"}


@dataclass(frozen=True)
class Skeleton:
    content_type: str
    group: str
    level: str
    topics: tuple[str, ...]
    quality: float
    text: str
    named: tuple[str, ...]  # symbols the text names itself, outside the slots


@dataclass(frozen=True)
class Style:
    """The chances that an expansion adds something around the skeleton's own words."""

    opener: float = 0.15
    aside: float = 0.2
    closer: float = 0.3
    image: float = 0.15
    hashtags: float = 0.45
    casual: float = 0.6  # lower case and typos in a chat or low-quality English post
    casual_other: float = 0.0  # the same in any other English post


WRITTEN = Style()
# A stream one-liner mostly stays a one-liner: no opener or aside, rarely a closer or hashtags.
STREAM_SHORT = Style(opener=0.0, aside=0.0, closer=0.05, image=0.03, hashtags=0.15, casual_other=0.3)
STREAM_LONG = Style(opener=0.05, aside=0.1, closer=0.15, image=0.08, hashtags=0.25, casual_other=0.3)
STREAM_SHORT_CHARS = 120  # a stream skeleton this long or shorter is expanded as a one-liner


@dataclass(frozen=True)
class Coin:
    symbol: str
    price: float
    names: tuple[str, ...] = ()  # how English posts name it
    names_zh: tuple[str, ...] = ()  # how Chinese posts name it (English names serve when empty)
    ticker: bool = True  # written bare in upper case ("BTC") as often as with a $
    lower: tuple[str, ...] = ()  # lower-case spellings people type ("btc", "sol")


COINS = {
    coin.symbol: coin
    for coin in [
        Coin("BTC", 96_000, ("Bitcoin", "bitcoin"), ("比特币", "比特币", "大饼"), lower=("btc",)),
        Coin("ETH", 3_400, ("Ethereum", "ethereum", "ether"), ("以太坊", "以太坊", "姨太"), lower=("eth",)),
        Coin("SOL", 180, ("Solana", "solana"), ("Solana", "索拉纳"), lower=("sol",)),
        Coin("BNB", 650, ("BNB Chain",), ("币安币",), lower=("bnb",)),
        Coin("XRP", 2.3, ("Ripple",), ("瑞波币",), lower=("xrp",)),
        Coin("DOGE", 0.32, ("Dogecoin", "doge"), ("狗狗币",), lower=("doge",)),
        Coin("PEPE", 0.000018, ("Pepe",), (), lower=("pepe",)),
        Coin("SHIB", 0.000021, ("Shiba Inu",), ("柴犬币",), lower=("shib",)),
        Coin("WIF", 2.4, ("dogwifhat",), (), lower=("wif",)),
        Coin("BONK", 0.000032, ("Bonk",), (), lower=("bonk",)),
        Coin("LINK", 22, ("Chainlink",), ()),
        Coin("SUI", 3.8, ("Sui",), (), lower=("sui",)),
        Coin("TON", 5.4, ("Toncoin",), ()),
        Coin("ADA", 0.9, ("Cardano",), ("艾达币",)),
        Coin("AVAX", 38, ("Avalanche",), (), lower=("avax",)),
        Coin("APT", 9.5, ("Aptos",), ()),
        Coin("TRX", 0.25, ("TRON", "Tron"), ("波场",), lower=("trx",)),
        Coin("DOT", 7.2, ("Polkadot",), ("波卡",)),
        Coin("LTC", 105, ("Litecoin",), ("莱特币",), lower=("ltc",)),
        Coin("NEAR", 5.6, ("NEAR Protocol",), ()),
        Coin("INJ", 24, ("Injective",), (), lower=("inj",)),
        Coin("TIA", 5.2, ("Celestia",), ()),
        Coin("SEI", 0.45, ("Sei",), ()),
        Coin("ATOM", 6.8, ("Cosmos",), ()),
        Coin("ONDO", 1.4, ("Ondo",), (), lower=("ondo",)),
        Coin("ENA", 0.95, ("Ethena",), ()),
        Coin("UNI", 13, ("Uniswap",), ()),
        Coin("AAVE", 320, ("Aave",), (), lower=("aave",)),
        Coin("LDO", 1.9, ("Lido",), ()),
        Coin("ARB", 0.8, ("Arbitrum",), ()),
        Coin("OP", 1.9, ("Optimism",), (), ticker=False),  # a bare "OP" is the original poster
        Coin("STRK", 0.6, ("Starknet",), ()),
        Coin("FET", 1.3, ("Fetch.ai",), ()),
        Coin("RENDER", 7.5, ("Render",), ()),
        Coin("TAO", 480, ("Bittensor",), ()),
        Coin("USDT", 1.0, ("Tether",), ("泰达币",), lower=("usdt",)),
        Coin("USDC", 1.0, (), (), lower=("usdc",)),
    ]
}
# Tokens that do not exist: a new listing is known only by its cashtag, or by nothing at all.
NEW_TOKENS = {
    "MOCHI": "Mochi Network",
    "ZKLY": "Zkly",
    "ORBX": "Orbix",
    "KAIRO": "Kairo AI",
    "VELA": "Vela Protocol",
    "NIMBO": "Nimbo",
    "QUILL": "Quill Finance",
    "TANGO": "Tango Chain",
    "FERN": "Fern Labs",
    "PIXU": "Pixu",
    "SOLARA": "Solara",
    "BRISK": "Brisk Exchange",
}
# New tokens of the stream skeletons (pool "fresh"), digit-led tickers among them; kept apart so
# the "new" pool, and the posts built from it, stay as they were.
FRESH_TOKENS = {
    "0VIA": "0via Network",
    "2ZEN": "2Zen",
    "LUMA": "Luma Protocol",
    "HYPRA": "Hypra",
    "GRAVO": "Gravo Labs",
    "MIRU": "Miru",
    "PLOX": "Plox Finance",
    "ZEPH": "Zephyr Chain",
    "NOVU": "Novu AI",
    "KORA": "Kora",
}
NEW_TOKENS = {**NEW_TOKENS, **FRESH_TOKENS}
POOLS = {
    "major": ["BTC"] * 6 + ["ETH"] * 4 + ["SOL"] * 3 + ["BNB", "XRP"],
    "alt": [
        "LINK",
        "SUI",
        "TON",
        "ADA",
        "AVAX",
        "APT",
        "TRX",
        "DOT",
        "LTC",
        "NEAR",
        "INJ",
        "TIA",
        "SEI",
        "ATOM",
        "ONDO",
        "ENA",
        "XRP",
        "SOL",
        "BNB",
    ],
    "meme": ["DOGE", "DOGE", "PEPE", "PEPE", "SHIB", "WIF", "BONK"],
    "l2": ["ARB", "ARB", "OP", "STRK"],
    "defi": ["UNI", "AAVE", "LDO", "ENA", "ONDO"],
    "ai": ["FET", "RENDER", "TAO", "NEAR"],
    "stable": ["USDT", "USDT", "USDC"],
    "stakeable": ["ETH", "ETH", "SOL", "SOL", "ADA", "DOT", "ATOM", "SUI", "TIA", "NEAR"],
    "launch": ["BNB"],
    "eth": ["ETH"],
    "btc": ["BTC"],
    "sol": ["SOL"],
    "new": sorted(set(NEW_TOKENS) - set(FRESH_TOKENS)),
    "fresh": sorted(FRESH_TOKENS),
}
POOLS["any"] = POOLS["major"] * 2 + POOLS["alt"] + POOLS["meme"]
DEXES = ["Orca", "Raydium", "Curve", "Balancer", "PancakeSwap", "Meteora"]
# Hashtags that name an asset count as a mention of it.
ASSET_HASHTAGS = {
    ("BTC", "en"): "bitcoin",
    ("BTC", "zh"): "比特币",
    ("ETH", "en"): "ethereum",
    ("ETH", "zh"): "以太坊",
    ("SOL", "en"): "solana",
    ("SOL", "zh"): "solana",
    ("DOGE", "en"): "dogecoin",
    ("XRP", "en"): "xrp",
}
TOPIC_HASHTAGS = {
    "en": {
        "derivatives": ["perps", "futures", "options"],
        "defi": ["defi"],
        "memecoins": ["memecoin", "memes"],
        "nfts": ["nft", "nfts"],
        "airdrops": ["airdrop"],
        "onchain": ["onchain"],
        "macro": ["macro", "fomc", "cpi"],
        "security": ["security", "scamalert"],
        "ai": ["ai", "aitokens"],
        "layer2": ["layer2", "l2"],
        "stablecoins": ["stablecoins"],
        "regulation": ["regulation"],
        "technical_analysis": ["ta", "priceaction"],
        "risk_management": ["riskmanagement"],
        "staking": ["staking", "earn"],
    },
    "zh": {
        "derivatives": ["合约", "期权"],
        "defi": ["DeFi"],
        "memecoins": ["meme币", "土狗"],
        "nfts": ["NFT"],
        "airdrops": ["空投", "撸毛"],
        "onchain": ["链上数据"],
        "macro": ["宏观", "美联储"],
        "security": ["安全", "防骗"],
        "ai": ["AI"],
        "layer2": ["二层网络", "Layer2"],
        "stablecoins": ["稳定币"],
        "regulation": ["监管"],
        "technical_analysis": ["技术分析"],
        "risk_management": ["风险管理"],
        "staking": ["质押", "理财"],
    },
}
TYPE_HASHTAGS = {
    "en": {
        "trade_share": ["trading", "pnl", "tradelog"],
        "analysis": ["analysis", "marketoutlook"],
        "education": ["beginners", "learncrypto", "crypto101"],
        "new_asset": ["newlisting", "strategy", "launchpool"],
        "news": ["news", "breaking", "cryptonews"],
        "chat": ["gm", "crypto", "community"],
    },
    "zh": {
        "trade_share": ["交易分享", "复盘"],
        "analysis": ["行情分析"],
        "education": ["新手入门", "科普"],
        "new_asset": ["新币", "策略"],
        "news": ["快讯", "新闻"],
        "chat": ["闲聊", "币圈"],
    },
}
OPENERS = {
    "en": [
        "Quick one.",
        "Thread 🧵",
        "Morning update.",
        "Update:",
        "Market check.",
        "ok so",
        "Thoughts after today's session:",
        "Note to self:",
        "Real talk:",
    ],
    "zh": [
        "简单说两句。",
        "早盘更新。",
        "更新一下。",
        "今日盘后小结：",
        "长文预警 🧵",
        "记录一下。",
        "说点实在的：",
        "随手记：",
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
        "thoughts?",
        "lfg",
    ],
    "zh": [
        "不构成投资建议，DYOR。",
        "大家怎么看？",
        "注意风险。",
        "有变化再更新。",
        "图放评论区。",
        "欢迎评论区交流 👇",
        "控制好仓位。",
        "祝大家交易顺利！",
        "冲！",
        "仅供参考。",
    ],
}
# Sentences that belong to other kinds of posts; mixed in so no kind of post is one clean template.
ASIDES = {
    "en": [
        "(funding = the fee longs and shorts pay each other every 8h, for anyone new here)",
        "Side note: {D:major} looks weak here too.",
        "lol this market",
        "Not a signal, just how I read it.",
        "Remember: your stop is your plan, not a suggestion.",
        "ngl I almost fomo'd in.",
        "Reminder that nobody knows anything, including me.",
        "Also, never share your seed phrase. Scams everywhere this week.",
        "Meanwhile {D:meme} is doing {D:meme} things 😂",
    ],
    "zh": [
        "（新朋友补充一下：资金费率就是多空每 8 小时互付的费用）",
        "顺便说一句，{D:major} 这里也偏弱。",
        "这行情真的离谱",
        "不是喊单，只是我的理解。",
        "记住：止损是计划，不是建议。",
        "差点就追高了。",
        "提醒一下：没人知道明天会怎样，包括我。",
        "另外，助记词千万别给任何人，这周骗子特别多。",
        "{D:meme} 又在发疯了 😂",
    ],
}
EMOJI = ["🚀", "😂", "🔥", "👀", "💎", "🙏", "📈", "📉", "🤡", "☕", "🫡"]
AMOUNTS = {
    "en": ["$100", "$500", "$5k", "$2k", "$1,000", "$250", "$10k", "$50", "$3.5k", "$1M", "$300k"],
    "zh": ["$5k", "$100", "1000U", "500 U", "5000 美元", "$2k", "2 万 U", "$300k"],
}
TIMEFRAMES = {
    "en": ["15m", "1H", "4H", "4h", "1D", "daily", "weekly", "1W"],
    "zh": ["15 分钟", "1 小时", "4 小时", "日线", "周线", "4H", "1D"],
}
SOURCE_URLS = [
    "https://www.coindesk.com/markets/2026/11/20/bitcoin-etf-flows-turn-positive",
    "https://www.theblock.co/post/331245/ethereum-upgrade-date",
    "https://x.com/solana/status/1861234567890",
    "https://cointelegraph.com/news/xrp-ruling-appeal",
    "https://x.com/whale_alert/status/1859876543210",
    "https://www.reuters.com/technology/dogecoin-rally-2026-11-18/",
]

SLOT = re.compile(r"\{(?P<slot>[A-D])(?P<named>n)?(?::(?P<pool>\w+))?\}")
FIELD = re.compile(r"\{(\w+)\}")
PLACEHOLDER = re.compile(r"\{[^}]*\}")
CJK_LATIN_SPACE = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[$A-Za-z0-9])|(?<=[A-Za-z0-9%]) (?=[\u4e00-\u9fff])")


def price_text(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}" if value >= 0.01 else f"{float(f'{value:.3g}'):.10f}".rstrip("0")


class Expansion:
    """One post made from one skeleton: fills slots, remembers which assets it wrote."""

    def __init__(self, rand: random.Random, language: str):
        self.rand = rand
        self.language = language
        self.chosen: dict[str, str] = {}  # slot letter -> symbol
        self.mentioned: list[str] = []

    def pick(self, slot: str, pool: str | None) -> str:
        if slot not in self.chosen:
            taken = set(self.chosen.values())
            candidates = [symbol for symbol in POOLS[pool or "any"] if symbol not in taken]
            self.chosen[slot] = self.rand.choice(candidates)
        return self.chosen[slot]

    def mention(self, symbol: str, *, named: bool) -> str:
        self.mentioned.append(symbol)
        first = self.mentioned.count(symbol) == 1
        if symbol in NEW_TOKENS:
            if named:
                return NEW_TOKENS[symbol]
            # Introducers of a new token mostly cashtag it; a bare ticker is invisible to any dictionary.
            return f"${symbol}" if self.rand.random() < (0.9 if first else 0.3) else symbol
        coin = COINS[symbol]
        names = coin.names_zh or coin.names if self.language == "zh" else coin.names
        if named:
            return self.rand.choice(coin.names or (symbol,))
        forms = {
            f"${symbol}": 0.5 if first else 0.2,
            f"${symbol.lower()}": 0.04,
            symbol: (0.18 if first else 0.4) * coin.ticker,
            **{name: (0.25 if first else 0.2) / len(names) for name in names},
            **{lower: (0.06 if first else 0.2) / len(coin.lower) for lower in coin.lower if self.language == "en"},
        }
        spellings = [form for form, weight in forms.items() if weight > 0]
        return self.rand.choices(spellings, weights=[forms[form] for form in spellings])[0]

    def fill(self, template: str, numbers: dict[str, str]) -> str:
        def slot(match: re.Match) -> str:
            symbol = self.pick(match["slot"], match["pool"])
            return self.mention(symbol, named=bool(match["named"]))

        return FIELD.sub(lambda match: numbers[match[1]], SLOT.sub(slot, template))


def numbers_for(price: float, rand: random.Random, language: str) -> dict[str, str]:
    """Prices around the first asset's, and the other numbers skeletons use."""
    spot = price * rand.uniform(0.95, 1.05)
    low = spot * (1 - rand.uniform(0.02, 0.08))
    high = spot * (1 + rand.uniform(0.02, 0.10))
    amount = rand.randint(80, 950)
    return {
        "p": price_text(spot),
        "lo": price_text(low),
        "lo2": price_text(low * (1 - rand.uniform(0.01, 0.05))),
        "hi": price_text(high),
        "hi2": price_text(high * (1 + rand.uniform(0.02, 0.12))),
        "pct": f"{rand.uniform(0.8, 18):.1f}",
        "pnl": f"{rand.lognormvariate(2.3, 0.7):.1f}",
        "apr": f"{rand.uniform(2, 38):.1f}",
        "lev": str(rand.choice([2, 3, 5, 5, 10, 10, 20, 25])),
        "tf": rand.choice(TIMEFRAMES[language]),
        "days": str(rand.randint(3, 30)),
        "n": str(rand.randint(2, 9)),
        "usd": rand.choice(AMOUNTS[language]),
        "amt": str(amount) if language == "en" else f"{amount / 100:.1f}",
        "ratio": f"{rand.uniform(0.01, 0.09):.4f}",
        "dex": rand.choice(DEXES),
    }


def typo(word: str, rand: random.Random) -> str:
    position = rand.randrange(1, len(word) - 2)
    if rand.random() < 0.5:
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    return word[:position] + word[position + 1 :]


def casual(template: str, rand: random.Random) -> tuple[str, int]:
    """Lower case and a typo or two in the hand-written words only (never inside a slot)."""
    parts = re.split(f"({PLACEHOLDER.pattern})", template)
    lower = rand.random() < 0.4
    typos = 0
    for index in range(0, len(parts), 2):
        text = parts[index].lower() if lower else parts[index]
        words = re.split(r"(\W+)", text)
        for position, word in enumerate(words):
            if len(word) >= 5 and word.isascii() and word.isalpha() and rand.random() < 0.08:
                words[position] = typo(word, rand)
                typos += 1
        parts[index] = "".join(words)
    return "".join(parts), typos


def expand(skeleton: Skeleton, *, language: str, variant: int, style: Style = WRITTEN) -> dict:
    content_type, topics, quality, template = skeleton.content_type, skeleton.topics, skeleton.quality, skeleton.text
    rand = random.Random(f"{skeleton.group}/{language}/{variant}")
    expansion = Expansion(rand, language)
    first_slot = SLOT.search(template)
    price = 1.0
    if first_slot:
        symbol = expansion.pick(first_slot["slot"], first_slot["pool"])
        price = COINS[symbol].price if symbol in COINS else rand.uniform(0.01, 2)
    numbers = numbers_for(price, rand, language)

    casual_chance = style.casual if content_type == "chat" or quality < 0.45 else style.casual_other
    typos = 0
    if language == "en" and casual_chance and rand.random() < casual_chance:
        template, typos = casual(template, rand)

    parts = []
    if rand.random() < style.opener:
        parts.append(rand.choice(OPENERS[language]))
    parts.append(expansion.fill(template, numbers))
    if rand.random() < style.aside:
        parts.append(expansion.fill(rand.choice(ASIDES[language]), numbers))
    if rand.random() < style.closer:
        parts.append(rand.choice(CLOSERS[language]))
    if content_type == "news" and rand.random() < 0.35:
        parts.append(f"Source: {rand.choice(SOURCE_URLS)}" if language == "en" else f"来源：{rand.choice(SOURCE_URLS)}")
    elif rand.random() < style.image:
        image = f"{rand.getrandbits(32):08x}"
        parts.append(
            rand.choice(
                [f"[chart](https://www.tradingview.com/x/{image}/)", f"![chart](https://i.imgur.com/{image}.png)"]
            )
        )
    if rand.random() < style.hashtags:
        parts.append(" ".join(f"#{tag}" for tag in hashtags(expansion, topics, content_type, language, rand)))
    text = "\n\n".join(parts)
    if (content_type == "chat" or "memecoins" in topics) and rand.random() < 0.3:
        text = f"{text} {rand.choice(EMOJI)}"
    if language == "zh" and rand.random() < 0.3:
        text = CJK_LATIN_SPACE.sub("", text)

    assets = list(dict.fromkeys([*expansion.mentioned, *skeleton.named]))
    score = quality + rand.gauss(0, 0.04) - 0.05 * min(typos, 2)
    return {
        "text": text,
        "content_type": content_type,
        "level": skeleton.level,
        "topics": list(topics),
        "assets": assets,
        "language": language,
        "quality": round(min(max(score, 0.01), 0.99), 2),
        "group": skeleton.group,
    }


def hashtags(expansion: Expansion, topics: tuple[str, ...], content_type: str, language: str, rand: random.Random):
    """One to three hashtags; one naming the main asset counts as a mention of it."""
    choices = [tag for topic in topics for tag in TOPIC_HASHTAGS[language][topic]]
    choices += TYPE_HASHTAGS[language][content_type]
    tags = rand.sample(choices, k=min(len(choices), rand.choice([1, 1, 2, 3])))
    main = expansion.chosen.get("A")
    if main and (main, language) in ASSET_HASHTAGS and rand.random() < 0.5:
        tags.insert(0, ASSET_HASHTAGS[main, language])
        expansion.mentioned.append(main)
    return tags


def read_skeletons(path: Path, language: str, *, group_prefix: str = "") -> list[Skeleton]:
    """Parse a skeleton file: "== type ==" starts a section (a type may have several), each entry
    is a header line "level | topics | quality [| symbols named in the text]", then the post, then "--".
    Lines starting with "#" before the first section are comments. Groups are "<prefix><type>-NN"."""
    skeletons: list[Skeleton] = []
    numbers: dict[str, int] = {}
    content_type = None
    header: list[str] | None = None
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if section := re.fullmatch(r"== (\w+) ==", line):
            content_type = section[1]
        elif content_type is None:
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"{path.name}:{number}: text before the first section")
        elif line == "--":
            if header is None:
                raise ValueError(f"{path.name}:{number}: an entry without a header")
            level, topics, quality, *named = header
            text = "\n".join(body).strip()
            pools: dict[str, str] = {}
            for slot in SLOT.finditer(text):
                if slot["pool"] and pools.setdefault(slot["slot"], slot["pool"]) != slot["pool"]:
                    raise ValueError(
                        f"{path.name}:{number}: slot {slot['slot']} has two pools; give one its own letter"
                    )
            index = numbers.get(content_type, 0)
            numbers[content_type] = index + 1
            # Entry i of a type in both files shares a group: most were written as a pair, from one idea.
            group = f"{group_prefix}{content_type}-{index:02d}"
            skeletons.append(
                Skeleton(
                    content_type=content_type,
                    group=group,
                    level=LEVELS[level],
                    topics=tuple(topics.split()),
                    quality=float(quality),
                    text=text,
                    named=tuple(named[0].split()) if named else (),
                )
            )
            header, body = None, []
        elif header is None:
            header = [part.strip() for part in line.split("|")]
        else:
            body.append(line)
    if header is not None:
        raise ValueError(f"{path.name}: the last entry has no closing --")
    return skeletons


def build() -> str:
    """The corpus as JSON lines."""
    posts = []
    for language, path in SKELETON_FILES.items():
        for skeleton in read_skeletons(path, language):
            for variant in range(EXPANSIONS):
                posts.append(expand(skeleton, language=language, variant=variant))
    for language, path in STREAM_SKELETON_FILES.items():
        if not path.exists():
            continue
        # Stream skeletons were not written in pairs: each language has its own groups.
        for skeleton in read_skeletons(path, language, group_prefix=f"stream-{language}-"):
            style = STREAM_SHORT if len(skeleton.text) <= STREAM_SHORT_CHARS else STREAM_LONG
            for variant in range(EXPANSIONS):
                posts.append(expand(skeleton, language=language, variant=variant, style=style))
    return "".join(json.dumps(post, ensure_ascii=False) + "\n" for post in posts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if posts.jsonl is not what this script builds")
    args = parser.parse_args()
    lines = build()
    if args.check:
        if CORPUS_PATH.read_text(encoding="utf-8") != lines:
            print(f"{CORPUS_PATH} is out of date: run python -m ranking.corpus.build_corpus", file=sys.stderr)
            return 1
        return 0
    CORPUS_PATH.write_text(lines, encoding="utf-8")
    print(f"Wrote {lines.count(chr(10)):,} posts to {CORPUS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
