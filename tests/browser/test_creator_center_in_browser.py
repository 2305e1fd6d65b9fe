"""The creator center in a real Chromium: from the left rail to the 7-day charts, whose pictures and
tables show the seeded figures, a post table sorted by views, and screenshots in English and Chinese."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from tests.browser.conftest import sign_in
from tests.insights.test_creator_center import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}


def _point_values(page, chart: str, series: int) -> list[int]:
    """The values in the SVG's point tooltips ("Dec 5 · Views: 12"), left to right."""
    tips = page.locator(f"#chart-{chart} .chart-series.chart-s{series} circle title").all_text_contents()
    return [int(tip.rsplit(": ", 1)[1].replace(",", "")) for tip in tips]


def _table_values(page, chart: str) -> list[list[int]]:
    """The "Show the numbers" table of a chart: one list of values per day."""
    page.locator(f"#chart-{chart} .chart-numbers summary").click()
    rows = page.locator(f"#chart-{chart} .chart-numbers tbody tr")
    return [
        [int(cell.replace(",", "")) for cell in rows.nth(index).locator("td").all_text_contents()]
        for index in range(rows.count())
    ]


def test_a_creator_reads_the_week_in_charts_and_sorts_posts_by_views(browse, live_server, now):
    world = World(now, creator_name="writer")
    world.paid_week(Decimal("1234.50"))
    expected = world.per_day(7)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chinese = {"name": "django_language", "value": "zh-hans", "url": live_server.url}

    def read(page):
        page.set_viewport_size(DESKTOP)
        sign_in(page, "writer", "/")
        page.locator(".siderail a.rail-link", has_text="Creator center").click()
        page.wait_for_url("**/creator/")
        seen = {"h1": page.locator("h1").inner_text()}
        page.locator(".cc-periods a", has_text="Last 7 days").click()
        page.wait_for_url("**/creator/?days=7")
        seen["current"] = page.locator(".cc-periods a[aria-current=page]").inner_text()
        seen["svg_views"] = _point_values(page, "reach", 0)
        seen["svg_readers"] = _point_values(page, "reach", 1)
        seen["svg_followers"] = _point_values(page, "followers", 0)
        seen["reach_table"] = _table_values(page, "reach")
        seen["interactions_table"] = _table_values(page, "interactions")
        seen["followers_table"] = _table_values(page, "followers")
        page.screenshot(path=SCREENSHOTS / "creator-center-en-light-1280.png", full_page=True)
        page.locator("th.cc-views a.cc-sort").click()
        page.wait_for_url("**sort=-views**")
        seen["aria_sort"] = page.locator("th.cc-views").get_attribute("aria-sort")
        seen["sorted_views"] = [
            int(text.replace(",", "")) for text in page.locator("td[data-column=views]").all_text_contents()
        ]
        page.context.add_cookies([chinese])
        page.goto("/creator/?days=7")
        seen["zh_h1"] = page.locator("h1").inner_text()
        seen["zh_lang"] = page.locator("html").get_attribute("lang")
        page.screenshot(path=SCREENSHOTS / "creator-center-zh-hans-light-1280.png", full_page=True)
        # A phone of 320 px: the page does not scroll sideways (charts and tables scroll in their
        # boxes), and the period, sort and download links are at least 44 px tall.
        page.set_viewport_size({"width": 320, "height": 640})
        page.goto("/creator/?days=7")
        seen["phone_overflow"] = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        seen["phone_targets"] = page.evaluate(
            """[...document.querySelectorAll('.cc-periods a, .cc-sort, .cc-link, .chart-numbers summary')]
                .map(link => Math.round(link.getBoundingClientRect().height))"""
        )
        return seen

    seen = browse(read)

    assert seen["h1"] == "Creator center"
    assert seen["current"] == "Last 7 days"
    assert seen["svg_views"] == expected["Views"]
    assert seen["svg_readers"] == expected["Readers"]
    assert seen["svg_followers"] == expected["Followers"]
    assert seen["reach_table"] == [list(pair) for pair in zip(expected["Views"], expected["Readers"], strict=True)]
    assert seen["interactions_table"] == [
        list(triple) for triple in zip(expected["Likes (net)"], expected["Comments"], expected["Shares"], strict=True)
    ]
    assert seen["followers_table"] == [[value] for value in expected["Followers"]]
    assert seen["aria_sort"] == "descending"
    assert seen["sorted_views"] == sorted(seen["sorted_views"], reverse=True)
    assert len(seen["sorted_views"]) == len(world.posts)
    assert seen["zh_lang"] == "zh-hans"
    assert seen["phone_overflow"] <= 0
    assert seen["phone_targets"] and min(seen["phone_targets"]) >= 44
    assert (SCREENSHOTS / "creator-center-en-light-1280.png").exists()
    assert (SCREENSHOTS / "creator-center-zh-hans-light-1280.png").exists()
