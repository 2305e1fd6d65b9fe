"""Reads for the creator center (/creator/): a creator's own views, readers, interactions and
followers over time, their recent posts, weekly earnings, title progress and audience.

Everything is about the signed-in creator only: every function takes the creator and no query
reaches another creator's rows. Readers are only ever counted, never named.

Days are calendar days in ORBIT_SETTLEMENT_TZ, the zone the weekly settlement uses, so a week of
days here is the week a payout is for. The figures that read the engagement log (over time, posts,
audience) are cached per creator and period for CACHE_MINUTES; payouts, the estimate and the
title are read on every load (they are cheap and change when money moves).

Uncached, the page costs twelve queries of its own (eleven in a period with no paid week)
whatever the number of posts or readers (see tests/insights/test_creator_center.py for the list);
from the cache, three (payouts, title).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Greatest, Trunc, TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from creators.models import Follow, Profile, User
from feed.models import Engagement, Post
from incentives.contributions import CONVERSION_WINDOW
from incentives.estimates import estimate_for
from incentives.models import ActionWeight, Payout, Settlement
from incentives.selectors import TitleProgress, title_progress
from incentives.weeks import Week
from markets.models import Fill
from orbit.charts import Chart, Series, safe_cell

Kind = Engagement.Kind

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
CACHE_MINUTES = 5
LISTED_POSTS = 50  # the most recent posts of the period; sorting reorders these
PAYOUT_WEEKS = 12
# k-anonymity: no audience figure counts fewer readers than this, and an audience smaller than
# this is not broken down at all.
MIN_READERS = 5
TOP_ASSETS = 8
EXCERPT_LENGTH = 80

# What the over-time charts and the post table read from the log.
TIMELINE_KINDS = [Kind.VIEW, Kind.LIKE, Kind.UNLIKE, Kind.COMMENT, Kind.SHARE, Kind.FOLLOW, Kind.UNFOLLOW]
POST_KINDS = [Kind.VIEW, Kind.DWELL, Kind.LIKE, Kind.UNLIKE, Kind.COMMENT, Kind.SHARE, Kind.TRADE_CLICK]
# Interactions weighed for the earnings estimate (time spent is weighed per minute).
WEIGHED_KINDS = [Kind.VIEW, Kind.LIKE, Kind.COMMENT, Kind.SHARE, Kind.TRADE_CLICK]

BAD_PERIOD = _("Choose a period of 7, 30 or 90 days.")
BAD_SORT = _("The post table cannot be sorted that way; choose one of its column headings.")
BAD_CSV = _("There is no such download on this page.")
CENT = Decimal("0.01")


def parse_days(raw: str | None) -> int:
    """?days= → 7, 30 or 90 (30 when absent); anything else is a ValidationError (a 400)."""
    if raw is None or raw == "":
        return DEFAULT_PERIOD
    if raw not in {str(days) for days in PERIODS}:
        raise ValidationError(BAD_PERIOD)
    return int(raw)


# --- The period's figures (cached) -------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    views: int
    readers: int  # distinct signed-in readers who viewed a post that day
    likes: int  # likes minus unlikes that day: can be negative
    comments: int
    shares: int
    followers: int  # at the end of the day


@dataclass(frozen=True)
class PostRow:
    post_id: int
    excerpt: str
    published_at: datetime
    views: int
    likes: int  # net: likes minus unlikes
    comments: int
    shares: int
    time_spent_minutes: Decimal  # sum of time spent, one decimal
    trade_clicks: int
    conversions: int  # readers whose trade click the exchange confirmed with a fill
    earnings_estimate: Decimal  # an estimate: see allocate_earnings

    @property
    def engagement_rate(self) -> Decimal | None:
        """(likes + comments + shares) / views, in percent; None without views."""
        if not self.views:
            return None
        interactions = max(self.likes, 0) + self.comments + self.shares
        return (Decimal(interactions) * 100 / self.views).quantize(Decimal("0.1"), ROUND_HALF_UP)


OTHER = "other"


@dataclass(frozen=True)
class AudienceRow:
    dimension: str  # "asset" or "language"
    key: str  # an asset symbol or a language code; OTHER for the suppressed buckets together
    readers: int
    percent: Decimal  # of all the period's signed-in readers

    @property
    def label(self) -> str | Promise:
        if self.dimension == "asset":
            return _("Other assets") if self.key == OTHER else self.key
        if self.key == OTHER:
            return _("Other languages")
        return dict(Profile.Language.choices).get(self.key, self.key)


@dataclass(frozen=True)
class Audience:
    readers: int
    assets: list[AudienceRow]
    languages: list[AudienceRow]

    @property
    def is_shown(self) -> bool:
        return self.readers >= MIN_READERS


@dataclass(frozen=True)
class Period:
    """What the engagement log says about one creator over `days` days; cached as it is."""

    days: int
    computed_at: datetime
    timeline: list[Day]
    posts: list[PostRow]  # most recent first
    earning_weeks: list[str]  # the settled weeks whose payouts the estimate shares out
    currency: str
    audience: Audience


def period_figures(user: User, *, days: int, now: datetime | None = None) -> Period:
    """The period's figures from the cache, or computed (eight queries) and cached."""
    now = now or timezone.now()
    zone = ZoneInfo(settings.ORBIT_SETTLEMENT_TZ)
    today = now.astimezone(zone).date()
    key = f"insights:creator-center:{user.pk}:{days}:{today.isoformat()}"
    found = cache.get(key)
    if isinstance(found, Period):
        return found
    figures = _compute_period(user, days=days, now=now, zone=zone)
    cache.set(key, figures, CACHE_MINUTES * 60)
    return figures


