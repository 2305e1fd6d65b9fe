"""The site and the admin in Simplified Chinese, read by a real Chromium: no English left on the main
pages a Chinese reader or operator opens, numbers grouped (96,000) and dates the Chinese way (12月7日)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from feed.calls import CallInput
from feed.models import Call, Engagement, Post
from feed.services import comment_on_post, like_post, publish_post, report_post
from incentives import settlement
from incentives.models import Settlement
from incentives.weeks import Week
from markets.models import Asset
from tests.factories import UserFactory, a_day_of_candles
from tests.security.helpers import activate_totp, totp_code

from .conftest import FACTORY_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Latin words a Chinese page may show: brands, tickers, formats and units, and this test's usernames
# (display names are Chinese). Compared case-insensitively: admin's CSS upper-cases some headings.
ALLOWED = {
    word.lower()
    for word in [
        *["Orbit", "Bitcoin", "BTC", "USDT"],
        # The chart library's attribution, which its licence asks for by name.
        *["TradingView", "Lightweight", "Charts"],
        "K",  # K线: Chinese for a candlestick chart
        *["API", "TOTP", "KYC", "ID", "ISO", "JSON", "CSV", "UTC", "Markdown", "MB", "JPEG", "PNG", "GIF", "WebP"],
        *["chen_trader", "li_reader", "ops_wang"],
    ]
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’]*")
# Data, not interface: the test users' e-mail addresses and ISO week labels (2026-W48).
DATA = re.compile(r"\S+@example\.com|\b\d{4}-W\d{2}\b")

PAGES = [
    "/",
    "/latest/",
    "/for-you/",
    "/posts/{post}/",
    "/assets/BTC/",
    "/@chen_trader/",
    "/compose/",
    "/earnings/",
    "/creator/",
    "/notifications/",
    "/search/?q=比特币",
    "/settings/profile/",
]
ADMIN_PAGES = [
    "/admin/",
    "/admin/feed/post/",
    "/admin/feed/report/",
    "/admin/ranking/contenttypeweight/",
    "/admin/incentives/settlement/",
    "/admin/incentives/settlement/{settlement}/change/",
    "/admin/incentives/payout/",
    "/admin/creators/user/",
]


def english_words(text: str) -> list[str]:
    return sorted({word for word in WORD.findall(DATA.sub(" ", text)) if word.lower() not in ALLOWED})


def _community(now):
    """A Chinese-speaking community: a creator with a price call and a busy post, a reader, an operator."""
    Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})
    a_day_of_candles("BTC-USDT", close=Decimal(96_000), step=Decimal(10), spread=Decimal(50), now=now)
    chen = UserFactory(username="chen_trader", profile__display_name="老陈")
    reader = UserFactory(username="li_reader", profile__display_name="小李")
    operator = UserFactory(username="ops_wang", profile__display_name="王运营", is_staff=True, is_superuser=True)
    secret = activate_totp(operator)

    busy = publish_post(author=chen, body="比特币站稳周线开盘价，$BTC 下一步看十万。", content_type="analysis")
    for n in range(51):  # one more than a page, so "More comments" shows
        comment_on_post(author=reader, post_id=busy.pk, body=f"同意，第{n + 1}条评论")
    like_post(user=reader, post_id=busy.pk)
    report_post(reporter=reader, post_id=busy.pk, reason="spam", details="刷屏")  # the moderation queue has a row
    Post.objects.filter(pk=busy.pk).update(like_count=1_234)  # a count that needs a separator
    publish_post(
        author=chen,
        body="我认为 $BTC 一周内到 100000。",
        content_type="analysis",
        call=CallInput(asset="BTC", direction="up", target_price="100000", horizon_days=7),
    )
    # Last week's post, liked then: settled, it gives the settlement and payout changelists rows.
    last_week = Week.containing(now).previous()
    old = publish_post(author=chen, body="上周复盘：仓位控制最重要。", content_type="education")
    Post.objects.filter(pk=old.pk).update(created_at=last_week.starts_at + timedelta(hours=1))
    Engagement.objects.create(
        actor=reader,
        post=old,
        creator_id=chen.pk,
        kind=Engagement.Kind.LIKE,
        occurred_at=last_week.starts_at + timedelta(hours=2),
    )
    drafted = settlement.draft_settlement(week=last_week).settlement
    settlement.approve_settlement(settlement_id=drafted.pk, by=None)
    return busy, secret, last_week.starts_at + timedelta(hours=1)


def _sign_in(page, username: str, *, secret: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", FACTORY_PASSWORD)
    page.locator("form:has(#id_login) [type=submit]").click()
    page.wait_for_load_state()
    if secret:
        page.fill("input[name=code]", totp_code(secret))
        page.locator("form:has(input[name=code]) [type=submit]:not([form])").click()
        page.wait_for_load_state()


def _read(page, paths) -> dict[str, str]:
    texts = {}
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, f"{path}: {response.status}"
        texts[path] = page.evaluate("document.body.innerText")
    return texts


def test_a_chinese_reader_and_operator_see_no_english_and_chinese_numbers_and_dates(browse, live_server, now):
    busy, secret, last_week_post_at = _community(now)
    horizon = Call.objects.get().horizon_at
    settlement_id = Settlement.objects.get().pk
    pages = [path.format(post=busy.pk) for path in PAGES]
    chinese = {"name": "django_language", "value": "zh-hans", "url": live_server.url}

    def visit(page):
        page.context.add_cookies([chinese])
        _sign_in(page, "chen_trader")
        seen = _read(page, pages)
        page.context.clear_cookies()
        page.context.add_cookies([chinese])
        _sign_in(page, "ops_wang", secret=secret)
        seen.update(_read(page, [path.format(settlement=settlement_id) for path in ADMIN_PAGES]))
        return seen

    seen = browse(visit)

    leftovers = {path: english_words(text) for path, text in seen.items()}
    assert {path: words for path, words in leftovers.items() if words} == {}
    post_page = seen[f"/posts/{busy.pk}/"]
    assert "更多评论" in post_page and "1,234" in post_page
    assert "96,000" in seen["/assets/BTC/"]
    # A week-old post is dated the Chinese way, a fresh one is "刚刚"; a call's horizon reads
    # "在12月11日前涨到", not "在 11 十二月 前".
    assert f"{last_week_post_at.month}月{last_week_post_at.day}日" in seen["/@chen_trader/"]
    assert "刚刚" in seen["/latest/"]
    assert f"在{horizon.month}月{horizon.day}日前涨到 100,000" in seen["/latest/"]
