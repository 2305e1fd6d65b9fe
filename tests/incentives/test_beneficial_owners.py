"""One person behind several creator accounts gets one cap: the accounts the exchange knows by one
KYC identity hash share max_share of the pool between them, and honest creators keep their own."""

from decimal import Decimal

import pytest

from incentives import settlement
from incentives.allocation import Rules, allocate
from incentives.models import IncentivePolicy, Payout, PrizePool
from markets.models import TradingProfile
from tests.factories import PrizePoolFactory, TradingProfileFactory, UserFactory
from tests.incentives.test_settlement import AFTER, WEEK, creator_post, engage, engagement_before, trader

pytestmark = pytest.mark.django_db
POOL = Decimal("1000.00")
CAP = Decimal("0.1")
IDENTITY = "kyc-person-behind-five-accounts"


def creator_with_readers(readers, *, identity=None):
    account = UserFactory()
    TradingProfileFactory(user=account, kyc_identity=identity)
    engage(readers, creator_post(account))
    return account


@pytest.fixture
def week_with_five_accounts_of_one_person():
    """Ten honest creators and five accounts of one person, every one read by the same six traders:
    fifteen equal scores, so the five would take a third of the pool if each had its own cap."""
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"max_share": CAP, "minimum_payout": Decimal("1.00")})
    engagement_before(WEEK)
    PrizePoolFactory(week=WEEK.label, amount=POOL)
    readers = [trader() for _ in range(6)]
    honest = [creator_with_readers(readers, identity=f"kyc-honest-creator-{n:04}") for n in range(9)]
    honest.append(creator_with_readers(readers))  # no identity: their own owner
    person = [creator_with_readers(readers, identity=IDENTITY) for _ in range(5)]
    return honest, person


def test_five_accounts_of_one_person_share_one_cap_and_honest_creators_are_paid_as_if_it_were_one(
    week_with_five_accounts_of_one_person,
):
    honest, person = week_with_five_accounts_of_one_person

    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement

    paid = dict(drafted.payouts.values_list("creator_id", "amount"))
    scores = dict(drafted.contributions.values_list("creator_id", "score"))
    assert sum(paid.values()) + drafted.carried_out == POOL
    # The person: at most the cap in all, split among the five by score.
    assert sum(paid[account.pk] for account in person) <= CAP * POOL
    assert sum(paid[account.pk] for account in person) == Decimal("100.00")
    # Each account with its own cap would have taken a third of the pool.
    rules = Rules(alpha=Decimal(drafted.parameters["alpha"]), max_share=CAP, minimum_payout=Decimal("1.00"))
    unknown = allocate(total=POOL, scores=scores, rules=rules)
    assert sum(unknown.amounts[account.pk] for account in person) > Decimal("300.00")
    # The honest ten are paid exactly what they would be if the person had one account holding the
    # five scores.
    merged = {account.pk: scores[account.pk] for account in honest} | {
        min(a.pk for a in person): sum(scores[account.pk] for account in person)
    }
    as_one = allocate(total=POOL, scores=merged, rules=rules)
    assert {account.pk: paid[account.pk] for account in honest} == {
        account.pk: as_one.amounts[account.pk] for account in honest
    }
    assert all(paid[account.pk] <= CAP * POOL for account in honest)


def test_the_draft_stores_who_shared_a_cap_and_the_split_can_be_redone_from_what_it_stored(
    week_with_five_accounts_of_one_person,
):
    _honest, person = week_with_five_accounts_of_one_person

    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement

    assert drafted.parameters["owners"] == [sorted(account.pk for account in person)]
    assert IDENTITY not in str(drafted.parameters)
    # Redone from the stored figures alone, after the identities are gone.
    TradingProfile.objects.update(kyc_identity=None)
    contributions = drafted.contributions.filter(excluded_reason__in=["", "below_minimum"])
    parameters = drafted.parameters
    redone = allocate(
        total=Decimal(parameters["pool"]) + Decimal(parameters["carried_in"]),
        scores=dict(contributions.values_list("creator_id", "score")),
        rules=Rules(
            alpha=Decimal(parameters["alpha"]),
            max_share=Decimal(parameters["max_share"]),
            minimum_payout=Decimal(parameters["minimum_payout"]),
        ),
        owners=parameters["owners"],
    )
    assert redone.amounts == dict(drafted.payouts.values_list("creator_id", "amount"))


def test_the_minimum_payout_and_the_carry_over_still_hold_with_owners(week_with_five_accounts_of_one_person):
    honest, person = week_with_five_accounts_of_one_person
    # A minimum above what each of the five accounts gets (20.00) drops them all; nobody else may take their
    # money past the cap, so it is carried to a later week.
    IncentivePolicy.objects.update_or_create(pk=1, defaults={"minimum_payout": Decimal("25.00")})

    paid = settlement.settle_week(week=WEEK, now=AFTER).settlement

    amounts = dict(paid.payouts.values_list("creator_id", "amount"))
    assert not any(account.pk in amounts for account in person)
    assert {paid.contributions.get(creator_id=account.pk).excluded_reason for account in person} == {"below_minimum"}
    assert sorted(amounts) == sorted(account.pk for account in honest)
    assert all(amount == CAP * POOL for amount in amounts.values())
    assert paid.carried_out == POOL - 10 * CAP * POOL
    assert sum(amounts.values()) + paid.carried_out == POOL
    assert not Payout.objects.exclude(settlement=paid).exists()
    assert PrizePool.objects.get(week=WEEK.label).amount == POOL


def test_a_frozen_account_of_the_person_takes_none_of_the_cap(week_with_five_accounts_of_one_person):
    _honest, person = week_with_five_accounts_of_one_person
    TradingProfile.objects.filter(user=person[0]).update(is_frozen=True)

    drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement

    paid = dict(drafted.payouts.values_list("creator_id", "amount"))
    assert person[0].pk not in paid
    assert sum(paid[account.pk] for account in person[1:]) == CAP * POOL
    assert drafted.parameters["owners"] == [sorted(account.pk for account in person[1:])]


def test_creators_alone_with_their_identity_or_without_one_form_no_group(week_with_five_accounts_of_one_person):
    honest, person = week_with_five_accounts_of_one_person

    assert settlement.beneficial_owners([account.pk for account in honest]) == []
    assert settlement.beneficial_owners([honest[0].pk, person[3].pk]) == []
    assert settlement.beneficial_owners([person[4].pk, honest[0].pk, person[2].pk]) == [[person[2].pk, person[4].pk]]
