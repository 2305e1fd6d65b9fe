"""Every price the seeded demo quotes agrees with the seeded candles.

A post's text quotes its asset's price at the moment it was written (the close of the hourly bar
that holds created_at, give or take 2%) and levels a sensible distance away on the right side; a
trade card's entry is the price its post quotes and a price the market traded at; a call starts
at the close and aims a few percent away. In both languages.
"""

import re
import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from demo.posts import quoted_price
from demo.tables import TEMPLATES
from feed.cashtags import cashtags_in
from feed.models import Call, Post, TradeCard
from markets import market_data
from markets.models import Candle

pytestmark = pytest.mark.django_db

ANCHOR = datetime(2026, 3, 1, 12, tzinfo=UTC)
NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"  # 96,120 or 0.3215
LEVELS = ("s1", "r1", "tp", "sl")
SHORT = re.compile(r"\bshort\b|空单", re.IGNORECASE)


@pytest.fixture
def seeded():
    call_command(
        "seed_demo", "--users=200", "--posts=1500", "--events=3000", "--seed=11", f"--anchor={ANCHOR.isoformat()}"
    )


def template_pattern(template: str) -> re.Pattern:
    """The template as a regex: prices as named groups (a repeated one must repeat), the rest loose."""
    parts, seen = [], set()
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in seen:
            parts.append(f"(?P={field})")
        elif field in ("p", *LEVELS):
            parts.append(f"(?P<{field}>{NUMBER})")
        elif field in ("a", "b"):
            parts.append(f"(?P<{field}>[A-Z0-9]+)")
        else:
            parts.append(".+?")
        seen.add(field)
    return re.compile("".join(parts))


PATTERNS = {
    key: [(template, template_pattern(template)) for template in templates] for key, templates in TEMPLATES.items()
}


def number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def closes_at_posts(posts) -> dict[int, Decimal]:
    """The close of the bar holding each post's created_at, for its first cashtag (one query)."""
    wanted = {(cashtags_in(post.body)[0], post.created_at.replace(minute=0, second=0, microsecond=0)) for post in posts}
    bars = Candle.objects.filter(
        instrument__in={market_data.instrument_for(symbol) for symbol, _hour in wanted},
        bar=market_data.BAR,
        opened_at__in={hour for _symbol, hour in wanted},
    ).values_list("instrument", "opened_at", "close")
    close = {(instrument.split("-")[0], opened_at): price for instrument, opened_at, price in bars}
    return {
        post.pk: close.get((cashtags_in(post.body)[0], post.created_at.replace(minute=0, second=0, microsecond=0)))
        for post in posts
    }


def priced_posts() -> list[Post]:
    posts = [post for post in Post.objects.order_by("pk") if cashtags_in(post.body)]
    closes = closes_at_posts(posts)
    for post in posts:
        post.close = closes[post.pk]
    return [post for post in posts if post.close is not None]  # stablecoins have no candles


def quoted_prices(post: Post) -> tuple[str, dict[str, str]] | None:
    """(template, {field: number text}) of the template the post's body was written from."""
    content_type = post.content_type_id if isinstance(post.content_type_id, str) else post.content_type.slug
    for template, pattern in PATTERNS[content_type, post.language]:
        match = pattern.search(post.body)
        if match:
            return template, {field: text for field, text in match.groupdict().items() if field in ("p", *LEVELS)}
    return None


def test_the_price_a_post_quotes_is_within_two_percent_of_the_candle_close_when_it_was_written(seeded):
    checked = {"en": 0, "zh": 0}
    wrong = []
    for post in priced_posts():
        quoted = quoted_prices(post)
        if quoted is None or "p" not in quoted[1]:
            continue
        price = number(quoted[1]["p"])
        checked[post.language] += 1
        if abs(price - post.close) > post.close * Decimal("0.02"):
            wrong.append((post.pk, post.language, quoted[1]["p"], post.close))
    assert checked["en"] > 20 and checked["zh"] > 10, checked
    assert wrong == [], f"{len(wrong)} posts quote a price more than 2% from the close, e.g. {wrong[:5]}"


