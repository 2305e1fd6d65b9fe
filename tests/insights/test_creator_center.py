"""The creator center (/creator/): a creator's own figures over time, per post, per week and about
their audience, each checked against the engagement log counted another way (in Python, row by
row); nobody else's figures, no reader's identity, a fixed number of queries."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils.formats import date_format

from creators.models import Follow, Profile
from feed.models import Engagement
from incentives.models import ActionWeight, Payout, Settlement
from incentives.weeks import Week
from insights import creator_center
from tests.factories import (
    FillFactory,
    FollowFactory,
    PostFactory,
    TradeCardFactory,
    TradingProfileFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/creator/"
Kind = Engagement.Kind
# A signed-in page always pays for the session, the user and the unread-notification badge.
SIGNED_IN = 3


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.ORBIT_SETTLEMENT_TZ)


def _day(moment):
    return moment.astimezone(_zone()).date()


class World:
    """Alice's week: three posts (one with a BTC trade card), six named readers and signed-out
    ones, every kind of engagement over several days, follows and unfollows, and a paid week."""

    def __init__(self, now, *, creator_name: str = "alice", reader_prefix: str = "reader", scale: int = 1):
        self.now = now
        self.creator = UserFactory(username=creator_name)
        Profile.objects.filter(user=self.creator).update(display_name=f"{creator_name.title()} Writes")
        self.readers = [UserFactory(username=f"{reader_prefix}{n}") for n in range(6)]
        for reader in self.readers:
            Profile.objects.filter(user=reader).update(display_name=f"Secret {reader.username}")
        # Five readers read English, one Chinese: the Chinese bucket (1 reader) is suppressed.
        Profile.objects.filter(user=self.readers[5]).update(language="zh-hans")
        # Five trade BTC, two ETH (suppressed into Other, itself then under 5 and left out).
        for index, reader in enumerate(self.readers):
            traded = ["BTC", "ETH"] if index < 2 else ["BTC"] if index < 5 else ["SOL"]
            TradingProfileFactory(user=reader, traded_assets=traded)
        self.posts = []
        for offset in (6, 3, 1):
            post = PostFactory(author=self.creator, body=f"{creator_name} thinks about day {offset}")
            # Whole days and a minute: the `now` fixture keeps two minutes from midnight, so the oldest
            # post stays inside a 7-day window at any time of day (an hour fell out just after midnight).
            post.created_at = now - timedelta(days=offset, minutes=1)
            post.save(update_fields=["created_at"])
            self.posts.append(post)
        card_post = PostFactory(
            author=self.creator, content_type_id="trade_share", body=f"Long $BTC says {creator_name}"
        )
        card_post.created_at = now - timedelta(days=2, hours=1)
        card_post.save(update_fields=["created_at"])
        TradeCardFactory(post=card_post, instrument="BTC-USDT")
        self.card_post = card_post
        self.posts.append(card_post)
        for extra in range(scale - 1):  # more posts for the query-count test, each viewed once
            post = PostFactory(author=self.creator, body=f"{creator_name} extra {extra}")
            self.posts.append(post)
        self._engage(scale)
        # Four followers now; the log says three followed and one unfollowed during the week.
        for reader in self.readers[:4]:
            FollowFactory(follower=reader, followee=self.creator)
        self.rows = list(Engagement.objects.filter(creator=self.creator))

    def _row(self, reader, post, kind, at, dwell_ms=0):
        return Engagement(
            actor=reader,
            post=post,
            creator=self.creator,
            kind=kind,
            occurred_at=at,
            dwell_ms=dwell_ms,
        )

    def _engage(self, scale: int) -> None:
        now, rows = self.now, []
        first, second, third, card = self.posts[:4]
        for index, reader in enumerate(self.readers):
            for post in (first, second, third, card):
                seen = max(post.created_at + timedelta(minutes=10 + index), now - timedelta(days=6))
                rows.append(self._row(reader, post, Kind.VIEW, seen))
                rows.append(self._row(reader, post, Kind.DWELL, seen, dwell_ms=45_000 + 1_000 * index))
            # A second view a day later by the first three readers: views count, readers do not.
            if index < 3:
                rows.append(self._row(reader, first, Kind.VIEW, first.created_at + timedelta(days=1, minutes=5)))
        rows += [
            self._row(self.readers[0], first, Kind.LIKE, first.created_at + timedelta(minutes=30)),
            self._row(self.readers[1], first, Kind.LIKE, first.created_at + timedelta(minutes=31)),
            self._row(self.readers[1], first, Kind.UNLIKE, first.created_at + timedelta(days=2)),
            self._row(self.readers[2], second, Kind.LIKE, second.created_at + timedelta(minutes=40)),
            self._row(self.readers[3], second, Kind.COMMENT, second.created_at + timedelta(minutes=41)),
            self._row(self.readers[4], second, Kind.COMMENT, second.created_at + timedelta(hours=5)),
            self._row(self.readers[0], third, Kind.SHARE, third.created_at + timedelta(minutes=50)),
            self._row(self.readers[0], card, Kind.TRADE_CLICK, card.created_at + timedelta(minutes=20)),
            self._row(self.readers[1], card, Kind.TRADE_CLICK, card.created_at + timedelta(minutes=21)),
            self._row(self.readers[2], card, Kind.TRADE_CLICK, card.created_at + timedelta(minutes=22)),
            # Signed-out views count as views, not as readers.
            self._row(None, third, Kind.VIEW, third.created_at + timedelta(minutes=15)),
            self._row(None, third, Kind.VIEW, third.created_at + timedelta(minutes=16)),
            # The creator's own view is left out everywhere.
            self._row(self.creator, first, Kind.VIEW, first.created_at + timedelta(minutes=1)),
        ]
        for post in self.posts[4:]:
            rows.append(self._row(self.readers[0], post, Kind.VIEW, now - timedelta(minutes=5)))
        follows = [
            (self.readers[0], Kind.FOLLOW, now - timedelta(days=4)),
            (self.readers[1], Kind.FOLLOW, now - timedelta(days=2)),
            (self.readers[5], Kind.FOLLOW, now - timedelta(days=2, minutes=5)),
            (self.readers[5], Kind.UNFOLLOW, now - timedelta(days=1)),
        ]
        rows += [
            Engagement(actor=reader, post=None, creator=self.creator, kind=kind, occurred_at=at)
            for reader, kind, at in follows
        ]
        Engagement.objects.bulk_create(rows)
        # Reader 0 buys the card's instrument 3 hours after the click (a conversion); reader 1 two
        # days after (too late); reader 2 buys another instrument.
        click_at = card.created_at + timedelta(minutes=20)
        FillFactory(user=self.readers[0], instrument="BTC-USDT", filled_at=click_at + timedelta(hours=3))
        FillFactory(user=self.readers[1], instrument="BTC-USDT", filled_at=click_at + timedelta(days=2))
        FillFactory(user=self.readers[2], instrument="ETH-USDT", filled_at=click_at + timedelta(hours=1))

    def paid_week(self, amount: Decimal) -> Payout:
        """Last week settled and paid, `amount` to the creator."""
        week = Week.containing(self.now).previous()
        settlement = Settlement.objects.get_or_create(
            week=week.label,
            defaults={
                "starts_at": week.starts_at,
                "ends_at": week.ends_at,
                "status": Settlement.Status.PAID,
                "currency": "USDT",
                "pool_amount": Decimal("10000.00"),
                "computed_at": week.ends_at + timedelta(hours=1),
                "approved_at": week.ends_at + timedelta(hours=1),
                "paid_at": week.ends_at + timedelta(hours=2),
            },
        )[0]
        return Payout.objects.create(
            settlement=settlement,
            creator=self.creator,
            amount=amount,
            currency="USDT",
            status=Payout.Status.PAID,
            paid_at=week.ends_at + timedelta(hours=2),
        )

    # --- The figures counted another way: row by row, in Python --------------------------------

    def theirs(self):
        return [row for row in self.rows if row.actor_id != self.creator.pk]

    def per_day(self, days: int) -> dict:
        today = _day(self.now)
        dates = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
        counts = {day: Counter() for day in dates}
        readers = {day: set() for day in dates}
        for row in self.theirs():
            day = _day(row.occurred_at)
            if day not in counts:
                continue
            counts[day][row.kind] += 1
            if row.kind == Kind.VIEW and row.actor_id is not None:
                readers[day].add(row.actor_id)
        current = Follow.objects.filter(followee=self.creator).count()
        followers = []
        for day in dates:
            later = [row for row in self.theirs() if _day(row.occurred_at) > day]
            net_after = sum(1 for r in later if r.kind == Kind.FOLLOW) - sum(
                1 for r in later if r.kind == Kind.UNFOLLOW
            )
            followers.append(current - net_after)
        return {
            "dates": dates,
            "Views": [counts[day][Kind.VIEW] for day in dates],
            "Readers": [len(readers[day]) for day in dates],
            "Likes (net)": [counts[day][Kind.LIKE] - counts[day][Kind.UNLIKE] for day in dates],
            "Comments": [counts[day][Kind.COMMENT] for day in dates],
            "Shares": [counts[day][Kind.SHARE] for day in dates],
            "Followers": followers,
        }

    def per_post(self, post) -> dict:
        mine = [row for row in self.theirs() if row.post_id == post.pk]
        kinds = Counter(row.kind for row in mine)
        clickers = {row.actor_id: row.occurred_at for row in mine if row.kind == Kind.TRADE_CLICK}
        converted = 0
        if hasattr(post, "trade_card"):
            from markets.models import Fill

            for reader_id, clicked_at in clickers.items():
                fills = Fill.objects.filter(user_id=reader_id, instrument=post.trade_card.instrument)
                if any(clicked_at <= fill.filled_at < clicked_at + timedelta(hours=24) for fill in fills):
                    converted += 1
        return {
            "views": kinds[Kind.VIEW],
            "likes": kinds[Kind.LIKE] - kinds[Kind.UNLIKE],
            "comments": kinds[Kind.COMMENT],
            "shares": kinds[Kind.SHARE],
            "minutes": Decimal(sum(row.dwell_ms for row in mine)) / 60_000,
            "clicks": kinds[Kind.TRADE_CLICK],
            "conversions": converted,
        }

    def earnings(self, payout: Payout) -> dict[int, Decimal]:
        """The payout shared by each post's weighted interactions of its week."""
        weights = {row.kind: row.weight for row in ActionWeight.objects.all()}
        settlement = payout.settlement
        value = Counter()
        for row in self.theirs():
            if row.post_id is None or not (settlement.starts_at <= row.occurred_at < settlement.ends_at):
                continue
            if row.kind == Kind.DWELL:
                value[row.post_id] += weights[ActionWeight.Action.TIME_SPENT] * Decimal(row.dwell_ms) / 60_000
            elif row.kind == Kind.UNLIKE:
                value[row.post_id] -= weights[ActionWeight.Action.LIKE]
            elif row.kind in weights:
                value[row.post_id] += weights[row.kind]
        total = sum(value.values())
        return {
            post_id: (payout.amount * amount / total).quantize(Decimal("0.01"), ROUND_HALF_UP)
            for post_id, amount in value.items()
        }