def _compute_period(user: User, *, days: int, now: datetime, zone: ZoneInfo) -> Period:
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    starts_at = datetime.combine(first_day, time(0), zone)
    payouts = _paid_payouts_in(user, starts_at=starts_at, now=now)
    posts, earning_weeks = _post_rows(user, starts_at=starts_at, zone=zone, payouts=payouts)
    return Period(
        days=days,
        computed_at=now,
        timeline=_timeline(user, first_day=first_day, today=today, zone=zone),
        posts=posts,
        earning_weeks=earning_weeks,
        currency=payouts[0].currency if payouts else settings.ORBIT_PRIZE_POOL_CURRENCY,
        audience=_audience(_readers_of(user, starts_at=starts_at)),
    )


def _own_log(user: User) -> QuerySet[Engagement]:
    # The creator's own views and likes of their own posts are not readers' interest.
    return Engagement.objects.filter(creator=user).exclude(actor=user)


def _timeline(user: User, *, first_day: date, today: date, zone: ZoneInfo) -> list[Day]:
    """Two queries: the log grouped by day and kind, and the current follower count."""
    starts_at = datetime.combine(first_day, time(0), zone)
    grouped = (
        _own_log(user)
        .filter(occurred_at__gte=starts_at, kind__in=TIMELINE_KINDS)
        .annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .values("day", "kind")
        .annotate(events=Count("id"), actors=Count("actor", distinct=True))
        .order_by()
    )
    events: dict[tuple[date, int], int] = {}
    readers: dict[date, int] = {}
    for row in grouped:
        events[(row["day"], row["kind"])] = row["events"]
        if row["kind"] == Kind.VIEW:
            readers[row["day"]] = row["actors"]
    followers_now = Follow.objects.filter(followee=user).count()

    def count(day: date, kind: int) -> int:
        return events.get((day, kind), 0)

    dates = [first_day + timedelta(days=offset) for offset in range((today - first_day).days + 1)]
    # Followers at the end of a day: today's count less the net follows logged after that day.
    followers: dict[date, int] = {}
    running = followers_now
    for day in reversed(dates):
        followers[day] = running
        running -= count(day, Kind.FOLLOW) - count(day, Kind.UNFOLLOW)
    return [
        Day(
            day=day,
            views=count(day, Kind.VIEW),
            readers=readers.get(day, 0),
            likes=count(day, Kind.LIKE) - count(day, Kind.UNLIKE),
            comments=count(day, Kind.COMMENT),
            shares=count(day, Kind.SHARE),
            followers=followers[day],
        )
        for day in dates
    ]


def _paid_payouts_in(user: User, *, starts_at: datetime, now: datetime) -> list[Payout]:
    """One query: the creator's paid payouts of settled weeks that overlap the period."""
    return list(
        Payout.objects.filter(
            creator=user,
            status=Payout.Status.PAID,
            settlement__ends_at__gt=starts_at,
            settlement__starts_at__lt=now,
        )
        .exclude(settlement__status=Settlement.Status.DRAFT)
        .select_related("settlement")
        .order_by("settlement__starts_at")
    )


