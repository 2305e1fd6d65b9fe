"""Bullish or bearish: a reader's daily vote on an asset, and the day's split the asset page shows.

One vote per reader, asset and UTC day (the asset_vote_once_a_day constraint); voting again the
same day changes it. The vote is one INSERT … ON CONFLICT DO UPDATE, so two clicks racing from
two tabs leave one row with one of their directions, never an error or a second row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from creators.models import User
from creators.services import ensure_can_act
from markets.models import Asset
from orbit.ratelimit import check_rate

from .models import AssetVote

WHOLE = Decimal(1)


def vote_day(now: datetime | None = None) -> date:
    """The UTC day a vote made at `now` counts for."""
    return (now or timezone.now()).astimezone(UTC).date()


def vote_on_asset(*, user: User, asset: Asset, direction: str, now: datetime | None = None) -> AssetVote:
    """Record `user`'s vote on `asset` for today (UTC), replacing a vote they made earlier today."""
    ensure_can_act(user)
    if direction not in AssetVote.Direction.values:
        raise ValidationError({"direction": _("Choose bullish or bearish.")})
    # A vote is a reaction: it shares their rate (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["react"]).
    check_rate(scope="react", user=user)
    vote = AssetVote(user=user, asset=asset, day=vote_day(now), direction=direction)
    # The unique constraint settles a race: the second insert of the day becomes an update.
    AssetVote.objects.bulk_create(
        [vote],
        update_conflicts=True,
        unique_fields=["user", "asset", "day"],
        update_fields=["direction"],
    )
    return vote


@dataclass(frozen=True)
class VoteSplit:
    bullish: int
    bearish: int
    # The viewer's own vote today ("bull", "bear"), None when they have not voted or are signed out.
    mine: str | None

    @property
    def total(self) -> int:
        return self.bullish + self.bearish

    @property
    def bullish_percent(self) -> int | None:
        """Whole percent, rounded half to even; None before the first vote of the day."""
        if not self.total:
            return None
        return int((Decimal(self.bullish) * 100 / self.total).quantize(WHOLE, rounding=ROUND_HALF_EVEN))

    @property
    def bearish_percent(self) -> int | None:
        bullish = self.bullish_percent
        return None if bullish is None else 100 - bullish


def vote_split(*, asset: Asset, viewer: User | AnonymousUser | None = None, now: datetime | None = None) -> VoteSplit:
    """Today's votes on `asset` and the viewer's own, in one aggregate (the asset_vote_split index)."""
    bull, bear = AssetVote.Direction.BULLISH, AssetVote.Direction.BEARISH
    signed_in = viewer is not None and viewer.is_authenticated
    counts = {
        "bullish": Count("pk", filter=Q(direction=bull)),
        "bearish": Count("pk", filter=Q(direction=bear)),
    }
    if signed_in:
        counts["mine_bull"] = Count("pk", filter=Q(direction=bull, user=viewer))
        counts["mine_bear"] = Count("pk", filter=Q(direction=bear, user=viewer))
    figures = AssetVote.objects.filter(asset=asset, day=vote_day(now)).aggregate(**counts)
    mine = None
    if figures.get("mine_bull"):
        mine = bull
    elif figures.get("mine_bear"):
        mine = bear
    return VoteSplit(bullish=figures["bullish"], bearish=figures["bearish"], mine=mine)
