"""Reads for the creator statement: the running week's estimate, past payouts and title progress.

A statement costs three queries whatever its length: the creator with profile, title and
follower count; the active titles; the recent payouts with their week and contribution. The
estimate comes from the cache (estimates.py), never from the engagement log.

What a creator sees is what they can act on: counts, amounts and plain-language reasons. The
integrity rules that held a payout and every threshold stay with the reviewers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, JSONField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from creators.models import CreatorTitle, Follow, User
from markets.models import TradingProfile

from .contributions import ACTION_SLUGS, DISCOUNT_REASONS
from .estimates import estimate_for
from .models import ActionWeight, Contribution, Payout, PayoutTransfer, Settlement, Tip
from .transfers import WAIT_FOR_ACCOUNT
from .weeks import Week

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

PAYOUT_WEEKS = 12

# The counted actions in the order a creator reads them; time spent is shown as minutes instead.
ACTION_LABELS = {slug: ActionWeight.Action(kind).label for kind, slug in ACTION_SLUGS.items()}
LISTED_ACTIONS = [slug for slug in ACTION_LABELS if slug != "time_spent"]

RANK_BANDS = {
    "top_1": _("Top 1% of creators this week"),
    "top_10": _("Top 10% of creators this week"),
    "top_25": _("Top 25% of creators this week"),
    "top_50": _("Top half of creators this week"),
    "rest": _("Below the top half of creators this week"),
}
EXCLUDED_REASONS = {
    "account_suspended": _("Your account is suspended, so it earns nothing this week."),
    "account_frozen": _("Your exchange account is frozen, so it earns nothing this week."),
    "below_minimum": _("Your share was below the minimum payout, so it went to the other creators."),
}
NO_SUCH_PAYOUT = _("You have no payout with that number.")
OTHER_DISCOUNT = _("Other interactions that did not count")
# Shown instead of Payout.hold_reason, which names the integrity rules the reviewers check.
HELD_FOR_REVIEW = _("Held for review: some interactions with your posts are being checked before payment.")


class AppealState:
    NONE = "none"  # nothing to appeal
    AVAILABLE = "available"  # held and not appealed yet
    PENDING = "pending"  # appealed, waiting for the reviewers
    REVIEWED = "reviewed"  # the reviewers decided

    CHOICES = [
        (NONE, _("Nothing to appeal")),
        (AVAILABLE, _("You can appeal")),
        (PENDING, _("Appeal sent; waiting for review")),
        (REVIEWED, _("Reviewed")),
    ]


@dataclass(frozen=True)
class Line:
    """One labelled count: an action that counted or a reason interactions did not."""

    slug: str
    label: str | Promise  # translated when shown, in the reader's language
    count: int


@dataclass(frozen=True)
class Estimate:
    """The running week, coarse on purpose (incentives.estimates): a range, a band and one share."""

    week: str
    computed_at: datetime
    amount_low: Decimal
    amount_high: Decimal
    currency: str
    rank_band: str
    rank_band_label: str | Promise
    discounted_percent: int
    excluded_reason: str
    excluded_label: str | Promise


@dataclass(frozen=True)
class PayoutLine:
    id: int
    week: str
    amount: Decimal
    currency: str
    status: str
    status_label: str
    hold_reason: str | Promise
    score: Decimal | None
    # The settled week's interactions: what counted per action and, in plain words, what did not.
    counted: list[Line]
    discounts: list[Line]
    appeal_state: str
    appeal_state_label: str | Promise
    appealed_at: datetime | None
    reviewed_at: datetime | None
    # Where the money is on its way to the creator's exchange account (TransferState; "" before
    # the week is paid), the exchange's transfer reference once sent, and the dates worth knowing.
    transfer_state: str = ""
    transfer_reference: str = ""
    transfer_paid_on: datetime | None = None
    transfer_link_before: datetime | None = None
    transfer_return_reason: str | Promise = ""

    @property
    def can_appeal(self) -> bool:
        return self.appeal_state == AppealState.AVAILABLE


class TransferState:
    """The creator's words for PayoutTransfer states (operators see the states themselves)."""

    ON_ITS_WAY = "on_its_way"  # requested (not yet tried) or sent
    PAID = "paid"  # confirmed by the exchange
    WAITING = "waiting"  # no exchange account linked yet
    RETURNED = "returned"  # back to the prize pool
    DELAYED = "delayed"  # retrying after an error, or stuck until an operator sends it again


