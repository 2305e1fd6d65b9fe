"""Reads for the operators' settlement pages in admin: one week's review (parameters, totals, top
creators, integrity flags) and the progress of its payment to the exchange.

Plain data, so admin only renders. The review costs a fixed number of queries whatever the week's
size: payouts by status (one grouped query), the top creators with their payout (one query), the
flags by rule and severity (one grouped query) and, for a paid week, the transfers by state (one
grouped query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .contributions import ACTION_SLUGS
from .models import (
    ActionWeight,
    Contribution,
    IncentivePolicy,
    IntegrityFlag,
    Payout,
    PayoutTransfer,
    ReaderValueRules,
    Settlement,
)
from .weeks import Week

TOP_CREATORS = 10
MONEY_PLACES = 2
TransferState = PayoutTransfer.State
# Still on their way: polling goes on while any transfer is in one of these.
IN_FLIGHT = (TransferState.REQUESTED, TransferState.SENT)
# Nothing more happens without an operator (send again, or the creator links an account).
NEEDS_OPERATOR = (TransferState.STUCK, TransferState.WAITING_FOR_ACCOUNT)


def money(amount: Decimal | None, currency: str) -> str:
    """10000 → "10,000.00 USDT" in English and Chinese alike (orbit/formats groups by threes)."""
    if amount is None:
        return "—"
    grouped = number_format(amount, decimal_pos=MONEY_PLACES, use_l10n=True, force_grouping=True)
    return f"{grouped} {currency}"


def last_finished_week(*, now: datetime | None = None) -> Week:
    """The latest ISO week (in ORBIT_SETTLEMENT_TZ) that has ended: the one an operator drafts."""
    return Week.containing(now or timezone.now()).previous()


# --- Parameters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterRow:
    section: str | Promise
    label: str | Promise
    value: str


def _field_label(model: Any, name: str) -> str | Promise:
    return model._meta.get_field(name).verbose_name


_WEIGHT_LABELS = {slug: ActionWeight.Action(kind).label for kind, slug in ACTION_SLUGS.items()}
_ALLOCATION_KEYS = ["alpha", "max_share", "minimum_payout", "hold_severity"]
_COUNTING_KEYS = ["daily_cap", "reader_week_points", "reader_creator_share", "post_earning_days"]
_INTEGRITY_LABELS: dict[str, str | Promise] = {
    "shared_device_accounts": _("accounts on one device before all but the oldest stop counting"),
    "network_accounts": _("accounts from one network engaging one creator before they stop counting"),
    "burst_accounts": _("new non-trading accounts that make a burst"),
    "burst_minutes": _("minutes a burst of new accounts spans"),
    "burst_account_age_days": _("age in days below which an account is new"),
    "lockstep_accounts": _("accounts acting together on one post"),
    "lockstep_seconds": _("seconds within which accounts act together"),
    "lockstep_posts": _("posts on which the same accounts act together"),
    "pod_partners": _("reciprocal partners that make a ring"),
    "pod_share": _("share of a creator's flow from ring partners"),
    "dense_readers": _("readers in a dense block"),
    "dense_creators": _("creators in a dense block"),
    "dense_fill": _("fill of a dense block"),
    "dense_creator_share": _("share of a creator's readers inside a dense block"),
    "dense_ratio": _("dense block fill, times the graph's own"),
    "dense_rounds": _("rounds of the dense-block search"),
    "trust_seed_weeks": _("weeks with a trade that make a trusted seed"),
    "trust_seed_days": _("account age in days that makes a trusted seed"),
    "trust_seed_creators": _("creators a trusted seed engaged"),
    "trust_min_seeds": _("trusted seeds needed to run the trust check"),
    "trust_floor": _("least trust a reader needs to count"),
    "creator_reader_factor": _("worth of a creator's engagement with other creators"),
    "dwell_views": _("posts with time spent before machine-like time is judged"),
    "dwell_hour_seconds": _("most counted seconds in one clock hour"),
}


def _plain(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return "; ".join(_plain(item) for item in value) or "—"
    return str(value)


def _in_order(values: dict[str, Any] | None, order: list[str]) -> list[tuple[str, Any]]:
    """`values` in the order the settings pages list them (jsonb stores keys by length, not as
    written), unknown keys last by name."""
    position = {key: index for index, key in enumerate(order)}
    return sorted((values or {}).items(), key=lambda item: (position.get(item[0], len(order)), item[0]))


def parameter_rows(parameters: dict[str, Any]) -> list[ParameterRow]:
    """A settlement's frozen `parameters` as labelled rows in sections, in the order an operator
    reads them; keys this list does not know yet follow under their own names (never dropped)."""
    rows: list[ParameterRow] = []
    known: set[str] = set()

    def add(section: str | Promise, label: str | Promise, value: Any) -> None:
        rows.append(ParameterRow(section, label, _plain(value)))

    pool_section = _("Pool")
    currency = parameters.get("currency", "")
    for key, label in (("pool", _("pool")), ("carried_in", _("carried in"))):
        if key in parameters:
            add(pool_section, label, money(Decimal(parameters[key]), currency))
            known.add(key)
    for key, label in (("currency", _("currency")), ("time_zone", _("time zone"))):
        if key in parameters:
            add(pool_section, label, parameters[key])
            known.add(key)

    allocation = _("Allocation")
    for key in _ALLOCATION_KEYS:
        if key in parameters:
            add(allocation, _field_label(IncentivePolicy, key), parameters[key])
            known.add(key)
    if "owners" in parameters:
        owners = [", ".join(str(member) for member in group) for group in parameters["owners"]]
        add(allocation, _("creators sharing one cap (one owner), by ID"), owners)
        known.add("owners")

    counting = _("Counting")
    for key in _COUNTING_KEYS:
        if key in parameters:
            add(counting, _field_label(IncentivePolicy, key), parameters[key])
            known.add(key)
    if "time_spent_week_seconds" in parameters:
        add(
            counting,
            _field_label(IncentivePolicy, "time_spent_week_minutes"),
            parameters["time_spent_week_seconds"] // 60,
        )
        known.add("time_spent_week_seconds")
    if "time_spent_cap_seconds" in parameters:
        add(counting, _("counted seconds of time spent per view"), parameters["time_spent_cap_seconds"])
        known.add("time_spent_cap_seconds")

    weights = _("Action weights")
    for slug, weight in _in_order(parameters.get("weights"), list(_WEIGHT_LABELS)):
        add(weights, _WEIGHT_LABELS.get(slug, slug), weight)
    known.add("weights")

    reader_value = _("Reader value")
    rule_names = [field.name for field in ReaderValueRules._meta.concrete_fields]
    for name, value in _in_order(parameters.get("reader_value"), rule_names):
        add(reader_value, _field_label(ReaderValueRules, name) if name in rule_names else name, value)
    known.add("reader_value")

    integrity = _("Integrity rules")
    for name, value in _in_order(parameters.get("integrity"), list(_INTEGRITY_LABELS)):
        add(integrity, _INTEGRITY_LABELS.get(name, name), value)
    known.add("integrity")

    other = _("Other")
    for key in sorted(set(parameters) - known):
        add(other, key, parameters[key])
    return rows


# --- The week's review --------------------------------------------------------------------------


@dataclass(frozen=True)
class CountAndAmount:
    """How many of something and how much money they carry: payouts in one status, transfers in
    one state (`key` is the status or state)."""

    key: str
    label: str | Promise
    count: int
    amount: Decimal
    currency: str

    @property
    def amount_shown(self) -> str:
        return money(self.amount, self.currency)


@dataclass(frozen=True)
class TopCreator:
    username: str
    rank: int
    score: Decimal
    share: Decimal
    amount: Decimal | None  # None: no payout (below the minimum, or not eligible)
    payout_status: str
    payout_status_label: str | Promise
    currency: str

    @property
    def share_percent(self) -> Decimal:
        return self.share * 100

    @property
    def amount_shown(self) -> str:
        return money(self.amount, self.currency)


@dataclass(frozen=True)
class FlagGroup:
    rule: str
    rule_label: str | Promise
    severity: int
    severity_label: str | Promise
    count: int


@dataclass(frozen=True)
class PayProgress:
    week: str
    settlement_status: str
    currency: str
    lines: list[CountAndAmount]
    confirmed: int
    total: int
    in_flight: int
    needs_operator: int

    @property
    def paid(self) -> bool:
        return self.settlement_status == Settlement.Status.PAID

    @property
    def settlement_status_label(self) -> str | Promise:
        return Settlement.Status(self.settlement_status).label

    @property
    def finished(self) -> bool:
        """Nothing left to watch: every transfer confirmed, or the rest wait for an operator.
        An approved week whose payment was just asked for is not finished: its task is on the way."""
        return self.paid and self.in_flight == 0

    @property
    def all_confirmed(self) -> bool:
        return self.paid and self.total > 0 and self.confirmed == self.total


@dataclass(frozen=True)
class SettlementReview:
    settlement: Settlement
    parameters: list[ParameterRow]
    payouts_by_status: list[CountAndAmount]
    top_creators: list[TopCreator]
    flag_groups: list[FlagGroup]
    flag_count: int
    progress: PayProgress  # no query before the week is paid

    @property
    def currency(self) -> str:
        return self.settlement.currency

    @property
    def pool_shown(self) -> str:
        return money(self.settlement.pool_amount, self.currency)

    @property
    def carried_in_shown(self) -> str:
        return money(self.settlement.carried_in, self.currency)

    @property
    def allocated_shown(self) -> str:
        return money(self.settlement.total_allocated, self.currency)

    @property
    def carried_out_shown(self) -> str:
        return money(self.settlement.carried_out, self.currency)


def payouts_by_status(settlement: Settlement) -> list[CountAndAmount]:
    """Count and money of the week's payouts in every status (zeros included). One grouped query."""
    rows = {
        row["status"]: row
        for row in Payout.objects.filter(settlement=settlement)
        .order_by()
        .values("status")
        .annotate(count=Count("pk"), amount=Sum("amount"))
    }
    return [
        CountAndAmount(
            key=status,
            label=label,
            count=rows.get(status, {}).get("count", 0),
            amount=rows.get(status, {}).get("amount") or Decimal("0.00"),
            currency=settlement.currency,
        )
        for status, label in Payout.Status.choices
    ]


