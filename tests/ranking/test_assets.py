"""Asset extraction on the way people write real posts, each rule in English and in Chinese."""

import pytest

from demo.tables import ASSETS
from ranking import aliases
from ranking.tagging import extract_assets


@pytest.mark.parametrize(
    ("text", "assets"),
    [
        # Glued to an amount before and a word after: pasted from a whale-alert bot.
        ("whale alert: 9.84M$USDCto binance from an unknown wallet", ("USDC",)),
        ("巨鲸转账：9.84M$USDCto币安，来源未知钱包", ("USDC",)),
        ("send $USDCto the vault, then $PEPEcoin", ("USDC", "PEPE")),
        # Glued to Chinese on both sides.
        ("买了$BTC现货，又补了$SOL仓位", ("BTC", "SOL")),
        # Two cashtags of one pair.
        ("$ETH/$BTC ratio is at a low", ("ETH", "BTC")),
        ("$ETH/$BTC汇率创新低", ("ETH", "BTC")),
    ],
)
def test_a_glued_cashtag_names_its_asset(text, assets):
    assert extract_assets(text) == assets


@pytest.mark.parametrize(
    "text",
    [
        "Paid $100 in fees, made $5k, volume $1.5M, price $0.001, cost US$5",
        "10M$ in, $10M out, $2bn raised, $100s lost, $3x leverage, $20K+ bag",
        "手续费$100，赚了$5k，成交$1.5M，单价$0.001，成本US$5",
        "融资$2bn，亏了$10M，US$5一杯咖啡",
        # A currency prefix glued to a cashtag is not an amount before it.
        "priced in A$BTC or HK$ETH",
    ],
)
def test_amounts_are_not_assets(text):
    assert extract_assets(text) == ()


@pytest.mark.parametrize(
    ("text", "assets"),
    [
        ("$0G just listed, and $1INCH is up", ("0G", "1INCH")),
        ("新币$0G今天上线，$1INCH也涨了", ("0G", "1INCH")),
        # In lower case only a listed digit-led symbol counts ("$5k" stays an amount).
        ("swapped on $1inch for $5k", ("1INCH",)),
        ("在$1inch上换了$5k", ("1INCH",)),
        # A new listing nobody knows yet, digit-led, upper case: its cashtag is enough.
        ("airdrop of $2ZEN is live", ("2ZEN",)),
        ("链上1000U买的$0VIA，开盘翻4倍", ("0VIA",)),
    ],
)
def test_a_digit_led_cashtag_is_an_asset(text, assets):
    assert extract_assets(text) == assets


@pytest.mark.parametrize(
    ("text", "assets"),
    [
        ("币安明天上线BAT现货", ("BAT",)),
        ("大饼和SOL都在涨", ("BTC", "SOL")),
        ("0.8买的BAT，现在亏了90%", ("BAT",)),
        ("Coinbase 上线 BAT，交易对 BAT/USDT", ("BAT", "USDT")),
        ("MATIC升级成了新币", ("POL",)),
        ("新币榜上的AVAX、ENA、GALA都涨了", ("AVAX", "ENA", "GALA")),
    ],
)
def test_a_listed_ticker_in_chinese_text_is_an_asset(text, assets):
    assert extract_assets(text) == assets


@pytest.mark.parametrize(
    "text",
    [
        # English prose: a bare ticker that is also a word is left to the aliases.
        "It's been ONE day and OP said GALA night was BAT country",
        "ONE day, OP said",
        # Chinese: acronyms that are also tickers, unlisted capitals, and capitals of an English phrase.
        "AI板块和NFT市场都冷了，ZK证明很贵，CEO说要创ATH",
        "ZK Rollup和OP Rollup的区别：OP默认交易都对",
        "新币榜上看到TANGO在热搜",
        # Cashtag-less lower case in Chinese is not a ticker.
        "上线bat了",
    ],
)
def test_a_bare_ticker_outside_chinese_context_or_not_listed_is_not_an_asset(text):
    assert extract_assets(text) == ()


@pytest.mark.parametrize(
    ("text", "assets"),
    [
        ("以太坊创始人Vitalik发文谈隐私", ()),
        ("以太坊联合创始人和以太坊基金会都表态了", ()),
        ("以太坊的创始人说了什么", ()),
        ("币安创始人出狱", ()),
        ("Solana Labs CEO says the outage is fixed", ()),
        ("Binance CEO talks compliance", ()),
        ("Ethereum co-founder Vitalik and the Ethereum Foundation", ()),
        ("an interview with the co-founder of Solana", ()),
        # The same names elsewhere in the post are the assets.
        ("以太坊基金会又卖了，以太坊涨了", ("ETH",)),
        ("Ethereum Foundation sold 1,000 ETH", ("ETH",)),
        ("以太坊涨了", ("ETH",)),
        ("Solana is up 8% today", ("SOL",)),
    ],
)
def test_a_name_inside_a_title_or_body_is_not_the_asset(text, assets):
    assert extract_assets(text) == assets


@pytest.mark.parametrize(
    ("text", "assets"),
    [
        ("Tether 公司公布了季度利润", ()),
        ("Tether公司冻结了三个地址", ()),
        ("Tether's attestation shows more T-bills", ()),
        ("Tether froze $12M on Tron", ("TRX",)),
        ("stablecoin issuer Tether bought more bitcoin", ("BTC",)),
        ("Circle 上市了", ()),
        ("Circle's IPO priced above range", ()),
        ("Coinbase and Binance list more tokens", ()),
        ("币安和Coinbase都上了新币", ()),
        # Written as the coin, it is the coin.
        ("Tether 公司增发了 10 亿 USDT", ("USDT",)),
        ("Tether froze 12M $USDT", ("USDT",)),
        ("parked it all in tether (USDT)", ("USDT",)),
        ("Tether pairs are unaffected; moved my profits into Tether", ("USDT",)),
        ("利润换成了泰达币", ("USDT",)),
    ],
)
def test_a_company_name_is_not_its_coin(text, assets):
    assert extract_assets(text) == assets


def test_every_demo_asset_is_listed():
    """The demo's Asset rows are the listed assets a fresh install has; the tagger knows them all
    without reading the database."""
    assert {symbol for symbol, _name, _price, _weight in ASSETS} <= aliases.LISTED_SYMBOLS


def test_bare_ticker_exceptions_are_listed_tickers():
    """An exception that is not listed would say nothing: keep the two sets in step."""
    assert aliases.BARE_TICKER_EXCEPTIONS <= aliases.LISTED_SYMBOLS
