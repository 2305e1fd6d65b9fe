"""The money's last mile as operators and creators see it: the daily reconciliation with the exchange's
report, the status query for silent transfers, "Send again" for stuck ones, the payouts page in
admin, and each payout's transfer in the creator's statement. Against the fake exchange over real
HTTP (tools/fake_exchange.py), with confirmations through Orbit's signed webhook endpoint."""

from __future__ import annotations

import logging
from datetime import UTC, date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from creators.models import User
from incentives import ledger, reconciliation, tasks, transfers
from incentives.models import LedgerEntry, Payout, PayoutTransfer, Tip, TransferReconciliation
from markets import exchange_api
from tests.api.conftest import client_for
from tests.factories import UserFactory
from tests.security.helpers import staff_client

from .exchange_side import balance, confirmations, deliver, transfers_at_exchange
from .test_payout_transfers import WEEK, creator_with_readers, pay_week, send, transfer_of

State = PayoutTransfer.State
Status = TransferReconciliation.Status
Problem = reconciliation.Problem


def today() -> date:
    """The fake stamps completions with the real clock: its report for today holds them."""
    return timezone.now().astimezone(UTC).date()


def paid_and_confirmed(client, fake, *uids: str) -> list[int]:
    """Creators paid WEEK, their transfers sent, completed at the exchange and confirmed by webhook."""
    creators = [creator_with_readers(uid=uid) for uid in uids]
    pay_week()
    for creator in creators:
        assert send(creator) == transfers.Attempt.SENT
        fake.settle(transfer_of(creator).idempotency_key, outcome="completed")
    assert {result["status"] for result in deliver(client, confirmations(fake))} == {"applied"}
    return creators


def problems(row: TransferReconciliation) -> set[tuple[str, str]]:
    return {(difference["idempotency_key"], difference["problem"]) for difference in row.differences}


# --- Reconciliation ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_day_whose_confirmed_transfers_are_the_exchanges_report_is_matched_with_exact_totals(fake, client):
    creators = paid_and_confirmed(client, fake, "uid-a", "uid-b")

    row = reconciliation.reconcile_day(today())

    total = Payout.objects.aggregate(total=Sum("amount"))["total"]
    assert (row.status, row.exchange_count, row.orbit_count, row.differences) == (Status.MATCHED, 2, 2, [])
    assert row.totals == {"USDT": {"exchange": f"{total}", "orbit": f"{total}"}}
    assert all(transfer_of(c).exchange_completed_at.date() == today() for c in creators)