def _post_rows(
    user: User, *, starts_at: datetime, zone: ZoneInfo, payouts: list[Payout]
) -> tuple[list[PostRow], list[str]]:
    """Five queries: the period's latest posts, the log of those posts grouped by post, kind and
    week, each week's weighed interactions over all the creator's posts (the estimate's
    denominators), the converted trade clicks, and the action weights."""
    posts = list(
        Post.objects.filter(author=user, status=Post.Status.PUBLISHED, created_at__gte=starts_at)
        .order_by("-created_at", "-pk")
        .values("pk", "body", "created_at")[:LISTED_POSTS]
    )
    post_ids = [post["pk"] for post in posts]
    # From the start of the earliest settled week (whose money the estimate shares out).
    since = min([starts_at, *(payout.settlement.starts_at for payout in payouts)])
    grouped = (
        _own_log(user)
        .filter(occurred_at__gte=since, kind__in=POST_KINDS, post__in=post_ids)
        .annotate(week=Trunc("occurred_at", "week", tzinfo=zone))
        .values_list("post", "kind", "week")
        .annotate(events=Count("id"), dwell_ms=Sum("dwell_ms"))
        .order_by()
    )
    week_labels: dict[datetime, str] = {}  # a handful of distinct weeks, however many rows
    totals: dict[int, Counter] = defaultdict(Counter)  # post → kind → events, over all weeks
    dwell: Counter = Counter()  # post → milliseconds
    by_week: dict[str, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
    week_dwell: dict[str, Counter] = defaultdict(Counter)
    for post_id, kind, week_start, events, dwell_ms in grouped:
        week = week_labels.get(week_start) or week_labels.setdefault(
            week_start, Week.containing(week_start, settings.ORBIT_SETTLEMENT_TZ).label
        )
        totals[post_id][kind] += events
        by_week[week][post_id][kind] += events
        if kind == Kind.DWELL:
            dwell[post_id] += dwell_ms or 0
            week_dwell[week][post_id] += dwell_ms or 0
    conversions = _conversions(user, post_ids=post_ids)
    weights = {row.kind: row.weight for row in ActionWeight.objects.all()}
    week_totals = _weighed_totals_by_week(user, since=since, zone=zone, weights=weights) if payouts else {}
    earnings = _allocate_earnings(
        payouts, by_week=by_week, week_dwell=week_dwell, weights=weights, week_totals=week_totals
    )
    rows = [
        PostRow(
            post_id=post["pk"],
            excerpt=_excerpt(post["body"]),
            published_at=post["created_at"],
            views=totals[post["pk"]][Kind.VIEW],
            likes=totals[post["pk"]][Kind.LIKE] - totals[post["pk"]][Kind.UNLIKE],
            comments=totals[post["pk"]][Kind.COMMENT],
            shares=totals[post["pk"]][Kind.SHARE],
            time_spent_minutes=(Decimal(dwell[post["pk"]]) / 60_000).quantize(Decimal("0.1"), ROUND_HALF_UP),
            trade_clicks=totals[post["pk"]][Kind.TRADE_CLICK],
            conversions=conversions.get(post["pk"], 0),
            earnings_estimate=earnings.get(post["pk"], Decimal("0.00")),
        )
        for post in posts
    ]
    return rows, [payout.settlement.week for payout in payouts]


def _weighed_value(counts: Counter, dwell_ms: int, weights: dict[int, Decimal]) -> Decimal:
    """A post's (or a week's) interactions weighed as the estimate weighs them: likes net of
    unlikes (never below zero per post), time spent per minute."""
    value = sum(
        (weights.get(kind, Decimal(0)) * counts[kind] for kind in WEIGHED_KINDS if kind != Kind.LIKE), Decimal(0)
    )
    value += weights.get(Kind.LIKE, Decimal(0)) * max(counts[Kind.LIKE] - counts[Kind.UNLIKE], 0)
    return value + weights.get(ActionWeight.Action.TIME_SPENT, Decimal(0)) * Decimal(dwell_ms) / 60_000


def _weighed_totals_by_week(
    user: User, *, since: datetime, zone: ZoneInfo, weights: dict[int, Decimal]
) -> dict[str, Decimal]:
    """Week label → the weighed interactions of all the creator's posts that week: one query that
    groups per post and week in Postgres (likes net per post, as the estimate counts them) and
    sums per week there too, so a creator with thousands of engaged posts costs a few rows."""
    per_post = (
        _own_log(user)
        .filter(occurred_at__gte=since, kind__in=POST_KINDS, post__isnull=False)
        .annotate(week=Trunc("occurred_at", "week", tzinfo=zone))
        .values("week", "post")
        .annotate(
            **{f"kind_{kind}": Count("id", filter=Q(kind=kind)) for kind in WEIGHED_KINDS if kind != Kind.LIKE},
            net_likes=Greatest(Count("id", filter=Q(kind=Kind.LIKE)) - Count("id", filter=Q(kind=Kind.UNLIKE)), 0),
            dwell=Coalesce(Sum("dwell_ms", filter=Q(kind=Kind.DWELL)), 0),
        )
        .order_by()
    )
    inner, params = per_post.query.sql_with_params()
    counted = [kind for kind in WEIGHED_KINDS if kind != Kind.LIKE]
    sums = ", ".join([*(f"sum(kind_{kind})" for kind in counted), "sum(net_likes)", "sum(dwell)"])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT week, {sums} FROM ({inner}) AS per_post GROUP BY week", params)  # noqa: S608
        rows = cursor.fetchall()
    totals: dict[str, Decimal] = {}
    for week_start, *figures in rows:
        counts: Counter = Counter(dict(zip(counted, (int(value) for value in figures[: len(counted)]), strict=True)))
        counts[Kind.LIKE] = int(figures[len(counted)])
        week = Week.containing(_aware(week_start, zone), settings.ORBIT_SETTLEMENT_TZ).label
        totals[week] = totals.get(week, Decimal(0)) + _weighed_value(counts, int(figures[-1]), weights)
    return totals


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    # Raw SQL hands back the truncated week as a naive local time in `zone` (Trunc's tzinfo).
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, zone)


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1].rstrip() + "…"


