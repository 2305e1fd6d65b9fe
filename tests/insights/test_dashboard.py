"""The operators' dashboard on admin's index: every chart's numbers against the rows counted another
way (in Python, row by row), the Gini coefficient and the Lorenz curve by hand, a fixed number of
queries whatever the data's size, staff with TOTP only, and CSVs a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from feed.models import Engagement, PostType, Report
from incentives import settlement as settlements
from incentives.models import IntegrityFlag, Payout, Settlement
from insights import dashboard
from ranking.models import ContentMixDay, ContentTypeWeight, ContentTypeWeightChange
from tests.factories import (
    EngagementFactory,
    IntegrityFlagFactory,
    PayoutFactory,
    PostFactory,
    PostTagsFactory,
    PostTypeFactory,
    ReportFactory,
    SettlementFactory,
    UserFactory,
)
from tests.incentives.conftest import AFTER, WEEK
from tests.incentives.world import real_trader
from tests.security.helpers import activate_totp, client_from_new_ip, sign_in, staff_client

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
TYPES = ["education", "analysis", "chat"]
# The latest settled week's payouts: Gini by hand below.
LATEST_AMOUNTS = [Decimal("10.00"), Decimal("20.00"), Decimal("30.00"), Decimal("40.00")]


def csv_url(slug: str) -> str:
    return f"/admin/dashboard/{slug}.csv"


class World:
    """A week and more of everything the dashboard reads, `scale` times as much of the repeated
    rows (posts, mix rows, changes, payouts, flags, reports) for the query-count test."""

    def __init__(self, now):
        self.now = now
        self.today = now.astimezone(UTC).date()
        author = UserFactory()
        # Posts of several types with tags (what the rollup counts; the dashboard reads the rollup).
        for slug in TYPES:
            PostTagsFactory(post=PostFactory(author=author, content_type_id=slug), content_type=slug, confidence=0.5)
        # Eight days of the content mix: exposure and supply by type.
        for offset in range(8):
            self._mix(offset)
        ContentTypeWeight.objects.filter(post_type_id="education").update(target_share=Decimal("0.250"))
        # The rebalance moved education twice and analysis once in the window; one change is older.
        self._change("education", "1.00", "1.10", days_ago=40)
        self._change("education", "1.10", "1.20", days_ago=5)
        self._change("education", "1.20", "1.25", days_ago=2)
        self._change("analysis", "1.00", "0.90", days_ago=3)
        ContentTypeWeight.objects.filter(post_type_id="education").update(multiplier=Decimal("1.25"))
        ContentTypeWeight.objects.filter(post_type_id="analysis").update(multiplier=Decimal("0.90"))
        self._money()
        self._reports(4)

    def grow(self) -> None:
        """Several times as many rows of each kind, for the query-count test."""
        for offset in range(8, 28):
            self._mix(offset)
        for days_ago in range(6, 26):
            self._change("chat", "1.00", "1.00", days_ago=days_ago)
        for amount in LATEST_AMOUNTS * 5:
            PayoutFactory(settlement=self.latest, amount=amount)
        for week in range(30, 42):
            older = SettlementFactory(week=f"2026-W{week}", status=Settlement.Status.PAID, approved_at=self.now,
                                      paid_at=self.now, total_allocated=Decimal("1.00"))  # fmt: skip
            IntegrityFlagFactory(settlement=older, rule=IntegrityFlag.Rule.LOW_TRUST)
        self._reports(20)

    def _mix(self, offset):
        day = self.today - timedelta(days=offset)
        for number, slug in enumerate(TYPES):
            ContentMixDay.objects.create(
                day=day, post_type_id=slug, posts=1.5 * (number + 1), impressions=(offset + 1) * (number + 2)
            )

    def _change(self, slug, old, new, *, days_ago):
        change = ContentTypeWeightChange.objects.create(
            weight_id=slug, field="multiplier", old_value=old, new_value=new, reason="daily rebalance"
        )
        ContentTypeWeightChange.objects.filter(pk=change.pk).update(
            changed_at=self.now - timedelta(days=days_ago, hours=1)
        )

    def _money(self):
        # A real settlement of 2026-W47 (one post liked by three traders), drafted and approved.
        post = PostFactory(created_at=WEEK.starts_at + timedelta(hours=1))
        for minutes, reader in enumerate(real_trader() for _number in range(3)):
            EngagementFactory(
                actor=reader,
                post=post,
                kind=Engagement.Kind.LIKE,
                occurred_at=post.created_at + timedelta(minutes=5 + minutes * 30),
            )
        drafted = settlements.draft_settlement(week=WEEK, now=AFTER).settlement
        settlements.approve_settlement(settlement_id=drafted.pk, by=None)
        IntegrityFlagFactory(settlement=drafted, rule=IntegrityFlag.Rule.SAME_DEVICE)
        # 2026-W48, approved by hand: the latest settled week.
        self.latest = SettlementFactory(
            week="2026-W48",
            status=Settlement.Status.APPROVED,
            approved_at=self.now,
            carried_in=Decimal("5.00"),
            total_allocated=sum(LATEST_AMOUNTS),
            carried_out=Decimal("7.50"),
        )
        for amount in LATEST_AMOUNTS:
            PayoutFactory(settlement=self.latest, amount=amount)
        Payout.objects.filter(settlement=self.latest, amount=Decimal("40.00")).update(status=Payout.Status.HELD)
        for rule in [IntegrityFlag.Rule.SAME_DEVICE, IntegrityFlag.Rule.LOCKSTEP, IntegrityFlag.Rule.LOCKSTEP]:
            IntegrityFlagFactory(settlement=self.latest, rule=rule)
        # 2026-W49, still a draft: in the weekly charts, not in the distribution.
        self.draft = SettlementFactory(week="2026-W49", total_allocated=Decimal("12.00"))
        PayoutFactory(settlement=self.draft, amount=Decimal("12.00"), status=Payout.Status.HELD)
        IntegrityFlagFactory(settlement=self.draft, rule=IntegrityFlag.Rule.MACHINE_DWELL)

    def _reports(self, count):
        moderator = UserFactory(is_staff=True)
        for index in range(count):
            created = self.now - timedelta(days=index % 6, hours=3 + index)
            report = ReportFactory(created_at=created)
            if index % 4 != 3:  # three in four decided, after 1, 2, 3... hours
                Report.objects.filter(pk=report.pk).update(
                    status=Report.Status.ACTIONED,
                    resolved_at=created + timedelta(hours=1 + index),
                    resolved_by=moderator,
                )


@pytest.fixture
def world(now):
    return World(now)


def _days(now):
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=offset) for offset in range(29, -1, -1)]


def _percentile(values, fraction):
    """Linear interpolation between the closest ranks, as Postgres' percentile_cont."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


