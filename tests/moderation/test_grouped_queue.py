"""The moderation queue grouped by post (admin's default view of reports) and its one-click decisions:
each decision goes through feed.moderation, answers the post's oldest open report with a
ModerationAction and settles every other open report on the post in the same transaction."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse

from feed import moderation
from feed.models import ModerationAction, Notification, Post, Report
from feed.moderation_queue import QUEUE_PAGE_SIZE, moderation_queue_page
from tests.downloads import csv_rows
from tests.factories import PostFactory, ReportFactory, UserFactory
from tests.factories.base import MOMENT
from tests.security.helpers import staff_client

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:feed_report_changelist")


def _decide_url(decision: str, post: Post) -> str:
    return reverse(f"admin:feed_report_{decision}", args=[post.pk])


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _moderator_client(user):
    """Signed in with TOTP, the sign-in message already read, so a response's messages are its own."""
    client = staff_client(user)
    client.get(QUEUE)
    return client


@pytest.fixture
def moderator():
    return UserFactory(username="mod_lin", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(moderator):
    return _moderator_client(moderator)


@pytest.fixture
def reported():
    """Two reported posts: `pump` with three open reports (two spam, one scam) and one closed,
    and `rude` with one; `pump`'s oldest open report is older than `rude`'s."""
    pump_author = UserFactory(username="pumper")
    pump = PostFactory(author=pump_author, body="$BTC to the moon, buy now")
    rude = PostFactory(author=UserFactory(username="rude_one"), body="You are all idiots")
    oldest = ReportFactory(post=pump, reason=Report.Reason.SPAM, created_at=MOMENT)
    ReportFactory(post=rude, reason=Report.Reason.ABUSE, created_at=MOMENT + timedelta(hours=1))
    ReportFactory(post=pump, reason=Report.Reason.SCAM, created_at=MOMENT + timedelta(hours=2))
    ReportFactory(post=pump, reason=Report.Reason.SPAM, created_at=MOMENT + timedelta(hours=3))
    ReportFactory(post=pump, reason=Report.Reason.OTHER, status=Report.Status.DISMISSED)
    return {"pump": pump, "rude": rude, "oldest": oldest, "pump_author": pump_author}


def test_the_groups_counts_and_reasons_equal_a_direct_query_on_reports(reported):
    expected: dict[int, dict] = {}
    for report in Report.objects.filter(status=Report.Status.OPEN).order_by("created_at"):
        group = expected.setdefault(
            report.post_id, {"reports": 0, "reporters": set(), "reasons": Counter(), "oldest": report.created_at}
        )
        group["reports"] += 1
        group["reporters"].add(report.reporter_id)
        group["reasons"][report.reason] += 1

    queue = moderation_queue_page()

    assert [post.post_id for post in queue.posts] == list(expected)  # the oldest open report first
    assert queue.reported_posts == len(expected) == 2
    for post in queue.posts:
        group = expected[post.post_id]
        assert post.open_reports == group["reports"]
        assert post.reporters == len(group["reporters"])
        assert {reason.reason: reason.count for reason in post.reasons} == dict(group["reasons"])
        assert post.oldest_report_at == group["oldest"]
    pump = queue.posts[0]
    assert [(reason.label, reason.count) for reason in pump.reasons] == [
        ("Spam or advertising", 2),
        ("Scam or phishing", 1),
    ]
    assert (pump.author_username, pump.author_suspended, pump.post_status) == ("pumper", False, "published")


def test_the_whole_queue_downloads_as_csv_with_the_same_counts(reported, admin_client):
    response = admin_client.get(QUEUE + "?csv=1")
    rows = csv_rows(response)

    header = rows[0]
    assert header[:6] == ["Post", "Status", "Author", "Open reports", "Reporters", "Oldest open report"]
    by_post = {int(row[0]): dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert list(by_post) == [reported["pump"].pk, reported["rude"].pk]  # the oldest open report first
    pump = by_post[reported["pump"].pk]
    assert (pump["Author"], pump["Open reports"], pump["Reporters"]) == ("pumper", "3", "3")
    assert (pump["Spam or advertising"], pump["Scam or phishing"], pump["Other"]) == ("2", "1", "0")
    assert pump["Text"] == "$BTC to the moon, buy now"
    assert 'href="?csv=1"' in admin_client.get(QUEUE).content.decode()


def test_the_page_shows_one_row_per_post_with_author_history_counts_and_reasons(reported, moderator, admin_client):
    moderation.warn_user(moderator=moderator, user_id=reported["pump_author"].pk)  # an earlier action

    page = admin_client.get(QUEUE).content.decode()

    assert page.count('class="queued-post"') == 2
    assert page.index(f'id="queued-post-{reported["pump"].pk}"') < page.index(f'id="queued-post-{reported["rude"].pk}"')
    assert "$BTC to the moon, buy now" in page
    assert "3 open reports" in page and "from 3 reporters" in page and "1 open report" in page
    assert "Spam or advertising: 2" in page and "Scam or phishing: 1" in page and "Harassment or hate: 1" in page
    assert "1 earlier moderation action" in page and "0 earlier moderation actions" in page
    assert f"?target_user__id__exact={reported['pump_author'].pk}" in page
    assert reverse("admin:creators_user_change", args=[reported["pump_author"].pk]) in page
    assert f'href="{reverse("admin:feed_report_all")}?post__id__exact={reported["pump"].pk}"' in page
    for decision in ("hide", "warn", "suspend", "dismiss"):
        assert f'action="{_decide_url(decision, reported["pump"])}"' in page
    assert "csrfmiddlewaretoken" in page


def test_the_excerpt_is_escaped(admin_client):
    post = PostFactory(body="<script>alert(1)</script> free $BTC")
    ReportFactory(post=post)

    page = admin_client.get(QUEUE).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt; free $BTC" in page
    assert "<script>alert(1)</script>" not in page


def test_a_suspended_author_has_no_suspend_button_and_a_hidden_post_no_hide_button(reported, moderator, admin_client):
    moderation.suspend_user(moderator=moderator, user_id=reported["pump_author"].pk)
    Post.objects.filter(pk=reported["rude"].pk).update(status=Post.Status.HIDDEN)

    page = admin_client.get(QUEUE).content.decode()

    assert _decide_url("suspend", reported["pump"]) not in page and _decide_url("hide", reported["pump"]) in page
    assert _decide_url("hide", reported["rude"]) not in page and _decide_url("suspend", reported["rude"]) in page
    assert "suspended" in page and "Hidden by moderation" in page


@pytest.mark.parametrize("posts", [3, 30])
def test_a_queue_page_costs_the_same_queries_for_three_posts_or_thirty(admin_client, django_assert_num_queries, posts):
    for number in range(posts):
        report = ReportFactory(post=PostFactory(body=f"post {number}"))
        ReportFactory(post=report.post, reason=Report.Reason.SCAM)
    admin_client.get(QUEUE)  # the session's first admin page may touch more rows

    # session, user, TOTP check, the number of reported posts, the page of posts with their open
    # reports aggregated (author and post joined), the earlier actions against the page's authors,
    # the header's unread notifications
    with django_assert_num_queries(7):
        page = admin_client.get(QUEUE).content.decode()
    assert page.count('class="queued-post"') == min(posts, QUEUE_PAGE_SIZE)


def test_hide_hides_the_post_settles_every_open_report_and_records_the_oldest(reported, moderator, admin_client):
    response = admin_client.post(_decide_url("hide", reported["pump"]), {"p": "1"})

    assert response.status_code == 302 and response["Location"] == QUEUE
    assert Post.objects.get(pk=reported["pump"].pk).status == Post.Status.HIDDEN
    action = ModerationAction.objects.get()
    assert (action.action, action.moderator, action.report, action.post) == (
        ModerationAction.Action.HIDE_POST,
        moderator,
        reported["oldest"],
        reported["pump"],
    )
    assert not Report.objects.filter(post=reported["pump"], status=Report.Status.OPEN).exists()
    assert Report.objects.filter(post=reported["rude"], status=Report.Status.OPEN).count() == 1
    assert _messages(response) == [f"Post {reported['pump'].pk} by @pumper is hidden; 3 open reports settled."]


def test_warn_notifies_the_author_and_settles_every_open_report(reported, moderator, admin_client):
    response = admin_client.post(_decide_url("warn", reported["pump"]))

    notification = Notification.objects.get(recipient=reported["pump_author"], verb=Notification.Verb.WARNING)
    assert notification.post_id == reported["pump"].pk
    action = ModerationAction.objects.get()
    assert (action.action, action.report, action.target_user) == (
        ModerationAction.Action.WARN,
        reported["oldest"],
        reported["pump_author"],
    )
    settled = Report.objects.filter(post=reported["pump"]).exclude(status=Report.Status.DISMISSED)
    assert set(settled.values_list("status", "resolved_by")) == {(Report.Status.ACTIONED, moderator.pk)}
    assert Post.objects.get(pk=reported["pump"].pk).status == Post.Status.PUBLISHED
    assert _messages(response) == [f"@pumper is warned about post {reported['pump'].pk}; 3 open reports settled."]


def test_suspend_suspends_the_author_and_settles_every_open_report(reported, admin_client):
    response = admin_client.post(_decide_url("suspend", reported["pump"]))

    reported["pump_author"].refresh_from_db()
    assert reported["pump_author"].suspended_at is not None
    action = ModerationAction.objects.get()
    assert (action.action, action.report) == (ModerationAction.Action.SUSPEND, reported["oldest"])
    assert not Report.objects.filter(post=reported["pump"], status=Report.Status.OPEN).exists()
    assert _messages(response) == [f"@pumper is suspended; 3 open reports on post {reported['pump'].pk} settled."]


def test_dismiss_closes_every_open_report_and_leaves_post_and_author_alone(reported, admin_client):
    response = admin_client.post(_decide_url("dismiss", reported["pump"]))

    assert set(Report.objects.filter(post=reported["pump"]).values_list("status", flat=True)) == {
        Report.Status.DISMISSED
    }
    action = ModerationAction.objects.get()
    assert (action.action, action.report) == (ModerationAction.Action.DISMISS, reported["oldest"])
    assert Post.objects.get(pk=reported["pump"].pk).status == Post.Status.PUBLISHED
    reported["pump_author"].refresh_from_db()
    assert reported["pump_author"].suspended_at is None
    assert _messages(response) == [
        f"3 open reports on post {reported['pump'].pk} dismissed; the post and @pumper are left alone."
    ]


def test_a_decision_returns_to_the_same_page_of_the_queue(admin_client):
    posts = [ReportFactory(post=PostFactory(body=f"post {n}")).post for n in range(QUEUE_PAGE_SIZE + 2)]

    response = admin_client.post(_decide_url("dismiss", posts[-1]), {"p": "2"})

    assert response["Location"] == f"{QUEUE}?p=2"
    assert admin_client.post(_decide_url("dismiss", posts[-2]), {"p": "2<script>"})["Location"] == QUEUE


def test_a_group_another_moderator_handled_changes_nothing_and_says_so(reported, admin_client):
    other = UserFactory(is_staff=True)
    moderation.decide_on_reported_post(moderator=other, post_id=reported["pump"].pk, decision="dismiss")
    before = list(Report.objects.order_by("pk").values_list("status", "resolved_by"))

    response = admin_client.post(_decide_url("hide", reported["pump"]))

    assert response.status_code == 302
    assert Post.objects.get(pk=reported["pump"].pk).status == Post.Status.PUBLISHED
    assert list(ModerationAction.objects.values_list("moderator", flat=True)) == [other.pk]
    assert list(Report.objects.order_by("pk").values_list("status", "resolved_by")) == before
    assert _messages(response) == ["Another moderator already handled the reports on this post; nothing was changed."]


def test_a_refused_step_changes_nothing_and_says_why(reported, moderator, admin_client):
    moderation.suspend_user(moderator=moderator, user_id=reported["pump_author"].pk)

    response = admin_client.post(_decide_url("suspend", reported["pump"]))

    assert _messages(response) == ["@pumper is already suspended."]
    assert Report.objects.filter(post=reported["pump"], status=Report.Status.OPEN).count() == 3
    assert ModerationAction.objects.count() == 1  # the suspension above


def test_decisions_refuse_get_and_staff_without_the_change_permission(reported, admin_client):
    for decision in ("hide", "warn", "suspend", "dismiss"):
        assert admin_client.get(_decide_url(decision, reported["pump"])).status_code == 405

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_report"))
    viewer_client = _moderator_client(viewer)
    page = viewer_client.get(QUEUE)
    assert page.status_code == 200 and _decide_url("hide", reported["pump"]) not in page.content.decode()
    for decision in ("hide", "warn", "suspend", "dismiss"):
        assert viewer_client.post(_decide_url(decision, reported["pump"])).status_code == 403

    assert Report.objects.filter(status=Report.Status.OPEN).count() == 4
    assert not ModerationAction.objects.exists()
    assert Post.objects.get(pk=reported["pump"].pk).status == Post.Status.PUBLISHED


def test_a_decision_without_the_csrf_token_is_refused(reported, moderator):
    client = _moderator_client(moderator)
    client.handler.enforce_csrf_checks = True

    assert client.post(_decide_url("hide", reported["pump"])).status_code == 403
    assert Post.objects.get(pk=reported["pump"].pk).status == Post.Status.PUBLISHED
    assert not ModerationAction.objects.exists()


def test_the_flat_list_of_reports_keeps_its_filters_and_actions(reported, admin_client):
    flat = reverse("admin:feed_report_all")

    page = admin_client.get(f"{flat}?post__id__exact={reported['pump'].pk}").content.decode()

    assert page.count('class="action-select"') == 3  # the post's open reports, one row each
    assert 'name="action"' in page and QUEUE in page  # the actions, and the way back to the queue
    response = admin_client.post(
        flat, {"action": "dismiss_reports", "_selected_action": [str(reported["oldest"].pk)]}, follow=True
    )
    assert response.status_code == 200
    assert Report.objects.get(pk=reported["oldest"].pk).status == Report.Status.DISMISSED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_moderators_clicking_hide_at_once_hide_once_and_the_other_is_told():
    post = PostFactory(body="$BTC pump")
    ReportFactory(post=post)
    ReportFactory(post=post, reason=Report.Reason.SCAM)
    clients = [_moderator_client(UserFactory(is_staff=True, is_superuser=True)) for _ in range(2)]
    barrier = threading.Barrier(len(clients))
    told: list[list[str]] = []

    def click_hide(client):
        barrier.wait()
        try:
            response = client.post(_decide_url("hide", post))
            told.append(_messages(response))
        finally:
            connection.close()

    threads = [threading.Thread(target=click_hide, args=[client]) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(told) == [
        ["Another moderator already handled the reports on this post; nothing was changed."],
        [f"Post {post.pk} by @{post.author.username} is hidden; 2 open reports settled."],
    ]
    assert ModerationAction.objects.filter(post=post).count() == 1
    assert Post.objects.get(pk=post.pk).status == Post.Status.HIDDEN
