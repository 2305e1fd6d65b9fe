"""An operator's week in a real Chromium, end to end: sign in with TOTP, "Draft week" for last week,
review the draft, approve it, pay it and watch the payment reach "all confirmed" without reloading.

Nothing is short-cut: a real Celery worker (this run's queues) drafts, pays and sends; the fake
exchange (tools/fake_exchange.py over real HTTP) accepts the transfers and confirms them through
Orbit's signed webhook on the live server. Screenshots of the settlements list and the week's page
at 1280x800, in English and in Chinese, land in var/screenshots/settlements-*.png.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from incentives import ledger, review
from incentives.models import Payout, PayoutTransfer, Settlement
from tests.browser.test_money_in_browser import (
    WEBHOOK,
    _earning_creator,
    _sign_in_to_admin,
    _watch_console,
)
from tests.factories import UserFactory
from tests.security.helpers import activate_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
WORKER_WITHIN_MS = 30_000  # the worker drafts and pays a three-creator week in well under a second


def _header_boxes_fit(page, columns: list[str]) -> dict[str, bool]:
    """Whether each list column's header cell lies wholly inside the viewport's width and inside the
    table's own box (admin scrolls a too-wide table sideways inside it, hiding the last columns)."""
    results = page.locator("#changelist-form .results").bounding_box()
    right_edge = min(VIEWPORT["width"], results["x"] + results["width"])
    fits = {}
    for column in columns:
        box = page.locator(f"#result_list thead th.column-{column}").bounding_box()
        fits[column] = box is not None and box["x"] >= 0 and box["x"] + box["width"] <= right_edge + 0.5
    return fits


