"""Every operator step on money or ranking leaves a trace: an admin LogEntry on the object's history
and a line in the security log, each with who, what, which object and before → after."""

import logging
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from incentives import settlement
from incentives.models import ActionWeight, IncentivePolicy, IntegrityFlag, Payout, PrizePool, ReaderValueRules
from ranking.models import ContentTypeWeight
from tests.factories import UserFactory
from tests.incentives.conftest import WEEK

pytestmark = pytest.mark.django_db


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO, logger="orbit.security")
    return caplog


@pytest.fixture
def held_payout(drafted):
    payout = Payout.objects.get()
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.HELD, hold_reason="Burst of new accounts")
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    settlement.pay_settlement(settlement_id=drafted.pk)
    return payout


def _action(client, app_model, action, ids):
    response = client.post(
        reverse(f"admin:{app_model}_changelist"), {"action": action, "_selected_action": [str(pk) for pk in ids]}
    )
    assert response.status_code == 302, response.content.decode()[:500]


def _edit(client, url, **changes):
    """Post a change form as the browser would: the values on the page with `changes` typed over."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form.initial.get(name)
        if isinstance(value, bool):
            data[name] = "on" if value else ""
        else:
            data[name] = "" if value is None else str(value)
    data.update(changes)
    response = client.post(url, {key: value for key, value in data.items() if value != ""})
    assert response.status_code == 302, response.content.decode()[:800]


def assert_audited(logs, operator, obj, event, *before_after):
    """One LogEntry on obj by operator and one security line with event, both naming before → after."""
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk), user=operator
    )
    messages = [entry.get_change_message() for entry in entries]
    lines = [
        line
        for line in (r.getMessage() for r in logs.records if r.name == "orbit.security")
        if line.startswith(f"{event} ") and f" object={obj._meta.label_lower}#{obj.pk} " in line
    ]
    assert lines and all(f" user='{operator.username}'#{operator.pk} " in line for line in lines)
    for fragment in before_after:
        assert any(fragment in message for message in messages), (fragment, messages)
        assert any(fragment in line for line in lines), (fragment, lines)


def test_approve_is_logged_with_the_status_before_and_after(admin_client, operator, drafted, logs):
    _action(admin_client, "incentives_settlement", "approve", [drafted.pk])
    assert_audited(logs, operator, drafted, "admin_approve", "status: draft → approved")


def test_pay_is_logged_with_who_asked(admin_client, operator, drafted, logs, django_capture_on_commit_callbacks):
    settlement.approve_settlement(settlement_id=drafted.pk, by=operator)
    with django_capture_on_commit_callbacks(execute=False):
        _action(admin_client, "incentives_settlement", "pay", [drafted.pk])
    assert_audited(logs, operator, drafted, "admin_pay", "status: approved → paid")


def test_recompute_is_logged(admin_client, operator, drafted, logs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        _action(admin_client, "incentives_settlement", "recompute", [drafted.pk])
    assert_audited(logs, operator, drafted, "admin_recompute", "computed_at: ")


def test_releasing_a_held_payout_leaves_a_trace(admin_client, operator, held_payout, logs):
    _action(admin_client, "incentives_payout", "release", [held_payout.pk])
    amount = f"{held_payout.amount} {held_payout.currency}"
    assert_audited(
        logs,
        operator,
        held_payout,
        "admin_release",
        "status: held → paid",
        f"{amount}: held:{WEEK.label} → creator:{held_payout.creator_id}",
    )


def test_forfeiting_a_held_payout_leaves_a_trace(admin_client, operator, held_payout, logs):
    _action(admin_client, "incentives_payout", "forfeit", [held_payout.pk])
    assert_audited(
        logs, operator, held_payout, "admin_forfeit", "status: held → forfeited", f"held:{WEEK.label} → carryover"
    )


@pytest.mark.parametrize(("action", "after"), [("confirm", "confirmed"), ("dismiss", "dismissed")])
def test_reviewing_a_flag_is_logged(admin_client, operator, drafted, logs, action, after):
    flag = IntegrityFlag.objects.create(
        settlement=drafted, rule=IntegrityFlag.Rule.LOCKSTEP, creator=UserFactory(), severity=2, evidence={}
    )
    _action(admin_client, "incentives_integrityflag", action, [flag.pk])
    assert_audited(logs, operator, flag, f"admin_{action}", f"review: open → {after}")


def test_adding_and_changing_a_prize_pool_is_logged_with_the_amounts(admin_client, operator, logs):
    add = admin_client.post(
        reverse("admin:incentives_prizepool_add"), {"week": "2026-W48", "amount": "500.00", "currency": "USDT"}
    )
    assert add.status_code == 302
    pool = PrizePool.objects.get()
    _edit(admin_client, reverse("admin:incentives_prizepool_change", args=[pool.pk]), amount="750.00")

    assert_audited(logs, operator, pool, "admin_add", "amount: — → 500.00")
    assert_audited(logs, operator, pool, "admin_change", "amount: 500.00 → 750.00")


def test_changing_the_payout_policy_and_reader_value_rules_is_logged(admin_client, operator, logs):
    policy, rules = IncentivePolicy.current(), ReaderValueRules.current()
    old_cap, old_factor = policy.daily_cap, rules.new_account_factor

    _edit(admin_client, reverse("admin:incentives_incentivepolicy_change", args=[policy.pk]), daily_cap="11")
    _edit(admin_client, reverse("admin:incentives_readervaluerules_change", args=[rules.pk]), new_account_factor="0.05")

    assert_audited(logs, operator, policy, "admin_change", f"daily_cap: {old_cap} → 11")
    assert_audited(logs, operator, rules, "admin_change", f"new_account_factor: {old_factor} → 0.05")


def test_changing_an_action_weight_in_the_list_is_logged(admin_client, operator, logs):
    weight = ActionWeight.objects.order_by("kind").first()
    page = admin_client.get(reverse("admin:incentives_actionweight_changelist"))
    formset = page.context["cl"].formset
    data = {f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()}
    for index, form in enumerate(formset.forms):
        data[f"{formset.prefix}-{index}-kind"] = str(form.instance.pk)
        data[f"{formset.prefix}-{index}-weight"] = str(form.instance.weight)
        data[f"{formset.prefix}-{index}-per_view_cap_seconds"] = str(form.instance.per_view_cap_seconds or "")
        if form.instance.pk == weight.pk:
            data[f"{formset.prefix}-{index}-weight"] = str(weight.weight + Decimal("1.5"))
    data["_save"] = "Save"
    response = admin_client.post(reverse("admin:incentives_actionweight_changelist"), data)
    assert response.status_code == 302, response.content.decode()[:800]

    assert_audited(
        logs, operator, weight, "admin_change", f"weight: {weight.weight} → {weight.weight + Decimal('1.5')}"
    )


def test_changing_a_content_type_weight_is_logged(admin_client, operator, logs):
    weight = ContentTypeWeight.objects.get(pk="education")
    url = reverse("admin:ranking_contenttypeweight_change", args=[weight.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {
        name: str(form.initial[name]) for name in ("base_weight", "target_share", "min_multiplier", "max_multiplier")
    }
    data["is_active"] = "on"
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{key}": value for key, value in management.initial.items()})
    data.update(base_weight="2.00", reason="exam season")
    assert admin_client.post(url, {k: v for k, v in data.items() if v not in ("", "None")}).status_code == 302

    assert_audited(logs, operator, weight, "admin_change", f"base_weight: {weight.base_weight} → 2.00")
