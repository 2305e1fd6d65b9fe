"""Dates and numbers the way each language's readers write them: 12月7日 and 96,000 in Chinese."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import date
from django.utils import timezone, translation

from feed.templatetags.orbit_ui import ago, price

CHRISTMAS = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("zh-hans", ["刚刚", "5分钟前", "3小时前", "3天前", "2025年9月5日"]),
        ("en", ["just now", "5 minutes ago", "3 hours ago", "3 days ago", "Sept. 5, 2025"]),
    ],
)
def test_times_read_as_ago_for_a_week_then_as_a_date(language, shown):
    now = timezone.now()
    moments = [
        now - timedelta(seconds=10),
        now - timedelta(minutes=5, seconds=10),
        now - timedelta(hours=3, minutes=1),
        now - timedelta(days=3, hours=1),
        datetime(2025, 9, 5, 8, tzinfo=UTC),
    ]
    with translation.override(language):
        assert [ago(moment) for moment in moments] == shown


def test_a_chinese_date_this_year_leaves_the_year_out(now):
    weeks_ago = now - timedelta(days=8)
    expected = f"{weeks_ago.month}月{weeks_ago.day}日"
    if weeks_ago.year != now.year:  # early January: last year's date keeps its year
        expected = f"{weeks_ago.year}年{expected}"
    with translation.override("zh-hans"):
        assert ago(weeks_ago) == expected


def test_chinese_dates_are_written_the_chinese_way():
    with translation.override("zh-hans"):
        assert date(CHRISTMAS, "MONTH_DAY_FORMAT") == "12月7日"
        assert date(CHRISTMAS.replace(month=9), "MONTH_DAY_FORMAT") == "9月7日"  # no "09月"
        assert date(CHRISTMAS, "DATE_FORMAT") == "2026年12月7日"
        assert date(CHRISTMAS, "DATETIME_FORMAT") == "2026年12月7日 14:30"


def test_prices_and_counts_are_grouped_by_thousands_in_chinese_as_in_english():
    for language in ["zh-hans", "en"]:
        with translation.override(language):
            assert [price("96000"), price("1234567.5"), intcomma(1234)] == ["96,000", "1,234,567.5", "1,234"]
