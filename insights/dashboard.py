"""The operators' dashboard on admin's index: selectors that return charts (orbit.charts) and small
tables, grouped in sections, for templates/admin/index.html and the CSV downloads.

Each chart comes from one query (or the small rollup table ranking.ContentMixDay), so the page
costs the same number of queries whatever the data's size; the whole dashboard is cached for
CACHE_SECONDS per language (the names of content types and rules are the reader's), and the
queue health, which must be live, is read on every load (`queue_section`).

Days are UTC days; weeks are the settlements' ISO weeks.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from feed.models import PostType, Report
from incentives.models import IntegrityFlag, Payout, Settlement
from orbit import health, queues
from orbit.charts import Chart, Number, Series, gini, lorenz, safe_cell
from ranking.models import ContentMixDay, ContentTypeWeightChange

CACHE_SECONDS = 5 * 60
CACHE_KEY = "insights:dashboard:v1:{language}"
DAYS = 30  # the daily charts' window, today included
MIX_TABLE_DAYS = 7
WEEKS = 12  # the weekly charts' settlements
LORENZ_POINTS = 11  # every tenth of the creators
SETTLED = (Settlement.Status.APPROVED, Settlement.Status.PAID)


@dataclass(frozen=True)
class Table:
    """A small table: raw values in `rows` (the CSV has them as they are), shown formatted.
    `units` gives each column after the first its unit as in Chart ("" counts, "%", a currency,
    "h" hours, "text")."""

    slug: str
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    units: Sequence[str] = ()

    def formatted_rows(self) -> list[tuple[str, list[str]]]:
        return [
            (str(row[0]), [_format(value, unit) for value, unit in zip(row[1:], self.units, strict=True)])
            for row in self.rows
        ]

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([safe_cell(column) for column in self.columns])
        for row in self.rows:
            writer.writerow([safe_cell(value) for value in row])
        return out.getvalue()


@dataclass(frozen=True)
class Figure:
    """One number said in words beside a chart (the Gini coefficient, open reports)."""

    label: str
    value: str


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    link_url: str = ""
    link_text: str = ""


@dataclass(frozen=True)
class Dashboard:
    built_at: datetime
    sections: list[Section]

    def chart(self, slug: str) -> Chart:
        for section in self.sections:
            for chart in section.charts:
                if chart.slug == slug:
                    return chart
        raise KeyError(slug)

    def table(self, slug: str) -> Table:
        for section in self.sections:
            for table in section.tables:
                if table.slug == slug:
                    return table
        raise KeyError(slug)

    def export(self, slug: str) -> Chart | Table | None:
        """The chart or table a CSV download names, or None."""
        for finder in (self.chart, self.table):
            try:
                return finder(slug)
            except KeyError:
                continue
        return None


# --- The whole page -------------------------------------------------------------------------


def cached_dashboard(*, refresh: bool = False, now: datetime | None = None) -> Dashboard:
    """The dashboard from the cache, or built now (and cached) when missing or `refresh` asked.
    A cache that does not answer is a miss (orbit.resilience), never an error."""
    key = CACHE_KEY.format(language=get_language() or settings.LANGUAGE_CODE)
    if not refresh:
        cached = cache.get(key)
        if isinstance(cached, Dashboard):
            return cached
    dashboard = build_dashboard(now=now)
    cache.set(key, dashboard, CACHE_SECONDS)
    return dashboard


def build_dashboard(*, now: datetime | None = None) -> Dashboard:
    """Every cached section, from nine queries (named in tests/insights/test_dashboard.py)."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=offset) for offset in range(DAYS - 1, -1, -1)]
    types = list(PostType.objects.select_related("ranking_weight").order_by("position", "slug"))  # query 1
    return Dashboard(
        built_at=now,
        sections=[
            content_mix_section(types=types, days=days),  # query 2
            multiplier_section(types=types, days=days),  # query 3
            *money_sections(),  # queries 4, 5, 6
            reports_section(days=days, now=now),  # queries 7, 8, 9
        ],
    )