@pytest.fixture
def world(now):
    return World(now)


def _signed_in(client, user):
    client.force_login(user)
    return client


def _center(world, days=7, sort="-published"):
    return creator_center.creator_center(world.creator, days=days, sort=sort, now=world.now)


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- Over time -----------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [7, 30])
def test_every_over_time_chart_equals_the_log_counted_row_by_row(world, days):
    center = _center(world, days=days)
    expected = world.per_day(days)
    charts = {chart.slug: chart for chart in center.charts}

    assert [day.day for day in center.period.timeline] == expected["dates"]
    assert charts["reach"].column("Views") == expected["Views"]
    assert charts["reach"].column("Readers") == expected["Readers"]
    assert charts["interactions"].column("Likes (net)") == expected["Likes (net)"]
    assert charts["interactions"].column("Comments") == expected["Comments"]
    assert charts["interactions"].column("Shares") == expected["Shares"]
    assert charts["followers"].column("Followers") == expected["Followers"]
    # Something to see: the seeded week is not all zeros, and a day without events is a 0.
    assert sum(expected["Views"]) > 0 and 0 in expected["Views"]


def test_the_followers_line_ends_at_todays_follower_count_and_undoes_the_logged_follows(world):
    followers = _center(world, days=7).charts[2].column("Followers")

    assert followers[-1] == Follow.objects.filter(followee=world.creator).count() == 4
    # Three follows and one unfollow logged over the week: 4 - (3 - 1) = 2 a week ago.
    assert followers[0] == 2


