"""The demo's trade journey in a real Chromium: Trade on a seeded trade card lands on Orbit's demo
ticket, which says plainly that no order is placed."""

from io import StringIO

import pytest
from django.core.management import call_command

from feed.models import Engagement, Post, TradeCard

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_trade_on_a_seeded_trade_card_lands_on_the_demo_ticket(browse, settings):
    settings.ORBIT_DEMO_TRADE_TICKET = True
    call_command("seed_demo", "--users=40", "--posts=150", "--events=200", "--seed=3", stdout=StringIO())
    card = TradeCard.objects.filter(post__status=Post.Status.PUBLISHED).select_related("post").first()
    assert card is not None, "the seed wrote no trade card"

    def steps(page):
        problems = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.goto(f"/posts/{card.post_id}/")
        page.get_by_role("button", name=f"Trade {card.instrument}").click()
        page.wait_for_url(f"**/demo/trade/{card.instrument}/**")
        seen = {"ticket": page.locator("main").inner_text(), "price": page.locator(".demo-last-price").inner_text()}
        page.get_by_role("button", name="Buy").click()
        page.wait_for_load_state()
        seen["confirmation"] = page.locator(".demo-confirmation").inner_text()
        page.get_by_role("link", name="Back to the post").click()
        page.wait_for_url(f"**/posts/{card.post_id}/")
        seen["problems"] = problems
        return seen

    seen = browse(steps)

    assert "Demo — no real order is placed." in seen["ticket"]
    assert f"Trade {card.instrument}" in seen["ticket"]
    assert seen["price"][0].isdigit()  # the last price, from the seeded candles
    assert "This demo places no order." in seen["confirmation"]
    assert seen["problems"] == []
    assert Engagement.objects.filter(kind=Engagement.Kind.TRADE_CLICK, post_id=card.post_id).exists()