# --- 1. Content mix ---------------------------------------------------------------------------


def content_mix_section(*, types: list[PostType], days: list[date]) -> Section:
    """Each type's share of For You exposure per day, and supply and exposure against the target
    over the last week, from the ContentMixDay rollup (ranking.content_mix)."""
    rows = list(
        ContentMixDay.objects.filter(day__gte=days[0], day__lte=days[-1]).values_list(
            "day", "post_type_id", "posts", "impressions"
        )
    )
    impressions: dict[tuple[date, str], int] = defaultdict(int)
    posts: dict[tuple[date, str], float] = defaultdict(float)
    for day, slug, day_posts, day_impressions in rows:
        impressions[(day, slug)] += day_impressions
        posts[(day, slug)] += day_posts

    daily_totals = {day: sum(impressions[(day, t.slug)] for t in types) for day in days}
    shares = Chart(
        slug="mix_shares",
        title=_("For You exposure by content type"),
        description=_("Each content type's share of the items For You served per day (UTC), in percent."),
        labels=[_day_label(day) for day in days],
        series=[
            Series(
                name=str(post_type),
                values=[_percent(impressions[(day, post_type.slug)], daily_totals[day]) for day in days],
            )
            for post_type in types
        ],
        kind="line",
        unit="%",
        x_title=_("Day (UTC)"),
        y_title=_("Share of exposure"),
    )

    week = days[-MIX_TABLE_DAYS:]
    week_posts = {t.slug: sum(posts[(day, t.slug)] for day in week) for t in types}
    week_impressions = {t.slug: sum(impressions[(day, t.slug)] for day in week) for t in types}
    all_posts, all_impressions = sum(week_posts.values()), sum(week_impressions.values())
    names = [str(post_type) for post_type in types]
    targets = [_target_percent(post_type) for post_type in types]
    supply = [_percent(week_posts[post_type.slug], all_posts) for post_type in types]
    exposure = [_percent(week_impressions[post_type.slug], all_impressions) for post_type in types]
    against_target = Chart(
        slug="mix_week",
        title=_("Supply and exposure against the target, last 7 days"),
        description=_(
            "Per content type: the target share operators set, its share of the posts published "
            "(weighted by the tagger's confidence) and its share of For You exposure, in percent."
        ),
        labels=names,
        series=[
            Series(name=_("Target"), values=targets),
            Series(name=_("Supply"), values=supply),
            Series(name=_("Exposure"), values=exposure),
        ],
        kind="bars",
        unit="%",
        x_title=_("Content type"),
        y_title=_("Share"),
    )
    table = Table(
        slug="mix_table",
        title=_("Content mix of the last 7 days"),
        columns=[_("Content type"), _("Target %"), _("Supply %"), _("Exposure %")],
        rows=against_target.rows(),  # the same numbers, shown as a table and downloadable as its own CSV
        units=["%", "%", "%"],
    )
    return Section(
        slug="content-mix",
        title=_("Content supply and For You exposure"),
        charts=[shares, against_target],
        tables=[table],
    )


def _target_percent(post_type: PostType) -> float | None:
    weight = getattr(post_type, "ranking_weight", None)
    return None if weight is None else round(float(weight.target_share) * 100, 2)


def _percent(part: Number, whole: Number) -> float | None:
    return round(float(part) / float(whole) * 100, 2) if whole else None


# --- 2. The rebalance's multipliers -------------------------------------------------------------


