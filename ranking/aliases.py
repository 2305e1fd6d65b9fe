"""What people write for an asset when they do not cashtag it, mapped to its symbol.

Used by ranking.tagging.extract_assets. How a name may match depends on how ambiguous it is:

* ALIASES match in any case. Latin ones only as whole words ("sol" is not in "solscan"), Chinese
  ones anywhere (Chinese has no spaces between words).
* CASE_SENSITIVE_ALIASES match only exactly as written: tickers that are English words in lower
  case ("LINK", "NEAR", "DOT") and names that are ordinary words with a small letter
  ("Optimism" the network, "optimism" the mood).
* NOT_ASSETS are phrases that contain an alias but mean something else ("以太网" is Ethernet);
  they are blanked out before matching.
* NOT_ASSET_CASHTAGS are fiat currencies written like cashtags ("$USD").

Left out on purpose, because in posts they are far more often plain words than assets: "one"
(Harmony), "the graph" (GRT), "op" (original poster), "uni" (university), "arb" (arbitrage),
"link", "near", "ton", "dot", "atom", "ada", "fetch", "render", "stellar", "hype", "polygon",
"雪崩" (a crash, not Avalanche). Their cashtags ($OP, $GRT, $ONE) always count.
"""

ALIASES: dict[str, str] = {
    # Majors
    "bitcoin": "BTC",
    "btc": "BTC",
    "xbt": "BTC",
    "比特币": "BTC",
    "大饼": "BTC",
    "ethereum": "ETH",
    "ether": "ETH",
    "eth": "ETH",
    "以太坊": "ETH",
    "以太": "ETH",
    "姨太": "ETH",
    "二饼": "ETH",
    "solana": "SOL",
    "sol": "SOL",
    "索拉纳": "SOL",
    "bnb": "BNB",
    "bnb chain": "BNB",
    "币安币": "BNB",
    "xrp": "XRP",
    "ripple": "XRP",
    "瑞波币": "XRP",
    "瑞波": "XRP",
    "bitcoin cash": "BCH",
    "bch": "BCH",
    "比特币现金": "BCH",
    "ethereum classic": "ETC",
    "以太经典": "ETC",
    "litecoin": "LTC",
    "ltc": "LTC",
    "莱特币": "LTC",
    "cardano": "ADA",
    "艾达币": "ADA",
    "tron": "TRX",
    "trx": "TRX",
    "波场": "TRX",
    "polkadot": "DOT",
    "波卡": "DOT",
    "toncoin": "TON",
    "chainlink": "LINK",
    "avax": "AVAX",
    "near protocol": "NEAR",
    "sui": "SUI",
    "aptos": "APT",
    "sei": "SEI",
    "celestia": "TIA",
    "injective": "INJ",
    "inj": "INJ",
    "cosmos": "ATOM",
    "hedera": "HBAR",
    "hbar": "HBAR",
    "filecoin": "FIL",
    "xlm": "XLM",
    "worldcoin": "WLD",
    "wld": "WLD",
    "matic": "POL",
    # Memecoins
    "dogecoin": "DOGE",
    "doge": "DOGE",
    "狗狗币": "DOGE",
    "shiba inu": "SHIB",
    "shib": "SHIB",
    "柴犬币": "SHIB",
    "pepe": "PEPE",
    "dogwifhat": "WIF",
    "wif": "WIF",
    "bonk": "BONK",
    # DeFi and layer 2
    "uniswap": "UNI",
    "aave": "AAVE",
    "lido": "LDO",
    "ldo": "LDO",
    "ethena": "ENA",
    "ondo": "ONDO",
    "arbitrum": "ARB",
    "starknet": "STRK",
    "strk": "STRK",
    # AI
    "fetch.ai": "FET",
    "bittensor": "TAO",
    "rndr": "RENDER",
    # Stablecoins
    "tether": "USDT",
    "usdt": "USDT",
    "泰达币": "USDT",
    "usdc": "USDC",
}

CASE_SENSITIVE_ALIASES: dict[str, str] = {
    "LINK": "LINK",
    "NEAR": "NEAR",
    "TON": "TON",
    "DOT": "DOT",
    "ADA": "ADA",
    "APT": "APT",
    "ATOM": "ATOM",
    "TIA": "TIA",
    "ENA": "ENA",
    "UNI": "UNI",
    "ARB": "ARB",
    "FET": "FET",
    "TAO": "TAO",
    "FIL": "FIL",
    "ICP": "ICP",
    "DAI": "DAI",
    "RENDER": "RENDER",
    "Render": "RENDER",
    "Optimism": "OP",
    "Avalanche": "AVAX",
}

NOT_ASSETS: tuple[str, ...] = ("以太网", "ripple effect")

NOT_ASSET_CASHTAGS: frozenset[str] = frozenset({"USD", "EUR", "GBP", "JPY", "CNY", "RMB", "HKD", "SGD", "AUD", "CAD"})