# Why a transfer came back, by PayoutTransfer.failure_code; others get the general reason.
RETURN_REASONS = {
    "account_frozen": _("your exchange account is frozen"),
    "account_closed": _("your exchange account is closed"),
    "unknown_account": _("the exchange does not know your account"),
    "account_not_linked": _("no exchange account was linked in time"),
}
OTHER_RETURN_REASON = _("the exchange could not complete the transfer")


@dataclass(frozen=True)
class Badge:
    """Shaped like a person for includes/title_badge.html, which reads `person.profile.title`."""

    title: CreatorTitle | None

    @property
    def profile(self) -> Badge:
        return self


@dataclass(frozen=True)
class TitleProgress:
    current: CreatorTitle | None
    next: CreatorTitle | None
    followers: int
    recent_contribution: Decimal

    @property
    def current_badge(self) -> Badge:
        return Badge(self.current)

    @property
    def next_badge(self) -> Badge:
        return Badge(self.next)

    @property
    def followers_needed(self) -> int | None:
        return None if self.next is None else self.next.min_followers

    @property
    def contribution_needed(self) -> Decimal | None:
        return None if self.next is None else self.next.min_recent_contribution

    @property
    def next_is_met(self) -> bool:
        """Both thresholds met: the title comes with the next hourly refresh."""
        return self.followers_percent == 100 and self.contribution_percent == 100

    @property
    def followers_percent(self) -> int:
        return _percent(self.followers, self.followers_needed)

    @property
    def contribution_percent(self) -> int:
        return _percent(self.recent_contribution, self.contribution_needed)


def _percent(have: int | Decimal, needed: int | Decimal | None) -> int:
    """How far `have` is towards `needed`, 0 to 100; a threshold of 0 (or none) is met."""
    if not needed:
        return 100
    return min(100, int(Decimal(have) * 100 / Decimal(needed)))


@dataclass(frozen=True)
class Statement:
    person: object  # the creator, with profile, title and follower_count loaded
    estimate: Estimate | None
    payouts: list[PayoutLine]
    title: TitleProgress
    # Whether the creator has linked an exchange account (payouts are sent to it).
    exchange_linked: bool = True

    @property
    def needs_exchange_account(self) -> bool:
        return not self.exchange_linked or any(p.transfer_state == TransferState.WAITING for p in self.payouts)

    @property
    def waiting_payouts(self) -> list[PayoutLine]:
        return [p for p in self.payouts if p.transfer_state == TransferState.WAITING]


def _person(user: User) -> WithAnnotations[User, _FollowerCount]:
    """The creator with profile and title, follower count and whether an exchange account is linked."""
    return (
        User.objects.select_related("profile__title")
        .annotate(
            follower_count=Coalesce(
                Subquery(
                    Follow.objects.filter(followee=OuterRef("pk"))
                    .order_by()
                    .values("followee")
                    .annotate(total=Count("*"))
                    .values("total"),
                    output_field=IntegerField(),
                ),
                0,
            ),
            exchange_linked=Exists(TradingProfile.objects.filter(user=OuterRef("pk"), exchange_uid__isnull=False)),
        )
        .get(pk=user.pk)
    )