def test_levels_in_a_post_are_a_sensible_distance_from_the_close_and_on_the_right_side(seeded):
    checked = {"en": 0, "zh": 0}
    wrong = []
    for post in priced_posts():
        quoted = quoted_prices(post)
        if quoted is None:
            continue
        template, prices = quoted
        short = bool(SHORT.search(template))
        for field, text in prices.items():
            if field == "p":
                continue
            distance = (number(text) - post.close) / post.close
            # Supports and stops below the price (a short's stop above, its target below), the rest above.
            below = field == "s1" or (field == "sl" and not short) or (field == "tp" and short)
            if below:
                distance = -distance
            checked[post.language] += 1
            if not Decimal("0.005") <= distance <= Decimal("0.15"):
                wrong.append((post.pk, field, text, post.close))
    assert checked["en"] > 50 and checked["zh"] > 20, checked
    assert wrong == [], f"{len(wrong)} levels out of place, e.g. {wrong[:5]}"


def price_like_numbers(body: str, close: Decimal) -> list[Decimal]:
    """Numbers of the body written like a price of an asset at `close`: not a percentage, a multiple
    or an amount, with decimals below 1,000 (as the seed writes prices), within a factor 2 of close."""
    found = []
    for match in re.finditer(rf"(?<![\w.,])(?>{NUMBER})(?![\d%]|\s?[xX倍亿M天]|-day)", body):
        text = match.group()
        value = number(text)
        if close < 1000 and "." not in text:
            continue
        if close / 2 <= value <= close * 2:
            found.append(value)
    return found


def test_every_price_like_number_in_a_post_is_within_fifteen_percent_of_the_close(seeded):
    """Without the templates: any number that looks like the asset's price is near its price."""
    numbers = 0
    wrong = []
    for post in priced_posts():
        for value in price_like_numbers(post.body, post.close):
            numbers += 1
            if abs(value - post.close) > post.close * Decimal("0.15"):
                wrong.append((post.body, value, post.close))
    assert numbers > 200
    assert wrong == [], f"{len(wrong)} price-like numbers far from the close, e.g. {wrong[:5]}"


def test_a_trade_cards_entry_is_the_price_its_post_quotes_and_one_the_market_traded_at(seeded):
    cards = list(TradeCard.objects.select_related("post", "post__content_type"))
    assert len(cards) > 20
    languages = set()
    for card in cards:
        post = card.post
        close = market_data.price_at(card.base_asset, post.created_at)
        assert abs(card.entry_price - close) <= close * Decimal("0.02"), (post.pk, card.entry_price, close)
        quoted = quoted_prices(post)
        if quoted and "p" in quoted[1]:
            assert quoted[1]["p"] == quoted_price(float(card.entry_price)), (post.body, card.entry_price)
            languages.add(post.language)
        # A price inside the range of one hourly bar in the day before the post.
        assert Candle.objects.filter(
            instrument=card.base_asset + "-USDT",
            opened_at__gte=post.created_at - timedelta(hours=25),
            opened_at__lte=post.created_at - timedelta(hours=1),
            low__lte=card.entry_price,
            high__gte=card.entry_price,
        ).exists()
        # What the card shows as its exit or mark comes from the author's fills and the candles.
        for fill in card.fills.all():
            assert Candle.objects.filter(
                instrument=card.base_asset + "-USDT",
                opened_at__lte=fill.filled_at,
                opened_at__gt=fill.filled_at - timedelta(hours=1),
                low__lte=fill.price,
                high__gte=fill.price,
            ).exists()
    assert languages == {"en", "zh"}


def test_a_call_starts_at_the_close_when_it_was_made_and_aims_a_sensible_distance_away(seeded):
    calls = list(Call.objects.select_related("asset", "post"))
    assert len(calls) > 10
    assert {call.post.language for call in calls} == {"en", "zh"}
    for call in calls:
        assert call.entry_price == market_data.price_at(call.asset.symbol, call.made_at)
        distance = (call.target_price - call.entry_price) / call.entry_price
        assert Decimal("0.029") < (distance if call.direction == "up" else -distance) < Decimal("0.151")