@pytest.mark.django_db
def test_each_kind_of_difference_is_found_logged_and_explained(fake, client, caplog):
    names = ("amount", "currency", "uid", "ok", "silent", "early")
    creators = dict(zip(names, (creator_with_readers(uid=f"uid-{name}") for name in names), strict=True))
    key = {name: f"payout:{WEEK.label}:{creator}" for name, creator in creators.items()}
    pay_week()
    for name in names:
        assert send(creators[name]) == transfers.Attempt.SENT
        if name != "early":
            fake.settle(key[name], outcome="completed")
    # The silent one's confirmation never reaches Orbit; the others' do.
    deliver(client, [event for event in confirmations(fake) if event["data"]["idempotency_key"] != key["silent"]])
    # Confirmed in Orbit, while the exchange still holds it pending.
    transfers.apply_confirmation(
        idempotency_key=key["early"],
        exchange_transfer_id=transfer_of(creators["early"]).exchange_transfer_id,
        outcome="completed",
        failure_code=None,
        to_uid="uid-early",
    )
    # Orbit's records disagree with what the exchange did (as a bug or a bad hand edit would).
    Payout.objects.filter(creator_id=creators["amount"]).update(amount=Decimal("0.01"))
    Payout.objects.filter(creator_id=creators["currency"]).update(currency="USDC")
    PayoutTransfer.objects.filter(payout__creator_id=creators["uid"]).update(to_uid="uid-someone-else")
    # A key Orbit never sent, completed by the exchange.
    stranger = "payout:2026-W01:999999"
    exchange_api.send_transfer(
        idempotency_key=stranger,
        kind="payout",
        amount=Decimal("5.00"),
        currency="USDT",
        to_uid="uid-stranger",
        reference=stranger,
    )
    fake.settle(stranger, outcome="completed")

    with caplog.at_level(logging.ERROR, logger="incentives.reconciliation"):
        row = reconciliation.reconcile_day(today())

    assert row.status == Status.DIFFERENCES
    assert problems(row) == {
        (key["amount"], Problem.AMOUNT_MISMATCH),
        (key["currency"], Problem.CURRENCY_MISMATCH),
        (key["uid"], Problem.UID_MISMATCH),
        (key["silent"], Problem.MISSING_IN_ORBIT),
        (key["early"], Problem.MISSING_AT_EXCHANGE),
        (stranger, Problem.UNKNOWN_KEY),
    }
    missed = next(d for d in row.differences if d["problem"] == Problem.MISSING_IN_ORBIT)
    assert "webhook" in missed["explanation"] and missed["orbit"]["state"] == "sent"
    assert missed["exchange"]["transfer_id"] == transfer_of(creators["silent"]).exchange_transfer_id
    amounts = next(d for d in row.differences if d["problem"] == Problem.AMOUNT_MISMATCH)
    assert amounts["orbit"]["amount"] == "0.01" and amounts["exchange"]["amount"] != "0.01"
    assert {"USDC", "USDT"} == set(row.totals)
    assert sum(record.levelno == logging.ERROR for record in caplog.records) >= 6
    assert stranger in caplog.text


@pytest.mark.django_db
def test_an_unreachable_exchange_leaves_the_day_unavailable_and_the_next_run_checks_it(fake, client):
    paid_and_confirmed(client, fake, "uid-a")
    fake.control(down=True)

    down = reconciliation.reconcile_day(today())

    assert down.status == Status.UNAVAILABLE and "503" in down.error
    assert down.orbit_count == 1
    assert today() in reconciliation.days_to_reconcile(today=today() + timedelta(days=2))
    fake.control(down=False)
    again = reconciliation.reconcile_day(today())
    assert (again.pk, again.status, again.error) == (down.pk, Status.MATCHED, "")


@pytest.mark.django_db
def test_an_unreachable_exchange_never_replaces_a_days_result(fake, client):
    paid_and_confirmed(client, fake, "uid-a")
    reconciliation.reconcile_day(today())
    fake.control(down=True)

    kept = reconciliation.reconcile_day(today())

    assert (kept.status, kept.exchange_count) == (Status.MATCHED, 1)


@pytest.mark.django_db
def test_running_a_day_again_replaces_its_result_and_keeps_a_review_only_while_it_is_the_same(fake, client):
    (creator,) = paid_and_confirmed(client, fake, "uid-a")
    Payout.objects.filter(creator_id=creator).update(amount=Decimal("0.01"))
    first = reconciliation.reconcile_day(today())
    operator = UserFactory(is_staff=True)
    reconciliation.record_review(reconciliation_id=first.pk, by=operator, note="Checked with the exchange.")

    same = reconciliation.reconcile_day(today())

    assert TransferReconciliation.objects.count() == 1
    assert (same.differences, same.reviewed_by, same.review_note) == (
        first.differences,
        operator,
        "Checked with the exchange.",
    )
    Payout.objects.filter(creator_id=creator).update(amount=Decimal("0.02"))
    changed = reconciliation.reconcile_day(today())
    assert (changed.reviewed_by, changed.reviewed_at, changed.review_note) == (None, None, "")


def test_the_job_checks_yesterday_and_each_earlier_day_of_the_week_not_yet_checked(db):
    day = date(2026, 12, 5)
    TransferReconciliation.objects.create(day=date(2026, 12, 1), status=Status.MATCHED, checked_at=timezone.now())
    TransferReconciliation.objects.create(day=date(2026, 12, 2), status=Status.UNAVAILABLE, checked_at=timezone.now())
    TransferReconciliation.objects.create(day=date(2026, 12, 4), status=Status.MATCHED, checked_at=timezone.now())

    due = reconciliation.days_to_reconcile(today=day)

    assert due == [
        date(2026, 11, 28),
        date(2026, 11, 29),
        date(2026, 11, 30),
        date(2026, 12, 2),
        date(2026, 12, 3),
        date(2026, 12, 4),
    ]