def test_an_operator_drafts_reviews_approves_and_pays_last_week_and_watches_it_confirm(
    browse, live_server, celery_worker, exchange_server, now
):
    exchange_server.control(webhook_url=live_server.url + WEBHOOK)
    creators = [_earning_creator(now, username=f"payee_{n}", uid=f"uid-payee-{n}")[0] for n in ("ann", "bo", "cy")]
    _, last_week = _earning_creator(now, username="payee_dee", uid="uid-payee-dee")
    operator = UserFactory(username="ops_week", is_staff=True, is_superuser=True)
    secret = activate_totp(operator)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chinese = {"name": "django_language", "value": "zh-hans", "url": live_server.url}

    def journey(page):
        from playwright.sync_api import expect

        problems: list[str] = []
        _watch_console(page, problems)
        page.set_viewport_size(VIEWPORT)
        seen = {}

        _sign_in_to_admin(page, "ops_week", secret)
        page.goto("/admin/incentives/settlement/")
        week_input = page.locator("#draft-week-input")
        seen["prefilled"] = week_input.input_value()
        page.get_by_role("button", name="Draft week").click()
        page.wait_for_load_state()
        seen["draft_message"] = page.locator("ul.messagelist").inner_text()

        # The worker drafts in the background: the row appears in the list.
        row = page.locator("#result_list tbody tr", has_text=last_week.label)
        for _ in range(WORKER_WITHIN_MS // 500):
            if row.count():
                break
            page.wait_for_timeout(500)
            page.goto("/admin/incentives/settlement/")
        seen["list_row"] = row.inner_text()
        seen["headers_fit"] = _header_boxes_fit(page, ["flags_link", "held_link", "pool_shown", "status_badge"])
        seen["page_width"] = page.evaluate("document.documentElement.scrollWidth")
        seen["table_scrolls"] = page.evaluate(
            "(() => { const r = document.querySelector('#changelist-form .results');"
            " return r.scrollWidth > r.clientWidth; })()"
        )
        page.screenshot(path=str(SCREENSHOTS / "settlements-list-en-1280.png"))

        # Open it and review.
        row.get_by_role("link", name=last_week.label).click()
        page.wait_for_url("**/change/")
        seen["totals"] = page.locator(".settlement-totals").inner_text()
        seen["top_rows"] = page.locator("#top-creators tbody tr").all_inner_texts()
        seen["parameters"] = page.locator(".settlement-parameters").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "settlements-week-en-1280.png"), full_page=True)

        page.get_by_role("button", name="Approve").click()
        page.wait_for_load_state()
        seen["approve_message"] = page.locator("ul.messagelist").inner_text()

        # Pay, then watch the progress refresh itself (no reload) until all are confirmed.
        navigations = []
        page.get_by_role("button", name="Pay", exact=True).click()
        page.wait_for_url("**/change/?paying=1")
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        progress = page.locator("#pay-progress")
        expect(progress).to_contain_text("All confirmed by the exchange.", timeout=WORKER_WITHIN_MS)
        seen["progress"] = progress.inner_text()
        seen["progress_bar"] = (
            page.locator("#pay-progress-bar").get_attribute("value"),
            page.locator("#pay-progress-bar").get_attribute("max"),
        )
        seen["navigations_while_watching"] = list(navigations)
        seen["pay_button_after"] = page.get_by_role("button", name="Pay", exact=True).is_visible()
        page.screenshot(path=str(SCREENSHOTS / "settlements-week-paid-en-1280.png"), full_page=True)
        week_url = page.url.split("?")[0]

        # The same pages in Chinese.
        page.context.add_cookies([chinese])
        page.goto("/admin/incentives/settlement/")
        seen["zh_list"] = page.locator("#result_list").inner_text()
        seen["zh_headers_fit"] = _header_boxes_fit(page, ["flags_link", "held_link"])
        page.screenshot(path=str(SCREENSHOTS / "settlements-list-zh-1280.png"))
        page.goto(week_url)
        seen["zh_totals"] = page.locator(".settlement-totals").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "settlements-week-zh-1280.png"), full_page=True)
        seen["problems"] = problems
        return seen

    seen = browse(journey)

    drafted = Settlement.objects.get(week=last_week.label)
    assert seen["prefilled"] == last_week.label
    assert f"Drafting {last_week.label} in the background" in seen["draft_message"]
    assert seen["headers_fit"] == {"flags_link": True, "held_link": True, "pool_shown": True, "status_badge": True}
    assert seen["zh_headers_fit"] == {"flags_link": True, "held_link": True}
    assert seen["page_width"] <= 1280 and not seen["table_scrolls"]
    pool = review.money(drafted.pool_amount, drafted.currency)
    assert pool in seen["list_row"] and pool in seen["zh_list"]
    assert pool in seen["totals"] and pool in seen["zh_totals"]
    assert review.money(drafted.total_allocated, drafted.currency) in seen["totals"]

    # The top creators shown are the week's, in rank order, with their amounts.
    payouts = {p.creator.username: p for p in Payout.objects.filter(settlement=drafted).select_related("creator")}
    assert len(seen["top_rows"]) == drafted.creator_count == 4
    for line in seen["top_rows"]:
        username = next(name for name in payouts if name in line)
        assert review.money(payouts[username].amount, "USDT") in line
    assert {p.creator.username for p in payouts.values()} == {c.username for c in creators} | {"payee_dee"}
    assert "Exponent α" in seen["parameters"]

    assert f"{last_week.label} approved." in seen["approve_message"]
    transfers = PayoutTransfer.objects.filter(payout__settlement=drafted)
    confirmed = transfers.filter(state=PayoutTransfer.State.CONFIRMED).count()
    assert confirmed == transfers.count() == 4
    assert f"{confirmed} of {confirmed} confirmed" in seen["progress"]
    assert seen["progress_bar"] == (str(confirmed), str(confirmed))
    paid_total = sum((p.amount for p in payouts.values()), Decimal("0.00"))
    assert review.money(paid_total, "USDT") in seen["progress"]
    assert seen["navigations_while_watching"] == [], "the page reloaded while watching the payment"
    assert not seen["pay_button_after"], "a paid week still offers Pay"
    assert f"Settlement {last_week.label}: PAID" in seen["progress"]  # the badge, in capitals
    assert Settlement.objects.get(pk=drafted.pk).status == Settlement.Status.PAID
    assert ledger.imbalance() == 0
    assert seen["problems"] == []
    for name in ("list-en", "week-en", "week-paid-en", "list-zh", "week-zh"):
        assert (SCREENSHOTS / f"settlements-{name}-1280.png").exists()