# --- The numbers --------------------------------------------------------------------------------


def test_the_content_mix_charts_equal_the_rollup_rows_counted_in_python(world):
    board = dashboard.build_dashboard(now=world.now)
    days = _days(world.now)
    rows = list(ContentMixDay.objects.all())
    names = {post_type.slug: str(post_type) for post_type in PostType.objects.all()}

    shares = board.chart("mix_shares")
    for slug in TYPES:
        expected = []
        for day in days:
            total = sum(row.impressions for row in rows if row.day == day)
            mine = sum(row.impressions for row in rows if row.day == day and row.post_type_id == slug)
            expected.append(round(100 * mine / total, 2) if total else None)
        assert shares.column(names[slug]) == expected

    week = days[-7:]
    table = {row[0]: row[1:] for row in board.table("mix_table").rows}
    all_posts = sum(row.posts for row in rows if row.day in week)
    all_impressions = sum(row.impressions for row in rows if row.day in week)
    for slug in TYPES:
        posts = sum(row.posts for row in rows if row.day in week and row.post_type_id == slug)
        impressions = sum(row.impressions for row in rows if row.day in week and row.post_type_id == slug)
        target = ContentTypeWeight.objects.get(post_type_id=slug).target_share
        assert table[names[slug]] == [
            pytest.approx(float(target) * 100),
            pytest.approx(100 * posts / all_posts, abs=0.005),
            pytest.approx(100 * impressions / all_impressions, abs=0.005),
        ]
    assert table[names["education"]][0] == 25.0
    assert table[names["news"]][1:] == [0.0, 0.0]  # a type nobody posted or was shown
    assert board.chart("mix_week").rows() == [list(row) for row in board.table("mix_table").rows]


