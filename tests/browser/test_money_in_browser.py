"""Money in a real Chromium, end to end: an operator pays a week in admin and the creator sees the
payout confirmed with its reference; a reader tips a post and the creator sees the tip.

Nothing is short-cut: a real Celery worker (this run's queues) pays and sends, the fake exchange
(tools/fake_exchange.py over real HTTP) accepts the transfers and confirms them through Orbit's
signed webhook on the live server.
"""

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.conf import settings
from django.db import connections

from feed.models import Engagement
from incentives import ledger, settlement
from incentives.models import Payout, PayoutTransfer, Settlement, Tip
from incentives.weeks import Week
from tests.browser.conftest import FACTORY_PASSWORD, sign_in
from tests.factories import FillFactory, PostFactory, TradingProfileFactory, UserFactory
from tests.security.helpers import activate_totp, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WEBHOOK = "/api/v1/exchange/events/"
CONFIRMED_WITHIN = 30  # seconds: worker, exchange and webhook together take well under one
OPENING_BALANCE = Decimal("1000.00")  # every "uid-…" account at the fake exchange


def _watch_console(page, problems: list) -> None:
    """What the browser refuses under our CSP, and script errors: a money journey must have none."""

    def on_console(message):
        if message.type == "error" and ("Content Security Policy" in message.text or "Refused" in message.text):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))


def _new_page(page, base_url: str, problems: list):
    """Another person: a browser context of their own (own cookies), on the same live server."""
    other = page.context.browser.new_context(base_url=base_url, locale="en-US").new_page()
    _watch_console(other, problems)
    return other


def _reload_until(page, url: str, locator: str, text: str) -> str:
    """Open `url` again until `locator` shows `text` (the exchange confirms in the background), at
    most CONFIRMED_WITHIN seconds; returns what the locator shows last."""
    from playwright.sync_api import TimeoutError as NotThereYet

    deadline = time.monotonic() + CONFIRMED_WITHIN
    while True:
        page.goto(url)
        target = page.locator(locator)
        try:
            target.wait_for(timeout=2_000)  # an HTMX fragment arrives just after the page
            shown = target.inner_text()
        except NotThereYet:
            shown = ""
        if text in shown or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(500)


def _outside_the_event_loop(work):
    """Database work from inside the browser steps: Playwright's thread holds an asyncio loop, where
    Django refuses the ORM, so it runs in a plain thread (whose connection is closed after)."""

    def run():
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _signed_in_a_while_ago(page, *, minutes: int = 10) -> None:
    """The browser's session gave its password `minutes` ago (as tests/security/test_reauthentication
    ages a session): past ACCOUNT_REAUTHENTICATION_TIMEOUT, so a first tip asks for it again."""
    session_key = next(c["value"] for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)

    def age():
        session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        records = session[AUTHENTICATION_METHODS_SESSION_KEY]
        for record in records:
            record["at"] = time.time() - minutes * 60
        session[AUTHENTICATION_METHODS_SESSION_KEY] = records
        session.save()

    _outside_the_event_loop(age)


def _sign_in_to_admin(page, username: str, secret: str) -> None:
    """Staff sign in as people do: password, then the authenticator app's code."""
    page.goto("/accounts/login/?next=/admin/")
    page.fill("#id_login", username)
    page.fill("#id_password", FACTORY_PASSWORD)
    page.locator("form:has(#id_login) [type=submit]").click()
    page.wait_for_load_state()
    page.fill("input[name=code]", totp_code(secret))
    page.locator("form:has(input[name=code]) [type=submit]:not([form])").click()
    page.wait_for_url("**/admin/")


def _exchange_balance(exchange_server, uid: str) -> Decimal:
    with urllib.request.urlopen(f"{exchange_server.url}/_control/accounts/{uid}?currency=USDT", timeout=5) as answer:  # noqa: S310 (the local fake)
        return Decimal(json.load(answer)["balance"])


def _earning_creator(now, *, username: str, uid: str):
    """A creator linked to exchange account `uid` whose post three trading readers liked last week."""
    creator = UserFactory(username=username)
    TradingProfileFactory(user=creator, exchange_uid=uid)
    last_week = Week.containing(now).previous()
    readers = UserFactory.create_batch(3)
    # Readers who trade (reader value comes from the fees of their fills before the week's end).
    for reader in readers:
        for days_before in (1, 8, 15):
            FillFactory(user=reader, fee=Decimal(5), filled_at=last_week.starts_at - timedelta(days=days_before))
    post = PostFactory(author=creator)
    post.created_at = last_week.starts_at + timedelta(hours=1)
    post.save(update_fields=["created_at"])
    Engagement.objects.bulk_create(
        Engagement(
            actor=reader,
            post=post,
            creator_id=creator.pk,
            kind=Engagement.Kind.LIKE,
            occurred_at=post.created_at + timedelta(minutes=10),
        )
        for reader in readers
    )
    return creator, last_week


