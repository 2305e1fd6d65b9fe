"""What people write for an asset when they do not cashtag it, mapped to its symbol.

Used by ranking.assets (ranking.tagging.extract_assets). How a name may match depends on how ambiguous it is:

* ALIASES match in any case. Latin ones only as whole words ("sol" is not in "solscan"), Chinese
  ones anywhere (Chinese has no spaces between words).
* CASE_SENSITIVE_ALIASES match only exactly as written: tickers that are English words in lower
  case ("LINK", "NEAR", "DOT") and names that are ordinary words with a small letter
  ("Optimism" the network, "optimism" the mood).
* NOT_ASSETS are phrases that contain an alias but mean something else ("以太网" is Ethernet);
  they are blanked out before matching.
* NOT_ASSET_CASHTAGS are fiat currencies written like cashtags ("$USD").
* LISTED_SYMBOLS are the symbols the tagger knows are listed without asking the database: a bare
  upper-case ticker in Chinese text ("上线BAT") counts only if it is one of them.
* ROLE_WORDS are titles and organisations: a name right before one ("以太坊创始人", "Solana Labs
  CEO", "Ethereum Foundation") or after "<role> of" ("co-founder of Ethereum") names a person or a
  body, not the asset.
* COMPANY_NAMES are names of both a company and its coin ("Tether"): the coin only where the text
  does not use it as the company ("Tether's attestation", "Tether 公司", "Tether froze ...").

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

# Binance/OKX spot majors and the demo's assets (LISTED_SYMBOLS adds every symbol above).
_LISTED_TICKERS = """
        BTC ETH SOL BNB XRP DOGE PEPE LINK SUI TON ADA AVAX WIF ARB OP BONK APT TRX DOT LTC NEAR UNI
        AAVE ENA ONDO ATOM INJ FET TIA SEI RENDER USDT USDC DAI FDUSD TUSD USDE PYUSD
        BCH ETC XLM HBAR FIL ICP VET ALGO EGLD XTZ EOS NEO IOTA ZEC DASH XMR QTUM ONT ZIL WAVES KSM
        BAT ZRX ENJ MANA SAND AXS GALA APE CHZ FLOW IMX BLUR LRC GRT CRV CVX COMP MKR SNX SUSHI YFI
        BAL 1INCH DYDX GMX PENDLE JUP JTO PYTH WLD STRK ZK ZRO EIGEN ETHFI ENS LDO RPL SSV MATIC POL
        MNT STX ORDI SATS RUNE KAS TAO RNDR AR THETA FTM S KAVA ROSE CELO MINA CFX ACH AGIX OCEAN
        ARKM NMR LPT API3 BAND UMA BICO MASK CAKE TWT SFP BAKE XVS ALPACA SHIB FLOKI BOME MEW POPCAT
        TURBO NEIRO BRETT MOG DOGS HMSTR CATI TRUMP PNUT GOAT MOODENG WLFI NOT OM HYPE AI NFT MEME
        JASMY LUNA LUNC USTC GLMR MOVR ASTR CKB IOTX ONE HOT RVN SC STORJ ANKR SKL CELR COTI ID
        BEAM RON PIXEL PORTAL ALT MANTA DYM W TNSR SAGA REZ BB IO ZETA NTRN TRB PEOPLE LISTA BERA
        IP KAITO 0G 2Z VIRTUAL AI16Z AIXBT GRASS ATH AEVO MAV XAI NFP ACE ARPA LINA OMNI EDU
        HIGH ACT ME SUPER GAS USUAL FUN OG BOND
"""
LISTED_SYMBOLS: frozenset[str] = frozenset(
    {*ALIASES.values(), *CASE_SENSITIVE_ALIASES.values(), *_LISTED_TICKERS.split()}
)

# Listed tickers that are also everyday acronyms or words in Chinese crypto posts ("AI板块", "NFT市场",
# "ZK证明", "创ATH", "NFP数据", "OP默认交易都对" of optimistic rollups): a bare one is not read as the
# asset; its cashtag ($AI) or name (Optimism) still is.
_ACRONYMS = """
    AI NFT MEME ID IP OG GAS ACT NOT ME HIGH FUN BOND SUPER EDU USUAL PEOPLE S W IO BB ALT ACE ZK HOT
    ATH NFP SC AR OP
"""
BARE_TICKER_EXCEPTIONS: frozenset[str] = frozenset(_ACRONYMS.split())

ROLE_WORDS: tuple[str, ...] = (
    "co-founder",
    "cofounder",
    "founder",
    "ceo",
    "cto",
    "cfo",
    "president",
    "chairman",
    "foundation",
    "labs",
    "联合创始人",
    "创始人",
    "创办人",
    "联创",
    "基金会",
    "首席执行官",
    "总裁",
    "董事长",
    "实验室",
)

COMPANY_NAMES: dict[str, str] = {"tether": "USDT"}
# What a company does or has, right after its name: "Tether froze", "Tether 公司", "Tether Holdings".
COMPANY_WORDS: tuple[str, ...] = (
    "公司",
    "官方",
    "集团",
    "宣布",
    "冻结",
    "表示",
    "发布",
    "披露",
    "投资",
    "收购",
    "增持",
    "购买",
    "买入",
    "ltd",
    "limited",
    "inc",
    "holdings",
    "group",
    "treasury",
    "attestation",
    "froze",
    "freezes",
    "freeze",
    "frozen",
    "blacklisted",
    "blacklists",
    "announced",
    "announces",
    "said",
    "says",
    "reported",
    "reports",
    "published",
    "invested",
    "invests",
    "acquired",
    "acquires",
    "bought",
    "buys",
    "sold",
    "plans",
    "launched",
    "launches",
    "minted",
    "mints",
    "profit",
    "profits",
)