def test_the_page_shows_the_charts_with_their_tables_and_links_to_the_statement(client, world):
    world.paid_week(Decimal("12.00"))
    response = _signed_in(client, world.creator).get(URL, {"days": 7})
    html = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Creator center</h1>" in html
    assert html.count('<svg class="chart-svg"') == 4  # three over time, payouts per week
    assert "Show the numbers" in html
    assert 'href="/earnings/"' in html
    assert "css/charts.css" in html and "css/creator-center.css" in html
    assert "updated every 5 minutes" in html
    # The period switcher is plain links, the chosen one marked.
    assert 'href="?days=7" aria-current="page"' in html and 'href="?days=90"' in html


def test_the_statement_links_back_to_the_creator_center(client, world):
    html = _signed_in(client, world.creator).get("/earnings/").content.decode()

    assert 'href="/creator/"' in html


# --- Per post ------------------------------------------------------------------------------------


def test_each_post_row_equals_the_log_counted_row_by_row(world):
    payout = world.paid_week(Decimal("1234.56"))
    center = _center(world, days=30)
    shares = world.earnings(payout)

    assert {row.post_id for row in center.posts} == {post.pk for post in world.posts}
    for row in center.posts:
        post = next(post for post in world.posts if post.pk == row.post_id)
        expected = world.per_post(post)
        assert row.views == expected["views"]
        assert row.likes == expected["likes"]
        assert row.comments == expected["comments"]
        assert row.shares == expected["shares"]
        assert row.time_spent_minutes == expected["minutes"].quantize(Decimal("0.1"), ROUND_HALF_UP)
        assert row.trade_clicks == expected["clicks"]
        assert row.conversions == expected["conversions"]
        assert row.earnings_estimate == shares.get(post.pk, Decimal("0.00"))
        interactions = max(expected["likes"], 0) + expected["comments"] + expected["shares"]
        assert row.engagement_rate == (Decimal(interactions * 100) / expected["views"]).quantize(Decimal("0.1"))
    card = next(row for row in center.posts if row.post_id == world.card_post.pk)
    assert (card.trade_clicks, card.conversions) == (3, 1)


