"""factory_boy factories for every model the tests build, one module per app.

`from tests.factories import PostFactory` works for every factory; tests/test_factories.py builds
each one and checks that every model of our apps has one (or says why not).
"""

from .base import MOMENT
from .creators import (
    ApiTokenFactory,
    BlockFactory,
    CreatorTitleFactory,
    FollowFactory,
    MuteFactory,
    ProfileFactory,
    UserFactory,
)
from .feed import (
    CallFactory,
    CommentFactory,
    EngagementFactory,
    HashtagFactory,
    LikeFactory,
    ModerationActionFactory,
    NotificationFactory,
    PostFactory,
    PostImageFactory,
    PostRevisionFactory,
    PostTypeFactory,
    ReportFactory,
    ShareFactory,
    TradeCardFactory,
)
from .incentives import (
    ActionWeightFactory,
    ContributionFactory,
    IntegrityFlagFactory,
    LedgerEntryFactory,
    PayoutFactory,
    PrizePoolFactory,
    SettlementFactory,
)
from .markets import (
    AssetFactory,
    CandleFactory,
    ExchangeEventFactory,
    FillFactory,
    PositionFactory,
    TradingProfileFactory,
)
from .ranking import (
    ContentTypeWeightChangeFactory,
    ContentTypeWeightFactory,
    PostTagsFactory,
    TagCorrectionFactory,
    TaggerModelFactory,
    UserInterestFactory,
)

__all__ = [
    "MOMENT",
    "ActionWeightFactory",
    "ApiTokenFactory",
    "AssetFactory",
    "BlockFactory",
    "CallFactory",
    "CandleFactory",
    "CommentFactory",
    "ContentTypeWeightChangeFactory",
    "ContentTypeWeightFactory",
    "ContributionFactory",
    "CreatorTitleFactory",
    "EngagementFactory",
    "ExchangeEventFactory",
    "FillFactory",
    "FollowFactory",
    "HashtagFactory",
    "IntegrityFlagFactory",
    "LedgerEntryFactory",
    "LikeFactory",
    "ModerationActionFactory",
    "MuteFactory",
    "NotificationFactory",
    "PayoutFactory",
    "PositionFactory",
    "PostFactory",
    "PostImageFactory",
    "PostRevisionFactory",
    "PostTagsFactory",
    "PostTypeFactory",
    "PrizePoolFactory",
    "ProfileFactory",
    "ReportFactory",
    "SettlementFactory",
    "ShareFactory",
    "TagCorrectionFactory",
    "TaggerModelFactory",
    "TradeCardFactory",
    "TradingProfileFactory",
    "UserFactory",
    "UserInterestFactory",
]
