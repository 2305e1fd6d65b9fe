"""The weekly settlement: draft → approved → paid, paid once and only once.

Every step runs in one transaction holding a Postgres advisory lock for its week, so two runs of
the same week (beat and an operator, two workers after a redelivery) queue up instead of racing,
and a crash midway leaves nothing behind. Only a draft is ever recomputed; an approved or paid
settlement never changes. Payouts sum exactly to the week's pool plus the money carried in, less
what is carried out (nobody could receive it); the ledger records every cent.

See docs/incentives.md#4-lifecycle-incentivessettlementpy.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from creators import services as creator_services
from creators.models import User
from feed.models import Engagement
from markets.models import TradingProfile
from orbit import locks
from orbit.locks import Namespace

from . import ledger, transfers
from .allocation import Rules, allocate
from .contributions import Parameters, WeekFigures, compute
from .models import Contribution, IntegrityFlag, LedgerEntry, Payout, PrizePool, Settlement
from .weeks import Week

RECENT_WEEKS = 4  # titles look at the score of this many recent settled weeks


class SettlementError(Exception):
    """A step that cannot be taken now; the message says why and what to do."""


@dataclass(frozen=True)
class Outcome:
    settlement: Settlement
    changed: bool
    message: str


def pool_for(week: Week) -> tuple[Decimal, str]:
    pool = PrizePool.objects.filter(week=week.label).first()
    if pool:
        return pool.amount, pool.currency
    return settings.ORBIT_PRIZE_POOL_DEFAULT, settings.ORBIT_PRIZE_POOL_CURRENCY


def unclaimed_carryover(week: str, currency: str) -> Decimal:
    """Carry-over money in `currency` that weeks before `week` left and no unpaid settlement has
    counted yet. Money only flows forward in time: an older week settled late never takes what a
    later week left (a typo such as 2019-W01 would otherwise drain every later week's leftovers)."""
    claimed = (
        Settlement.objects.exclude(week=week)
        .exclude(status=Settlement.Status.PAID)
        .filter(currency=currency)
        .aggregate(total=Sum("carried_in"))["total"]
    ) or Decimal(0)
    # Every withdrawal counts, but only deposits of earlier weeks (or of no week): week labels
    # ("2026-W47") sort in time order.
    from_earlier_weeks = (
        LedgerEntry.objects.filter(account=ledger.CARRYOVER, currency=currency)
        .filter(Q(amount__lt=0) | Q(settlement__isnull=True) | Q(settlement__week__lt=week))
        .aggregate(total=Sum("amount"))["total"]
    ) or Decimal(0)
    available = min(ledger.balance(ledger.CARRYOVER, currency), from_earlier_weeks)
    return max(Decimal("0.00"), available - claimed)


def check_settleable(week: Week, *, now: datetime) -> None:
    """Refuse a week that is not over yet, or that ended before anything was ever recorded: such a
    week has nobody to pay, and drafting it would move its whole pool from the treasury to the
    carry-over (a typo such as 2019-W01 would cost a pool)."""
    if week.ends_at > now:
        raise SettlementError(f"{week} is not over yet; it can be settled from {week.ends_at.isoformat()}.")
    # The BRIN index on occurred_at answers this from the oldest block ranges only.
    if not Engagement.objects.filter(occurred_at__lt=week.ends_at).exists():
        raise SettlementError(
            _(
                "%(week)s ended before the first engagement Orbit recorded, so there is nothing to settle "
                "and its pool stays in the treasury. Check the week: ISO weeks look like 2026-W47."
            )
            % {"week": week}
        )


def check_draftable(*, week_label: str, now: datetime) -> Week:
    """The week an operator asks to draft (admin's "Draft week"), or SettlementError saying what to
    fix: not an ISO week, not over yet, nothing recorded by then, or already approved or paid (only a
    draft is ever recomputed). Reads only; the draft itself runs on the settlement queue."""
    label = (week_label or "").strip()
    try:
        week = Week.parse(label)
    except ValueError:
        raise SettlementError(
            _("“%(week)s” is not an ISO week; write it like 2026-W47.") % {"week": label[:20]}
        ) from None
    if week.ends_at > now:
        raise SettlementError(
            _("%(week)s is not over yet; it can be drafted once it ends (%(ends)s).")
            % {
                "week": week,
                "ends": f"{week.ends_at.astimezone(ZoneInfo(week.time_zone)):%Y-%m-%d %H:%M} {week.time_zone}",
            }
        )
    status = Settlement.objects.filter(week=week.label).values_list("status", flat=True).first()
    if status is not None and status != Settlement.Status.DRAFT:
        raise SettlementError(
            _("%(week)s is already %(status)s; only a draft can be computed again.")
            % {"week": week, "status": Settlement.Status(status).label}
        )
    check_settleable(week, now=now)
    return week


def ineligible_creators(creator_ids: Iterable[int]) -> dict[int, str]:
    """Creators who earn nothing this week, and why."""
    reasons: dict[int, str] = {}
    for user_id, suspended_at, is_active in User.objects.filter(pk__in=creator_ids).values_list(
        "pk", "suspended_at", "is_active"
    ):
        if suspended_at is not None or not is_active:
            reasons[user_id] = "account_suspended"
    for user_id in TradingProfile.objects.filter(user_id__in=creator_ids, is_frozen=True).values_list(
        "user_id", flat=True
    ):
        reasons.setdefault(user_id, "account_frozen")
    return reasons


def beneficial_owners(creator_ids: Iterable[int]) -> list[list[int]]:
    """Groups of these creators whose trading profiles carry one KYC identity hash: one person behind
    several accounts, who gets one cap (allocation.allocate's `owners`). Creators alone with their
    identity, or without one, are their own owners and are left out. Sorted, so a draft stores the
    same list every time."""
    by_identity: dict[str | None, list[int]] = {}
    for user_id, identity in (
        TradingProfile.objects.filter(user_id__in=list(creator_ids), kyc_identity__isnull=False)
        .order_by("user_id")
        .values_list("user_id", "kyc_identity")
    ):
        by_identity.setdefault(identity, []).append(user_id)
    return sorted(group for group in by_identity.values() if len(group) > 1)


def draft_settlement(*, week: Week, now: datetime | None = None) -> Outcome:
    """Compute (or recompute) the week's draft. A week already approved or paid is left alone."""
    now = now or timezone.now()
    check_settleable(week, now=now)
    started = time.monotonic()
    with transaction.atomic():
        locks.lock(Namespace.SETTLEMENT_WEEK, week.label)
        existing = Settlement.objects.select_for_update().filter(week=week.label).first()
        if existing and existing.status != Settlement.Status.DRAFT:
            return Outcome(existing, False, f"{week} is already {existing.status}; nothing changed.")
        parameters = Parameters.current()
        figures = compute(week, parameters)
        pool_amount, currency = pool_for(week)
        # Held from here to commit: another week's draft or payment must not count the same money.
        locks.lock(Namespace.SETTLEMENT_CARRYOVER)
        carried_in = unclaimed_carryover(week.label, currency)
        settlement = _write_draft(
            existing, week, figures, pool_amount, currency, carried_in, now, int((time.monotonic() - started) * 1000)
        )
    return Outcome(
        settlement,
        True,
        f"{week} drafted: {settlement.creator_count} creators, {settlement.total_allocated} {currency} allocated.",
    )


def _write_draft(
    existing: Settlement | None,
    week: Week,
    figures: WeekFigures,
    pool_amount: Decimal,
    currency: str,
    carried_in: Decimal,
    now: datetime,
    elapsed_ms: int,
) -> Settlement:
    parameters = figures.parameters
    ineligible = ineligible_creators(figures.creators.keys())
    eligible_scores = {
        creator_id: creator.score
        for creator_id, creator in figures.creators.items()
        if creator_id not in ineligible and creator.score > 0
    }
    rules = Rules(alpha=parameters.alpha, max_share=parameters.max_share, minimum_payout=parameters.minimum_payout)
    owners = beneficial_owners(eligible_scores)
    allocation = allocate(total=pool_amount + carried_in, scores=eligible_scores, rules=rules, owners=owners)

    if existing:
        # A draft is recomputed from scratch: its rows go, new ones come, in this transaction.
        existing.contributions.all().delete()
        existing.payouts.all().delete()
        existing.flags.all().delete()
    settlement = existing or Settlement(week=week.label)
    settlement.starts_at, settlement.ends_at = week.starts_at, week.ends_at
    settlement.status = Settlement.Status.DRAFT
    settlement.currency = currency
    settlement.pool_amount = pool_amount
    settlement.carried_in = carried_in
    settlement.total_allocated = sum(allocation.amounts.values(), Decimal("0.00"))
    settlement.carried_out = allocation.unallocated
    settlement.total_score = sum((creator.score for creator in figures.creators.values()), Decimal(0))
    settlement.creator_count = len(allocation.amounts)
    settlement.parameters = {
        **parameters.as_json(),
        "pool": str(pool_amount),
        "carried_in": str(carried_in),
        "currency": currency,
        "time_zone": week.time_zone,
        # Who shared one cap, as creator ids (never the identity hashes): with the contributions'
        # scores and the parameters above, enough to redo the split exactly.
        "owners": owners,
    }
    settlement.computed_at = now
    settlement.computation_ms = elapsed_ms
    settlement.save()

    ranked = sorted(figures.creators.values(), key=lambda creator: (-creator.score, creator.creator_id))
    Contribution.objects.bulk_create(
        [
            Contribution(
                settlement=settlement,
                creator_id=creator.creator_id,
                raw_counts=creator.raw_counts,
                counted_counts=creator.counted_counts,
                counted_minutes=creator.counted_minutes,
                discounts=creator.discounts,
                score=creator.score,
                share=allocation.shares.get(creator.creator_id, Decimal(0)).quantize(Decimal("1e-12")),
                rank=rank,
                excluded_reason=ineligible.get(creator.creator_id)
                or ("" if creator.creator_id in allocation.amounts else "below_minimum"),
            )
            for rank, creator in enumerate(ranked, start=1)
        ],
        batch_size=2000,
    )
    IntegrityFlag.objects.bulk_create(
        [
            IntegrityFlag(
                settlement=settlement,
                rule=flag.rule,
                creator_id=flag.creator_id,
                actors=flag.actors,
                actor_count=flag.actor_count,
                discounted_interactions=flag.discounted_interactions,
                evidence=flag.evidence,
                severity=flag.severity,
            )
            for flag in figures.flags
        ],
        batch_size=2000,
    )
    holds = _holds(figures, parameters.hold_severity)
    Payout.objects.bulk_create(
        [
            Payout(
                settlement=settlement,
                creator_id=creator_id,
                amount=amount,
                currency=currency,
                status=Payout.Status.HELD if creator_id in holds else Payout.Status.PENDING,
                hold_reason=holds.get(creator_id, ""),
            )
            for creator_id, amount in sorted(allocation.amounts.items())
        ],
        batch_size=2000,
    )
    return settlement


def _holds(figures: WeekFigures, hold_severity: int) -> dict[int, str]:
    rules_by_creator: dict[int, list[str]] = {}
    for flag in figures.flags:
        # Engagement the creator is not tied to (no shared device, no engagement given back) was done
        # to them: it is discounted, and never a reason to hold them (or sabotage would be free).
        if flag.severity >= hold_severity and flag.tied_to_creator:
            rules_by_creator.setdefault(flag.creator_id, []).append(str(IntegrityFlag.Rule(flag.rule).label))
    return {creator_id: "; ".join(sorted(labels))[:200] for creator_id, labels in rules_by_creator.items()}


def _lock_settlement(settlement_id: int) -> Settlement:
    # The week's advisory lock first, then the row: the same order as draft_settlement, so two
    # steps on one week never wait for each other in opposite orders.
    week = Settlement.objects.values_list("week", flat=True).get(pk=settlement_id)
    locks.lock(Namespace.SETTLEMENT_WEEK, week)
    return Settlement.objects.select_for_update().get(pk=settlement_id)


def approve_settlement(*, settlement_id: int, by: User | None) -> Settlement:
    with transaction.atomic():
        settlement = _lock_settlement(settlement_id)
        # Claimed by a conditional update: a second click finds nothing left to approve.
        approved = Settlement.objects.filter(pk=settlement_id, status=Settlement.Status.DRAFT).update(
            status=Settlement.Status.APPROVED, approved_at=timezone.now(), approved_by=by
        )
        if not approved:
            raise SettlementError(f"{settlement.week} is {settlement.status}; only a draft can be approved.")
    settlement.refresh_from_db()
    return settlement


def pay_settlement(*, settlement_id: int) -> Outcome:
    """Write the ledger for an approved settlement and mark its payouts paid (held ones stay held);
    after commit, each paid payout is sent to the creator's exchange account (incentives/transfers.py)."""
    with transaction.atomic():
        settlement = _lock_settlement(settlement_id)
        if settlement.status == Settlement.Status.PAID:
            return Outcome(settlement, False, f"{settlement.week} is already paid; nothing changed.")
        if settlement.status != Settlement.Status.APPROVED:
            raise SettlementError(f"{settlement.week} is a draft; approve it before paying.")
        locks.lock(Namespace.SETTLEMENT_CARRYOVER)
        _fund_pool(settlement)
        now = timezone.now()
        # One INSERT for every payout's legs: a week of 10,000 creators is paid in a second or two.
        payouts = settlement.payouts.select_for_update().order_by("creator_id")
        ledger.transfer_many(_payout_move(settlement, payout) for payout in payouts)
        settlement.payouts.filter(status=Payout.Status.PENDING).update(status=Payout.Status.PAID, paid_at=now)
        if settlement.carried_out:
            ledger.transfer(
                source=ledger.pool_account(settlement.week),
                destination=ledger.CARRYOVER,
                amount=settlement.carried_out,
                currency=settlement.currency,
                memo=f"not allocated in {settlement.week}, for a later week",
                settlement=settlement,
            )
        if ledger.balance(ledger.pool_account(settlement.week)) != 0:
            raise SettlementError(f"{settlement.week}'s pool does not empty exactly; nothing was paid.")
        settlement.status, settlement.paid_at = Settlement.Status.PAID, now
        settlement.save(update_fields=["status", "paid_at"])
        transfer_ids = transfers.request_transfers(settlement=settlement)
        # Sent only once the payment is committed: a rolled-back payment sends nothing.
        transaction.on_commit(lambda: transfers.queue_sends(transfer_ids))
    refresh_titles()
    return Outcome(settlement, True, f"{settlement.week} paid.")


def _payout_move(settlement: Settlement, payout: Payout) -> ledger.Move:
    held = payout.status == Payout.Status.HELD
    return ledger.Move(
        source=ledger.pool_account(settlement.week),
        destination=ledger.held_account(settlement.week) if held else ledger.creator_account(payout.creator_id),
        amount=payout.amount,
        currency=payout.currency,
        memo=f"{'held payout' if held else 'payout'} {settlement.week}",
        settlement=settlement,
        payout=payout,
    )


def _fund_pool(settlement: Settlement) -> None:
    pool = ledger.pool_account(settlement.week)
    if settlement.pool_amount:
        ledger.transfer(
            source=ledger.TREASURY,
            destination=pool,
            amount=settlement.pool_amount,
            currency=settlement.currency,
            memo=f"prize pool {settlement.week}",
            settlement=settlement,
        )
    if settlement.carried_in:
        if ledger.balance(ledger.CARRYOVER, settlement.currency) < settlement.carried_in:
            raise SettlementError("The carry-over balance is smaller than this settlement counted on.")
        ledger.transfer(
            source=ledger.CARRYOVER,
            destination=pool,
            amount=settlement.carried_in,
            currency=settlement.currency,
            memo=f"carried into {settlement.week}",
            settlement=settlement,
        )


def settle_week(*, week: Week, approved_by: User | None = None, now: datetime | None = None) -> Outcome:
    """Draft, approve and pay a finished week in one go (the `settle_week` command)."""
    drafted = draft_settlement(week=week, now=now)
    if not drafted.changed and drafted.settlement.status == Settlement.Status.PAID:
        return drafted
    settlement = drafted.settlement
    if settlement.status == Settlement.Status.DRAFT:
        settlement = approve_settlement(settlement_id=settlement.pk, by=approved_by)
    return pay_settlement(settlement_id=settlement.pk)


def review_held_payout(*, payout_id: int, by: User, release: bool, note: str = "") -> Payout:
    """Pay a held payout after review, or forfeit it to the carry-over (the next week's pool)."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().select_related("settlement").get(pk=payout_id)
        if payout.status != Payout.Status.HELD or payout.settlement.status != Settlement.Status.PAID:
            raise SettlementError("Only a held payout of a paid settlement can be reviewed.")
        week = payout.settlement.week
        ledger.transfer(
            source=ledger.held_account(week),
            destination=ledger.creator_account(payout.creator_id) if release else ledger.CARRYOVER,
            amount=payout.amount,
            currency=payout.currency,
            memo=f"{'released' if release else 'forfeited'} after review, {week}",
            settlement=payout.settlement,
            payout=payout,
        )
        now = timezone.now()
        payout.status = Payout.Status.PAID if release else Payout.Status.FORFEITED
        payout.paid_at = now if release else None
        payout.reviewed_at, payout.reviewed_by, payout.review_note = now, by, note[:500]
        payout.save(update_fields=["status", "paid_at", "reviewed_at", "reviewed_by", "review_note"])
        if release:  # a released payout goes to the exchange like the week's others
            transfer_ids = transfers.request_transfers(settlement=payout.settlement)
            transaction.on_commit(lambda: transfers.queue_sends(transfer_ids))
    return payout


def appeal_payout(*, payout_id: int, creator: User, message: str) -> Payout:
    message = (message or "").strip()
    if not message:
        raise SettlementError(_("Tell the reviewers why the payout should be released."))
    if len(message) > 2000:
        raise SettlementError(_("An appeal is at most 2,000 characters."))
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id, creator=creator).first()
        if payout is None:
            raise Payout.DoesNotExist
        if payout.status != Payout.Status.HELD:
            raise SettlementError(_("Only a payout held for review can be appealed."))
        if payout.appealed_at:
            raise SettlementError(_("This payout has already been appealed; the reviewers will answer it."))
        payout.appeal_message, payout.appealed_at = message, timezone.now()
        payout.save(update_fields=["appeal_message", "appealed_at"])
    return payout


def refresh_titles() -> int:
    """Recent contribution (the last RECENT_WEEKS settled weeks) → creator titles."""
    recent = list(
        Settlement.objects.exclude(status=Settlement.Status.DRAFT)
        .order_by("-week")
        .values_list("pk", flat=True)[:RECENT_WEEKS]
    )
    scores = dict(
        Contribution.objects.filter(settlement__in=recent)
        .values("creator_id")
        .annotate(total=Sum("score"))
        .values_list("creator_id", "total")
    )
    return creator_services.set_recent_contributions(scores=scores)


def summary(settlement: Settlement, *, changed: bool, message: str) -> dict:
    """The JSON summary `settle_week` prints."""
    payouts = {p.creator_id: p for p in settlement.payouts.all()}
    contributions = settlement.contributions.select_related("creator").order_by("rank")
    return {
        "week": settlement.week,
        "status": settlement.status,
        "changed": changed,
        "message": message,
        "currency": settlement.currency,
        "pool": str(settlement.pool_amount),
        "carried_in": str(settlement.carried_in),
        "total_paid": str(sum((p.amount for p in payouts.values() if p.status == Payout.Status.PAID), Decimal("0.00"))),
        "total_held": str(sum((p.amount for p in payouts.values() if p.status == Payout.Status.HELD), Decimal("0.00"))),
        "carried_out": str(settlement.carried_out),
        "creators": [
            {
                "creator": c.creator.username,
                "score": str(c.score),
                "contribution": c.counted_counts,
                "amount": str(payouts[c.creator_id].amount) if c.creator_id in payouts else "0.00",
                "status": payouts[c.creator_id].status if c.creator_id in payouts else c.excluded_reason,
            }
            for c in contributions
        ],
        "flags": settlement.flags.count(),
        "highest_flag_severity": settlement.flags.aggregate(top=Max("severity"))["top"],
    }