def _conversions(user: User, *, post_ids: Sequence[int]) -> dict[int, int]:
    """One query: per post, the readers with a trade click followed by a fill of the card's
    instrument by the same reader within CONVERSION_WINDOW: the settlement's rule
    (incentives.contributions._find_repeats_and_conversions), without its week bounds."""
    if not post_ids:
        return {}
    confirmed_by_fill = Fill.objects.filter(
        user=OuterRef("actor"),
        instrument=OuterRef("post__trade_card__instrument"),
        filled_at__gte=OuterRef("occurred_at"),
        filled_at__lt=OuterRef("occurred_at") + CONVERSION_WINDOW,
    )
    rows = (
        _own_log(user)
        .filter(post__in=post_ids, kind=Kind.TRADE_CLICK, actor__isnull=False)
        .filter(Exists(confirmed_by_fill))
        .values("post")
        .annotate(readers=Count("actor", distinct=True))
        .order_by()
    )
    return {row["post"]: row["readers"] for row in rows}


def _allocate_earnings(
    payouts: list[Payout],
    *,
    by_week: dict[str, dict[int, Counter]],
    week_dwell: dict[str, Counter],
    weights: dict[int, Decimal],
    week_totals: dict[str, Decimal],
) -> dict[int, Decimal]:
    """An ESTIMATE of each listed post's part of the creator's paid money: the settlement stores a
    creator's amount per week, not per post. Each settled week's amount is shared among all the
    creator's posts in proportion to their weighted interactions that week (ActionWeight; likes net
    of unlikes, time spent per minute); `week_totals` holds each week's sum over every post. The
    settlement itself weighs only interactions that counted (caps, repeats and integrity checks),
    so a post's true part may differ."""
    shares: dict[int, Decimal] = defaultdict(Decimal)
    for payout in payouts:
        week = payout.settlement.week
        total = week_totals.get(week, Decimal(0))
        if total <= 0:
            continue
        for post_id, kinds in by_week.get(week, {}).items():
            value = _weighed_value(kinds, week_dwell.get(week, Counter())[post_id], weights)
            shares[post_id] += payout.amount * value / total
    return {post_id: amount.quantize(CENT, ROUND_HALF_UP) for post_id, amount in shares.items()}