def test_the_earnings_estimate_shares_out_exactly_the_paid_amount_of_the_week(world):
    payout = world.paid_week(Decimal("1000.00"))
    center = _center(world, days=30)
    week = Week.containing(world.now).previous()
    earned_last_week = any(week.starts_at <= row.occurred_at < week.ends_at for row in world.theirs())

    total = sum(row.earnings_estimate for row in center.posts)
    if earned_last_week:  # all of the week's posts are listed, so their parts add up (to rounding)
        assert abs(total - payout.amount) <= Decimal("0.01") * len(center.posts)
        assert center.period.earning_weeks == [week.label]
    else:
        assert total == 0


def test_a_post_without_views_shows_a_dash_for_its_engagement_rate(client, world):
    silent = PostFactory(author=world.creator, body="Nobody read this one")
    html = _signed_in(client, world.creator).get(URL, {"days": 7}).content.decode()
    row = html.split(f'data-post="{silent.pk}"')[1].split("</tr>")[0]

    assert '<td class="number" data-column="engagement">—</td>' in row


def test_the_post_table_sorts_by_any_column_both_ways_with_aria_sort(client, world):
    _signed_in(client, world.creator)
    by_views = client.get(URL, {"days": 7, "sort": "-views"})
    html = by_views.content.decode()
    center = by_views.context["center"]

    assert [row.views for row in center.posts] == sorted((row.views for row in center.posts), reverse=True)
    assert 'aria-sort="descending"' in html and html.count("aria-sort=") == 1
    assert 'href="?days=7&amp;sort=views#posts-heading"' in html  # the same heading turns it around
    ascending = client.get(URL, {"days": 7, "sort": "views"}).context["center"]
    assert [row.views for row in ascending.posts] == sorted(row.views for row in ascending.posts)
    for column in creator_center.SORTS:
        assert client.get(URL, {"sort": f"-{column}"}).status_code == 200


# --- Weekly earnings and title -------------------------------------------------------------------


def test_weekly_earnings_show_each_weeks_payout_status_and_money_with_separators(client, world):
    payout = world.paid_week(Decimal("1234.50"))
    response = _signed_in(client, world.creator).get(URL)
    center = response.context["center"]
    html = response.content.decode()

    assert center.earnings_chart.labels[-1] == payout.settlement.week
    assert center.earnings_chart.column("Payout")[-1] == Decimal("1234.50")
    assert len(center.earnings_chart.labels) == creator_center.PAYOUT_WEEKS
    assert [week.status for week in center.weeks[:2]] == ["estimated", "paid"]
    assert "1,234.50 USDT" in html
    assert "Your title" in html