def test_an_operator_pays_the_week_in_admin_and_the_creator_sees_it_paid_with_its_reference(
    browse, live_server, celery_worker, exchange_server, now
):
    exchange_server.control(webhook_url=live_server.url + WEBHOOK)
    creator, last_week = _earning_creator(now, username="payee", uid="uid-payee")
    drafted = settlement.draft_settlement(week=last_week).settlement
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    payout = Payout.objects.get(settlement=drafted, creator=creator)
    assert payout.status == Payout.Status.PENDING and payout.amount > 0
    operator = UserFactory(username="ops_pay", is_staff=True, is_superuser=True)
    secret = activate_totp(operator)

    def journey(page):
        problems: list[str] = []
        _watch_console(page, problems)
        seen = {}

        # The operator: Admin → Incentives → Settlements, the approved week, "Pay".
        _sign_in_to_admin(page, "ops_pay", secret)
        page.get_by_role("link", name="Settlements", exact=True).click()
        page.wait_for_url("**/admin/incentives/settlement/")
        page.locator(f"input.action-select[value='{drafted.pk}']").check()
        page.select_option("select[name=action]", label="Pay the selected approved settlements")
        page.get_by_role("button", name="Go").click()
        page.wait_for_load_state()
        seen["pay_message"] = page.locator("ul.messagelist").inner_text()

        # The creator, in a browser of their own, watches the statement until the exchange confirms.
        payee = _new_page(page, live_server.url, problems)
        sign_in(payee, "payee", "/earnings/")
        seen["payout_row"] = _reload_until(
            payee, "/earnings/", f"#payout-{payout.pk} .payout-transfer", "Paid into your exchange account"
        )

        # Back on the operators' payouts page, the transfer is confirmed.
        page.goto("/admin/incentives/payouttransfer/")
        seen["operators_row"] = page.locator("#result_list tbody tr").all_inner_texts()
        seen["problems"] = problems
        return seen

    seen = browse(journey)

    assert "Paying 1 settlement(s) in the background." in seen["pay_message"]
    transfer = PayoutTransfer.objects.get(payout=payout)
    assert transfer.state == PayoutTransfer.State.CONFIRMED, (transfer.state, transfer.last_error)
    assert transfer.exchange_transfer_id.startswith("ex-")
    assert "Paid into your exchange account on" in seen["payout_row"]
    assert f"reference {transfer.exchange_transfer_id}" in seen["payout_row"]
    assert len(seen["operators_row"]) == 1
    assert "Confirmed" in seen["operators_row"][0] and transfer.exchange_transfer_id in seen["operators_row"][0]
    assert "payee" in seen["operators_row"][0]
    assert Settlement.objects.get(pk=drafted.pk).status == Settlement.Status.PAID
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.PAID
    # The money is at the exchange, all of it, and Orbit's books balance.
    assert _exchange_balance(exchange_server, "uid-payee") == OPENING_BALANCE + payout.amount
    assert ledger.imbalance() == 0
    assert seen["problems"] == []


def test_a_reader_tips_a_post_after_giving_the_password_again_and_the_creator_sees_the_tip(
    browse, live_server, celery_worker, exchange_server
):
    exchange_server.control(webhook_url=live_server.url + WEBHOOK)
    creator = UserFactory(username="tipped_tara", profile__display_name="Tara")
    TradingProfileFactory(user=creator, exchange_uid="uid-tara")
    reader = UserFactory(username="tipping_tom", profile__display_name="Tom")
    TradingProfileFactory(user=reader, exchange_uid="uid-tom")
    post = PostFactory(author=creator)
    post_url = f"/posts/{post.pk}/"
    box = f"#tip-box-{post.pk}"

    def journey(page):
        from playwright.sync_api import expect

        problems: list[str] = []
        _watch_console(page, problems)
        seen = {}

        # Tom signed in a while ago; the tip box loads under the post (HTMX) with the amounts.
        sign_in(page, "tipping_tom", post_url)
        _signed_in_a_while_ago(page)
        page.goto(post_url)
        expect(page.locator(f"{box} .tip-summary")).to_have_text("No tips yet.")
        page.locator(f"{box} input[name=amount][value='5']").check()
        page.locator(box).get_by_role("button", name="Send tip").click()

        # His first tip asks for the password again, then comes back with 5 USDT still chosen.
        page.wait_for_url("**/accounts/reauthenticate/**")
        seen["reauth_heading"] = page.locator("h1").inner_text()
        page.fill("#id_password", FACTORY_PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(f"**/tips/posts/{post.pk}/?amount=5")
        seen["prefilled"] = page.locator(f"{box} input[name=amount][value='5']").is_checked()
        page.locator(box).get_by_role("button", name="Send tip").click()
        expect(page.locator(f"{box} .notice")).to_contain_text("Tip of 5 USDT sent")

        # Once the exchange confirms, the post shows it to everyone.
        seen["post_tips"] = _reload_until(page, post_url, f"{box} .tip-summary", "1 tip")

        # Tara sees it among the tips she received.
        tara = _new_page(page, live_server.url, problems)
        sign_in(tara, "tipped_tara", "/earnings/")
        received = tara.locator("section[aria-labelledby=tips-received-heading]")
        seen["received"] = received.inner_text()
        seen["received_rows"] = received.locator("tbody tr").all_inner_texts()
        seen["problems"] = problems
        return seen

    seen = browse(journey)

    assert seen["reauth_heading"] == "Confirm Access"
    assert seen["prefilled"], "the amount chosen before the password was lost on the way back"
    assert seen["post_tips"] == "1 tip · 5 USDT"
    assert "1 tip in the last 30 days · 5 USDT" in seen["received"]
    assert len(seen["received_rows"]) == 1
    assert "5 USDT" in seen["received_rows"][0] and "Tom" in seen["received_rows"][0]
    tip = Tip.objects.get()
    assert (tip.tipper, tip.creator, tip.post_id, tip.amount) == (reader, creator, post.pk, 5)
    assert tip.state == Tip.State.CONFIRMED and tip.exchange_transfer_id.startswith("ex-")
    # From Tom's exchange balance to Tara's, all of it: Orbit keeps no cut.
    assert _exchange_balance(exchange_server, "uid-tom") == OPENING_BALANCE - 5
    assert _exchange_balance(exchange_server, "uid-tara") == OPENING_BALANCE + 5
    assert ledger.imbalance() == 0
    assert seen["problems"] == []
