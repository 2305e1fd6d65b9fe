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

from creators.models import Follow, Profile, User
from feed.models import Engagement
from incentives import estimates
from incentives.models import Contribution, Payout, Settlement
from incentives.weeks import Week
from tests.api.conftest import client_for
from tests.factories import PostFactory, UserFactory

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
    """A week so far for `creator`, all likes: one eager reader liking 22 posts (2 over the daily
    limit of 20), two more readers liking one post (one of them twice: a repeat), and the creator
    liking their own post. 22 count."""
    posts = [PostFactory(author=creator) for _ in range(22)]
    eager, second, third = UserFactory(), UserFactory(), UserFactory()
    now = timezone.now()

    def like(reader, post, device):
        return Engagement(
            actor=reader, post=post, creator=creator, kind=Engagement.Kind.LIKE, occurred_at=now, fingerprint=device
        )

    Engagement.objects.bulk_create(
        [
            *(like(eager, post, "a1") for post in posts),
            like(second, posts[0], "b1"),
            like(second, posts[0], "b1"),
            like(third, posts[0], "c1"),
            like(creator, posts[1], "d1"),
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


def _payout(creator, weeks_ago: int, amount: str, *, status=Payout.Status.PAID, score="42.500000", settlement=None):
    settlement = settlement or _settlement(weeks_ago)
    Contribution.objects.create(settlement=settlement, creator=creator, score=Decimal(score), rank=1)
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


def test_the_estimate_shows_counted_interactions_and_the_amount(alice_client, alice):
    _engage(alice)
    _refresh()
    estimate = estimates.estimate_for(alice.pk)

    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert estimate["counted"]["like"] == 22  # 20 from the eager reader (the daily limit), 2 from the others
    assert "<td>Like</td><td>22</td>" in page
    assert f"{floatformat(Decimal(estimate['estimated_amount']), '2g')} USDT" in page
    assert Decimal(estimate["estimated_amount"]) > 0
    assert estimate["week"] in page
    assert "not ready yet" not in page


def test_the_estimate_week_command_makes_the_estimate_at_once_for_every_creator(alice_client, alice, bob):
    # `make run` runs it at start, so no statement waits a quarter of an hour for beat.
    _engage(alice)
    out = StringIO()

    call_command("estimate_week", stdout=out)

    assert "for 1 creators with engagement" in out.getvalue()
    assert estimates.estimate_for(alice.pk)["counted"]["like"] == 22
    assert estimates.estimate_for(bob.pk)["estimated_amount"] == "0.00"  # no engagement: an explicit zero
    assert "not ready yet" not in alice_client.get(reverse("incentives:statement")).content.decode()


def test_without_an_estimate_the_page_says_it_is_not_ready(alice_client):
    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert "Your estimate for this week is not ready yet" in page
    assert "No payouts in the last 12 weeks yet." in page


def test_interactions_that_did_not_count_are_named_in_plain_words_not_by_rule(alice_client, alice):
    _engage(alice)
    _refresh()
    discounts = estimates.estimate_for(alice.pk)["discounts"]
    assert discounts == {"daily_cap": 2, "repeat": 1, "self": 1}

    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert f"<td>{DAILY_CAP_LABEL}</td><td>2</td>" in page
    assert "<td>Your own activity</td><td>1</td>" in page
    assert "Repeated interactions: one reader counts once per post and action" in page
    for slug in ("daily_cap", "self", "repeat"):
        assert slug not in page


def test_past_payouts_of_the_last_twelve_weeks_are_listed(alice_client, alice, bob):
    paid = _payout(alice, 1, "12.34")
    held = _payout(alice, 2, "1234.50", status=Payout.Status.HELD)
    oldest = _payout(alice, 12, "8.88")
    too_old = _payout(alice, 13, "99.99")
    draft = _payout(alice, 0, "77.77", settlement=_settlement(0, status=Settlement.Status.DRAFT))
    _payout(bob, 3, "55.55")

    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert f'id="payout-{paid.pk}"' in page and "12.34 USDT" in page
    assert f'id="payout-{held.pk}"' in page and "1,234.50 USDT" in page
    assert page.index(f'id="payout-{paid.pk}"') < page.index(f'id="payout-{held.pk}"')  # newest first
    assert "Score that week: 42.50" in page
    assert HELD_TEXT in page and "Accounts sharing a device" not in page
    assert f'id="payout-{oldest.pk}"' in page
    assert f'id="payout-{too_old.pk}"' not in page and f'id="payout-{draft.pk}"' not in page
    assert "55.55" not in page  # bob's


def test_a_held_payout_offers_the_appeal_and_the_appeal_lands(alice_client, alice):
    held = _payout(alice, 1, "20.00", status=Payout.Status.HELD)
    paid = _payout(alice, 2, "30.00")
    appeal_url = reverse("incentives:appeal", args=[held.pk])

    page = alice_client.get(reverse("incentives:statement")).content.decode()
    assert f'action="{appeal_url}"' in page and "Send appeal" in page
    assert reverse("incentives:appeal", args=[paid.pk]) not in page  # nothing to appeal when paid

    response = alice_client.post(appeal_url, {"message": "These are my real readers from the AMA."})

    assert response.status_code == 302 and response["Location"] == reverse("incentives:statement")
    held.refresh_from_db()
    assert held.appeal_message == "These are my real readers from the AMA."
    assert held.appealed_at is not None and held.status == Payout.Status.HELD
    page = alice_client.get(response["Location"]).content.decode()
    assert "Your appeal is sent." in page
    assert "the reviewers will answer it." in page and f'action="{appeal_url}"' not in page


def test_an_appeal_over_htmx_answers_with_the_updated_row(alice_client, alice):
    held = _payout(alice, 1, "20.00", status=Payout.Status.HELD)

    response = alice_client.post(
        reverse("incentives:appeal", args=[held.pk]), {"message": "Please look again."}, headers=HTMX
    )

    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith(f'<li class="payout payout-held" id="payout-{held.pk}">')
    assert "<html" not in row and "the reviewers will answer it." in row and "Send appeal" not in row
    held.refresh_from_db()
    assert held.appeal_message == "Please look again."


def test_a_second_appeal_is_refused_with_a_message(alice_client, alice):
    held = _payout(alice, 1, "20.00", status=Payout.Status.HELD)
    url = reverse("incentives:appeal", args=[held.pk])
    alice_client.post(url, {"message": "First."})
    first = Payout.objects.get(pk=held.pk)

    over_htmx = alice_client.post(url, {"message": "Second."}, headers=HTMX)
    plain = alice_client.post(url, {"message": "Second."})

    refusal = "This payout has already been appealed; the reviewers will answer it."
    assert over_htmx.status_code == 400 and refusal in over_htmx.content.decode()
    assert plain.status_code == 400 and refusal in plain.content.decode()
    assert "Your earnings" in plain.content.decode()  # the whole page, with the message at the row
    held.refresh_from_db()
    assert (held.appeal_message, held.appealed_at) == ("First.", first.appealed_at)


def test_an_empty_appeal_is_refused_next_to_the_form(alice_client, alice):
    held = _payout(alice, 1, "20.00", status=Payout.Status.HELD)

    response = alice_client.post(reverse("incentives:appeal", args=[held.pk]), {"message": "   "}, headers=HTMX)

    assert response.status_code == 400
    row = response.content.decode()
    assert "Tell the reviewers why the payout should be released." in row
    assert 'class="field field-error"' in row and "Send appeal" in row
    held.refresh_from_db()
    assert held.appealed_at is None and held.appeal_message == ""


def test_appealing_another_users_payout_is_not_found_and_changes_nothing(alice_client, bob):
    bobs = _payout(bob, 1, "20.00", status=Payout.Status.HELD)
    url = reverse("incentives:appeal", args=[bobs.pk])

    plain = alice_client.post(url, {"message": "Mine now."})
    over_htmx = alice_client.post(url, {"message": "Mine now."}, headers=HTMX)
    missing = alice_client.post(reverse("incentives:appeal", args=[bobs.pk + 1000]), {"message": "?"})

    assert (plain.status_code, over_htmx.status_code, missing.status_code) == (404, 404, 404)
    assert "You have no payout with that number." in plain.content.decode()
    bobs.refresh_from_db()
    assert bobs.appealed_at is None and bobs.appeal_message == ""


def test_anonymous_visitors_are_sent_to_log_in(client, bob):
    held = _payout(bob, 1, "20.00", status=Payout.Status.HELD)

    page = client.get(reverse("incentives:statement"))
    appeal = client.post(reverse("incentives:appeal", args=[held.pk]), {"message": "Hello"})

    assert page.status_code == 302 and page["Location"] == f"{reverse('account_login')}?next=/earnings/"
    assert appeal.status_code == 302 and appeal["Location"].startswith(reverse("account_login"))
    assert client.get(reverse("incentives:appeal", args=[held.pk])).status_code == 405
    held.refresh_from_db()
    assert held.appealed_at is None


def test_the_page_speaks_chinese(client, alice):
    _engage(alice)
    _refresh()
    _payout(alice, 1, "20.00", status=Payout.Status.HELD)
    client.force_login(alice)
    client.cookies["django_language"] = "zh-hans"

    page = client.get(reverse("incentives:statement")).content.decode()

    assert 'lang="zh-hans"' in page
    assert "我的收益" in page and "本周至今" in page and "过往发放" in page
    assert "<td>点赞</td><td>22</td>" in page  # the action's label
    assert "同一读者超出每日上限的互动" in page and DAILY_CAP_LABEL not in page  # the reason's label
    assert "审核中：发放前正在核查你帖子的部分互动。" in page and "提交申诉" in page
    assert "收益</a>" in page  # the menu link


def test_title_progress_shows_the_next_title_and_what_it_needs(alice_client, alice):
    Profile.objects.filter(user=alice).update(title="rising", recent_contribution=Decimal("40"))
    for _ in range(3):
        Follow.objects.create(follower=UserFactory(), followee=alice)

    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert '<span class="title-badge title-rising">Rising creator</span>' in page
    assert '<span class="title-badge title-established">Established creator</span>' in page
    assert "Followers: 3 of 1000" in page and "Recent contribution: 40.00 of 100.00" in page


def test_a_title_whose_thresholds_are_met_is_announced(alice_client):
    page = alice_client.get(reverse("incentives:statement")).content.decode()

    assert "You have no title yet." in page
    assert '<span class="title-badge title-newcomer">Newcomer</span>' in page
    assert "You already meet what this title needs" in page
    assert "Followers: 0 of 0" not in page  # a threshold of nothing is not shown as progress


def test_the_page_costs_the_same_queries_however_many_payouts(alice_client, alice, django_assert_num_queries):
    _engage(alice)
    _refresh()
    for weeks_ago in range(1, 9):
        _payout(alice, weeks_ago, "10.00", status=Payout.Status.HELD if weeks_ago % 2 else Payout.Status.PAID)
    # The creator with profile, title and follower count; the active titles; the payouts with
    # their week and score. The estimate comes from the cache.
    with django_assert_num_queries(SIGNED_IN + 3):
        response = alice_client.get(reverse("incentives:statement"))
    assert len(response.context["statement"].payouts) == 8


def test_the_menu_links_to_the_statement(alice_client):
    page = alice_client.get(reverse("feed:latest")).content.decode()
    assert f'href="{reverse("incentives:statement")}"' in page


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
    assert body["estimate"]["estimated_amount"] == estimate["estimated_amount"]
    assert {"slug": "like", "label": "like", "count": 22} in body["estimate"]["counted"]
    assert {"slug": "daily_cap", "label": DAILY_CAP_LABEL, "count": 2} in body["estimate"]["discounts"]
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
        "appeal_state": "available",
        "appeal_state_label": "You can appeal",
        "can_appeal": True,
        "appealed_at": None,
        "reviewed_at": None,
    }
    assert body["title"]["next"]["slug"] == "newcomer" and body["title"]["followers"] == 0


def test_api_statement_before_any_estimate_has_a_null_estimate(alice):
    body = api_client_for(alice).get("/api/v1/me/earnings/").json()
    assert body["estimate"] is None and body["payouts"] == []


def test_api_labels_follow_the_requests_language(alice):
    _engage(alice)
    _refresh()
    body = api_client_for(alice).get("/api/v1/me/earnings/", headers={"accept-language": "zh-hans"}).json()
    assert {"slug": "daily_cap", "label": "同一读者超出每日上限的互动", "count": 2} in body["estimate"]["discounts"]


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