# --- Only the creator's own figures -------------------------------------------------------------


def test_another_creators_posts_and_figures_never_appear_whatever_the_parameters(client, world, now):
    bob = World(now, creator_name="bob", reader_prefix="bobfan", scale=2)
    bob_payout = bob.paid_week(Decimal("777.77"))
    _signed_in(client, world.creator)

    for query in ({}, {"creator": bob.creator.pk, "user": bob.creator.pk, "username": "bob", "author": "bob"}):
        response = client.get(URL, {"days": 7, **query})
        html = response.content.decode()
        assert {row.post_id for row in response.context["center"].posts} == {post.pk for post in world.posts}
        assert "bob thinks" not in html and "bob extra" not in html and "Long $BTC says bob" not in html
        assert "777.77" not in html
        assert response.context["center"].weeks[1].status == "none"  # alice has no payout
        for slug in response.context["center"].csv_slugs:
            body = client.get(URL, {"days": 7, "csv": slug, **query}).content.decode()
            assert "bob" not in body and "777.77" not in body, slug
    assert bob_payout.creator_id != world.creator.pk


# --- No reader identity; k-anonymity ------------------------------------------------------------


def test_no_reader_is_named_in_the_page_or_any_csv(client, world):
    world.paid_week(Decimal("50.00"))
    _signed_in(client, world.creator)
    html = client.get(URL, {"days": 7}).content.decode()
    bodies = [client.get(URL, {"days": 7, "csv": slug}).content.decode() for slug in _center(world).csv_slugs]

    for reader in world.readers:
        for text in [html, *bodies]:
            assert reader.username not in text
            assert f"Secret {reader.username}" not in text


def test_audience_buckets_under_five_readers_are_suppressed(world):
    audience = _center(world, days=7).period.audience

    assert audience.readers == 6 and audience.is_shown
    # BTC: 5 readers shown; ETH (2) and SOL (1) fall into Other, whose 3 readers are left out too.
    assert [(row.key, row.readers, row.percent) for row in audience.assets] == [("BTC", 5, Decimal("83.3"))]
    # English: 5 shown; Chinese (1) goes into Other, left out at 1.
    assert [(row.key, row.readers) for row in audience.languages] == [("en", 5)]
    every_figure = [row.readers for row in [*audience.assets, *audience.languages]]
    assert min(every_figure) >= creator_center.MIN_READERS


def test_an_other_bucket_of_five_or_more_is_shown(world, now):
    for n in range(5):
        late = UserFactory(username=f"late{n}")
        Profile.objects.filter(user=late).update(language="zh-hans")
        TradingProfileFactory(user=late, traded_assets=["DOGE"] if n < 4 else ["XRP"])
        Engagement.objects.create(
            actor=late, post=world.posts[-1], creator=world.creator, kind=Kind.VIEW, occurred_at=now
        )
    audience = _center(world, days=7).period.audience

    assert audience.readers == 11
    # DOGE (4) and XRP (1) join ETH (2) and SOL (1) in Other: 8 readers who trade one of them.
    assert [(row.key, row.readers) for row in audience.assets] == [("BTC", 5), ("other", 8)]
    assert ("zh-hans", 6) in [(row.key, row.readers) for row in audience.languages]


def test_an_audience_under_five_readers_is_only_a_sentence(client, now):
    creator = UserFactory(username="small")
    post = PostFactory(author=creator)
    for n in range(4):
        reader = UserFactory(username=f"few{n}")
        TradingProfileFactory(user=reader, traded_assets=["BTC"])
        Engagement.objects.create(actor=reader, post=post, creator=creator, kind=Kind.VIEW, occurred_at=now)
    response = _signed_in(client, creator).get(URL, {"days": 7})
    html = response.content.decode()

    assert not response.context["center"].period.audience.is_shown
    assert "Your audience is shown once at least 5 signed-in readers" in html
    assert "cc-assets" not in html and "BTC" not in html
    rows = _csv(client.get(URL, {"days": 7, "csv": "audience-assets"}))
    assert rows == [["Asset", "Readers", "Share of readers (%)"]]


