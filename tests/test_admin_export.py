"""Every admin list downloads as CSV with the filters on screen, for staff who may see the list."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from feed.models import Report
from incentives.models import PrizePool
from orbit.admin_export import cell
from tests.downloads import csv_rows
from tests.factories import PostFactory, ReportFactory, UserFactory
from tests.security.helpers import staff_client

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return csv_rows(response)


@pytest.fixture
def operator_client():
    return staff_client(UserFactory(username="ops", is_staff=True, is_superuser=True))


def test_every_list_links_its_csv_with_the_filters_on_screen(operator_client):
    page = operator_client.get(reverse("admin:feed_post_changelist") + "?status__exact=published")
    html = page.content.decode()
    assert 'class="export-csv"' in html
    assert reverse("admin_export_csv", args=["feed", "post"]) + "?status__exact=published" in html


def test_the_csv_has_the_lists_columns_and_every_filtered_row(operator_client):
    for week, amount in [("2026-W40", "1500.00"), ("2026-W41", "2500.50"), ("2026-W42", "10000.00")]:
        PrizePool.objects.create(week=week, amount=Decimal(amount), currency="USDT")

    rows = _csv(operator_client.get(reverse("admin_export_csv", args=["incentives", "prizepool"]) + "?q=W4"))

    model_admin = admin.site._registry[PrizePool]
    assert len(rows[0]) == len(model_admin.list_display)
    body = {row[0]: row for row in rows[1:]}
    assert set(body) == {"2026-W40", "2026-W41", "2026-W42"}
    # Plain numbers for spreadsheets: no grouping, a dot for decimals.
    assert body["2026-W42"][1] == "10000.00"

    filtered = _csv(operator_client.get(reverse("admin_export_csv", args=["incentives", "prizepool"]) + "?q=W41"))
    assert [row[0] for row in filtered[1:]] == ["2026-W41"]


def test_cells_a_spreadsheet_would_run_are_made_inert(operator_client):
    reporter = UserFactory()
    post = PostFactory(body='=HYPERLINK("http://evil.example","click")')
    ReportFactory(post=post, reporter=reporter, reason=Report.Reason.SPAM, details="@SUM(1+1)")

    assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert cell("-1.5") == "-1.5"  # a number stays a number
    assert cell("<b>5</b> &amp; more") == "5 & more"
    rows = _csv(operator_client.get(reverse("admin_export_csv", args=["feed", "post"])))
    texts = [value for row in rows[1:] for value in row]
    assert not any(value.startswith(("=", "+", "@")) for value in texts)


def test_staff_without_the_models_permission_get_no_csv():
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_post"))
    client = staff_client(clerk)

    assert client.get(reverse("admin_export_csv", args=["feed", "post"])).status_code == 200
    assert client.get(reverse("admin_export_csv", args=["incentives", "prizepool"])).status_code == 403


def test_people_who_are_not_signed_in_staff_with_totp_get_no_csv(client):
    url = reverse("admin_export_csv", args=["incentives", "prizepool"])
    assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(UserFactory(is_staff=True, is_superuser=True))  # no TOTP in this session
    assert client.get(url).status_code == 302


def test_unknown_lists_and_bad_filters_are_clear_errors(operator_client):
    assert operator_client.get(reverse("admin_export_csv", args=["feed", "nothing"])).status_code == 404
    bad = operator_client.get(reverse("admin_export_csv", args=["incentives", "prizepool"]) + "?nonsense__lookup=1")
    assert bad.status_code == 400
    assert "Those filters do not apply" in bad.content.decode()