@pytest.mark.django_db
def test_the_periodic_task_stores_one_row_per_due_day(fake):
    statuses = tasks.reconcile_transfers()

    assert len(statuses) == reconciliation.LOOKBACK_DAYS and set(statuses.values()) == {Status.MATCHED}
    assert TransferReconciliation.objects.count() == reconciliation.LOOKBACK_DAYS


# --- The status query for silent transfers -------------------------------------------------------------


@pytest.mark.django_db
def test_a_silent_sent_transfer_is_settled_by_the_status_query_and_the_late_webhook_is_a_duplicate(
    fake, client, sends_in_process
):
    completed, failed, pending = (creator_with_readers(uid=f"uid-{name}") for name in ("done", "bounce", "pending"))
    pay_week()
    for creator in (completed, failed, pending):
        assert send(creator) == transfers.Attempt.SENT
    fake.settle(transfer_of(completed).idempotency_key, outcome="completed")
    fake.settle(transfer_of(failed).idempotency_key, outcome="failed", failure_code="account_closed")
    PayoutTransfer.objects.update(sent_at=timezone.now() - transfers.SILENT_AFTER - timedelta(minutes=1))

    tasks.sweep_payout_transfers()

    assert transfer_of(completed).state == State.CONFIRMED
    # Filed under the moment the exchange completed it (reconciliation's day), not when Orbit asked.
    at_exchange = exchange_api.transfer_status(transfer_of(completed).idempotency_key).completed_at
    assert at_exchange is not None and transfer_of(completed).exchange_completed_at == at_exchange
    assert (transfer_of(failed).state, transfer_of(failed).failure_code) == (State.RETURNED, "account_closed")
    assert transfer_of(pending).state == State.SENT
    entries = LedgerEntry.objects.count()
    late = deliver(client, confirmations(fake))
    assert [result["status"] for result in late] == ["duplicate", "duplicate"]
    assert LedgerEntry.objects.count() == entries
    assert balance(transfers.IN_FLIGHT) == transfer_of(pending).payout.amount
    assert ledger.imbalance() == 0


@pytest.mark.django_db
def test_a_recently_sent_transfer_is_not_asked_about(fake):
    creator = creator_with_readers(uid="uid-a")
    pay_week()
    send(creator)
    fake.settle(transfer_of(creator).idempotency_key, outcome="completed")

    assert transfers.query_silent_transfers() == {}
    assert transfer_of(creator).state == State.SENT


# --- Send again -------------------------------------------------------------------------------------------


def stuck_after_lost_answers(fake, monkeypatch) -> int:
    """A creator whose transfer reached the exchange, every answer lost: stuck after the retries."""
    creator = creator_with_readers(uid="uid-stuck")
    pay_week()
    monkeypatch.setattr(tasks.send_payout_transfer, "max_retries", 2)
    fake.control(lose_answers=3)
    tasks.send_payout_transfer.apply(args=[transfer_of(creator).pk])
    assert transfer_of(creator).state == State.STUCK
    return creator


