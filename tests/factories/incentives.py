"""Factories for incentives: prize pools, settlements and what they decide, and the ledger."""

from datetime import timedelta
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from incentives import ledger
from incentives.models import (
    ActionWeight,
    Contribution,
    IntegrityFlag,
    LedgerEntry,
    Payout,
    PrizePool,
    Settlement,
)
from incentives.weeks import Week

from .creators import UserFactory


def _week_label(n: int) -> str:
    """A distinct ISO week per sequence number, from 2030-W01 on (clear of the weeks tests name)."""
    return f"{2030 + n // 52}-W{n % 52 + 1:02d}"


class PrizePoolFactory(DjangoModelFactory):
    class Meta:
        model = PrizePool

    week = factory.Sequence(_week_label)
    amount = Decimal("1000.00")
    currency = "USDT"


class ActionWeightFactory(DjangoModelFactory):
    """Every action has its row from migration 0003: this returns the stored one (the given weight
    does not change it; tests that change a weight update the row)."""

    class Meta:
        model = ActionWeight
        django_get_or_create = ("kind",)

    kind = ActionWeight.Action.LIKE
    weight = Decimal("1.000")


class SettlementFactory(DjangoModelFactory):
    """A draft of its week (UTC), computed an hour after the week ended; nothing allocated yet."""

    class Meta:
        model = Settlement

    class Params:
        iso_week = factory.LazyAttribute(lambda settlement: Week.parse(settlement.week, "UTC"))

    week = factory.Sequence(_week_label)
    starts_at = factory.LazyAttribute(lambda settlement: settlement.iso_week.starts_at)
    ends_at = factory.LazyAttribute(lambda settlement: settlement.iso_week.ends_at)
    currency = "USDT"
    pool_amount = Decimal("1000.00")
    computed_at = factory.LazyAttribute(lambda settlement: settlement.ends_at + timedelta(hours=1))
    # What settlement.draft_settlement freezes with the result (abridged).
    parameters = factory.LazyFunction(
        lambda: {"alpha": "0.80", "max_share": "0.1000", "minimum_payout": "1.00", "daily_cap": 20}
    )


class ContributionFactory(DjangoModelFactory):
    class Meta:
        model = Contribution

    settlement = factory.SubFactory(SettlementFactory)
    creator = factory.SubFactory(UserFactory)
    raw_counts = factory.LazyFunction(lambda: {"view": 40, "like": 12})
    counted_counts = factory.LazyFunction(lambda: {"view": 30, "like": 10})
    discounts = factory.LazyFunction(lambda: {"daily_cap": 12})
    score = Decimal("25.500000")
    rank = factory.Sequence(lambda n: n + 1)


class PayoutFactory(DjangoModelFactory):
    """A pending payout of its settlement's currency."""

    class Meta:
        model = Payout

    settlement = factory.SubFactory(SettlementFactory)
    creator = factory.SubFactory(UserFactory)
    amount = Decimal("25.00")
    currency = factory.LazyAttribute(lambda payout: payout.settlement.currency)


class LedgerEntryFactory(DjangoModelFactory):
    """A ledger leg made through incentives.ledger.transfer (in `_create`): the ledger takes only
    balanced transfers (a deferred trigger checks each at commit), so this writes both legs, from
    `source` to `account`, and returns the credit leg on `account`. By default a payout paid from
    its week's pool to its creator."""

    class Meta:
        model = LedgerEntry

    payout = factory.SubFactory(PayoutFactory)
    settlement = factory.SelfAttribute("payout.settlement")
    source = factory.LazyAttribute(lambda entry: ledger.pool_account(entry.settlement.week))
    account = factory.LazyAttribute(lambda entry: ledger.creator_account(entry.payout.creator_id))
    amount = factory.SelfAttribute("payout.amount")
    currency = factory.SelfAttribute("payout.currency")
    memo = factory.LazyAttribute(lambda entry: f"Payout for {entry.settlement.week}")

    @classmethod
    def _create(cls, model_class, *args, source, account, amount, **kwargs):
        transfer_id = ledger.transfer(source=source, destination=account, amount=amount, **kwargs)
        return model_class.objects.get(transfer_id=transfer_id, account=account)

    @classmethod
    def _build(cls, model_class, *args, source, **kwargs):
        return super()._build(model_class, *args, **kwargs)


class IntegrityFlagFactory(DjangoModelFactory):
    """A medium-severity finding of shared devices, open for review."""

    class Meta:
        model = IntegrityFlag

    settlement = factory.SubFactory(SettlementFactory)
    rule = IntegrityFlag.Rule.SHARED_DEVICE
    creator = factory.SubFactory(UserFactory)
    # Three readers' accounts, created with the flag (in `_create`) unless `actors` is given.
    actors = factory.LazyFunction(list)
    actor_count = factory.LazyAttribute(lambda flag: len(flag.actors) or 3)
    discounted_interactions = 18
    evidence = factory.LazyFunction(lambda: {"devices": 1})
    severity = IntegrityFlag.Severity.MEDIUM

    @classmethod
    def _create(cls, model_class, *args, actors, **kwargs):
        actors = actors or [reader.pk for reader in UserFactory.create_batch(kwargs["actor_count"])]
        return super()._create(model_class, *args, actors=actors, **kwargs)