def multiplier_section(*, types: list[PostType], days: list[date]) -> Section:
    """The multiplier each active type had at the end of each day: a step per change the daily
    rebalance (or an operator) made. Before the window's first change a type had that change's
    old value; a type without a change in the window has had its current multiplier throughout."""
    since = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)
    changes = list(
        ContentTypeWeightChange.objects.filter(field="multiplier", changed_at__gte=since)
        .order_by("changed_at", "pk")
        .values_list("weight_id", "old_value", "new_value", "changed_at")
    )
    by_type: dict[str, list[tuple[date, Decimal, Decimal]]] = defaultdict(list)
    for slug, old_value, new_value, changed_at in changes:
        by_type[slug].append((changed_at.astimezone(UTC).date(), Decimal(old_value), Decimal(new_value)))

    series = []
    for post_type in types:
        weight = getattr(post_type, "ranking_weight", None)
        if weight is None or not weight.is_active:
            continue
        steps = by_type.get(post_type.slug, [])
        value = steps[0][1] if steps else weight.multiplier
        values: list[Number | None] = []
        pending = iter(steps)
        step = next(pending, None)
        for day in days:
            while step is not None and step[0] <= day:
                value = step[2]
                step = next(pending, None)
            values.append(value)
        series.append(Series(name=str(post_type), values=values))
    chart = Chart(
        slug="multipliers",
        title=_("The daily rebalance's multipliers"),
        description=_("Each active content type's multiplier at the end of each day (UTC); 1 is neutral."),
        labels=[_day_label(day) for day in days],
        series=series,
        kind="line",
        decimals=2,
        x_title=_("Day (UTC)"),
        y_title=_("Multiplier"),
    )
    return Section(slug="multipliers", title=_("Content-type multipliers"), charts=[chart])


# --- 3 and 4. Money and integrity -------------------------------------------------------------