def test_the_multiplier_steps_follow_each_change_and_start_from_the_first_ones_old_value(world):
    board = dashboard.build_dashboard(now=world.now)
    days = _days(world.now)
    chart = board.chart("multipliers")
    names = {post_type.slug: str(post_type) for post_type in PostType.objects.all()}

    def at_end_of(day, slug, before):
        value = before
        for change in ContentTypeWeightChange.objects.filter(weight_id=slug, field="multiplier").order_by("changed_at"):
            if change.changed_at.astimezone(UTC).date() <= day:
                value = Decimal(change.new_value)
        return value

    assert chart.column(names["education"]) == [at_end_of(day, "education", Decimal("1.10")) for day in days]
    assert chart.column(names["education"])[0] == Decimal("1.10")  # before the window's first change
    assert chart.column(names["education"])[-1] == Decimal("1.25")
    assert chart.column(names["analysis"]) == [at_end_of(day, "analysis", Decimal("1.00")) for day in days]
    assert set(chart.column(names["news"])) == {Decimal("1.00")}  # no change: today's multiplier throughout


def test_the_money_charts_equal_the_settlements_and_their_payouts(world):
    board = dashboard.build_dashboard(now=world.now)
    settled = list(Settlement.objects.order_by("week"))
    weeks = [s.week for s in settled]

    payouts = board.chart("payouts")
    assert payouts.labels == weeks == ["2026-W47", "2026-W48", "2026-W49"]
    assert payouts.column("Allocated") == [s.total_allocated for s in settled]
    assert payouts.column("Carried out") == [s.carried_out for s in settled]
    held = [
        sum((p.amount for p in s.payouts.all() if p.status == Payout.Status.HELD), Decimal("0.00")) for s in settled
    ]
    assert payouts.column("Held") == held == [Decimal("0.00"), Decimal("40.00"), Decimal("12.00")]
    assert board.chart("carry_over").column("Carried in") == [s.carried_in for s in settled]
    assert board.chart("holds").column("Held payouts") == [
        sum(1 for p in s.payouts.all() if p.status == Payout.Status.HELD) for s in settled
    ]

    flags = board.chart("flags")
    for rule in IntegrityFlag.Rule:
        counted = [sum(1 for f in IntegrityFlag.objects.filter(settlement=s) if f.rule == rule) for s in settled]
        if any(counted):
            assert flags.column(str(rule.label)) == counted
        else:
            with pytest.raises(KeyError):
                flags.column(str(rule.label))
    assert flags.kind == "stacked"


def test_the_gini_coefficient_and_the_lorenz_curve_match_a_hand_computation(world):
    board = dashboard.build_dashboard(now=world.now)
    # Payouts 10, 20, 30, 40 (total 100): mean absolute difference over all ordered pairs is
    # 2 × (10+20+30+10+20+10) / 16 = 12.5; Gini = 12.5 / (2 × mean 25) = 0.25.
    figures = {figure.label: figure.value for figure in board.sections[2].figures}
    assert figures["Latest settled week"] == "2026-W48"  # the draft W49 is not settled
    assert figures["Creators paid"] == "4"
    assert figures["Gini coefficient (0 equal, 1 one creator takes all)"] == "0.250"

    lorenz = board.chart("lorenz")
    assert lorenz.labels == [f"{tenth * 10}%" for tenth in range(11)]
    curve = dict(zip(lorenz.labels, lorenz.column("Payouts"), strict=True))
    # Cumulative 0, 10, 30, 60, 100 at 0, ¼, ½, ¾, 1 of the creators, straight lines between.
    assert curve["0%"] == 0.0 and curve["50%"] == 30.0 and curve["100%"] == 100.0
    assert curve["20%"] == pytest.approx(8.0)  # 0.8 of the first creator's 10
    assert curve["30%"] == pytest.approx(14.0)  # 10 + 0.2 of the second's 20
    assert curve["90%"] == pytest.approx(84.0)  # 60 + 0.6 of the fourth's 40
    assert lorenz.column("Equal shares") == [tenth * 10.0 for tenth in range(11)]


