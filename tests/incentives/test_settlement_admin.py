"""The settlements admin as an operator with TOTP uses it: a list that fits a laptop with money
written for people, "Draft week", the week's review page with its buttons, and pay progress."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from feed.models import Engagement
from incentives import review, settlement
from incentives.models import Contribution, IntegrityFlag, Payout, PayoutTransfer, Settlement
from incentives.weeks import Week
from tests.factories import EngagementFactory, PostFactory, UserFactory
from tests.factories.incentives import (
    ContributionFactory,
    IntegrityFlagFactory,
    PayoutFactory,
    SettlementFactory,
)
from tests.security.helpers import staff_client

from .conftest import WEEK
from .world import real_trader

pytestmark = pytest.mark.django_db

LIST = "admin:incentives_settlement_changelist"
DRAFT_WEEK = "admin:incentives_settlement_draft_week"


def _page(client, url: str, **kwargs) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response
    return response.content.decode()


def _messages(response) -> list[str]:
    """What admin told the operator (the sign-in greeting is still queued from staff_client)."""
    return [str(m) for m in response.context["messages"] if not str(m).startswith("Successfully signed in")]


def _paid_week(creators: int) -> Settlement:
    """A paid week of `creators` creators: a tenth of the payouts held, the rest paid; their transfers
    in every state a payment goes through; flags of two rules at two severities."""
    paid_at = timezone.now()
    week = SettlementFactory(
        status=Settlement.Status.PAID,
        approved_at=paid_at,
        paid_at=paid_at,
        pool_amount=Decimal("12345.67"),
        carried_in=Decimal("1000.00"),
        total_allocated=Decimal("13000.00"),
        carried_out=Decimal("345.67"),
        total_score=Decimal("4321.5"),
        creator_count=creators,
        parameters={
            "alpha": "0.80",
            "max_share": "0.1000",
            "minimum_payout": "1.00",
            "daily_cap": 20,
            "weights": {"like": "1.000", "comment": "3.000"},
            "reader_value": {"base": "0.100", "maximum": "1.000"},
            "integrity": {"lockstep_seconds": 600},
            "pool": "12345.67",
            "currency": "USDT",
            "time_zone": "UTC",
            "owners": [[1, 2]],
        },
    )
    states = [
        PayoutTransfer.State.CONFIRMED,
        PayoutTransfer.State.CONFIRMED,
        PayoutTransfer.State.SENT,
        PayoutTransfer.State.REQUESTED,
        PayoutTransfer.State.STUCK,
    ]
    for rank in range(1, creators + 1):
        creator = UserFactory()
        ContributionFactory(
            settlement=week, creator=creator, rank=rank, score=Decimal(1000 - rank), share=Decimal("0.01")
        )
        held = rank % 10 == 0
        payout = PayoutFactory(
            settlement=week,
            creator=creator,
            amount=Decimal(100 + rank),
            status=Payout.Status.HELD if held else Payout.Status.PAID,
            paid_at=None if held else paid_at,
        )
        if not held:
            state = states[rank % len(states)]
            sent = state in (PayoutTransfer.State.SENT, PayoutTransfer.State.CONFIRMED)
            PayoutTransfer.objects.create(
                payout=payout,
                idempotency_key=f"payout:{week.week}:{creator.pk}",
                state=state,
                to_uid="uid-x" if sent else "",
                sent_at=paid_at if sent else None,
                confirmed_at=paid_at if state == PayoutTransfer.State.CONFIRMED else None,
            )
        if rank <= 3:
            IntegrityFlagFactory(settlement=week, creator=creator, rule=IntegrityFlag.Rule.LOCKSTEP, actors=[1, 2])
        if rank == 4:
            IntegrityFlagFactory(
                settlement=week,
                creator=creator,
                rule=IntegrityFlag.Rule.SAME_DEVICE,
                severity=IntegrityFlag.Severity.HIGH,
                actors=[3],
            )
    return week


# --- The list -----------------------------------------------------------------------------------


def test_the_list_writes_money_with_thousands_separators_and_the_currency_in_english_and_chinese(admin_client, drafted):
    Settlement.objects.filter(pk=drafted.pk).update(pool_amount=Decimal("10000.00"))

    english = _page(admin_client, reverse(LIST))
    chinese = _page(admin_client, reverse(LIST), headers={"accept-language": "zh-hans"})

    for page in (english, chinese):
        assert "10,000.00 USDT" in page
        assert "10000.00" not in page
        assert 'class="settlement-status settlement-status-draft"' in page
    assert "css/admin-settlements.css" in english
    # Timestamps moved to the week's page.
    assert "column-computed_at" not in english


def test_payout_and_transfer_lists_write_money_the_same_way(admin_client):
    PayoutFactory(amount=Decimal("2500.50"))
    assert "2,500.50 USDT" in _page(admin_client, reverse("admin:incentives_payout_changelist"))


def test_money_is_formatted_for_people_by_one_helper():
    assert review.money(Decimal("10000"), "USDT") == "10,000.00 USDT"
    assert review.money(Decimal("0.5"), "USDT") == "0.50 USDT"
    assert review.money(None, "USDT") == "—"


# --- Draft week ---------------------------------------------------------------------------------


def test_the_draft_week_form_is_prefilled_with_the_last_finished_week(admin_client):
    page = _page(admin_client, reverse(LIST))
    last = Week.containing(timezone.now()).previous().label
    assert f'name="week" value="{last}"' in page
    assert reverse(DRAFT_WEEK) in page


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2026-47", "is not an ISO week; write it like 2026-W47."),
        ("2026-W99", "is not an ISO week; write it like 2026-W47."),
        ("this week", "is not over yet"),
        ("approved", "is already Approved; only a draft can be computed again."),
    ],
)
def test_draft_week_refuses_a_bad_unfinished_or_approved_week_and_queues_nothing(
    admin_client, drafted, week, message, django_capture_on_commit_callbacks
):
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    label = {"this week": Week.containing(timezone.now()).label, "approved": WEEK.label}.get(week, week)
    before = list(Settlement.objects.values_list("pk", "status", "computed_at"))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse(DRAFT_WEEK), {"week": label}, follow=True)

    assert response.status_code == 200
    shown = _messages(response)
    assert len(shown) == 1 and message in shown[0], shown
    assert callbacks == []
    assert list(Settlement.objects.values_list("pk", "status", "computed_at")) == before


def test_draft_week_queues_the_draft_after_commit_and_tells_the_operator(
    admin_client, drafted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse(DRAFT_WEEK), {"week": WEEK.label}, follow=True)

    assert _messages(response) == [
        f"Drafting {WEEK.label} in the background; it appears in this list when it is ready."
    ]
    assert len(callbacks) == 1
    # A week with a draft already: who asked is in its history.
    assert LogEntry.objects.filter(object_id=str(drafted.pk), change_message__startswith="recompute").exists()


def test_draft_week_needs_post_and_the_change_permission(admin_client):
    assert admin_client.get(reverse(DRAFT_WEEK)).status_code == 405
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_settlement"))
    client = staff_client(viewer)
    assert client.post(reverse(DRAFT_WEEK), {"week": WEEK.label}).status_code == 403
    assert "draft-week-form" not in _page(client, reverse(LIST))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_draft_week_drafts_the_week_on_a_real_worker(celery_worker):
    operator = UserFactory(username="ops_worker", is_staff=True, is_superuser=True)
    client = staff_client(operator)
    post = PostFactory(created_at=WEEK.starts_at + timedelta(hours=1))
    for i in range(3):
        EngagementFactory(
            actor=real_trader(),
            post=post,
            kind=Engagement.Kind.LIKE,
            occurred_at=post.created_at + timedelta(minutes=5 + i * 30),
        )
    assert not Settlement.objects.exists()

    client.post(reverse(DRAFT_WEEK), {"week": WEEK.label})

    deadline = time.monotonic() + 30
    while not Settlement.objects.filter(week=WEEK.label).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    drafted = Settlement.objects.get(week=WEEK.label)
    assert drafted.status == Settlement.Status.DRAFT
    assert drafted.creator_count == 1 and drafted.total_allocated > 0


# --- The week's page ----------------------------------------------------------------------------


def test_the_week_page_shows_totals_top_creators_flags_and_parameters_that_match_the_database(admin_client):
    week = _paid_week(creators=14)

    page = _page(admin_client, reverse("admin:incentives_settlement_change", args=[week.pk]))

    assert "12,345.67 USDT" in page and "1,000.00 USDT" in page and "13,000.00 USDT" in page
    assert "345.67 USDT" in page and "4,321.50" in page
    by_status = {
        row["status"]: row
        for row in Payout.objects.filter(settlement=week).values("status").annotate(n=Count("pk"), total=Sum("amount"))
    }
    shown = {line.key: line for line in review.payouts_by_status(week)}
    for status, row in by_status.items():
        assert (shown[status].count, shown[status].amount) == (row["n"], row["total"])
        assert review.money(row["total"], "USDT") in page
    assert shown[Payout.Status.PENDING].count == 0 and shown[Payout.Status.FORFEITED].count == 0

    top = list(Contribution.objects.filter(settlement=week).order_by("rank").select_related("creator")[:10])
    listed = review.top_creators(week)
    assert [c.username for c in listed] == [c.creator.username for c in top]
    assert [c.amount for c in listed] == [Payout.objects.get(settlement=week, creator=c.creator).amount for c in top]
    for contribution in top:
        assert contribution.creator.username in page
    assert Contribution.objects.get(settlement=week, rank=11).creator.username not in page
    assert f"?settlement__id__exact={week.pk}" in page

    flags = {
        (row["rule"], row["severity"]): row["n"]
        for row in IntegrityFlag.objects.filter(settlement=week).values("rule", "severity").annotate(n=Count("pk"))
    }
    assert {(g.rule, g.severity): g.count for g in review.flag_groups(week)} == flags
    assert "rule__exact=lockstep&amp;severity__exact=2" in page
    assert "Accounts acting in lockstep" in page and "Creator&#x27;s own devices" in page

    # Parameters as labelled rows, not a JSON dump.
    assert "Exponent α" in page and "Largest share of the pool for one creator" in page
    assert "seconds within which accounts act together" in page.lower()
    assert "{&quot;" not in page and '"alpha"' not in page
    assert "1, 2" in page  # the owners sharing one cap


def test_pay_progress_matches_the_transfers_and_the_page_polls_it(admin_client):
    week = _paid_week(creators=12)
    url = reverse("admin:incentives_settlement_pay_progress", args=[week.pk])

    fragment = _page(admin_client, url)

    by_state = {
        row["state"]: (row["n"], row["total"])
        for row in PayoutTransfer.objects.filter(payout__settlement=week)
        .values("state")
        .annotate(n=Count("pk"), total=Sum("payout__amount"))
    }
    progress = review.pay_progress(week.pk)
    assert {line.key: (line.count, line.amount) for line in progress.lines if line.count} == by_state
    confirmed, total = by_state[PayoutTransfer.State.CONFIRMED][0], sum(n for n, _ in by_state.values())
    assert f"{confirmed} of {total} confirmed" in fragment
    assert f'<progress id="pay-progress-bar" max="{total}" value="{confirmed}"' in fragment
    assert 'data-finished="false"' in fragment  # some are still requested or sent
    for _count, amount in by_state.values():
        assert review.money(amount, "USDT") in fragment

    page = _page(admin_client, reverse("admin:incentives_settlement_change", args=[week.pk]))
    assert f'data-progress-url="{url}"' in page and "js/admin-settlement.js" in page
    assert "<script>" not in page.split("</head>")[1]  # no inline script anywhere in the body

    # Everything left needs an operator (stuck), or is confirmed: the fragment says stop.
    PayoutTransfer.objects.filter(payout__settlement=week, state=PayoutTransfer.State.REQUESTED).update(
        state=PayoutTransfer.State.STUCK
    )
    PayoutTransfer.objects.filter(payout__settlement=week, state=PayoutTransfer.State.SENT).update(
        state=PayoutTransfer.State.CONFIRMED, confirmed_at=timezone.now()
    )
    fragment = _page(admin_client, url)
    assert 'data-finished="true"' in fragment and "need an operator" in fragment


@pytest.mark.parametrize("creators", [3, 30])
def test_the_week_page_costs_the_same_queries_whatever_its_size(admin_client, creators, django_assert_num_queries):
    week = _paid_week(creators=creators)
    url = reverse("admin:incentives_settlement_change", args=[week.pk])
    admin_client.get(url)  # warm: content types and permissions caches

    # 1 session, 2 user, 3 the user's TOTP authenticator (admin's has_permission), 4 the settlement
    # with its approver and flag and held counts, 5 payouts by status, 6 the top creators with their
    # payouts, 7 flags by rule and severity, 8 transfers by state, 9 the unread-notification count
    # (the site's context processor, on every page).
    with django_assert_num_queries(9):
        response = admin_client.get(url)
    assert response.status_code == 200


# --- The buttons --------------------------------------------------------------------------------


def test_the_draft_page_offers_recompute_and_approve_and_approve_works(admin_client, operator, drafted):
    url = reverse("admin:incentives_settlement_change", args=[drafted.pk])
    page = _page(admin_client, url)
    assert reverse("admin:incentives_settlement_approve", args=[drafted.pk]) in page
    assert reverse("admin:incentives_settlement_recompute", args=[drafted.pk]) in page
    assert reverse("admin:incentives_settlement_pay", args=[drafted.pk]) not in page

    response = admin_client.post(reverse("admin:incentives_settlement_approve", args=[drafted.pk]), follow=True)

    drafted.refresh_from_db()
    assert drafted.status == Settlement.Status.APPROVED and drafted.approved_by == operator
    assert f"{drafted.week} approved." in _messages(response)
    assert reverse("admin:incentives_settlement_pay", args=[drafted.pk]) in response.content.decode()


def test_pay_queues_the_payment_and_the_page_watches_it(admin_client, drafted, django_capture_on_commit_callbacks):
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse("admin:incentives_settlement_pay", args=[drafted.pk]))

    assert len(callbacks) == 1
    assert response.status_code == 302 and response["Location"].endswith("?paying=1")
    page = _page(admin_client, response["Location"])
    assert 'id="pay-progress"' in page and 'data-finished="false"' in page
    settlement.pay_settlement(settlement_id=drafted.pk)
    assert "1 of 1 confirmed" not in page


@pytest.mark.parametrize("button", ["recompute", "approve", "pay"])
def test_buttons_need_post_and_the_change_permission(admin_client, drafted, button):
    url = reverse(f"admin:incentives_settlement_{button}", args=[drafted.pk])
    assert admin_client.get(url).status_code == 405

    viewer = UserFactory(username=f"viewer_{button}", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_settlement"))
    client = staff_client(viewer)
    assert client.post(url).status_code == 403
    page = _page(client, reverse("admin:incentives_settlement_change", args=[drafted.pk]))
    assert url not in page
    assert Settlement.objects.get(pk=drafted.pk).status == Settlement.Status.DRAFT


def test_paying_a_draft_from_its_page_is_refused_with_a_message(admin_client, drafted):
    response = admin_client.post(reverse("admin:incentives_settlement_pay", args=[drafted.pk]), follow=True)
    assert _messages(response) == [f"{drafted.week} is Draft; only an approved settlement can be paid."]
    assert Settlement.objects.get(pk=drafted.pk).status == Settlement.Status.DRAFT


def test_recompute_on_a_draft_queues_its_draft_again_and_is_in_its_history(
    admin_client, drafted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(reverse("admin:incentives_settlement_recompute", args=[drafted.pk]), follow=True)

    assert len(callbacks) == 1
    assert _messages(response) == [f"Recomputing {drafted.week} in the background."]
    assert LogEntry.objects.filter(object_id=str(drafted.pk), change_message__startswith="recompute").exists()


def test_the_progress_fragment_of_a_missing_week_is_404(admin_client):
    assert admin_client.get(reverse("admin:incentives_settlement_pay_progress", args=[999_999])).status_code == 404
