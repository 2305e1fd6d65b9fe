"""The creator statement in a real Chromium: this week's estimate, a held payout and its appeal, Chinese."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache

from feed.models import Engagement
from incentives import estimates, settlement
from incentives.models import Payout
from incentives.weeks import Week
from tests.browser.conftest import sign_in
from tests.factories import FillFactory, PostFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _liked(post, readers, at):
    Engagement.objects.bulk_create(
        Engagement(actor=reader, post=post, creator_id=post.author_id, kind=Engagement.Kind.LIKE, occurred_at=at)
        for reader in readers
    )


def test_a_creator_reads_the_statement_and_appeals_a_held_payout(browse, now):
    me = UserFactory(username="writer")
    readers = UserFactory.create_batch(3)
    # Readers who trade (reader value comes from the fees of their fills before the week's end).
    for reader in readers:
        for days_before in (1, 8, 15):
            FillFactory(
                user=reader,
                fee=Decimal(5),
                filled_at=Week.containing(now).previous().starts_at - timedelta(days=days_before),
            )
    # Last week: paid, then held for review (as a high-severity flag would).
    last_week = Week.containing(now).previous()
    old_post = PostFactory(author=me)
    old_post.created_at = last_week.starts_at + timedelta(hours=1)
    old_post.save(update_fields=["created_at"])
    _liked(old_post, readers, old_post.created_at + timedelta(minutes=10))
    drafted = settlement.draft_settlement(week=last_week).settlement
    Payout.objects.filter(settlement=drafted).update(status=Payout.Status.HELD, hold_reason="Lockstep")
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    settlement.pay_settlement(settlement_id=drafted.pk)
    # This week so far: a fresh post with likes, and the estimate computed as beat would.
    new_post = PostFactory(author=me)
    _liked(new_post, readers[:2], now - timedelta(seconds=5))
    estimates.refresh_estimate(now=now)
    row_id = f"#payout-{Payout.objects.get().pk}"

    def read(page):
        from playwright.sync_api import expect

        sign_in(page, "writer", "/earnings/")
        seen = {"estimate": page.locator(".estimate-amount").inner_text()}
        row = page.locator(row_id)
        seen["held"] = row.inner_text()
        row.get_by_text("Appeal", exact=True).click()
        row.locator("textarea").fill("These readers came from my Tuesday AMA.")
        row.get_by_role("button", name="Send appeal").click()
        expect(page.locator(row_id)).to_contain_text("the reviewers will answer it")
        page.locator(".me-menu summary").click()  # the language is in the account menu
        page.select_option("#language-select", "zh-hans")
        page.get_by_role("button", name="Switch").click()
        page.wait_for_load_state()
        seen["heading_zh"] = page.locator("h1").inner_text()
        return seen

    seen = browse(read)

    assert "USDT" in seen["estimate"] and "estimated" in seen["estimate"]
    assert "Held for review" in seen["held"] and "Lockstep" not in seen["held"]
    payout = Payout.objects.get()
    assert payout.appeal_message == "These readers came from my Tuesday AMA." and payout.appealed_at
    assert seen["heading_zh"] == "我的收益"
    cache.delete_many([estimates._key(Week.containing(now).label, key) for key in (me.pk, "meta")])