def top_creators(settlement: Settlement, *, limit: int = TOP_CREATORS) -> list[TopCreator]:
    """The best-ranked contributions with their creator and payout (one query: the payout is unique
    per settlement and creator, so two scalar subqueries read it)."""
    payout = Payout.objects.filter(settlement=settlement, creator_id=OuterRef("creator_id"))
    contributions = (
        Contribution.objects.filter(settlement=settlement)
        .order_by("rank")
        .annotate(
            payout_amount=Subquery(payout.values("amount")[:1]),
            payout_status=Subquery(payout.values("status")[:1]),
        )
        .values("creator__username", "rank", "score", "share", "payout_amount", "payout_status", "excluded_reason")
    )[:limit]
    status_labels = dict(Payout.Status.choices)
    no_payout = _("no payout")
    return [
        TopCreator(
            username=row["creator__username"],
            rank=row["rank"],
            score=row["score"],
            share=row["share"],
            amount=row["payout_amount"],
            payout_status=row["payout_status"] or "none",
            payout_status_label=status_labels.get(row["payout_status"], no_payout),
            currency=settlement.currency,
        )
        for row in contributions
    ]


def flag_groups(settlement: Settlement) -> list[FlagGroup]:
    """The week's integrity flags counted by rule and severity, most severe first. One query."""
    rows = (
        IntegrityFlag.objects.filter(settlement=settlement)
        .order_by()
        .values("rule", "severity")
        .annotate(count=Count("pk"))
    )
    rules, severities = dict(IntegrityFlag.Rule.choices), dict(IntegrityFlag.Severity.choices)
    groups = [
        FlagGroup(
            rule=row["rule"],
            rule_label=rules.get(row["rule"], row["rule"]),
            severity=row["severity"],
            severity_label=severities.get(row["severity"], str(row["severity"])),
            count=row["count"],
        )
        for row in rows
    ]
    return sorted(groups, key=lambda group: (-group.severity, -group.count, group.rule))


