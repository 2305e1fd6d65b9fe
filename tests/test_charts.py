"""orbit/charts.py: the geometry matches the numbers, the table and CSV carry them exactly, the
Gini and Lorenz helpers agree with hand computations, and every series colour is visible on its page."""

import csv
import io
import itertools
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from orbit.charts import Chart, Series, gini, layout, lorenz, nice_step, safe_cell

CHARTS_CSS = (Path(settings.BASE_DIR) / "static" / "css" / "charts.css").read_text()
ORBIT_CSS = (Path(settings.BASE_DIR) / "static" / "orbit.css").read_text()


def _chart(**overrides) -> Chart:
    values = {
        "slug": "views",
        "title": "Views",
        "labels": ["Mon", "Tue", "Wed", "Thu"],
        "series": [Series("views", [10, 40, None, 20]), Series("likes", [1, 4, 2, 0])],
    }
    return Chart(**{**values, **overrides})


def test_a_series_must_have_one_value_per_label():
    with pytest.raises(ValueError, match="has 2 values for 4 labels"):
        _chart(series=[Series("views", [1, 2])])
    with pytest.raises(ValueError, match="kind must be one of"):
        _chart(kind="pie")


def test_line_points_sit_at_their_values_and_a_missing_value_breaks_the_line():
    chart = _chart()
    geometry = layout(chart)
    top = geometry.ticks[-1]
    assert [tick.text for tick in geometry.ticks] == ["0", "10", "20", "30", "40"]
    assert top.y == geometry.top and geometry.ticks[0].y == geometry.bottom
    views = geometry.lines[0]
    assert len(views.segments) == 2  # Mon–Tue, then Thu alone after the gap
    assert [point.tip for point in views.points] == ["Mon · views: 10", "Tue · views: 40", "Thu · views: 20"]
    height = geometry.bottom - geometry.top
    assert views.points[1].y == geometry.top  # 40 is the top of the axis
    assert views.points[0].y == pytest.approx(geometry.bottom - height * 10 / 40)


def test_stacked_bars_reach_each_labels_total():
    chart = _chart(kind="stacked", series=[Series("a", [1, 2, 3, 0]), Series("b", [3, 2, 0, 0])])
    geometry = layout(chart)
    tallest = {}
    for bar in geometry.bars:
        tallest[bar.x] = min(tallest.get(bar.x, geometry.bottom), bar.y)
    heights = sorted(round(geometry.bottom - y, 2) for y in tallest.values())
    unit = (geometry.bottom - geometry.top) / 4  # the axis tops at 4
    assert heights == [round(3 * unit, 2), round(4 * unit, 2), round(4 * unit, 2)]
    assert len(geometry.bars) == 5  # zeros draw nothing


def test_axis_steps_are_round_numbers():
    assert nice_step(2.25, whole=True) == 5
    assert nice_step(0.3, whole=True) == 1
    assert nice_step(0.3, whole=False) == 0.5
    assert nice_step(2.2, whole=False) == 2.5
    assert nice_step(0, whole=True) == 1


def test_values_read_the_readers_way_in_both_languages():
    money = _chart(unit="USDT", series=[Series("paid", [Decimal("12345.5"), None, 0, 1])])
    assert money.format(Decimal("12345.5")) == "12,345.50 USDT"
    assert money.format(None) == "—"
    assert _chart(unit="%").format(12.346) == "12.35%"
    with translation.override("zh-hans"):
        assert _chart().format(1234567) == "1,234,567"


def test_the_tag_renders_the_picture_and_a_table_of_the_same_numbers():
    chart = _chart(x_title="Day", description="Views and likes per day")
    html = Template("{% load charts %}{% chart chart csv_url='/x.csv' %}").render(Context({"chart": chart}))
    assert 'role="img"' in html and "Views and likes per day" in html
    cells = re.findall(r'<td class="number">([^<]*)</td>', html)
    assert cells == ["10", "1", "40", "4", "—", "2", "20", "0"]
    assert 'href="/x.csv"' in html
    assert "style=" not in html  # the CSP allows no inline style


