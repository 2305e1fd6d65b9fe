"""The shape of the demo community: fixed accounts, time spans, shares and weights the generator
draws with. Listed assets and every text table live in demo.tables (loaded from demo/data/)."""

from decimal import Decimal

from feed.models import Report

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

# The content types the migrations create (operators may add more; the demo writes these six).
POST_TYPES = ["trade_share", "analysis", "education", "new_asset", "news", "chat"]
POST_TYPE_SHARES = [0.18, 0.22, 0.10, 0.08, 0.14, 0.28]
# How long people stay on a post of each type, relative to the median dwell.
DWELL_FACTOR = {"trade_share": 0.9, "analysis": 1.6, "education": 1.8, "new_asset": 1.1, "news": 0.8, "chat": 0.5}
# How likely a reader of each type clicks through to trade.
TRADE_CLICK_FACTOR = {"trade_share": 3.0, "analysis": 2.0, "education": 0.5, "new_asset": 3.0, "news": 1.0, "chat": 0.3}

# What reporters say is wrong, and how often.
REPORT_REASON_WEIGHTS = {
    Report.Reason.SPAM: 0.35,
    Report.Reason.SCAM: 0.2,
    Report.Reason.MANIPULATION: 0.2,
    Report.Reason.MISLEADING: 0.15,
    Report.Reason.ABUSE: 0.05,
    Report.Reason.OTHER: 0.05,
}

# Why a reader opens a post (see demo.engagement): a post of someone they follow, a post about an
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

# Exchange data.
# Hourly candles (markets.market_data.BAR, quoted in markets.market_data.QUOTE) of every listed
# asset but the dollar stablecoins (markets.market_data.DOLLARS, priced at 1 and never polled) cover
# the oldest post and the fills before it; each is a random walk that ends at the asset's reference
# price (demo.tables.ASSETS) at the anchor, so the live poll later continues from about where the
# demo leaves off. They also cover the fills' FILL_WEEKS weeks (the trading tenure reader value counts).
FILL_WEEKS = 8
CANDLE_DAYS = max(OLD_POST_DAYS, 7 * FILL_WEEKS) + 2
# Of the trade_share posts, this share carries a trade card; of the cards, this share is backed by
# the author's own fills (feed.verification marks them verified), the rest show as self-reported.
TRADE_CARD_SHARE = 0.4
BACKED_CARD_SHARE = 0.7
# A backed card's fills: 1 to 24 hours before the post, within this fraction of its entry price
# (verification allows ORBIT_TRADE_CARD_PRICE_TOLERANCE, 0.5% by default); most are closed later.
CARD_FILL_SPREAD = 0.0015
CARD_CLOSED_SHARE = 0.6
# A trade card's entry is the price its post quotes, so it stays this close to the close of the
# post's hourly bar (the seeded posts quote prices within 2% of it).
CARD_ENTRY_BAND = 0.015
# Of the analysis and trade_share posts, this share carries a call on the asset it is about.
CALL_SHARE = 0.10
CALL_HORIZON_DAYS = [1, 3, 7]
# Every linked account whose profile says it trades (volume tier 1 and up; never the sign-up burst)
# has everyday fills over the FILL_WEEKS weeks before the anchor, the last at its profile's last trade.
# It trades in a week with the chance of its volume tier (light traders some weeks, whales nearly
# all), as many fills a week as its profile's 30-day trades make on average (at most
# MAX_FILLS_PER_WEEK: larger traders then trade larger fills), each about its 30-day volume over
# its 30-day trades.
WEEKLY_TRADING_CHANCE = (0.0, 0.35, 0.6, 0.85, 0.95)  # by volume tier
MAX_FILLS_PER_WEEK = 12
PERPETUAL_FILL_SHARE = 0.4
# Posts whose author also trades the asset within DISCLOSED_DAYS of it (so disclosures show).
DISCLOSED_POST_SHARE = 0.25
DISCLOSED_DAYS = 3
# Fees, a share of the notional paid in the quote currency: takers pay TAKER_FEE; MAKER_SHARE of the
# everyday fills rest on the book and pay MAKER_FEE, except the whales' (volume tier 4), which earn a
# rebate (a negative fee).
TAKER_FEE = Decimal("0.001")
MAKER_FEE = Decimal("0.0008")
MAKER_REBATE = Decimal("-0.00005")
MAKER_SHARE = 0.2
CENT = Decimal("0.01")
FEE_UNIT = Decimal("0.00000001")