def _transfer_lines(settlement_id: int, currency: str) -> list[CountAndAmount]:
    rows = {
        row["state"]: row
        for row in PayoutTransfer.objects.filter(payout__settlement_id=settlement_id)
        .order_by()
        .values("state")
        .annotate(count=Count("pk"), amount=Sum("payout__amount"))
    }
    return [
        CountAndAmount(
            key=state,
            label=label,
            count=rows.get(state, {}).get("count", 0),
            amount=rows.get(state, {}).get("amount") or Decimal("0.00"),
            currency=currency,
        )
        for state, label in TransferState.choices
    ]


def pay_progress_for(settlement: Settlement) -> PayProgress:
    """Where the week's payout transfers are: count and money per state. One grouped query (none
    before the week is paid: its transfers are created by the payment)."""
    lines = _transfer_lines(settlement.pk, settlement.currency) if settlement.status == Settlement.Status.PAID else []
    counts = {line.key: line.count for line in lines}
    return PayProgress(
        week=settlement.week,
        settlement_status=settlement.status,
        currency=settlement.currency,
        lines=lines,
        confirmed=counts.get(TransferState.CONFIRMED, 0),
        total=sum(counts.values()),
        in_flight=sum(counts.get(state, 0) for state in IN_FLIGHT),
        needs_operator=sum(counts.get(state, 0) for state in NEEDS_OPERATOR),
    )


def pay_progress(settlement_id: int) -> PayProgress:
    """The fragment's read: the settlement's status and currency, then its transfers by state."""
    settlement = Settlement.objects.only("pk", "week", "status", "currency").get(pk=settlement_id)
    return pay_progress_for(settlement)


def settlement_review(settlement: Settlement) -> SettlementReview:
    """Everything the settlement page shows beyond the row itself (see the module docstring)."""
    return SettlementReview(
        settlement=settlement,
        parameters=parameter_rows(settlement.parameters or {}),
        payouts_by_status=payouts_by_status(settlement),
        top_creators=top_creators(settlement),
        flag_groups=(groups := flag_groups(settlement)),
        flag_count=sum(group.count for group in groups),
        progress=pay_progress_for(settlement),
    )