def creator_statement(user: User, *, now: datetime | None = None) -> Statement:
    now = now or timezone.now()
    person = _person(user)
    # The running week is never settled yet; the list covers the PAYOUT_WEEKS weeks before it.
    since = Week.containing(now - timedelta(weeks=PAYOUT_WEEKS)).starts_at
    payouts = (
        _payouts(user).filter(settlement__starts_at__gte=since).exclude(settlement__status=Settlement.Status.DRAFT)
    )
    return Statement(
        person=person,
        estimate=_estimate(estimate_for(user.pk, now=now)),
        payouts=[_payout_line(payout) for payout in payouts],
        title=_title_progress(person),
        exchange_linked=person.exchange_linked,
    )


def title_progress(user: User) -> TitleProgress:
    """The statement's title section alone (the creator center shows it too): two queries, the
    creator with profile, title and follower count, and the active titles."""
    return _title_progress(_person(user))


def statement_payout(*, user: User, payout_id: int) -> PayoutLine:
    """One of `user`'s payouts as the statement shows it; DoesNotExist for anyone else's."""
    payout = _payouts(user).filter(pk=payout_id).first()
    if payout is None:
        raise Payout.DoesNotExist(NO_SUCH_PAYOUT)
    return _payout_line(payout)


class _ContributionScore(TypedDict):
    score: Decimal | None
    counted_counts: dict | None
    discounts: dict | None


def _payouts(user: User) -> QuerySet[WithAnnotations[Payout, _ContributionScore]]:
    # A payout exists only when money was allocated, so its week always has a contribution row.
    contribution = Contribution.objects.filter(settlement=OuterRef("settlement"), creator=OuterRef("creator"))
    return (
        Payout.objects.filter(creator=user)
        .select_related("settlement", "transfer")
        .annotate(
            score=Subquery(contribution.values("score")[:1]),
            counted_counts=Subquery(contribution.values("counted_counts")[:1], output_field=JSONField()),
            discounts=Subquery(contribution.values("discounts")[:1], output_field=JSONField()),
        )
        .order_by("-settlement__week")
    )


def _payout_line(payout: WithAnnotations[Payout, _ContributionScore]) -> PayoutLine:
    if payout.reviewed_at:
        appeal = AppealState.REVIEWED
    elif payout.appealed_at:
        appeal = AppealState.PENDING
    elif payout.status == Payout.Status.HELD:
        appeal = AppealState.AVAILABLE
    else:
        appeal = AppealState.NONE
    was_held = payout.status == Payout.Status.HELD or bool(payout.hold_reason)
    return PayoutLine(
        id=payout.pk,
        week=payout.settlement.week,
        amount=payout.amount,
        currency=payout.currency,
        status=payout.status,
        status_label=payout.get_status_display(),
        hold_reason=HELD_FOR_REVIEW if was_held else "",
        score=payout.score,
        counted=_counted_lines(payout.counted_counts or {}),
        discounts=_discount_lines(payout.discounts or {}),
        appeal_state=appeal,
        appeal_state_label=dict(AppealState.CHOICES)[appeal],
        appealed_at=payout.appealed_at,
        reviewed_at=payout.reviewed_at,
        **_transfer_fields(getattr(payout, "transfer", None)),
    )


def _transfer_fields(transfer: PayoutTransfer | None) -> dict:
    """The PayoutLine's transfer fields: what the creator can know and do about the money's way."""
    if transfer is None:
        return {}
    State = PayoutTransfer.State
    fields: dict = {"transfer_reference": transfer.exchange_transfer_id}
    if transfer.state == State.CONFIRMED:
        fields["transfer_state"] = TransferState.PAID
        fields["transfer_paid_on"] = transfer.exchange_completed_at or transfer.confirmed_at
    elif transfer.state == State.WAITING_FOR_ACCOUNT:
        fields["transfer_state"] = TransferState.WAITING
        fields["transfer_link_before"] = transfer.created_at + WAIT_FOR_ACCOUNT
    elif transfer.state == State.RETURNED:
        fields["transfer_state"] = TransferState.RETURNED
        fields["transfer_return_reason"] = RETURN_REASONS.get(transfer.failure_code, OTHER_RETURN_REASON)
    elif transfer.state == State.STUCK or (transfer.state == State.REQUESTED and transfer.attempts):
        fields["transfer_state"] = TransferState.DELAYED
    else:
        fields["transfer_state"] = TransferState.ON_ITS_WAY
    return fields


