"""The creator statement: the running week's estimate, past payouts, appeals and title progress,
in the browser (/earnings/) and the API (/api/v1/me/earnings/, /api/v1/me/payouts/<id>/appeal/)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from creators.models import User
from feed.models import Engagement
from incentives import estimates
from incentives.models import Contribution, Payout, Settlement
from incentives.weeks import Week
from tests.api.conftest import client_for
from tests.factories import PostFactory, UserFactory

from .world import real_trader

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# A signed-in page always pays for the session, the user and the unread-notification badge.
SIGNED_IN = 3
HELD_TEXT = "Held for review: some interactions with your posts are being checked before payment."
DAILY_CAP_LABEL = "Interactions beyond the daily limit from one reader"


@pytest.fixture(autouse=True)
def no_estimate_yet(db, now):
    """Estimates live in the cache, which outlives each test's transaction: start without this
    week's, and remove the keys refresh_estimate set (never cache.clear(): the cache is shared).
    `now` keeps every test here clear of a week's end: the page reads the clock itself."""
    week = Week.containing(now).label
    meta = estimates._key(week, "meta")
    cache.delete(meta)
    yield
    cache.delete_many([meta, *(estimates._key(week, pk) for pk in User.objects.values_list("pk", flat=True))])


@pytest.fixture
def alice():
    return UserFactory(username="alice")


@pytest.fixture
def bob():
    return UserFactory(username="bob")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def api_client_for(user) -> APIClient:
    return client_for(user)


def _engage(creator):
    """A week so far for `creator`, from readers who trade: one eager reader viewing 22 posts (2
    over the daily limit of 20; 20 views are 2 points, well within one reader's weekly limits), two
    more readers liking one post (one of them twice: a repeat), and the creator liking their own
    post. 22 count: 20 views and 2 likes."""
    posts = [PostFactory(author=creator) for _ in range(22)]
    now = timezone.now()
    eager, second, third = (real_trader(trading_until=now) for _ in range(3))

    def act(reader, post, device, kind=Engagement.Kind.LIKE):
        return Engagement(actor=reader, post=post, creator=creator, kind=kind, occurred_at=now, fingerprint=device)

    Engagement.objects.bulk_create(
        [
            *(act(eager, post, "a1", Engagement.Kind.VIEW) for post in posts),
            act(second, posts[0], "b1"),
            act(second, posts[0], "b1"),
            act(third, posts[0], "c1"),
            act(creator, posts[1], "d1"),
        ]
    )


def _refresh():
    return estimates.refresh_estimate(now=timezone.now() + timedelta(seconds=1))


def _week(weeks_ago: int) -> Week:
    week = Week.containing(timezone.now())
    for _ in range(weeks_ago):
        week = week.previous()
    return week


def _settlement(weeks_ago: int, *, status=Settlement.Status.PAID) -> Settlement:
    week, now = _week(weeks_ago), timezone.now()
    return Settlement.objects.create(
        week=week.label,
        starts_at=week.starts_at,
        ends_at=week.ends_at,
        status=status,
        currency="USDT",
        pool_amount=Decimal("10000.00"),
        computed_at=now,
        approved_at=None if status == Settlement.Status.DRAFT else now,
        paid_at=now if status == Settlement.Status.PAID else None,
    )


def _payout(
    creator,
    weeks_ago: int,
    amount: str,
    *,
    status=Payout.Status.PAID,
    score="42.500000",
    settlement=None,
    counted=None,
    discounts=None,
):
    settlement = settlement or _settlement(weeks_ago)
    Contribution.objects.create(
        settlement=settlement,
        creator=creator,
        score=Decimal(score),
        rank=1,
        counted_counts=counted or {},
        discounts=discounts or {},
    )
    return Payout.objects.create(
        settlement=settlement,
        creator=creator,
        amount=Decimal(amount),
        currency="USDT",
        status=status,
        paid_at=timezone.now() if status == Payout.Status.PAID else None,
        # What the integrity rules found: for the reviewers, never for the creator.
        hold_reason="Accounts sharing a device" if status == Payout.Status.HELD else "",
    )


# --- The browser page ------------------------------------------------------------------------


def _exact(creator) -> estimates.ExactEstimate:
    return estimates.exact_estimates(now=timezone.now() + timedelta(seconds=1))[2][creator.pk]


def test_the_estimate_shows_a_range_around_the_amount_and_the_rank_band_not_exact_figures(alice_client, alice):
    _engage(alice)
    _refresh()
    estimate, exact = estimates.estimate_for(alice.pk), _exact(alice)

    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert exact.figures.counted_counts == {"view": 20, "like": 2}  # 20 views (the daily limit), 2 likes
    low, high = Decimal(estimate["amount_low"]), Decimal(estimate["amount_high"])
    assert 0 < low <= exact.amount <= high
    assert f"{floatformat(low, '2g')} to {floatformat(high, '2g')} USDT" in page
    assert estimate["week"] in page and "Top 1% of creators this week" in page
    # Neither the exact amount, the score nor the counts per action: a farm cannot tune against them.
    assert set(estimate) == {
        "week",
        "computed_at",
        "amount_low",
        "amount_high",
        "currency",
        "rank_band",
        "discounted_percent",
        "excluded_reason",
    }
    assert "<td>View</td><td>20</td>" not in page
    assert "not ready yet" not in page