def test_an_empty_chart_says_so_instead_of_drawing_axes():
    chart = _chart(series=[Series("views", [None, None, None, None])])
    html = Template("{% load charts %}{% chart chart %}").render(Context({"chart": chart}))
    assert "Nothing to show for this period yet." in html and "<svg" not in html


def test_the_csv_has_plain_numbers_and_inert_text():
    chart = _chart(labels=["=cmd()", "Tue", "Wed", "Thu"], x_title="Day")
    rows = list(csv.reader(io.StringIO(chart.as_csv())))
    assert rows[0] == ["Day", "views", "likes"]
    assert rows[1] == ["'=cmd()", "10", "1"]
    assert rows[3] == ["Wed", "", "2"]
    assert safe_cell("-12.5") == "-12.5" and safe_cell("+cmd") == "'+cmd" and safe_cell("@x") == "'@x"


def test_gini_and_lorenz_match_hand_computations():
    assert gini([5, 5, 5, 5]) == pytest.approx(0)
    assert gini([0, 0, 0, 12]) == pytest.approx(0.75)  # (n-1)/n when one holds everything
    # 1, 2, 3, 4: mean absolute difference 1.25 over twice the mean 2.5 → 0.25
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)
    assert gini([]) is None and gini([0, 0]) is None
    curve = lorenz([1, 2, 3, 4], points=5)
    assert [x for x, _y in curve] == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    assert [y for _x, y in curve] == pytest.approx([0, 0.1, 0.3, 0.6, 1])
    # Between two people the curve is a straight line.
    assert lorenz([1, 3], points=5)[1] == pytest.approx((0.25, 0.125))


def _luminance(colour: str) -> float:
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(channel):
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def _contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _tokens(block: str) -> dict[str, str]:
    return dict(re.findall(r"(--[a-z0-9-]+):\s*(#[0-9a-f]{6})", block))


@pytest.mark.parametrize(
    ("theme", "chart_block", "page_block"),
    [
        ("light", r":root\s*\{([^}]*)\}", r":root\s*\{([^}]*)\}"),
        ("dark", r'html\[data-theme="dark"\]\s*\{([^}]*)\}', r'html\[data-theme="dark"\]\s*\{([^}]*)\}'),
    ],
)
def test_every_series_colour_stands_out_three_to_one_on_its_pages(theme, chart_block, page_block):
    palette = _tokens(re.search(chart_block, CHARTS_CSS).group(1))
    page = _tokens(re.search(page_block, ORBIT_CSS).group(1))
    # Site pages (--bg, --card) and Django admin's own backgrounds (white; #121212 dark).
    backgrounds = [page["--bg"], page["--card"], "#ffffff" if theme == "light" else "#121212"]
    assert len(palette) == 8
    weak = [
        (name, colour, background, round(_contrast(colour, background), 2))
        for name, colour in palette.items()
        for background in backgrounds
        if _contrast(colour, background) < 3
    ]
    assert weak == []


def test_a_negative_value_gets_room_below_zero_and_its_bar_hangs_from_zero():
    chart = _chart(kind="bars", series=[Series("net likes", [3, -1, 0, 2])])
    geometry = layout(chart)
    assert [tick.text for tick in geometry.ticks] == ["-1", "0", "1", "2", "3"]
    zero = next(tick.y for tick in geometry.ticks if tick.text == "0")
    below = next(bar for bar in geometry.bars if bar.tip.startswith("Tue"))
    assert below.y == zero and below.y + below.height <= geometry.bottom
    above = next(bar for bar in geometry.bars if bar.tip.startswith("Mon"))
    assert above.y + above.height == pytest.approx(zero) and above.y >= geometry.top


def test_x_labels_keep_a_fixed_distance_and_end_on_the_last():
    labels = [f"2026-W{week}" for week in range(37, 49)]
    chart = _chart(labels=labels, series=[Series("paid", list(range(12)))])
    shown = [label.text for label in layout(chart).x_labels]
    assert shown[0] == "2026-W37" and shown[-1] == "2026-W48"
    indexes = [labels.index(text) for text in shown]
    assert min(later - earlier for earlier, later in itertools.pairwise(indexes)) >= 2