def _readers_of(user: User, *, starts_at: datetime) -> QuerySet[Engagement, Any]:
    """The period's distinct signed-in readers (who viewed a post), as a subquery."""
    return (
        _own_log(user)
        .filter(occurred_at__gte=starts_at, kind=Kind.VIEW, actor__isnull=False)
        .values("actor")
        .distinct()
    )


def _audience(readers: QuerySet[Engagement, Any]) -> Audience:
    """One query: each reader's language and traded assets (the distinct readers are found once,
    which is most of the cost for a creator with tens of thousands of readers)."""
    languages: Counter = Counter()
    traded_by_reader: list[set[str]] = []
    rows = User.objects.filter(pk__in=readers).values_list("profile__language", "trading_profile__traded_assets")
    for language, assets_traded in rows:
        languages[language or OTHER] += 1
        if assets_traded is not None:  # readers without a trading profile trade nothing
            traded_by_reader.append(set(assets_traded))
    total = sum(languages.values())
    if total < MIN_READERS:
        return Audience(readers=total, assets=[], languages=[])
    assets: Counter = Counter()
    for traded in traded_by_reader:
        assets.update(traded)
    listed = [
        asset
        for asset, readers_count in sorted(assets.items(), key=lambda item: (-item[1], item[0]))
        if readers_count >= MIN_READERS
    ][:TOP_ASSETS]
    # A reader trades several assets: "Other" counts those who trade any asset not listed.
    other_traders = sum(1 for traded in traded_by_reader if traded - set(listed))
    asset_rows = [_row("asset", asset, assets[asset], total) for asset in listed]
    if other_traders >= MIN_READERS:
        asset_rows.append(_row("asset", OTHER, other_traders, total))
    language_rows = [
        _row("language", code, count, total)
        for code, count in sorted(languages.items(), key=lambda item: (-item[1], item[0]))
        if count >= MIN_READERS and code != OTHER
    ]
    # Each reader has one language, so the suppressed buckets add up; shown only when that sum is
    # itself at least MIN_READERS.
    rest = total - sum(row.readers for row in language_rows)
    if rest >= MIN_READERS:
        language_rows.append(_row("language", OTHER, rest, total))
    return Audience(readers=total, assets=asset_rows, languages=language_rows)


def _row(dimension: str, key: str, readers: int, total: int) -> AudienceRow:
    return AudienceRow(
        dimension, key, readers, (Decimal(readers) * 100 / total).quantize(Decimal("0.1"), ROUND_HALF_UP)
    )


# --- The page -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    slug: str
    label: str | Promise
    key: Callable[[PostRow], Any]


COLUMNS = [
    Column("published", _("Published"), lambda row: row.published_at),
    Column("views", _("Views"), lambda row: row.views),
    Column(
        "engagement",
        _("Engagement rate"),
        lambda row: (row.engagement_rate is not None, row.engagement_rate or Decimal(0)),
    ),
    Column("time", _("Time spent (minutes)"), lambda row: row.time_spent_minutes),
    Column("clicks", _("Trade clicks"), lambda row: row.trade_clicks),
    Column("conversions", _("Conversions"), lambda row: row.conversions),
    Column("earnings", _("Earnings share (estimate)"), lambda row: row.earnings_estimate),
]
SORTS = {column.slug for column in COLUMNS}
DEFAULT_SORT = "-published"


def parse_sort(raw: str | None) -> str:
    """?sort= → a column slug, "-" first for descending; anything else is a ValidationError."""
    if raw is None or raw == "":
        return DEFAULT_SORT
    if raw.removeprefix("-") not in SORTS:
        raise ValidationError(BAD_SORT)
    return raw


def sorted_posts(posts: list[PostRow], sort: str) -> list[PostRow]:
    column = next(column for column in COLUMNS if column.slug == sort.removeprefix("-"))
    # Stable: ties keep the newest first.
    return sorted(posts, key=column.key, reverse=sort.startswith("-"))


@dataclass(frozen=True)
class Heading:
    slug: str
    label: str | Promise
    link_sort: str  # the ?sort= its link asks for
    aria_sort: str  # "ascending", "descending" or "" (not sorted by it)