def money_sections() -> list[Section]:
    """Payouts, carry-over and the latest settled week's distribution (section 3); integrity flags
    by rule and held payouts (section 4); the last WEEKS settlements, a draft included."""
    currency = settings.ORBIT_PRIZE_POOL_CURRENCY
    held = Q(payouts__status=Payout.Status.HELD)
    weeks = list(
        Settlement.objects.annotate(
            held_amount=Sum("payouts__amount", filter=held), held_count=Count("payouts", filter=held)
        )
        .order_by("-week")
        .values("pk", "week", "status", "total_allocated", "carried_in", "carried_out", "held_amount", "held_count")[
            :WEEKS
        ]
    )[::-1]
    labels = [row["week"] for row in weeks]
    payouts = Chart(
        slug="payouts",
        title=_("Payouts per week"),
        description=_(
            "Per week: the money allocated to creators, carried to a later week and held for review; "
            "the newest week may still be a draft."
        ),
        labels=labels,
        series=[
            Series(name=_("Allocated"), values=[row["total_allocated"] for row in weeks]),
            Series(name=_("Carried out"), values=[row["carried_out"] for row in weeks]),
            Series(name=_("Held"), values=[row["held_amount"] or Decimal("0.00") for row in weeks]),
        ],
        kind="bars",
        unit=currency,
        x_title=_("Week"),
        y_title=currency,
    )
    carried = Chart(
        slug="carry_over",
        title=_("Carried-over money per week"),
        description=_("Money a week took over from earlier weeks, and money it passed on to a later week."),
        labels=labels,
        series=[
            Series(name=_("Carried in"), values=[row["carried_in"] for row in weeks]),
            Series(name=_("Carried out"), values=[row["carried_out"] for row in weeks]),
        ],
        kind="bars",
        unit=currency,
        x_title=_("Week"),
        y_title=currency,
    )

    latest_settled = Settlement.objects.filter(status__in=SETTLED).order_by("-week").values("pk")[:1]
    amounts = list(
        Payout.objects.filter(settlement_id=Subquery(latest_settled)).values_list("amount", "settlement__week")
    )
    settled_week = amounts[0][1] if amounts else ""
    curve = lorenz([amount for amount, _week in amounts], points=LORENZ_POINTS)
    coefficient = gini([amount for amount, _week in amounts])
    distribution = Chart(
        slug="lorenz",
        title=_("How the latest settled week's payouts were spread"),
        description=_(
            "Lorenz curve: the share of the money held by the lowest-paid share of the paid creators, "
            "against the line of equal shares."
        ),
        labels=[f"{round(share * 100)}%" for share, _held in curve],
        series=[
            Series(name=_("Payouts"), values=[round(held * 100, 2) for _share, held in curve]),
            Series(name=_("Equal shares"), values=[round(share * 100, 2) for share, _held in curve]),
        ],
        kind="line",
        unit="%",
        x_title=_("Share of paid creators"),
        y_title=_("Share of the money"),
    )
    figures = [
        Figure(label=_("Latest settled week"), value=settled_week or "—"),
        Figure(label=_("Creators paid"), value=_format(len(amounts), "")),
        Figure(
            label=_("Gini coefficient (0 equal, 1 one creator takes all)"),
            value="—" if coefficient is None else _format(coefficient, "ratio"),
        ),
    ]

    flags = list(
        IntegrityFlag.objects.filter(settlement_id__in=Settlement.objects.order_by("-week").values("pk")[:WEEKS])
        .values("settlement_id", "rule")
        .annotate(flags=Count("pk"))
        .order_by()
    )
    flag_counts = {(row["settlement_id"], row["rule"]): row["flags"] for row in flags}
    rules = [rule for rule in IntegrityFlag.Rule if any(rule.value == row["rule"] for row in flags)]
    flag_chart = Chart(
        slug="flags",
        title=_("Integrity flags per week by rule"),
        description=_("Flags each settlement raised, stacked by the rule that raised them."),
        labels=labels,
        series=[
            Series(name=str(rule.label), values=[flag_counts.get((row["pk"], rule.value), 0) for row in weeks])
            for rule in rules
        ],
        kind="stacked",
        x_title=_("Week"),
        y_title=_("Flags"),
    )
    holds = Chart(
        slug="holds",
        title=_("Held payouts per week"),
        description=_("Payouts still held for review, by the week that allocated them."),
        labels=labels,
        series=[Series(name=_("Held payouts"), values=[row["held_count"] for row in weeks])],
        kind="bars",
        x_title=_("Week"),
        y_title=_("Payouts"),
    )
    return [
        Section(
            slug="payouts",
            title=_("Creator payouts"),
            charts=[payouts, distribution, carried],
            figures=figures,
            link_url=reverse("admin:incentives_settlement_changelist"),
            link_text=str(capfirst(Settlement._meta.verbose_name_plural)),
        ),
        Section(
            slug="integrity",
            title=_("Integrity flags and holds"),
            charts=[flag_chart, holds],
            link_url=reverse("admin:incentives_integrityflag_changelist"),
            link_text=str(capfirst(IntegrityFlag._meta.verbose_name_plural)),
        ),
    ]


# --- 5. Reports -----------------------------------------------------------------------------------

# Hours from report to decision, per UTC day of the decision, in one GROUP BY.
_DECISION_HOURS_SQL = f"""
SELECT (resolved_at AT TIME ZONE 'UTC')::date AS day,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM resolved_at - created_at) / 3600.0),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM resolved_at - created_at) / 3600.0)
FROM {Report._meta.db_table}
WHERE status <> %(open)s AND resolved_at >= %(since)s
GROUP BY 1
"""  # noqa: S608 (the table name from model metadata; every value is a parameter)