@pytest.mark.parametrize(
    ("amount", "low", "high"),
    [
        ("100.00", "80.00", "120.00"),
        ("123.45", "98.00", "150.00"),
        ("0.37", "0.29", "0.45"),
        ("9999.99", "7900.00", "12000.00"),
        ("0.00", "0.00", "0.00"),
    ],
)
def test_the_range_is_the_amount_widened_a_fifth_either_side_to_two_significant_figures(amount, low, high):
    assert estimates.amount_range(Decimal(amount)) == (Decimal(low), Decimal(high))


def test_the_estimate_week_command_makes_the_estimate_at_once_for_every_creator(alice_client, alice, bob):
    # `make run` runs it at start, so no statement waits a quarter of an hour for beat.
    _engage(alice)
    out = StringIO()

    call_command("estimate_week", stdout=out)

    assert "for 1 creators with engagement" in out.getvalue()
    assert Decimal(estimates.estimate_for(alice.pk)["amount_low"]) > 0
    bob_estimate = estimates.estimate_for(bob.pk)  # no engagement: an explicit zero
    assert (bob_estimate["amount_low"], bob_estimate["amount_high"]) == ("0.00", "0.00")
    assert "not ready yet" not in alice_client.get(reverse("incentives:statement")).content.decode()


def test_without_an_estimate_the_page_says_it_is_not_ready(alice_client):
    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert "Your estimate for this week is not ready yet" in page
    assert "No payouts in the last 12 weeks yet." in page


def test_while_the_week_runs_only_the_share_that_did_not_count_is_shown_not_the_reasons(alice_client, alice):
    _engage(alice)
    _refresh()
    assert _exact(alice).figures.discounts == {"daily_cap": 2, "repeat": 1, "self": 1}
    # 4 of 26 interactions did not count (15%), shown to the nearest 10 percent.
    assert estimates.estimate_for(alice.pk)["discounted_percent"] == 20

    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert "About 20% of this week's interactions with your posts did not count so far." in page
    assert DAILY_CAP_LABEL not in page
    assert "Your own activity" not in page


def test_a_settled_week_names_what_did_not_count_in_plain_words_not_by_rule(alice_client, alice):
    _payout(
        alice,
        1,
        "20.00",
        counted={"like": 22, "comment": 3},
        discounts={"daily_cap": 2, "self": 1, "shared_device": 5},
    )

    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert "<td>Like</td><td>22</td>" in page and "<td>Comment</td><td>3</td>" in page
    assert f"<td>{DAILY_CAP_LABEL}</td><td>2</td>" in page
    assert "<td>Your own activity</td><td>1</td>" in page
    assert "<td>Several accounts using one device</td><td>5</td>" in page
    assert "shared_device" not in page  # the words, never the rule's name


# --- The API -----------------------------------------------------------------------------------


def test_api_statement_has_the_estimate_payouts_and_title(alice, bob):
    _engage(alice)
    _refresh()
    held = _payout(alice, 1, "20.00", status=Payout.Status.HELD)
    _payout(bob, 1, "30.00", settlement=Settlement.objects.get(pk=held.settlement_id))
    estimate = estimates.estimate_for(alice.pk)

    response = api_client_for(alice).get("/api/v1/me/earnings/")

    assert response.status_code == 200
    body = response.json()
    assert (body["estimate"]["amount_low"], body["estimate"]["amount_high"]) == (
        estimate["amount_low"],
        estimate["amount_high"],
    )
    assert body["estimate"]["discounted_percent"] == 20
    assert "counted" not in body["estimate"] and "discounts" not in body["estimate"]
    assert body["estimate"]["rank_band"] == "top_1"
    assert [payout["id"] for payout in body["payouts"]] == [held.pk]
    assert body["payouts"][0] | {"appealed_at": None} == {
        "id": held.pk,
        "week": _week(1).label,
        "amount": "20.00",
        "currency": "USDT",
        "status": "held",
        "status_label": "Held for review",
        "hold_reason": HELD_TEXT,
        "score": "42.500000",
        "counted": [
            {"slug": slug, "label": slug.replace("_", " "), "count": 0}
            for slug in ("view", "like", "comment", "share", "follow", "trade_click")
        ],
        "discounts": [],
        "appeal_state": "available",
        "appeal_state_label": "You can appeal",
        "can_appeal": True,
        "appealed_at": None,
        "reviewed_at": None,
        # Held: no transfer yet.
        "transfer_state": "",
        "transfer_reference": "",
        "transfer_paid_on": None,
        "transfer_link_before": None,
        "transfer_return_reason": "",
    }
    assert body["title"]["next"]["slug"] == "newcomer" and body["title"]["followers"] == 0