def test_the_report_charts_equal_the_reports_counted_in_python(world):
    board = dashboard.build_dashboard(now=world.now)
    days = _days(world.now)
    reports = list(Report.objects.all())

    opened = [sum(1 for r in reports if r.created_at.astimezone(UTC).date() == day) for day in days]
    assert board.chart("reports_opened").column("Reports") == opened
    assert sum(opened) == len(reports) == 4

    hours = defaultdict(list)
    for report in reports:
        if report.resolved_at is not None:
            waited = (report.resolved_at - report.created_at).total_seconds() / 3600
            hours[report.resolved_at.astimezone(UTC).date()].append(waited)
    decision = board.chart("decision_hours")
    assert decision.column("Median") == [
        round(statistics.median(hours[day]), 1) if hours[day] else None for day in days
    ]
    assert decision.column("90th percentile") == [
        round(_percentile(hours[day], 0.9), 1) if hours[day] else None for day in days
    ]

    still_open = [r for r in reports if r.status == Report.Status.OPEN]
    oldest = min(r.created_at for r in still_open)
    assert board.table("reports_open").rows == [
        [len(still_open), round((world.now - oldest).total_seconds() / 3600, 1)]
    ]


# --- The page -----------------------------------------------------------------------------------


@pytest.fixture
def operator():
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(operator):
    return staff_client(operator)


def test_admin_index_shows_the_dashboard_above_the_app_list_with_a_refresh_link(admin_client, world):
    html = admin_client.get(ADMIN).content.decode()

    assert html.index('id="operator-dashboard"') < html.index('class="app-feed ')
    for slug in ["mix_shares", "mix_week", "multipliers", "payouts", "lorenz", "carry_over", "flags", "holds",
                 "reports_opened", "decision_hours"]:  # fmt: skip
        assert f'id="chart-{slug}"' in html
        assert f'href="{csv_url(slug)}"' in html
    for slug in ["mix_table", "reports_open", "queues"]:
        assert f'id="table-{slug}"' in html and f'href="{csv_url(slug)}"' in html
    assert 'href="?refresh=1"' in html and "As of " in html
    assert 'href="/admin/operations/"' in html
    assert "css/admin-dashboard.css" in html and "css/charts.css" in html


def test_operators_reading_chinese_get_the_dashboard_in_chinese_and_english_readers_their_own(admin_client, world):
    education = PostType.objects.get(slug="education")
    english = admin_client.get(ADMIN).content.decode()
    assert education.name_en in english

    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = admin_client.get(ADMIN).content.decode()
    assert 'lang="zh-hans"' in chinese
    with translation.override("zh-hans"):
        assert str(_("Operators' dashboard")) in chinese
        assert str(_("Content mix of the last 7 days")) in chinese
    # Cached per language: the content types are named in Chinese, not from the English copy.
    assert education.name_zh in chinese
    assert f'<th scope="row">{education.name_en}</th>' not in chinese


def test_the_page_costs_the_same_queries_whatever_the_datas_size_and_fewer_once_cached(
    admin_client, now, django_assert_num_queries
):
    def load():
        cache.clear()
        admin_client.get(ADMIN)  # the session's own first-load queries out of the way
        cache.clear()
        # 1-3 the session, its user and the TOTP authenticator (admin's permission check);
        # 4-12 the dashboard: 4 content types with their weights, 5 the content-mix rows,
        # 6 the multiplier changes, 7 the settlements with their held payouts, 8 the latest
        # settled week's payouts, 9 the flags by week and rule, 10 reports opened per day,
        # 11 the decision-time percentiles, 12 the open reports; 13 the unread-notification badge
        # (feed's context processor), 14 admin's recent actions. The queues are read from Redis.
        with django_assert_num_queries(14):
            assert admin_client.get(ADMIN).status_code == 200
        # Cached: the nine dashboard queries are gone.
        with django_assert_num_queries(5):
            assert admin_client.get(ADMIN).status_code == 200

    world = World(now)
    load()
    world.grow()
    load()