@pytest.mark.django_db
def test_sending_a_stuck_transfer_again_reuses_its_key_and_the_exchange_holds_one_transfer(
    fake, monkeypatch, sends_in_process, django_capture_on_commit_callbacks
):
    creator = stuck_after_lost_answers(fake, monkeypatch)
    key = transfer_of(creator).idempotency_key
    operator = UserFactory(username="ops-resend", is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        transfers.resend(transfer_id=transfer_of(creator).pk, operator=operator)

    sent = transfer_of(creator)
    assert (sent.state, sent.idempotency_key, sent.attempts) == (State.SENT, key, 4)
    assert transfers_at_exchange(fake) == [(key, "pending")]
    with pytest.raises(transfers.ResendRefused):
        transfers.resend(transfer_id=sent.pk, operator=operator)


@pytest.mark.django_db
def test_the_resend_is_recorded_with_who_and_when(fake, monkeypatch, django_capture_on_commit_callbacks):
    creator = stuck_after_lost_answers(fake, monkeypatch)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        transfers.resend(transfer_id=transfer_of(creator).pk, operator=UserFactory(username="ops-who"))

    again = transfer_of(creator)
    assert again.state == State.REQUESTED and again.last_error.startswith("Sent again by ops-who at ")
    assert len(queued) == 1


# --- The payouts page in admin ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_payouts_page_shows_the_summary_the_stuck_row_and_the_last_reconciliation(fake, monkeypatch, admin_client):
    creator = stuck_after_lost_answers(fake, monkeypatch)
    fake.control(lose_answers=0)
    exchange_api.send_transfer(
        idempotency_key="payout:2026-W01:424242",
        kind="payout",
        amount=Decimal("5.00"),
        currency="USDT",
        to_uid="uid-stranger",
        reference="x",
    )
    fake.settle("payout:2026-W01:424242", outcome="completed")
    day = reconciliation.reconcile_day(today())

    page = admin_client.get(reverse("admin:incentives_payouttransfer_changelist"))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="payouts-summary"' in html and "Stuck (retries exhausted; needs an operator)" in html
    assert "1 transfer is stuck or waiting for an exchange account." in html
    assert reverse("admin:incentives_transferreconciliation_change", args=[day.pk]) in html
    assert "payout:2026-W01:424242" in html and "A key Orbit never sent" in html  # the open difference
    assert "1 difference not reviewed yet" in html
    send_again = reverse("admin:incentives_payouttransfer_send_again", args=[transfer_of(creator).pk])
    assert f'formaction="{send_again}"' in html
    assert WEEK.label in html


@pytest.mark.django_db
def test_send_again_in_admin_queues_the_same_key_and_is_logged(
    fake, monkeypatch, admin_client, sends_in_process, django_capture_on_commit_callbacks
):
    creator = stuck_after_lost_answers(fake, monkeypatch)
    url = reverse("admin:incentives_payouttransfer_send_again", args=[transfer_of(creator).pk])
    assert admin_client.get(url).status_code == 405

    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(url)

    assert answer.status_code == 302
    assert transfer_of(creator).state == State.SENT
    assert len(transfers_at_exchange(fake)) == 1
    from django.contrib.admin.models import LogEntry

    assert "send_again" in LogEntry.objects.get(object_id=str(transfer_of(creator).pk)).change_message


@pytest.mark.django_db
def test_the_send_again_action_sends_the_selected_stuck_transfers(
    fake, monkeypatch, admin_client, sends_in_process, django_capture_on_commit_callbacks
):
    creator = stuck_after_lost_answers(fake, monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:incentives_payouttransfer_changelist"),
            {"action": "send_again", "_selected_action": [str(transfer_of(creator).pk)]},
        )
    assert transfer_of(creator).state == State.SENT


@pytest.mark.django_db
def test_staff_without_the_permission_and_people_who_are_not_staff_cannot_send_again(fake, monkeypatch, client):
    creator = stuck_after_lost_answers(fake, monkeypatch)
    url = reverse("admin:incentives_payouttransfer_send_again", args=[transfer_of(creator).pk])
    viewer = UserFactory(username="viewer", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_payouttransfer"))
    staff_viewer = staff_client(viewer)
    client.force_login(UserFactory(username="reader"))

    assert staff_viewer.get(reverse("admin:incentives_payouttransfer_changelist")).status_code == 200
    assert staff_viewer.post(url).status_code == 403
    assert client.post(url).status_code == 302  # to the sign-in, not the action
    assert client.get(reverse("admin:incentives_payouttransfer_changelist")).status_code == 302
    assert transfer_of(creator).state == State.STUCK


@pytest.mark.django_db
def test_a_reconciliation_day_shows_each_difference_as_a_table_and_takes_the_reviewers_note(
    fake, client, admin_client, operator
):
    (creator,) = paid_and_confirmed(client, fake, "uid-a")
    Payout.objects.filter(creator_id=creator).update(amount=Decimal("0.01"))
    day = reconciliation.reconcile_day(today())
    url = reverse("admin:incentives_transferreconciliation_change", args=[day.pk])

    page = admin_client.get(url).content.decode()
    listing = admin_client.get(reverse("admin:incentives_transferreconciliation_changelist")).content.decode()
    answer = admin_client.post(url, {"review_note": "Orbit's amount was edited by hand; restored."})

    assert 'class="reconciliation-differences"' in page and "Amounts differ" in page
    assert transfer_of(creator).idempotency_key in page and '"problem"' not in page  # a table, not JSON
    assert "Differences found" in listing
    assert answer.status_code == 302
    day.refresh_from_db()
    assert (day.reviewed_by, day.review_note) == (operator, "Orbit's amount was edited by hand; restored.")


# --- The creator's statement ---------------------------------------------------------------------------------


def statement(client, creator_id: int, language: str = "en") -> str:
    from creators.models import User

    client.force_login(User.objects.get(pk=creator_id))
    return client.get(reverse("incentives:statement"), headers={"accept-language": language}).content.decode()


@pytest.mark.django_db
def test_the_statement_shows_a_confirmed_payouts_date_and_exchange_reference(fake, client):
    (creator,) = paid_and_confirmed(client, fake, "uid-a")
    reference = transfer_of(creator).exchange_transfer_id

    english = statement(client, creator)
    chinese = statement(client, creator, "zh-hans")

    assert "Paid into your exchange account on" in english and f"reference {reference}" in english
    assert "Not linked to an exchange account." not in english
    assert "转入你的交易所账户" in chinese and f"参考号 {reference}" in chinese

    # The API's statement says the same.
    [payout] = client_for(User.objects.get(pk=creator)).get("/api/v1/me/earnings/").json()["payouts"]
    assert (payout["transfer_state"], payout["transfer_reference"]) == ("paid", reference)
    assert payout["transfer_paid_on"] is not None


@pytest.mark.django_db
def test_the_statement_tells_a_creator_without_an_account_how_to_link_one_and_by_when(fake, client):
    creator = creator_with_readers(uid=None)
    pay_week()
    assert send(creator) == transfers.Attempt.WAITING
    deadline = transfer_of(creator).created_at + transfers.WAIT_FOR_ACCOUNT

    english = statement(client, creator)
    chinese = statement(client, creator, "zh-hans")

    assert "Not linked to an exchange account." in english
    assert "connect your Orbit account in its settings" in english
    assert "Waiting for you to link your exchange account — link it before" in english
    assert f"{deadline:%Y}" in english
    assert "未关联交易所账户" in chinese  # the notice's heading, already in the Chinese catalogue


@pytest.mark.django_db
def test_the_statement_says_why_a_refused_payout_went_back_to_the_pool(fake, client):
    creator = creator_with_readers(uid="uid-x-frozen")
    pay_week()
    assert send(creator) == transfers.Attempt.RETURNED

    english = statement(client, creator)
    chinese = statement(client, creator, "zh-hans")

    assert "Returned to the prize pool: your exchange account is frozen." in english
    assert "已退回奖池" in chinese


# --- Tips: in the reconciliation, and in admin --------------------------------------------------------------


def tip_at_exchange(key: str, *, from_uid: str = "uid-tipper", to_uid: str = "uid-tipped", amount: int = 5) -> Tip:
    """A tip Orbit holds as sent, which the exchange accepted (and holds pending)."""
    answer = exchange_api.send_transfer(
        idempotency_key=key,
        kind="tip",
        amount=Decimal(amount),
        currency="USDT",
        to_uid=to_uid,
        from_uid=from_uid,
        reference=key,
        memo="Orbit tip",  # what tips.send_tip sends: a resend must be the same body
    )
    return Tip.objects.create(
        tipper=UserFactory(),
        creator=UserFactory(),
        amount=amount,
        currency="USDT",
        idempotency_key=key,
        state=Tip.State.SENT,
        from_uid=from_uid,
        to_uid=to_uid,
        attempts=1,
        exchange_transfer_id=answer.transfer_id,
        sent_at=timezone.now(),
    )


@pytest.mark.django_db
def test_confirmed_tips_are_reconciled_beside_payouts_and_a_tip_paid_from_another_account_is_flagged(fake, client):
    paid_and_confirmed(client, fake, "uid-a")
    good, moved = tip_at_exchange("tip:1:good"), tip_at_exchange("tip:1:moved")
    for tip in (good, moved):
        fake.settle(tip.idempotency_key, outcome="completed")
    now = timezone.now()
    Tip.objects.update(state=Tip.State.CONFIRMED, confirmed_at=now, exchange_completed_at=now)
    Tip.objects.filter(pk=moved.pk).update(from_uid="uid-another-tipper")

    row = reconciliation.reconcile_day(today())

    assert (row.exchange_count, row.orbit_count) == (3, 3)
    assert problems(row) == {("tip:1:moved", Problem.UID_MISMATCH)}
    assert row.differences[0]["kind"] == "tip"
    payout = Payout.objects.get().amount
    assert row.totals["USDT"]["orbit"] == f"{payout + 10:.2f}" == row.totals["USDT"]["exchange"]


@pytest.mark.django_db
def test_a_stuck_tip_is_listed_in_admin_and_sent_again_under_its_key(
    fake, admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    from incentives import tips

    monkeypatch.setattr(tips, "queue_send", lambda tip_id: tasks.send_tip.apply(args=[tip_id]))
    stuck = tip_at_exchange("tip:1:stuck")
    Tip.objects.filter(pk=stuck.pk).update(state=Tip.State.STUCK, sent_at=None, last_error="TransferOutcomeUnknown")
    url = reverse("admin:incentives_tip_send_again", args=[stuck.pk])

    listing = admin_client.get(reverse("admin:incentives_tip_changelist")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url)

    assert "tip:1:stuck" in listing or stuck.tipper.username in listing
    assert f'formaction="{url}"' in listing
    stuck.refresh_from_db()
    assert stuck.state == Tip.State.SENT and stuck.idempotency_key == "tip:1:stuck"
    assert transfers_at_exchange(fake) == [("tip:1:stuck", "pending")]


@pytest.mark.django_db
def test_the_payouts_page_costs_the_same_queries_for_two_rows_as_for_six(fake, admin_client):
    creator_with_readers(uid="uid-a")
    paid = pay_week()

    def add_transfers(count: int) -> None:
        for _ in range(count):
            payout = Payout.objects.create(
                settlement=paid,
                creator=UserFactory(),
                amount=Decimal("1.00"),
                currency="USDT",
                status=Payout.Status.PAID,
                paid_at=timezone.now(),
            )
            PayoutTransfer.objects.create(
                payout=payout, idempotency_key=f"payout:{WEEK.label}:{payout.creator_id}", state=State.STUCK
            )

    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse("admin:incentives_payouttransfer_changelist")).status_code == 200
        return len(captured)

    add_transfers(1)
    two_rows = queries()
    add_transfers(4)
    # Session, user and two-factor check; the summary (one grouped query); the last reconciliation and
    # the open differences; the filters' week values; the count and the page with payout, week and
    # creator joined: none of them per row.
    assert queries() == two_rows


@pytest.mark.django_db
def test_the_status_query_stops_at_an_unreachable_exchange_and_changes_nothing(fake):
    creators = [creator_with_readers(uid=f"uid-{n}") for n in range(3)]
    pay_week()
    for creator in creators:
        send(creator)
    PayoutTransfer.objects.update(sent_at=timezone.now() - transfers.SILENT_AFTER - timedelta(minutes=1))
    fake.control(down=True)

    assert transfers.query_silent_transfers() == {"unavailable": 1}
    assert {transfer_of(c).state for c in creators} == {State.SENT}
