"""The moderation queue grouped by post: what a moderator needs to decide about each reported post.

Plain data for the admin view (feed/admin.py ReportAdmin.queue_view); the decisions themselves are
feed.moderation.decide_on_reported_post. A page costs three queries whatever its size: the number
of reported posts, the page of posts with their open reports aggregated, and the earlier moderation
actions against the page's authors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.paginator import Page, Paginator
from django.db.models import Count, Min, QuerySet
from django.db.models.functions import Left
from django.utils.text import Truncator
from django.utils.translation import gettext

from .models import ModerationAction, Post, Report

QUEUE_PAGE_SIZE = 20
EXCERPT_CHARS = 200
# Read this much of the body from the database: enough for the excerpt, never a whole long post.
_BODY_PREFIX_CHARS = EXCERPT_CHARS * 2


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    label: str
    count: int


@dataclass(frozen=True)
class ReportedPost:
    """One reported post with its open reports, as the queue shows it."""

    post_id: int
    excerpt: str  # plain text; templates escape it (post text is untrusted)
    post_status: str
    post_status_label: str
    author_id: int
    author_username: str
    author_suspended: bool
    author_earlier_actions: int  # moderation actions already taken against the author
    open_reports: int
    reporters: int
    reasons: list[ReasonCount]  # most frequent first
    oldest_report_at: datetime


@dataclass(frozen=True)
class QueuePage:
    posts: list[ReportedPost]
    page: Page  # Django's page of the grouped rows, for the paginator links
    reported_posts: int  # posts with at least one open report, on every page


def _excerpt(text: str) -> str:
    return Truncator(" ".join(text.split())).chars(EXCERPT_CHARS)


def _reasons(reasons: list[str]) -> list[ReasonCount]:
    counted = Counter(reasons)
    # Most frequent first; ties in the order of the Reason choices, so the list is stable.
    order = {value: position for position, value in enumerate(Report.Reason.values)}
    return [
        ReasonCount(reason=reason, label=str(Report.Reason(reason).label), count=count)
        for reason, count in sorted(counted.items(), key=lambda item: (-item[1], order.get(item[0], len(order))))
    ]


def open_reports_by_post() -> QuerySet[Report, dict[str, Any]]:
    """Open reports grouped by post, oldest open report first (it has waited longest): one row per
    post with the post and author columns the queue shows and the open reports aggregated."""
    return (
        Report.objects.filter(status=Report.Status.OPEN)
        .values(
            "post_id",
            "post__status",
            "post__author_id",
            "post__author__username",
            "post__author__suspended_at",
        )
        .annotate(
            body_prefix=Left("post__body", _BODY_PREFIX_CHARS),
            open_reports=Count("id"),
            reporters=Count("reporter_id", distinct=True),
            reasons=ArrayAgg("reason"),
            oldest_report_at=Min("created_at"),
        )
        .order_by("oldest_report_at", "post_id")
    )


def moderation_queue_page(*, page_number: int | str | None = 1, per_page: int = QUEUE_PAGE_SIZE) -> QueuePage:
    """A page of the grouped queue. Out-of-range or malformed page numbers give the last or first page."""
    paginator = Paginator(open_reports_by_post(), per_page)
    page = paginator.get_page(page_number)  # the count, then the page of grouped rows
    rows = list(page.object_list)
    author_ids = {row["post__author_id"] for row in rows}
    earlier_actions = dict(
        ModerationAction.objects.filter(target_user_id__in=author_ids)
        .values("target_user_id")
        .annotate(actions=Count("id"))
        .order_by()
        .values_list("target_user_id", "actions")
    )
    posts = [
        ReportedPost(
            post_id=row["post_id"],
            excerpt=_excerpt(row["body_prefix"]),
            post_status=row["post__status"],
            post_status_label=str(Post.Status(row["post__status"]).label),
            author_id=row["post__author_id"],
            author_username=row["post__author__username"],
            author_suspended=row["post__author__suspended_at"] is not None,
            author_earlier_actions=earlier_actions.get(row["post__author_id"], 0),
            open_reports=row["open_reports"],
            reporters=row["reporters"],
            reasons=_reasons(row["reasons"]),
            oldest_report_at=row["oldest_report_at"],
        )
        for row in rows
    ]
    return QueuePage(posts=posts, page=page, reported_posts=paginator.count)


def queue_csv_rows() -> Iterator[list[object]]:
    """The whole grouped queue (every page) as CSV rows, the header first: what the queue shows,
    with each reason's count in its own column."""
    reasons = Report.Reason.values
    yield [
        gettext("Post"),
        gettext("Status"),
        gettext("Author"),
        gettext("Open reports"),
        gettext("Reporters"),
        gettext("Oldest open report"),
        *(str(Report.Reason(reason).label) for reason in reasons),
        gettext("Text"),
    ]
    for row in open_reports_by_post().iterator(chunk_size=2_000):
        counted = Counter(row["reasons"])
        yield [
            row["post_id"],
            str(Post.Status(row["post__status"]).label),
            row["post__author__username"],
            row["open_reports"],
            row["reporters"],
            row["oldest_report_at"],
            *(counted.get(reason, 0) for reason in reasons),
            _excerpt(row["body_prefix"]),
        ]
