"""Charts drawn on the server: a `Chart` holds the numbers, `layout` turns it into SVG geometry, and
the `{% chart %}` tag (orbit/templatetags/charts.py) renders both the picture and a table of the
same numbers.

Why server-side SVG rather than a script: the numbers a creator or an operator sees are the numbers
a test reads (`Chart.rows()`), the page works under the CSP with no script at all, and the table is
the accessible form of every chart (and its CSV, `Chart.as_csv()`). Colours come from the stylesheet
(static/css/charts.css) through the classes `chart-s0` … `chart-s7`, so both themes apply.

Build charts in the selector modules that read the data (insights/creator_center.py,
insights/dashboard.py); keep them free of HTML.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.functional import Promise

Number = int | float | Decimal

KINDS = ("line", "bars", "stacked")
PALETTE_SIZE = 8  # charts.css defines --chart-1 … --chart-8

# The drawing area, in SVG user units (the SVG scales to its box; see charts.css for the sizes).
WIDTH, HEIGHT = 640, 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 16, 12, 36
MAX_X_LABELS = 7
TICKS = 4  # gaps between y-axis lines


@dataclass(frozen=True)
class Series:
    """One line or one set of bars: a value per label of its chart (None where there is none)."""

    name: str | Promise
    values: Sequence[Number | None]


@dataclass(frozen=True)
class Chart:
    """Numbers to draw. `labels` run along the x axis; each series has one value per label.

    kind: "line" (lines, gaps where a value is None), "bars" (grouped) or "stacked" (bars on top of
    each other; the axis reaches the tallest total). unit: "" for counts, "%" for values already in
    percent, or a currency code for money (two decimals). `x_title`/`y_title` name the axes.
    """

    slug: str
    title: str | Promise
    labels: Sequence[str]
    series: Sequence[Series]
    kind: str = "line"
    unit: str = ""
    description: str | Promise = ""
    x_title: str | Promise = ""
    y_title: str | Promise = ""
    decimals: int | None = None  # places shown; by default 2 for money and %, 0 for counts

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        for series in self.series:
            if len(series.values) != len(self.labels):
                raise ValueError(
                    f"series {series.name!s} has {len(series.values)} values for {len(self.labels)} labels"
                )

    @property
    def is_empty(self) -> bool:
        return not self.labels or all(value is None for series in self.series for value in series.values)

    def rows(self) -> list[list]:
        """[label, value of series 0, value of series 1, …] per label: what the table shows."""
        return [[label, *(series.values[index] for series in self.series)] for index, label in enumerate(self.labels)]

    def column(self, name: str) -> list[Number | None]:
        """The values of the series called `name` (tests compare them with direct queries)."""
        for series in self.series:
            if str(series.name) == name:
                return list(series.values)
        raise KeyError(name)

    def places(self) -> int:
        if self.decimals is not None:
            return self.decimals
        return 0 if self.unit == "" else 2

    def format(self, value: Number | None) -> str:
        """A value the reader's way: 12,345 · 12.5% · 1,250.00 USDT; "—" for none."""
        if value is None:
            return "—"
        shown = grouped(value, self.places())
        if self.unit == "%":
            return f"{shown}%"
        return f"{shown} {self.unit}" if self.unit else shown

    def as_csv(self) -> str:
        """The table as CSV: plain numbers (a dot for decimals, no grouping) for spreadsheets."""
        out = io.StringIO()
        writer = csv.writer(out)
        # Series names can be operators' text (content-type names): as unsafe as any label.
        writer.writerow([safe_cell(self.x_title or ""), *(safe_cell(series.name) for series in self.series)])
        for row in self.rows():
            writer.writerow([safe_cell(row[0]), *("" if value is None else str(value) for value in row[1:])])
        return out.getvalue()


def grouped(value: Number, places: int) -> str:
    """`value` rounded half up to `places` decimals, digits grouped the reader's way: 12,345.68.
    (number_format alone cuts extra decimals off instead of rounding them.)"""
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number_format(rounded, decimal_pos=places, use_l10n=True, force_grouping=True)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage
    return) is a formula to Excel and LibreOffice, so it gets a leading apostrophe (OWASP)."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- Geometry -----------------------------------------------------------------------------


@dataclass
class Tick:
    y: float
    text: str


@dataclass
class XLabel:
    x: float
    text: str
    anchor: str = "middle"


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    tip: str


@dataclass
class Point:
    x: float
    y: float
    tip: str


@dataclass
class Line:
    series: int
    segments: list[str]  # polyline "x,y x,y" strings, one per run of values without a gap
    points: list[Point]


@dataclass
class Layout:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = MARGIN_LEFT
    right: int = WIDTH - MARGIN_RIGHT
    top: int = MARGIN_TOP
    bottom: int = HEIGHT - MARGIN_BOTTOM
    tick_x: int = MARGIN_LEFT - 8  # where the y axis' numbers end
    label_y: int = HEIGHT - MARGIN_BOTTOM + 22  # the x axis' labels' baseline
    ticks: list[Tick] = field(default_factory=list)
    x_labels: list[XLabel] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