def test_api_statement_before_any_estimate_has_a_null_estimate(alice):
    body = api_client_for(alice).get("/api/v1/me/earnings/").json()
    assert body["estimate"] is None and body["payouts"] == []


def test_api_labels_follow_the_requests_language(alice):
    _payout(alice, 1, "20.00", discounts={"daily_cap": 2})
    body = api_client_for(alice).get("/api/v1/me/earnings/", headers={"accept-language": "zh-hans"}).json()
    assert {"slug": "daily_cap", "label": "同一读者超出每日上限的互动", "count": 2} in body["payouts"][0]["discounts"]


def test_api_appeal_lands_and_a_second_one_is_refused(alice):
    held = _payout(alice, 1, "20.00", status=Payout.Status.HELD)
    api = api_client_for(alice)
    url = f"/api/v1/me/payouts/{held.pk}/appeal/"

    first = api.post(url, {"message": "Real readers, I promise."}, format="json")
    second = api.post(url, {"message": "Again."}, format="json")

    assert first.status_code == 200
    assert first.json()["appeal_state"] == "pending" and first.json()["can_appeal"] is False
    assert second.status_code == 400
    assert second.json() == {
        "message": "This payout has already been appealed; the reviewers will answer it.",
        "status": 400,
    }
    held.refresh_from_db()
    assert held.appeal_message == "Real readers, I promise." and held.appealed_at is not None


def test_api_refuses_an_empty_or_too_long_appeal(alice):
    held = _payout(alice, 1, "20.00", status=Payout.Status.HELD)
    api = api_client_for(alice)
    url = f"/api/v1/me/payouts/{held.pk}/appeal/"

    empty = api.post(url, {"message": ""}, format="json")
    missing = api.post(url, {}, format="json")
    too_long = api.post(url, {"message": "x" * 2001}, format="json")

    assert (
        empty.status_code == 400 and empty.json()["message"] == "Tell the reviewers why the payout should be released."
    )
    assert missing.status_code == 400 and missing.json()["message"].startswith("message:")
    assert too_long.status_code == 400 and "2000" in too_long.json()["message"]
    held.refresh_from_db()
    assert held.appealed_at is None


def test_api_appeal_of_a_paid_payout_is_refused(alice):
    paid = _payout(alice, 1, "20.00")
    response = api_client_for(alice).post(f"/api/v1/me/payouts/{paid.pk}/appeal/", {"message": "Hi"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "Only a payout held for review can be appealed."


def test_api_appeal_of_another_users_payout_is_not_found_and_changes_nothing(alice, bob):
    bobs = _payout(bob, 1, "20.00", status=Payout.Status.HELD)

    response = api_client_for(alice).post(f"/api/v1/me/payouts/{bobs.pk}/appeal/", {"message": "Hi"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "You have no payout with that number.", "status": 404}
    bobs.refresh_from_db()
    assert bobs.appealed_at is None and bobs.appeal_message == ""


def test_api_needs_a_login(bob):
    held = _payout(bob, 1, "20.00", status=Payout.Status.HELD)
    anonymous = APIClient()

    statement = anonymous.get("/api/v1/me/earnings/")
    appeal = anonymous.post(f"/api/v1/me/payouts/{held.pk}/appeal/", {"message": "Hi"}, format="json")

    assert (statement.status_code, appeal.status_code) == (401, 401)
    assert statement.json()["status"] == 401 and statement.json()["message"]
    held.refresh_from_db()
    assert held.appealed_at is None


def test_api_appeal_from_a_browser_session_needs_the_csrf_token(alice):
    held = _payout(alice, 1, "20.00", status=Payout.Status.HELD)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(alice)

    response = browser.post(f"/api/v1/me/payouts/{held.pk}/appeal/", {"message": "Hi"}, format="json")

    assert response.status_code == 403 and "CSRF" in response.json()["message"]
    held.refresh_from_db()
    assert held.appealed_at is None


def test_api_statement_costs_the_same_queries_however_many_payouts(alice, django_assert_num_queries):
    _engage(alice)
    _refresh()
    for weeks_ago in range(1, 9):
        _payout(alice, weeks_ago, "10.00")
    api = api_client_for(alice)
    # The token with its user; the creator with profile, title and follower count; the active
    # titles; the payouts with their week and score. No session; the estimate is in the cache.
    with django_assert_num_queries(1 + 3):
        response = api.get("/api/v1/me/earnings/")
    assert len(response.json()["payouts"]) == 8
