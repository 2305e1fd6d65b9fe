"""Payouts in admin, as an operator with TOTP uses them: pools, policy, review, approve, pay, release."""

from decimal import Decimal

import pytest
from django.urls import reverse

from incentives import ledger, settlement
from incentives.models import IncentivePolicy, IntegrityFlag, Payout, PrizePool, Settlement
from tests.factories import UserFactory
from tests.incentives.conftest import WEEK

pytestmark = pytest.mark.django_db


def _action(client, model, action, ids):
    return client.post(
        reverse(f"admin:incentives_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in ids]},
        follow=True,
    )


def test_the_operator_approves_a_draft_and_pays_it(admin_client, operator, drafted, django_capture_on_commit_callbacks):
    page = admin_client.get(reverse("admin:incentives_settlement_changelist"))
    assert WEEK.label in page.content.decode()

    _action(admin_client, "settlement", "approve", [drafted.pk])
    drafted.refresh_from_db()
    assert drafted.status == Settlement.Status.APPROVED and drafted.approved_by == operator

    # "Pay" queues the payment task after commit; run what it queued, as a worker would.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _action(admin_client, "settlement", "pay", [drafted.pk])
    assert len(callbacks) == 1
    settlement.pay_settlement(settlement_id=drafted.pk)
    drafted.refresh_from_db()
    assert drafted.status == Settlement.Status.PAID
    assert ledger.imbalance() == 0


def test_approving_twice_tells_the_operator_and_changes_nothing(admin_client, drafted):
    _action(admin_client, "settlement", "approve", [drafted.pk])
    approved_at = Settlement.objects.get().approved_at

    page = _action(admin_client, "settlement", "approve", [drafted.pk])

    assert "only a draft can be approved" in page.content.decode()
    assert Settlement.objects.get().approved_at == approved_at


def test_settlements_are_not_editable_in_admin(admin_client, drafted):
    change = admin_client.post(
        reverse("admin:incentives_settlement_change", args=[drafted.pk]), {"pool_amount": "1.00"}
    )
    assert change.status_code == 403
    assert Settlement.objects.get().pool_amount == drafted.pool_amount


def test_a_pool_for_an_approved_week_cannot_change(admin_client, drafted):
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    page = admin_client.post(
        reverse("admin:incentives_prizepool_add"), {"week": WEEK.label, "amount": "500.00", "currency": "USDT"}
    )
    assert "already approved" in page.content.decode()
    bad = admin_client.post(
        reverse("admin:incentives_prizepool_add"), {"week": "2026-W99", "amount": "5.001", "currency": "USDT"}
    )
    assert "no ISO week 99" in bad.content.decode()
    assert not PrizePool.objects.exists()


def test_the_payout_policy_is_one_row_edited_in_place(admin_client):
    listing = admin_client.get(reverse("admin:incentives_incentivepolicy_changelist"))
    assert listing.status_code == 302 and listing["Location"].endswith("/1/change/")
    response = admin_client.post(
        listing["Location"],
        {
            "alpha": "0.5",
            "max_share": "",
            "minimum_payout": "2.00",
            "daily_cap": "10",
            "reader_week_points": "30",
            "reader_creator_share": "0.250",
            "time_spent_week_minutes": "12",
            "post_earning_days": "7",
            "hold_severity": "3",
        },
    )
    assert response.status_code == 302
    policy = IncentivePolicy.current()
    assert policy.alpha == Decimal("0.5") and policy.max_share is None and policy.daily_cap == 10
    assert (policy.reader_week_points, policy.reader_creator_share, policy.time_spent_week_minutes) == (
        30,
        Decimal("0.250"),
        12,
    )


def test_the_reader_limits_refuse_a_share_above_one_and_zero_points(admin_client):
    url = admin_client.get(reverse("admin:incentives_incentivepolicy_changelist"))["Location"]
    response = admin_client.post(
        url,
        {
            "alpha": "0.8",
            "max_share": "",
            "minimum_payout": "1.00",
            "daily_cap": "20",
            "reader_week_points": "0",
            "reader_creator_share": "1.500",
            "time_spent_week_minutes": "0",
            "post_earning_days": "7",
            "hold_severity": "3",
        },
    )
    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert {"reader_week_points", "reader_creator_share", "time_spent_week_minutes"} <= errors.keys()
    assert IncentivePolicy.current().reader_week_points == 40


def test_held_payouts_are_released_or_forfeited_from_the_review_queue(admin_client, drafted):
    payout = Payout.objects.get()
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.HELD, hold_reason="Burst of new accounts")
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    settlement.pay_settlement(settlement_id=drafted.pk)
    queue = admin_client.get(reverse("admin:incentives_payout_changelist") + "?status__exact=held")
    assert payout.creator.username in queue.content.decode()

    carried_before = ledger.balance(ledger.CARRYOVER)

    _action(admin_client, "payout", "forfeit", [payout.pk])

    payout.refresh_from_db()
    assert payout.status == Payout.Status.FORFEITED and payout.reviewed_by is not None
    assert ledger.balance(ledger.CARRYOVER) == carried_before + payout.amount


def test_flags_are_confirmed_or_dismissed(admin_client, operator, drafted):
    flag = IntegrityFlag.objects.create(
        settlement=drafted, rule=IntegrityFlag.Rule.LOCKSTEP, creator=UserFactory(), severity=2, evidence={"a": 1}
    )
    _action(admin_client, "integrityflag", "dismiss", [flag.pk])
    flag.refresh_from_db()
    assert flag.review == IntegrityFlag.Review.DISMISSED and flag.reviewed_by == operator
    detail = admin_client.get(reverse("admin:incentives_integrityflag_change", args=[flag.pk]))
    assert detail.status_code == 200 and "&quot;a&quot;: 1" in detail.content.decode()


def test_operators_reading_chinese_get_the_payout_admin_in_chinese(admin_client):
    headers = {"accept-language": "zh-hans"}
    policy = admin_client.get(reverse("admin:incentives_incentivepolicy_changelist"), headers=headers, follow=True)
    page = policy.content.decode()
    assert "单个创作者可得奖池的最大份额" in page and "最低付款额" in page
    assert "largest share of the pool for one creator" not in page
    pools = admin_client.get(reverse("admin:incentives_prizepool_add"), headers=headers).content.decode()
    assert "例如 2026-W47。" in pools
    flags = admin_client.get(reverse("admin:incentives_integrityflag_changelist"), headers=headers).content.decode()
    assert "选择 诚信标记 来修改" in flags  # the model's name inside Django's own translated title