# --- Who may see it -------------------------------------------------------------------------------


def test_staff_without_totp_non_staff_and_signed_out_visitors_see_neither_the_dashboard_nor_its_csvs(world):
    staff_without_totp = UserFactory(is_staff=True, is_superuser=True)
    no_code = client_from_new_ip()
    sign_in(no_code, staff_without_totp.username)

    member = UserFactory()
    activate_totp(member)
    non_staff = client_from_new_ip()
    non_staff.force_login(member)

    signed_out = client_from_new_ip()

    for client in (no_code, non_staff, signed_out):
        response = client.get(ADMIN)
        assert response.status_code == 302 and "operator-dashboard" not in response.content.decode()
        for slug in ("payouts", "mix_table", "queues"):
            response = client.get(csv_url(slug))
            assert response.status_code == 302, slug
            assert "text/csv" not in response.get("Content-Type", "")


def test_staff_with_totp_but_without_the_code_this_session_are_refused_too(world):
    staff = UserFactory(is_staff=True, is_superuser=True)
    activate_totp(staff)
    client = client_from_new_ip()
    sign_in(client, staff.username)  # the password, not yet the code
    assert client.get(ADMIN).status_code == 302
    assert client.get(csv_url("lorenz")).status_code == 302


# --- CSV --------------------------------------------------------------------------------------------


def _csv(client, slug):
    response = client.get(csv_url(slug))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(f'attachment; filename="orbit-{slug}-')
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_each_csv_has_the_numbers_the_chart_shows(admin_client, world):
    admin_client.get(ADMIN)
    board = dashboard.cached_dashboard()
    for slug in ("mix_shares", "multipliers", "payouts", "lorenz", "flags", "decision_hours"):
        chart = board.chart(slug)
        header, *rows = _csv(admin_client, slug)
        assert header == [str(chart.x_title), *(str(series.name) for series in chart.series)]
        assert rows == [[str(row[0]), *("" if v is None else str(v) for v in row[1:])] for row in chart.rows()]
    payouts = _csv(admin_client, "payouts")
    assert payouts[2] == ["2026-W48", "100.00", "7.50", "40.00"]
    header, *rows = _csv(admin_client, "reports_open")
    assert header == ["Open reports", "Oldest open (hours)"]
    assert rows == [[str(value) for value in board.table("reports_open").rows[0]]]
    assert admin_client.get(csv_url("no-such-chart")).status_code == 404


def test_csv_cells_an_operator_typed_cannot_run_as_formulas(admin_client, world):
    PostTypeFactory(slug="evil", name_en='=HYPERLINK("http://x")', name_zh="=1+1")
    ContentMixDay.objects.create(day=world.today, post_type_id="evil", posts=1, impressions=3)

    header, *_rows = _csv(admin_client, "mix_shares")
    assert '\'=HYPERLINK("http://x")' in header
    rows = _csv(admin_client, "mix_table")
    assert ['\'=HYPERLINK("http://x")', "10.0", "", ""][0] in [row[0] for row in rows]
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_the_refresh_link_rebuilds_the_cached_dashboard(admin_client, world):
    admin_client.get(ADMIN)
    before = dashboard.cached_dashboard().chart("reports_opened").column("Reports")
    ReportFactory(created_at=timezone.now())

    assert dashboard.cached_dashboard().chart("reports_opened").column("Reports") == before  # cached
    admin_client.get(ADMIN + "?refresh=1")
    after = dashboard.cached_dashboard().chart("reports_opened").column("Reports")
    assert sum(after) == sum(before) + 1
