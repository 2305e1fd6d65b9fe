"""Reader tips reach the creator's exchange account exactly once and whole, against the fake exchange
over real HTTP (tools/fake_exchange.py in threads of this process), confirmed through Orbit's signed
webhook endpoint; the daily limit holds under a race, and tips never touch a contribution score."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from creators.models import Profile
from feed.models import Engagement, Post
from incentives import ledger, settlement, tasks, tips, transfers
from incentives.models import Contribution, LedgerEntry, Tip
from incentives.weeks import Week
from markets.models import TradingProfile
from tests.api.conftest import client_for
from tests.factories import BlockFactory, EngagementFactory, PostFactory, TradingProfileFactory, UserFactory
from tools.fake_exchange import FakeExchange

from .exchange_side import balance, confirmations, deliver, transfers_at_exchange
from .world import real_trader

State = Tip.State
PASSWORD = "correct horse battery staple"  # the factories' password
WEEK = Week.parse("2026-W47", "UTC")
AFTER = WEEK.ends_at + timedelta(hours=1)


@pytest.fixture
def queued(monkeypatch):
    """The tip ids queued to send after commit (a test sends them itself, in this process)."""
    sent_to_queue: list[int] = []
    monkeypatch.setattr(tips, "queue_send", sent_to_queue.append)
    return sent_to_queue


def person(uid: str | None = None, **fields):
    user = UserFactory(**fields)
    if uid:
        TradingProfileFactory(user=user, exchange_uid=uid)
    return user


def reader_creator_post(*, reader_uid="uid-reader", creator_uid="uid-creator"):
    reader, creator = person(reader_uid), person(creator_uid)
    return reader, creator, PostFactory(author=creator)


def tip(reader, *, post=None, creator=None, amount: object = 5, token: str | None = None, **kwargs) -> Tip:
    return tips.request_tip(
        tipper=reader,
        post=post,
        creator=creator,
        amount=amount,
        token=token or tips.new_token(),
        recently_authenticated=kwargs.pop("recently_authenticated", True),
        **kwargs,
    )


def refreshed(tip_row: Tip) -> Tip:
    return Tip.objects.get(pk=tip_row.pk)


def balance_at_exchange(fake: FakeExchange, uid: str) -> Decimal:
    answer = requests.get(f"{fake.url}/_control/accounts/{uid}", params={"currency": "USDT"}, timeout=5)
    return Decimal(answer.json()["balance"])


def tip_box(client, post) -> str:
    return client.get(reverse("incentives:tip_box", args=[post.pk])).content.decode()


# --- The path of a tip ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tip_is_sent_then_confirmed_and_the_creator_receives_all_of_it(
    fake, client, queued, django_capture_on_commit_callbacks
):
    reader, creator, post = reader_creator_post()

    with django_capture_on_commit_callbacks(execute=True):
        made = tip(reader, post=post, amount=5)
    assert (made.state, made.idempotency_key.startswith(f"tip:{reader.pk}:")) == (State.REQUESTED, True)
    assert queued == [made.pk]

    assert tips.send_tip(tip_id=made.pk) == tips.Attempt.SENT
    assert refreshed(made).state == State.SENT
    assert balance_at_exchange(fake, "uid-reader") == Decimal("995.00")
    assert "No tips yet." in tip_box(client, post)  # not shown before the exchange confirms it

    fake.settle(made.idempotency_key, outcome="completed")
    assert [result["status"] for result in deliver(client, confirmations(fake))] == ["applied"]

    confirmed = refreshed(made)
    assert confirmed.state == State.CONFIRMED and confirmed.exchange_completed_at is not None
    assert tips.tips_on_post(post.pk) == tips.TipSummary(count=1, total=5, currency="USDT")
    assert "1 tip · 5 USDT" in tip_box(client, post)
    # No cut: the reader paid 5, the creator got 5, at the exchange and on Orbit's books.
    assert balance_at_exchange(fake, "uid-reader") == Decimal("995.00")
    assert balance_at_exchange(fake, "uid-creator") == Decimal("1005.00")
    assert balance(ledger.tips_received_account(creator.pk)) == 5
    assert balance(ledger.tipper_account(reader.pk)) == -5
    assert balance(ledger.TIPS_IN_FLIGHT) == 0
    assert set(LedgerEntry.objects.values_list("account", flat=True)) == {
        ledger.tipper_account(reader.pk),
        ledger.TIPS_IN_FLIGHT,
        ledger.tips_received_account(creator.pk),
    }
    assert ledger.imbalance() == 0


@pytest.mark.django_db
def test_a_duplicate_confirmation_changes_nothing(fake, client, queued):
    reader, creator, post = reader_creator_post()
    made = tip(reader, post=post)
    tips.send_tip(tip_id=made.pk)
    fake.settle(made.idempotency_key, outcome="completed")
    event = confirmations(fake)[0]
    deliver(client, [event])
    entries = LedgerEntry.objects.count()

    # The same event again (markets knows its id), and the same end under a new event id.
    assert [r["status"] for r in deliver(client, [event])] == ["duplicate"]
    assert [r["status"] for r in deliver(client, [{**event, "id": "evt-again"}])] == ["duplicate"]
    again = tips.apply_confirmation(
        idempotency_key=made.idempotency_key,
        exchange_transfer_id=made.exchange_transfer_id,
        outcome="completed",
        failure_code=None,
        to_uid="uid-creator",
    )

    assert again == "duplicate"
    assert LedgerEntry.objects.count() == entries
    assert tips.tips_on_post(post.pk).count == 1
    assert balance(ledger.tips_received_account(creator.pk)) == 5


@pytest.mark.django_db
def test_a_payout_key_is_not_a_tips_and_a_tip_key_is_not_a_payouts(fake):
    ending = {"exchange_transfer_id": "x", "outcome": "completed", "failure_code": None, "to_uid": "u"}
    assert tips.apply_confirmation(idempotency_key="payout:2026-W47:1", **ending) is None
    assert transfers.apply_confirmation(idempotency_key="tip:1:abc", **ending) is None


@pytest.mark.django_db
def test_a_confirmation_that_overtakes_the_send_answer_is_recorded_once(fake, client, queued):
    reader, _creator, post = reader_creator_post()
    made = tip(reader, post=post)
    fake.control(lose_answers=1)
    assert tips.send_tip(tip_id=made.pk) == tips.Attempt.UNKNOWN
    fake.settle(made.idempotency_key, outcome="completed")

    assert [r["status"] for r in deliver(client, confirmations(fake))] == ["applied"]
    assert tips.send_tip(tip_id=made.pk) == tips.Attempt.NOTHING_TO_DO

    assert refreshed(made).state == State.CONFIRMED
    assert balance(ledger.TIPS_IN_FLIGHT) == 0 and ledger.imbalance() == 0
    assert balance_at_exchange(fake, "uid-reader") == Decimal("995.00")


# --- Exactly once ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lost_answer_retried_under_the_same_key_gives_one_transfer(fake, queued):
    reader, _creator, post = reader_creator_post()
    made = tip(reader, post=post, amount=20)
    fake.control(lose_answers=1)

    assert tips.send_tip(tip_id=made.pk) == tips.Attempt.UNKNOWN
    assert refreshed(made).state == State.REQUESTED and refreshed(made).last_error
    assert not LedgerEntry.objects.exists()
    assert tips.send_tip(tip_id=made.pk) == tips.Attempt.SENT

    assert transfers_at_exchange(fake) == [(made.idempotency_key, "pending")]
    assert refreshed(made).attempts == 2
    assert balance_at_exchange(fake, "uid-reader") == Decimal("980.00")  # debited once
    assert ledger.imbalance() == 0


@pytest.mark.django_db
def test_the_task_retries_an_unknown_outcome_then_marks_the_tip_stuck(fake, queued, monkeypatch):
    reader, _creator, post = reader_creator_post()
    made = tip(reader, post=post)
    fake.control(down=True)
    monkeypatch.setattr(tasks.send_tip, "max_retries", 2)

    tasks.send_tip.apply(args=[made.pk])

    stuck = refreshed(made)
    assert (stuck.state, stuck.attempts) == (State.STUCK, 3)
    assert tips.tipped_last_day(tipper_id=reader.pk, now=timezone.now()) == 5  # still counts
    fake.control(down=False)
    assert tips.send_tip(tip_id=made.pk) == tips.Attempt.SENT  # an operator sends it again
    assert len(transfers_at_exchange(fake)) == 1


@pytest.mark.django_db
def test_the_task_run_twice_sends_once(fake, queued):
    reader, _creator, post = reader_creator_post()
    made = tip(reader, post=post)

    assert tasks.send_tip.apply(args=[made.pk]).get() == "sent"
    assert tasks.send_tip.apply(args=[made.pk]).get() == "nothing_to_do"

    assert len(transfers_at_exchange(fake)) == 1
    assert LedgerEntry.objects.filter(account=ledger.TIPS_IN_FLIGHT).count() == 1


@pytest.mark.django_db
def test_a_double_submitted_token_is_one_tip(fake, queued, django_capture_on_commit_callbacks):
    reader, _creator, post = reader_creator_post()
    token = tips.new_token()

    with django_capture_on_commit_callbacks(execute=True):
        first = tip(reader, post=post, token=token)
        second = tip(reader, post=post, token=token, amount=20)

    assert first.pk == second.pk and second.amount == 5
    assert Tip.objects.count() == 1 and queued == [first.pk]


def race_in_threads(actions, *, threads: int):
    """Runs `actions` spread over `threads` threads released at one instant, each thread on its own
    database connection (closed at its end); returns what each action returned or raised."""
    barrier = threading.Barrier(threads)
    outcomes: list = []
    lock = threading.Lock()

    def worker(share):
        barrier.wait()
        try:
            for action in share:
                try:
                    outcome = action()
                except (ValidationError, IntegrityError) as refused:
                    outcome = refused
                with lock:
                    outcomes.append(outcome)
        finally:
            connection.close()

    shares = [actions[n::threads] for n in range(threads)]
    running = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_hundred_concurrent_tips_never_pass_the_daily_limit_nor_spend_twice(fake, queued, settings):
    """100 tips of 7 USDT at once: at most 71 fit in 500. Spread over 25 threads (each its own
    connection: the Postgres here allows 100 connections, shared with parallel test runs); each
    accepted tip is then sent twice at once, as two workers would."""
    settings.TIP_DAILY_LIMIT = 500
    reader, _creator, post = reader_creator_post()

    outcomes = race_in_threads([lambda: tip(reader, post=post, amount=7) for _ in range(100)], threads=25)

    accepted = [outcome for outcome in outcomes if isinstance(outcome, Tip)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(accepted) + len(refused) == 100
    assert len(accepted) == 71 and sum(t.amount for t in accepted) == 497 <= settings.TIP_DAILY_LIMIT
    assert all("daily tip limit" in " ".join(error.messages) for error in refused)
    assert Tip.objects.filter(tipper=reader).count() == 71

    race_in_threads([lambda t=t: tips.send_tip(tip_id=t.pk) for t in accepted for _ in range(2)], threads=20)
    # A send whose answer timed out under the load stays requested; the task's retry resends its key.
    for still_open in Tip.objects.filter(state=State.REQUESTED):
        tips.send_tip(tip_id=still_open.pk)

    sent = Tip.objects.filter(tipper=reader, state__in=(State.SENT, State.CONFIRMED))
    sent_total = sum(sent.values_list("amount", flat=True))
    assert sent.count() == 71 and sent_total == 497
    assert len(transfers_at_exchange(fake)) == 71
    assert balance_at_exchange(fake, "uid-reader") == Decimal(1000) - sent_total
    assert balance(ledger.tipper_account(reader.pk)) == -sent_total
    assert ledger.imbalance() == 0


# --- What the exchange refuses ---------------------------------------------------------------------


@pytest.mark.django_db
def test_insufficient_funds_is_refused_with_no_ledger_rows_and_the_reader_sees_why(fake, client, queued, settings):
    settings.TIP_DAILY_LIMIT = 5000
    reader, _creator, post = reader_creator_post()
    made = tip(reader, post=post, amount=1500)

    assert tips.send_tip(tip_id=made.pk) == tips.Attempt.REFUSED

    refused = refreshed(made)
    assert (refused.state, refused.failure_code) == (State.REFUSED, "insufficient_funds")
    assert not LedgerEntry.objects.exists()
    assert balance_at_exchange(fake, "uid-reader") == Decimal("1000.00")
    assert tips.tipped_last_day(tipper_id=reader.pk, now=timezone.now()) == 0  # a refusal does not count
    client.force_login(reader)
    page = client.get(reverse("incentives:tip_post", args=[post.pk])).content.decode()
    assert "Refused by the exchange" in page and "insufficient_funds" in page


@pytest.mark.django_db
def test_a_frozen_reader_account_is_refused(fake, queued):
    reader, _creator, post = reader_creator_post(reader_uid="uid-reader-frozen")
    made = tip(reader, post=post)

    assert tips.send_tip(tip_id=made.pk) == tips.Attempt.REFUSED

    assert (refreshed(made).state, refreshed(made).failure_code) == (State.REFUSED, "account_frozen")
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_a_tip_that_fails_after_acceptance_is_given_back(fake, client, queued):
    reader, _creator, post = reader_creator_post(creator_uid="uid-creator-bounce")
    made = tip(reader, post=post, amount=20)
    tips.send_tip(tip_id=made.pk)
    fake.settle(made.idempotency_key, outcome="failed", failure_code="account_closed")

    assert [r["status"] for r in deliver(client, confirmations(fake))] == ["applied"]

    failed = refreshed(made)
    assert (failed.state, failed.failure_code) == (State.FAILED, "account_closed")
    assert balance(ledger.tipper_account(reader.pk)) == 0 and balance(ledger.TIPS_IN_FLIGHT) == 0
    assert balance_at_exchange(fake, "uid-reader") == Decimal("1000.00")
    assert tips.tips_on_post(post.pk).count == 0
    assert ledger.imbalance() == 0


# --- What Orbit refuses ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tip_to_oneself_is_refused_by_the_service_and_by_the_database(queued):
    author = person("uid-author")
    post = PostFactory(author=author)

    with pytest.raises(ValidationError, match="cannot tip yourself"):
        tip(author, post=post)
    with pytest.raises(ValidationError, match="cannot tip yourself"):
        tip(author, creator=author)
    with pytest.raises(IntegrityError, match="tip_not_to_oneself"), transaction.atomic():
        Tip.objects.create(
            tipper=author, creator=author, amount=5, currency="USDT", idempotency_key="tip:x", from_uid="a", to_uid="b"
        )
    assert not Tip.objects.exists()


@pytest.mark.django_db
def test_a_creator_who_turned_tips_off_cannot_be_tipped(client, queued):
    reader, creator, post = reader_creator_post()
    client.force_login(creator)
    edit_page = client.get(reverse("creators:edit_profile")).content.decode()
    assert re.search(r'<input type="checkbox" name="accepts_tips"[^>]* checked', edit_page)

    settings_form = {"display_name": "Writer", "bio": "", "language": "en"}
    client.post(reverse("creators:edit_profile"), settings_form)

    assert Profile.objects.get(user=creator).accepts_tips is False
    with pytest.raises(ValidationError, match="turned tips off"):
        tip(reader, post=post)
    client.post(reverse("creators:edit_profile"), {**settings_form, "accepts_tips": "on"})
    assert tip(reader, post=post).state == State.REQUESTED


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["1.5", "0", "-3", "five", "", None, "1e3"])
def test_only_whole_positive_amounts_are_tips(amount, queued):
    reader, _creator, post = reader_creator_post()

    with pytest.raises(ValidationError) as refused:
        tip(reader, post=post, amount=amount)

    assert refused.value.message_dict["amount"][0]  # a message for the reader, on the amount
    assert not Tip.objects.exists()


@pytest.mark.django_db
def test_the_minimum_and_the_rolling_daily_limit(queued, settings):
    settings.TIP_MINIMUM, settings.TIP_DAILY_LIMIT = 2, 500
    reader, _creator, post = reader_creator_post()

    with pytest.raises(ValidationError, match="smallest tip is 2 USDT"):
        tip(reader, post=post, amount=1)
    earlier = tip(reader, post=post, amount=400)
    with pytest.raises(ValidationError, match="up to 100 USDT more"):
        tip(reader, post=post, amount=101)
    assert tip(reader, post=post, amount=100).amount == 100

    # A day later the 400 no longer counts; a refused tip never did.
    Tip.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    Tip.objects.filter(amount=100).update(state=State.REFUSED, failure_code="insufficient_funds")
    assert tip(reader, post=post, amount=500).amount == 500


@pytest.mark.django_db
def test_hidden_and_deleted_posts_and_blocked_pairs_are_refused(queued):
    reader, creator, post = reader_creator_post()
    hidden = PostFactory(author=creator, status=Post.Status.HIDDEN)
    deleted = PostFactory(author=creator, status=Post.Status.DELETED, deleted_at=timezone.now())

    for gone in (hidden, deleted):
        with pytest.raises(Post.DoesNotExist):
            tip(reader, post=gone)
    BlockFactory(user=creator, target=reader)
    with pytest.raises(PermissionDenied):
        tip(reader, post=post)
    with pytest.raises(PermissionDenied):
        tip(reader, creator=creator)
    assert not Tip.objects.exists()


@pytest.mark.django_db
def test_people_without_a_linked_exchange_account_are_told_what_to_do(client, queued):
    unlinked_reader, creator, post = person(), person("uid-creator"), None
    post = PostFactory(author=creator)
    with pytest.raises(ValidationError, match="Link your exchange account"):
        tip(unlinked_reader, post=post)
    # The box says so before the reader picks an amount, and offers no form.
    client.force_login(unlinked_reader)
    box = tip_box(client, post)
    assert "Link your exchange account to tip" in box and 'name="amount"' not in box

    reader, unlinked_creator = person("uid-reader"), person()
    with pytest.raises(ValidationError, match="cannot receive tips yet"):
        tip(reader, creator=unlinked_creator)


@pytest.mark.django_db
def test_a_suspended_reader_cannot_tip(queued):
    reader, _creator, post = reader_creator_post()
    reader.suspended_at = timezone.now()
    reader.save()

    with pytest.raises(PermissionDenied, match="suspended"):
        tip(reader, post=post)


# --- Re-authentication, in the browser and the API ----------------------------------------------


def tip_form_token(client, post) -> str:
    page = client.get(reverse("incentives:tip_post", args=[post.pk])).content.decode()
    return page.split('name="token" value="', 1)[1].split('"', 1)[0]


@pytest.mark.django_db
def test_the_first_tip_and_large_tips_ask_for_the_password_again_and_a_small_second_one_does_not(client, queued):
    reader, _creator, post = reader_creator_post()
    client.force_login(reader)
    url = reverse("incentives:tip_post", args=[post.pk])

    first = client.post(url, {"amount": "5", "token": tip_form_token(client, post)})
    assert first.status_code == 302
    assert first.url == f"{reverse('account_reauthenticate')}?next=%2Ftips%2Fposts%2F{post.pk}%2F%3Famount%3D5"
    assert not Tip.objects.exists()
    htmx = client.post(url, {"amount": "5", "token": tips.new_token()}, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == first.url

    back = client.post(first.url, {"password": PASSWORD})
    assert back.url == f"{url}?amount=5"
    prefilled = client.get(back.url).content.decode()
    assert 'value="5" checked' in prefilled
    sent = client.post(url, {"amount": "5", "token": tip_form_token(client, post)})
    assert sent.url == reverse("feed:post", args=[post.pk])
    assert Tip.objects.filter(tipper=reader).count() == 1

    later = client_for_new_session(reader)  # signed in without entering the password lately
    small = later.post(url, {"amount": "5", "token": tip_form_token(later, post)}, headers={"HX-Request": "true"})
    assert small.status_code == 200 and "Tip of 5 USDT sent" in small.content.decode()
    large = later.post(url, {"custom_amount": "100", "token": tip_form_token(later, post)})
    assert large.url.startswith(reverse("account_reauthenticate")) and "amount%3D100" in large.url
    assert list(Tip.objects.order_by("pk").values_list("amount", flat=True)) == [5, 5]


@pytest.mark.django_db
def test_a_refused_amount_is_explained_in_the_box_and_on_the_page(client, queued):
    reader, creator, post = reader_creator_post()
    tip(reader, creator=creator, amount=1)  # not the first tip: no password asked
    client.force_login(reader)
    url = reverse("incentives:tip_post", args=[post.pk])

    in_box = client.post(url, {"custom_amount": "1.5", "token": tips.new_token()}, headers={"HX-Request": "true"})
    on_page = client.post(url, {"amount": "", "token": tips.new_token()})

    assert in_box.status_code == 400 and 'class="tip-box"' in in_box.content.decode()
    assert "Tip a whole number of USDT" in in_box.content.decode()
    assert on_page.status_code == 400 and "Tip a whole number of USDT" in on_page.content.decode()
    assert Tip.objects.count() == 1


def client_for_new_session(user):
    fresh = Client()
    fresh.force_login(user)
    return fresh


@pytest.mark.django_db
def test_the_api_asks_for_reauthentication_then_takes_small_tips(queued):
    reader, creator, post = reader_creator_post()
    api = client_for(reader)

    asked = api.post("/api/v1/tips/", {"post_id": post.pk, "amount": 5, "token": str(uuid.uuid4())}, format="json")
    assert asked.status_code == 403
    assert asked.json()["code"] == "reauthentication_required" and asked.json()["message"]

    tip(reader, creator=creator, amount=1)  # an earlier tip, confirmed with the password in a browser
    made = api.post("/api/v1/tips/", {"post_id": post.pk, "amount": "5", "token": str(uuid.uuid4())}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["state"] == "requested" and made.json()["amount"] == 5

    halves = api.post("/api/v1/tips/", {"post_id": post.pk, "amount": "1.5", "token": str(uuid.uuid4())}, format="json")
    assert halves.status_code == 400 and "whole number" in halves.json()["message"]
    oneself = client_for(creator).post(
        "/api/v1/tips/", {"creator": creator.username, "amount": 5, "token": str(uuid.uuid4())}, format="json"
    )
    assert oneself.status_code == 400 and "yourself" in oneself.json()["message"]


# --- Where tips show, and where they never count -----------------------------------------------------


@pytest.mark.django_db
def test_the_tip_box_escapes_the_creators_name(client, queued):
    reader, creator, post = reader_creator_post()
    Profile.objects.filter(user=creator).update(display_name='<script>alert("x")</script>')
    client.force_login(reader)

    box = tip_box(client, post)

    assert "<script>alert" not in box
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in box
    assert 'name="token"' in box  # the reader may tip: the form is there


@pytest.mark.django_db
def test_the_creator_statement_lists_confirmed_tips_only(fake, client, queued):
    reader, creator, post = reader_creator_post()
    confirmed, pending = tip(reader, post=post, amount=20), tip(reader, creator=creator, amount=7)
    for made in (confirmed, pending):
        tips.send_tip(tip_id=made.pk)
    fake.settle(confirmed.idempotency_key, outcome="completed")
    deliver(client, confirmations(fake))
    client.force_login(creator)

    page = client.get(reverse("incentives:statement")).content.decode()

    assert "Tips received" in page
    assert "1 tip in the last 30 days · 20 USDT" in page
    assert reverse("feed:post", args=[post.pk]) in page


@pytest.mark.django_db
def test_a_tip_never_changes_the_contribution_score(fake, queued):
    creator = person("uid-creator")
    post = PostFactory(author=creator, created_at=WEEK.starts_at + timedelta(hours=1))
    readers = [real_trader() for _ in range(3)]
    for i, reader in enumerate(readers):
        EngagementFactory(
            actor=reader, post=post, kind=Engagement.Kind.LIKE, occurred_at=post.created_at + timedelta(minutes=5 + i)
        )
    TradingProfile.objects.filter(user=readers[0]).update(exchange_uid="uid-reader")

    def contributions():
        drafted = settlement.draft_settlement(week=WEEK, now=AFTER).settlement
        return sorted(Contribution.objects.filter(settlement=drafted).values_list("creator_id", "score", "share"))

    without_tip = contributions()
    engagement_before = Engagement.objects.count()
    made = tip(readers[0], post=post, amount=20)
    tips.send_tip(tip_id=made.pk)
    fake.settle(made.idempotency_key, outcome="completed")
    tips.apply_confirmation(
        idempotency_key=made.idempotency_key,
        exchange_transfer_id=refreshed(made).exchange_transfer_id,
        outcome="completed",
        failure_code=None,
        to_uid="uid-creator",
    )
    # The tip as if made inside the week, beside the likes it must not add to.
    inside = post.created_at + timedelta(minutes=30)
    Tip.objects.filter(pk=made.pk).update(created_at=inside, sent_at=inside, confirmed_at=inside)

    assert refreshed(made).state == State.CONFIRMED
    assert without_tip and contributions() == without_tip
    assert Engagement.objects.count() == engagement_before


# --- The sweep: lost messages and silent sends -------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_requeues_a_tip_whose_message_was_lost_but_not_one_in_its_retries(queued, monkeypatch):
    reader, _creator, post = reader_creator_post()
    lost, retrying, fresh = (tip(reader, post=post, amount=1) for _ in range(3))
    Tip.objects.filter(pk=retrying.pk).update(attempts=2)
    Tip.objects.exclude(pk=fresh.pk).update(updated_at=timezone.now() - tips.LOST_AFTER - timedelta(minutes=1))
    queued.clear()
    monkeypatch.setattr(transfers, "query_silent_transfers", dict)  # no payouts here

    tasks.sweep_payout_transfers()

    assert queued == [lost.pk]


@pytest.mark.django_db
def test_a_silent_sent_tip_is_settled_by_the_status_query_and_the_late_webhook_is_a_duplicate(fake, client, queued):
    reader, creator, post = reader_creator_post()
    done, bounced, pending = (tip(reader, post=post, amount=amount) for amount in (3, 4, 5))
    for made in (done, bounced, pending):
        assert tips.send_tip(tip_id=made.pk) == tips.Attempt.SENT
    fake.settle(done.idempotency_key, outcome="completed")
    fake.settle(bounced.idempotency_key, outcome="failed", failure_code="account_closed")
    Tip.objects.update(sent_at=timezone.now() - tips.SILENT_AFTER - timedelta(minutes=1))

    assert tips.query_silent_tips() == {"applied": 2, "pending": 1}

    assert refreshed(done).state == State.CONFIRMED
    assert refreshed(done).exchange_completed_at is not None
    assert (refreshed(bounced).state, refreshed(bounced).failure_code) == (State.FAILED, "account_closed")
    assert refreshed(pending).state == State.SENT
    entries = LedgerEntry.objects.count()
    assert [result["status"] for result in deliver(client, confirmations(fake))] == ["duplicate", "duplicate"]
    assert LedgerEntry.objects.count() == entries
    assert balance(ledger.tips_received_account(creator.pk)) == 3
    assert balance(ledger.TIPS_IN_FLIGHT) == 5
    assert ledger.imbalance() == 0


@pytest.mark.django_db
def test_the_status_query_of_tips_stops_at_an_unreachable_exchange(fake, queued):
    reader, _creator, post = reader_creator_post()
    made = [tip(reader, post=post, amount=1) for _ in range(3)]
    for row in made:
        tips.send_tip(tip_id=row.pk)
    Tip.objects.update(sent_at=timezone.now() - tips.SILENT_AFTER - timedelta(minutes=1))
    fake.control(down=True)

    assert tips.query_silent_tips() == {"unavailable": 1}
    assert set(Tip.objects.values_list("state", flat=True)) == {State.SENT}


@pytest.mark.django_db
def test_an_account_export_lists_the_tips_given_and_received_and_their_ledger(fake, client, queued):
    reader, creator, post = reader_creator_post()
    made = tip(reader, post=post, amount=5)
    tips.send_tip(tip_id=made.pk)
    fake.settle(made.idempotency_key, outcome="completed")
    deliver(client, confirmations(fake))

    client.force_login(reader)
    given = client.get(reverse("creators:export_data")).json()
    client.force_login(creator)
    received = client.get(reverse("creators:export_data")).json()

    assert [(line["amount"], line["state"]) for line in given["tips_given"]] == [(5, "confirmed")]
    assert [line["tipper__username"] for line in received["tips_received"]] == [reader.username]
    assert {line["account"] for line in received["ledger"]} == {ledger.tips_received_account(creator.pk)}
    assert sum(Decimal(line["amount"]) for line in given["ledger"]) == Decimal(-5)