def headings(sort: str) -> list[Heading]:
    result = []
    for column in COLUMNS:
        if sort == f"-{column.slug}":
            result.append(Heading(column.slug, column.label, column.slug, "descending"))
        elif sort == column.slug:
            result.append(Heading(column.slug, column.label, f"-{column.slug}", "ascending"))
        else:  # numbers are read biggest first
            result.append(Heading(column.slug, column.label, f"-{column.slug}", ""))
    return result


@dataclass(frozen=True)
class WeekEarning:
    week: str
    status: str  # "estimated", a Payout.Status, or "none"
    status_label: str | Promise
    amount: Decimal | None  # None: nothing paid (or, running, no estimate yet)
    amount_high: Decimal | None  # the running week's estimate is a range
    currency: str


@dataclass(frozen=True)
class CreatorCenter:
    period: Period
    sort: str
    posts: list[PostRow]
    headings: list[Heading]
    charts: list[Chart]  # over time
    weeks: list[WeekEarning]  # the running week first, then the settled ones, newest first
    earnings_chart: Chart
    title: TitleProgress
    cache_minutes: int = CACHE_MINUTES
    periods: tuple[int, ...] = PERIODS
    min_readers: int = MIN_READERS
    listed_posts: int = LISTED_POSTS
    csv_slugs: list[str] = field(default_factory=list)


STATUS_LABELS = {
    "estimated": _("Estimated (this week so far)"),
    "none": _("No payout"),
}


def creator_center(user: User, *, days: int, sort: str, now: datetime | None = None) -> CreatorCenter:
    """Everything the page shows for `user`, about `user` only."""
    now = now or timezone.now()
    period = period_figures(user, days=days, now=now)
    weeks = weekly_earnings(user, now=now)
    charts = timeline_charts(period)
    earnings = earnings_chart(weeks)
    return CreatorCenter(
        period=period,
        sort=sort,
        posts=sorted_posts(period.posts, sort),
        headings=headings(sort),
        charts=charts,
        weeks=weeks,
        earnings_chart=earnings,
        title=title_progress(user),
        csv_slugs=[*(chart.slug for chart in charts), earnings.slug, *TABLE_SLUGS],
    )


def weekly_earnings(user: User, *, now: datetime) -> list[WeekEarning]:
    """One query (the payouts of the last PAYOUT_WEEKS settled weeks) and the cached estimate."""
    running = Week.containing(now)
    settled = [running.previous()]
    for _index in range(PAYOUT_WEEKS - 1):
        settled.append(settled[-1].previous())
    payouts = {
        payout.settlement.week: payout
        for payout in Payout.objects.filter(creator=user, settlement__starts_at__gte=settled[-1].starts_at)
        .exclude(settlement__status=Settlement.Status.DRAFT)
        .select_related("settlement")
    }
    estimate = estimate_for(user.pk, now=now)
    currency = estimate["currency"] if estimate else settings.ORBIT_PRIZE_POOL_CURRENCY
    weeks = [
        WeekEarning(
            week=running.label,
            status="estimated",
            status_label=STATUS_LABELS["estimated"],
            amount=Decimal(estimate["amount_low"]) if estimate else None,
            amount_high=Decimal(estimate["amount_high"]) if estimate else None,
            currency=currency,
        )
    ]
    for week in settled:
        payout = payouts.get(week.label)
        if payout is None:
            weeks.append(WeekEarning(week.label, "none", STATUS_LABELS["none"], None, None, currency))
        else:
            weeks.append(
                WeekEarning(
                    week.label, payout.status, payout.get_status_display(), payout.amount, None, payout.currency
                )
            )
    return weeks


# --- Charts (built after the cache, so they speak the reader's language) ------------------------


def _day_labels(period: Period, *, iso: bool) -> list[str]:
    return [day.day.isoformat() if iso else date_format(day.day, "MONTH_DAY_FORMAT") for day in period.timeline]