def nice_step(value: float, *, whole: bool) -> float:
    """The smallest 1, 2, 2.5 or 5 times 10^k at or above `value`: the gap between two y-axis lines.
    Counts (`whole`) step by whole numbers, never 2.5."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if whole and step == 2.5:
            continue
        if value <= step * power * (1 + 1e-9):
            return max(step * power, 1.0) if whole else step * power
    return 10 * power


def layout(chart: Chart) -> Layout:
    """Where everything goes, in SVG user units. The y axis starts at 0 (every chart here counts
    something non-negative) and ends at a round number at or above the largest value or stack."""
    result = Layout()
    count = len(chart.labels)
    if not count:
        return result
    values = [float(v) for s in chart.series for v in s.values if v is not None]
    if chart.kind == "stacked":
        totals = [sum(float(s.values[i] or 0) for s in chart.series) for i in range(count)]
        high, low = max(totals, default=0.0), min(totals, default=0.0)
    else:
        high, low = max(values, default=0.0), min(values, default=0.0)
    high, low = max(high, 0.0), min(low, 0.0)  # zero is always on the axis
    whole = chart.unit == "" and not chart.decimals
    step = nice_step((high - low) / TICKS, whole=whole)
    bottom_value = math.floor(low / step) * step
    while bottom_value + step * TICKS < high:  # flooring the bottom can leave the top short
        step = nice_step(step * 1.01, whole=whole)
        bottom_value = math.floor(low / step) * step
    span = step * TICKS
    plot_height = result.bottom - result.top
    plot_width = result.right - result.left

    def y_of(value: float) -> float:
        return round(result.bottom - plot_height * (value - bottom_value) / span, 2)

    for number in range(TICKS + 1):
        tick_value = bottom_value + step * number
        result.ticks.append(Tick(y=y_of(tick_value), text=_tick_text(chart, tick_value, step)))

    slot = plot_width / count
    centre = [result.left + slot * (index + 0.5) for index in range(count)]
    shown = _label_indexes(count)
    result.x_labels = [XLabel(x=round(centre[i], 2), text=str(chart.labels[i])) for i in shown]

    if chart.kind == "line":
        for number, series in enumerate(chart.series):
            segments: list[str] = []
            run: list[str] = []
            points: list[Point] = []
            for index, value in enumerate(series.values):
                if value is None:
                    if run:
                        segments.append(" ".join(run))
                    run = []
                    continue
                x, y = round(centre[index], 2), y_of(float(value))
                run.append(f"{x},{y}")
                points.append(Point(x=x, y=y, tip=_tip(chart, series, index, value)))
            if run:
                segments.append(" ".join(run))
            result.lines.append(Line(series=number % PALETTE_SIZE, segments=segments, points=points))
        return result

    inner = slot * 0.8
    if chart.kind == "bars":
        width = inner / max(len(chart.series), 1)
        for number, series in enumerate(chart.series):
            for index, value in enumerate(series.values):
                if value is None:
                    continue
                x = centre[index] - inner / 2 + number * width
                end, zero = y_of(float(value)), y_of(0.0)
                result.bars.append(
                    Bar(
                        x=round(x, 2),
                        y=min(end, zero),
                        width=round(width, 2),
                        height=round(abs(zero - end), 2),
                        series=number % PALETTE_SIZE,
                        tip=_tip(chart, series, index, value),
                    )
                )
        return result

    for index in range(count):  # stacked (counts that add up: never negative)
        base = 0.0
        for number, series in enumerate(chart.series):
            value = series.values[index]
            if not value:
                continue
            lower, upper = y_of(base), y_of(base + float(value))
            base += float(value)
            result.bars.append(
                Bar(
                    x=round(centre[index] - inner / 2, 2),
                    y=upper,
                    width=round(inner, 2),
                    height=round(lower - upper, 2),
                    series=number % PALETTE_SIZE,
                    tip=_tip(chart, series, index, value),
                )
            )
    return result


def _tick_text(chart: Chart, value: float, step: float) -> str:
    """An axis number, short: no currency (the axis title names it) and decimals only when the
    lines fall between whole numbers."""
    places = 0 if step == int(step) else 1 if step * 10 == int(step * 10) else 2
    shown = grouped(value, places)
    return f"{shown}%" if chart.unit == "%" else shown


def _tip(chart: Chart, series: Series, index: int, value: Number) -> str:
    return f"{chart.labels[index]} · {series.name}: {chart.format(value)}"


def _label_indexes(count: int) -> list[int]:
    """Up to MAX_X_LABELS labels a fixed number of slots apart (so no two crowd each other),
    starting with the first; the last label takes the place of the last one shown when it would
    otherwise be missing."""
    if count <= MAX_X_LABELS:
        return list(range(count))
    step = math.ceil((count - 1) / (MAX_X_LABELS - 1))
    shown = list(range(0, count, step))
    if shown[-1] != count - 1:
        shown[-1] = count - 1
    return shown


# --- Helpers for the selectors --------------------------------------------------------------


def gini(amounts: Sequence[Number]) -> float | None:
    """The Gini coefficient of non-negative amounts: 0 when all are equal, towards 1 when one takes
    everything. None for no amounts or a zero total."""
    values = sorted(float(a) for a in amounts)
    total = sum(values)
    if not values or total <= 0:
        return None
    count = len(values)
    weighted = sum((index + 1) * value for index, value in enumerate(values))
    return (2 * weighted) / (count * total) - (count + 1) / count


def lorenz(amounts: Sequence[Number], *, points: int = 11) -> list[tuple[float, float]]:
    """(share of people, share of the money they hold), poorest first, at `points` evenly spaced
    shares of people from 0 to 1; between two people the curve is interpolated linearly."""
    values = sorted(float(a) for a in amounts)
    total = sum(values)
    if not values or total <= 0:
        return []
    cumulative = [0.0]
    for value in values:
        cumulative.append(cumulative[-1] + value)
    curve = []
    for step in range(points):
        share = step / (points - 1)
        position = share * len(values)
        lower = math.floor(position)
        upper = min(lower + 1, len(values))
        fraction = position - lower
        held = cumulative[lower] + (cumulative[upper] - cumulative[lower]) * fraction
        curve.append((share, held / total))
    return curve