def reports_section(*, days: list[date], now: datetime) -> Section:
    """Reports opened per day, the median and 90th-percentile hours to a decision per day of
    decision, and what is open now."""
    since = datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)
    opened = dict(
        Report.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(reports=Count("pk"))
        .order_by()
        .values_list("day", "reports")
    )
    with connection.cursor() as cursor:
        cursor.execute(_DECISION_HOURS_SQL, {"open": Report.Status.OPEN, "since": since})
        decided = {day: (median, p90) for day, median, p90 in cursor.fetchall()}
    still_open = Report.objects.filter(status=Report.Status.OPEN).aggregate(count=Count("pk"), oldest=Min("created_at"))

    labels = [_day_label(day) for day in days]
    opened_chart = Chart(
        slug="reports_opened",
        title=_("Reports opened per day"),
        labels=labels,
        series=[Series(name=_("Reports"), values=[opened.get(day, 0) for day in days])],
        kind="bars",
        x_title=_("Day (UTC)"),
        y_title=_("Reports"),
    )
    decision_chart = Chart(
        slug="decision_hours",
        title=_("Hours from report to decision"),
        description=_(
            "The median and the 90th percentile of the hours a report waited, per day of the decision (UTC)."
        ),
        labels=labels,
        series=[
            Series(name=_("Median"), values=[_hours(decided.get(day, (None, None))[0]) for day in days]),
            Series(name=_("90th percentile"), values=[_hours(decided.get(day, (None, None))[1]) for day in days]),
        ],
        kind="line",
        decimals=1,
        x_title=_("Day (UTC)"),
        y_title=_("Hours"),
    )
    oldest = still_open["oldest"]
    oldest_hours = round((now - oldest).total_seconds() / 3600, 1) if oldest else None
    table = Table(
        slug="reports_open",
        title=_("Open reports now"),
        columns=[_("Open reports"), _("Oldest open (hours)")],
        rows=[[still_open["count"], oldest_hours]],
        units=["h"],
    )
    return Section(
        slug="reports",
        title=_("Reports and time to decision"),
        charts=[opened_chart, decision_chart],
        tables=[table],
        link_url=reverse("admin:feed_report_changelist"),
        link_text=_("Moderation queue"),
    )


def _hours(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


# --- 6. Queues (live, never cached) ---------------------------------------------------------------


def queue_section() -> Section:
    """The queues as /healthz and admin's operations page see them (orbit.health), read now; the
    reasons a queue is down are on the operations page, in the words /healthz uses."""
    verdict, states = health.check_queues()
    names = _queue_names()
    table = Table(
        slug="queues",
        title=_("Queues now"),
        columns=[_("Queue"), _("Consumers"), _("Waiting messages"), _("Oldest waited (s)"), _("Status")],
        rows=[
            [
                names.get(name, name),
                state.get("consumers"),
                state.get("backlog"),
                state.get("oldest_seconds"),
                _("Working") if state.get("status") == "ok" else _("Down"),
            ]
            for name, state in states.items()
        ],
        units=["", "", "h", "text"],
    )
    if verdict == "ok":
        summary = _("Every queue has a worker and no old backlog.")
    elif verdict.startswith("down"):
        summary = _("Some queues are down; the operations page says why.")
    else:
        summary = _("The broker does not answer: no queue can be read.")
    return Section(
        slug="queues",
        title=_("Queue health"),
        tables=[table],
        figures=[Figure(label=_("Workers"), value=summary)],
        link_url=reverse("admin_operations"),
        link_text=_("Operations"),
    )


def _queue_names() -> dict[str, str]:
    return {
        queues.HEALTH: _("Health checks"),
        queues.SETTLEMENT: _("Settlement"),
        queues.FOLDING: _("Engagement folding"),
        queues.FEEDS: _("Feeds"),
        queues.TAGGING: _("Tagging"),
        queues.MARKET: _("Market data"),
        queues.DEFAULT: _("Other work"),
    }


# --- Formatting -----------------------------------------------------------------------------------


def _format(value: object, unit: str) -> str:
    """A table cell the reader's way, as Chart.format does for charts; "—" for none."""
    if value is None:
        return "—"
    if unit == "text" or not isinstance(value, int | float | Decimal):
        return str(value)
    places = {"": 0, "h": 1, "ratio": 3}.get(unit, 2)
    shown = number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)
    if unit == "%":
        return f"{shown}%"
    return shown if unit in ("", "h", "ratio") else f"{shown} {unit}"


def _day_label(day: date) -> str:
    """A day on an axis: month and day (12-03); the window is the last 30 days, so no year."""
    return day.strftime("%m-%d")