def timeline_charts(period: Period, *, iso_labels: bool = False) -> list[Chart]:
    labels = _day_labels(period, iso=iso_labels)
    days = period.timeline
    return [
        Chart(
            slug="reach",
            title=_("Views and readers per day"),
            labels=labels,
            series=[
                Series(_("Views"), [day.views for day in days]),
                Series(_("Readers"), [day.readers for day in days]),
            ],
            description=_("Views of your posts, and the signed-in readers who viewed them, each day."),
            x_title=_("Day"),
            y_title=_("Count"),
        ),
        Chart(
            slug="interactions",
            title=_("Likes, comments and shares per day"),
            labels=labels,
            series=[
                Series(_("Likes (net)"), [day.likes for day in days]),
                Series(_("Comments"), [day.comments for day in days]),
                Series(_("Shares"), [day.shares for day in days]),
            ],
            description=_("Likes less unlikes, comments and shares on your posts each day."),
            x_title=_("Day"),
            y_title=_("Count"),
        ),
        Chart(
            slug="followers",
            title=_("Followers"),
            labels=labels,
            series=[Series(_("Followers"), [day.followers for day in days])],
            description=_("How many people followed you at the end of each day."),
            x_title=_("Day"),
            y_title=_("Followers"),
        ),
    ]


def earnings_chart(weeks: list[WeekEarning]) -> Chart:
    settled = [week for week in reversed(weeks) if week.status != "estimated"]  # oldest first
    currency = weeks[0].currency if weeks else settings.ORBIT_PRIZE_POOL_CURRENCY
    return Chart(
        slug="weekly-earnings",
        title=_("Payouts per week"),
        labels=[week.week for week in settled],
        series=[Series(_("Payout"), [week.amount for week in settled])],
        kind="bars",
        unit=currency,
        description=_("The amount of your payout for each of the last 12 settled weeks."),
        x_title=_("ISO week"),
        y_title=currency,
    )


# --- CSV downloads (?csv=<slug>) -------------------------------------------------------------------

TABLE_SLUGS = ["posts", "weeks", "audience-assets", "audience-languages"]


def as_csv(center: CreatorCenter, slug: str) -> str:
    """The download named `slug`: a chart's numbers or a table's rows, every cell made safe."""
    for chart in timeline_charts(center.period, iso_labels=True):
        if chart.slug == slug:
            return chart.as_csv()
    if slug == center.earnings_chart.slug:
        return center.earnings_chart.as_csv()
    writers = {
        "posts": _posts_csv,
        "weeks": _weeks_csv,
        "audience-assets": lambda c: _audience_csv(c.period.audience.assets, c, _("Asset")),
        "audience-languages": lambda c: _audience_csv(c.period.audience.languages, c, _("Language")),
    }
    if slug not in writers:
        raise ValidationError(BAD_CSV)
    return writers[slug](center)


def _write(rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def _posts_csv(center: CreatorCenter) -> str:
    header = [
        _("Post"),
        _("Published"),
        _("Views"),
        _("Likes (net)"),
        _("Comments"),
        _("Shares"),
        _("Engagement rate (%)"),
        _("Time spent (minutes)"),
        _("Trade clicks"),
        _("Conversions"),
        _("Earnings share (estimate)"),
    ]
    rows: list[list[object]] = [[str(cell) for cell in header]]
    for post in center.posts:
        rows.append(
            [
                post.excerpt,
                post.published_at.isoformat(),
                post.views,
                post.likes,
                post.comments,
                post.shares,
                "" if post.engagement_rate is None else post.engagement_rate,
                post.time_spent_minutes,
                post.trade_clicks,
                post.conversions,
                post.earnings_estimate,
            ]
        )
    return _write(rows)


def _weeks_csv(center: CreatorCenter) -> str:
    rows: list[list[object]] = [
        [str(_("ISO week")), str(_("Status")), str(_("Amount")), str(_("Up to")), str(_("Currency"))]
    ]
    for week in center.weeks:
        rows.append(
            [
                week.week,
                week.status,
                "" if week.amount is None else week.amount,
                "" if week.amount_high is None else week.amount_high,
                week.currency,
            ]
        )
    return _write(rows)


def _audience_csv(buckets: list[AudienceRow], center: CreatorCenter, heading: str | Promise) -> str:
    rows: list[list[object]] = [[str(heading), str(_("Readers")), str(_("Share of readers (%)"))]]
    if center.period.audience.is_shown:
        rows.extend([str(bucket.label), bucket.readers, bucket.percent] for bucket in buckets)
    return _write(rows)