def _counted_lines(counted: dict) -> list[Line]:
    return [Line(slug, ACTION_LABELS[slug], counted.get(slug, 0)) for slug in LISTED_ACTIONS]


def _discount_lines(discounts: dict) -> list[Line]:
    # Known reasons in the catalogue's order; a reason added later without a label still counts.
    lines = [
        Line(reason, label, discounts[reason]) for reason, label in DISCOUNT_REASONS.items() if discounts.get(reason)
    ]
    unknown = sum(count for reason, count in discounts.items() if reason not in DISCOUNT_REASONS)
    if unknown:
        lines.append(Line("other", OTHER_DISCOUNT, unknown))
    return lines


def _estimate(raw: dict | None) -> Estimate | None:
    if raw is None:
        return None
    excluded = raw.get("excluded_reason") or ""
    return Estimate(
        week=raw["week"],
        computed_at=datetime.fromisoformat(raw["computed_at"]),
        amount_low=Decimal(raw["amount_low"]),
        amount_high=Decimal(raw["amount_high"]),
        currency=raw["currency"],
        rank_band=raw["rank_band"],
        rank_band_label=RANK_BANDS.get(raw["rank_band"], RANK_BANDS["rest"]),
        discounted_percent=int(raw["discounted_percent"]),
        excluded_reason=excluded,
        excluded_label=EXCLUDED_REASONS.get(excluded, "") if excluded else "",
    )


class _FollowerCount(TypedDict):
    follower_count: int
    exchange_linked: bool


def _title_progress(person: WithAnnotations[User, _FollowerCount]) -> TitleProgress:
    profile = getattr(person, "profile", None)
    current = profile.title if profile is not None else None
    contribution = profile.recent_contribution if profile is not None else Decimal(0)

    def rank(title: CreatorTitle) -> tuple:
        return (title.min_followers, title.min_recent_contribution, title.slug)

    # Titles are a ladder in their model order; the next is the first one above the current.
    above = [t for t in CreatorTitle.objects.filter(is_active=True) if current is None or rank(t) > rank(current)]
    return TitleProgress(
        current=current,
        next=above[0] if above else None,
        followers=person.follower_count,
        recent_contribution=contribution,
    )


# --- Tips received (the statement's section; incentives/tips.py sends them) ---------------------

TIPS_RECEIVED_DAYS = 30
TIPS_RECEIVED_LISTED = 50


@dataclass(frozen=True)
class TipsReceived:
    """A creator's confirmed tips of the last TIPS_RECEIVED_DAYS days: the newest listed, all summed."""

    tips: list  # Tip rows with tipper__profile and post loaded
    count: int
    total: int
    currency: str
    days: int


def tips_received(user: User, *, now: datetime | None = None) -> TipsReceived:
    """Two queries: the totals, and the newest tips with their tipper's name and post."""
    since = (now or timezone.now()) - timedelta(days=TIPS_RECEIVED_DAYS)
    confirmed = Tip.objects.filter(creator=user, state=Tip.State.CONFIRMED, confirmed_at__gte=since)
    totals = confirmed.aggregate(count=Count("pk"), total=Sum("amount"))
    listed = list(
        confirmed.select_related("tipper__profile", "post").order_by("-confirmed_at", "-pk")[:TIPS_RECEIVED_LISTED]
    )
    return TipsReceived(
        tips=listed,
        count=totals["count"],
        total=totals["total"] or 0,
        currency=settings.TIP_CURRENCY,
        days=TIPS_RECEIVED_DAYS,
    )