# --- CSV -----------------------------------------------------------------------------------------


def test_every_table_and_chart_downloads_as_a_safe_csv_attachment(client, world):
    world.paid_week(Decimal("10.00"))
    formula = PostFactory(author=world.creator, body='=HYPERLINK("http://evil")')
    _signed_in(client, world.creator)
    center = _center(world)
    assert set(center.csv_slugs) == {
        "reach",
        "interactions",
        "followers",
        "weekly-earnings",
        "posts",
        "weeks",
        "audience-assets",
        "audience-languages",
    }
    for slug in center.csv_slugs:
        response = client.get(URL, {"days": 7, "csv": slug})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == f'attachment; filename="creator-center-{slug}-7d.csv"'
    reach = _csv(client.get(URL, {"days": 7, "csv": "reach"}))
    expected = world.per_day(7)
    assert reach[0] == ["Day", "Views", "Readers"]
    assert reach[1:] == [
        [day.isoformat(), str(views), str(readers)]
        for day, views, readers in zip(expected["dates"], expected["Views"], expected["Readers"], strict=True)
    ]
    posts = _csv(client.get(URL, {"days": 7, "csv": "posts"}))
    assert '\'=HYPERLINK("http://evil")' in [row[0] for row in posts]
    assert formula.pk


def test_the_csv_needs_the_same_sign_in(client, world):
    response = client.get(URL, {"csv": "posts"})

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- Bad input and signing in --------------------------------------------------------------------


def test_signed_out_goes_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/creator/"


@pytest.mark.parametrize("days", ["0", "14", "abc", "-7", "30.0"])
def test_a_period_other_than_7_30_or_90_days_is_a_400_with_a_message(client, world, days):
    response = _signed_in(client, world.creator).get(URL, {"days": days})

    assert response.status_code == 400
    assert "Choose a period of 7, 30 or 90 days." in response.content.decode()


@pytest.mark.parametrize("sort", ["body", "-author", "views;drop", "--views"])
def test_an_unknown_sort_or_csv_is_a_400_with_a_message(client, world, sort):
    _signed_in(client, world.creator)
    response = client.get(URL, {"sort": sort})

    assert response.status_code == 400
    assert "cannot be sorted that way" in response.content.decode()
    assert client.get(URL, {"csv": "users"}).status_code == 400


# --- Queries and the cache -----------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1, 27])  # 4 posts, then 30
def test_the_page_costs_the_same_queries_at_any_size_and_fewer_from_the_cache(
    client, now, scale, django_assert_num_queries
):
    world = World(now, scale=scale)
    world.paid_week(Decimal("99.00"))
    assert len(world.posts) == (4 if scale == 1 else 30)
    _signed_in(client, world.creator)

    # Signed in (3); over time: the log grouped by day and kind, the follower count; posts: the
    # paid payouts of the period, the period's posts, the log of those posts grouped by post, kind
    # and week, the converted clicks, the action weights, each paid week's weighed interactions
    # over all posts; audience: each reader's language and traded assets; weekly earnings:
    # the payouts of 12 weeks; title: the creator with profile, title and follower count, the
    # active titles.
    with django_assert_num_queries(SIGNED_IN + 2 + 6 + 1 + 1 + 2):
        response = client.get(URL, {"days": 30})
    assert response.status_code == 200
    # From the cache: signed in (3), the payouts of 12 weeks, the creator and the titles.
    with django_assert_num_queries(SIGNED_IN + 1 + 2):
        cached = client.get(URL, {"days": 30})
    assert cached.context["center"] == response.context["center"]


def test_the_cache_is_per_creator_and_per_period(client, world, now):
    other = World(now, creator_name="carol", reader_prefix="carolfan")
    seven = _center(world, days=7)
    thirty = _center(world, days=30)
    carol = creator_center.creator_center(other.creator, days=7, sort="-published", now=now)

    assert len(seven.period.timeline) == 7 and len(thirty.period.timeline) == 30
    assert {row.post_id for row in carol.posts}.isdisjoint({row.post_id for row in seven.posts})


def test_day_labels_follow_the_readers_language(world):
    center = _center(world, days=7)

    assert center.charts[0].labels[-1] == date_format(_day(world.now), "MONTH_DAY_FORMAT")
