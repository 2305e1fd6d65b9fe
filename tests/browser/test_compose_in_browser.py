"""Writing a post in a real Chromium: the tagger's type suggestion, `$` and `@` autocomplete from the
keyboard, a trade card filled in from one's own fills, the preview, and a verified card once published."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from feed import composing
from feed.models import Post
from ranking.tagging import store_tagger
from tests.factories import AssetFactory, BlockFactory, FillFactory, UserFactory
from tests.ranking.conftest import tagger_training  # noqa: F401 (the session's trained tagger)

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
# axe-core (test-only, tests/browser/vendor): the helpers' open states are checked too, not only the page as loaded.
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
SERIOUS_VIOLATIONS = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .filter((violation) => ['serious', 'critical'].includes(violation.impact))
  .map((violation) => violation.id + ': ' + violation.nodes.map((node) => node.target.join(' ')).join(', '))"""
ANALYSIS = (
    "Daily chart: price broke above the descending trendline with rising volume. RSI is turning up from 45, "
    "support at 92k, resistance at 100k. A 4h close above 96k opens a move to 104k."
)


def test_an_author_composes_with_suggestions_autocomplete_a_fill_and_a_preview(browse, tagger_training):  # noqa: F811
    store_tagger(result=tagger_training)
    cache.delete(composing.ASSET_LIST_KEY)
    AssetFactory(symbol="BTC", name="Bitcoin")
    AssetFactory(symbol="BTT", name="BitTorrent")
    AssetFactory(symbol="ETH", name="Ethereum")
    alice = UserFactory(username="alice")
    UserFactory(username="albert")
    BlockFactory(user=UserFactory(username="alex"), target=alice)  # blocked her: never offered
    now = timezone.now()
    FillFactory(user=alice, quantity=Decimal("0.2"), price=Decimal("64000"), filled_at=now - timedelta(minutes=12))
    FillFactory(user=alice, quantity=Decimal("0.2"), price=Decimal("64200"), filled_at=now - timedelta(minutes=11))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def journey(page):
        from playwright.sync_api import expect

        problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.set_viewport_size({"width": 1280, "height": 900})
        page.add_init_script(AXE)
        seen = {"axe": []}
        sign_in(page, "alice", "/compose/")
        select = page.locator("#id_content_type")
        seen["type_at_start"] = select.input_value()

        # The tagger's guess is offered, and taken with one click.
        body = page.locator("#id_body")
        body.fill(ANALYSIS)
        suggestion = page.locator("[data-type-suggestion]")
        expect(suggestion).to_be_visible(timeout=10_000)
        seen["suggestion"] = suggestion.inner_text()
        suggestion.get_by_role("button", name="Use it").click()
        seen["type_after_use"] = select.input_value()
        expect(suggestion).to_be_hidden()

        # `$BT`: the list opens; arrows move, Enter inserts the highlighted asset over what was typed.
        body.press("End")
        body.press_sequentially(" Long $BT", delay=30)
        listbox = page.get_by_role("listbox")
        expect(listbox.get_by_role("option")).to_have_count(2)
        seen["assets"] = listbox.get_by_role("option").all_inner_texts()
        seen["expanded"] = page.locator("[data-compose-editor]").get_attribute("aria-expanded")
        seen["axe"] += page.evaluate(SERIOUS_VIOLATIONS)  # the list open, an option active
        body.press("ArrowDown")
        body.press("ArrowUp")
        body.press("Enter")
        expect(listbox).to_be_hidden()

        # `@al`: people, never one who blocked her; Tab inserts.
        body.press_sequentially("with @al", delay=30)
        expect(listbox.get_by_role("option")).to_have_count(1)
        seen["people"] = listbox.get_by_role("option").all_inner_texts()
        body.press("Tab")
        # Escape closes the list and keeps the text.
        body.press_sequentially("on $ET", delay=30)
        expect(listbox.get_by_role("option")).to_have_count(1)
        body.press("Escape")
        expect(listbox).to_be_hidden()
        seen["text"] = body.input_value()
        body.fill(seen["text"].removesuffix("on $ET"))

        # "From my trades" fills the card in from her own fills.
        page.get_by_text("From my trades").click()
        page.locator(".fill-option").first.click()
        expect(page.locator("#id_instrument")).to_have_value("BTC-USDT")
        seen["card"] = [page.locator(f"#id_{name}").input_value() for name in ("instrument", "side", "entry_price")]

        # The preview, as the post will render.
        page.get_by_role("button", name="Preview").click()
        preview = page.locator("[data-preview-content]")
        expect(preview.locator("a.cashtag")).to_have_text("$BTC")
        seen["preview_mention"] = preview.locator("a.mention").inner_text()
        seen["axe"] += page.evaluate(SERIOUS_VIOLATIONS)  # the preview shown, the fill picker open
        page.screenshot(path=str(SCREENSHOTS / "compose-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        seen["overflow_390"] = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        page.screenshot(path=str(SCREENSHOTS / "compose-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.get_by_role("button", name="Publish", exact=True).click()
        expect(page.locator(".flash-message")).to_contain_text("Your post is live.")
        seen["card_on_post"] = page.locator(".trade-card").inner_text()
        seen["problems"] = problems
        return seen

    seen = browse(journey)

    assert seen["type_at_start"] == ""
    assert "Suggested:" in seen["suggestion"] and "Analysis" in seen["suggestion"]
    assert seen["type_after_use"] == "analysis"
    assert [text.split()[0] for text in seen["assets"]] == ["$BTC", "$BTT"] and seen["expanded"] == "true"
    assert seen["people"] == ["Albert\n@albert"] or seen["people"][0].replace("\n", " ") == "Albert @albert"
    assert seen["text"].endswith("Long $BTC with @albert on $ET")  # each inserted with a space after
    assert seen["card"] == ["BTC-USDT", "buy", "64100"]
    assert seen["preview_mention"] == "@albert"
    assert seen["overflow_390"] is False
    assert "Verified by exchange fills" in seen["card_on_post"]
    assert seen["problems"] == []
    assert seen["axe"] == []
    post = Post.objects.get(author=alice)
    assert post.content_type_id == "analysis" and post.trade_card.is_verified
    assert "$BTC with @albert" in post.body
    assert (SCREENSHOTS / "compose-1280.png").exists() and (SCREENSHOTS / "compose-390.png").exists()
