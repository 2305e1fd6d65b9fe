"""The flat list of reports in admin (the queue's "All reports" view; the grouped default view is
tested in test_grouped_queue.py): open reports first, and every action goes through the
moderation services, so it leaves a ModerationAction with the moderator and the report."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feed.models import Engagement, ModerationAction, Notification, Post, Report
from feed.services import TradeCardInput, edit_post, publish_post, report_post
from markets.models import Asset
from tests.factories import UserFactory
from tests.security.helpers import activate_totp, new_ip, sign_in_with_code

pytestmark = pytest.mark.django_db

QUEUE = "/admin/feed/report/all/"  # one row per report, with the actions


@pytest.fixture
def admin_client(case):
    moderator = case["moderator"]
    moderator.is_superuser = True
    moderator.save(update_fields=["is_superuser"])
    secret = activate_totp(moderator)
    client = Client(REMOTE_ADDR=new_ip())
    sign_in_with_code(client, moderator.username, secret)
    return client


def _act(client, url, action, ids):
    return client.post(url, {"action": action, "_selected_action": [str(pk) for pk in ids]}, follow=True)


def test_the_queue_lists_open_reports_with_an_escaped_excerpt_reporter_and_author(case, admin_client):
    closed_post = publish_post(author=UserFactory(), body="<b>old</b> news", content_type="news")
    closed = report_post(reporter=case["reporter"], post_id=closed_post.pk, reason="spam")
    Report.objects.filter(pk=closed.pk).update(status=Report.Status.DISMISSED)
    Post.objects.filter(pk=case["post"].pk).update(body="<script>alert(1)</script> $BTC to the moon")

    page = admin_client.get(QUEUE).content.decode()

    assert f'href="/admin/feed/report/{case["report"].pk}/change/' in page
    assert f'href="/admin/feed/report/{closed.pk}/change/' not in page  # open reports only, by default
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $BTC to the moon" in page
    assert "<script>alert(1)</script>" not in page
    assert "watcher" in page and "pumper" in page
    everything = admin_client.get(f"{QUEUE}?status=all").content.decode()
    assert f'href="/admin/feed/report/{closed.pk}/change/' in everything
    by_reason = admin_client.get(f"{QUEUE}?status=all&reason=spam").content.decode()
    assert f'href="/admin/feed/report/{case["report"].pk}/change/' not in by_reason


def test_the_queue_costs_the_same_queries_for_three_reports_or_thirty(case, admin_client):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(QUEUE).status_code == 200
        return len(captured)

    few = queries()
    for number in range(29):
        post = publish_post(author=UserFactory(), body=f"post {number}", content_type="chat")
        report_post(reporter=UserFactory(), post_id=post.pk, reason="spam")
    assert queries() == few


def test_hide_post_action(case, admin_client):
    response = _act(admin_client, QUEUE, "hide_posts", [case["report"].pk])

    assert response.status_code == 200
    assert Post.objects.get(pk=case["post"].pk).status == Post.Status.HIDDEN
    action = ModerationAction.objects.get()
    assert (action.action, action.moderator, action.report, action.post) == (
        ModerationAction.Action.HIDE_POST,
        case["moderator"],
        case["report"],
        case["post"],
    )
    assert Report.objects.get().status == Report.Status.ACTIONED


def test_restore_post_action(case, admin_client):
    Post.objects.filter(pk=case["post"].pk).update(status=Post.Status.HIDDEN)

    _act(admin_client, QUEUE, "restore_posts", [case["report"].pk])

    assert Post.objects.get(pk=case["post"].pk).status == Post.Status.PUBLISHED
    action = ModerationAction.objects.get()
    assert (action.action, action.moderator, action.report) == (
        ModerationAction.Action.RESTORE_POST,
        case["moderator"],
        case["report"],
    )


def test_warn_author_action(case, admin_client):
    _act(admin_client, QUEUE, "warn_authors", [case["report"].pk])

    assert Notification.objects.filter(recipient=case["author"], verb=Notification.Verb.WARNING).count() == 1
    action = ModerationAction.objects.get()
    assert (action.action, action.moderator, action.report, action.target_user) == (
        ModerationAction.Action.WARN,
        case["moderator"],
        case["report"],
        case["author"],
    )


def test_suspend_author_and_lift_suspension_actions(case, admin_client):
    _act(admin_client, QUEUE, "suspend_authors", [case["report"].pk])
    case["author"].refresh_from_db()
    assert case["author"].suspended_at is not None

    _act(admin_client, f"{QUEUE}?status=all", "lift_suspensions", [case["report"].pk])
    case["author"].refresh_from_db()
    assert case["author"].suspended_at is None

    assert list(ModerationAction.objects.order_by("created_at", "pk").values_list("action", "report", "moderator")) == [
        (ModerationAction.Action.SUSPEND, case["report"].pk, case["moderator"].pk),
        (ModerationAction.Action.UNSUSPEND, None, case["moderator"].pk),  # the report was already settled
    ]


def test_dismiss_report_action(case, admin_client):
    _act(admin_client, QUEUE, "dismiss_reports", [case["report"].pk])

    assert Report.objects.get().status == Report.Status.DISMISSED
    assert Post.objects.get(pk=case["post"].pk).status == Post.Status.PUBLISHED
    action = ModerationAction.objects.get()
    assert (action.action, action.moderator, action.report) == (
        ModerationAction.Action.DISMISS,
        case["moderator"],
        case["report"],
    )


def test_several_reports_on_one_post_get_one_decision(case, admin_client):
    second = report_post(reporter=UserFactory(), post_id=case["post"].pk, reason="scam")

    response = _act(admin_client, QUEUE, "hide_posts", [case["report"].pk, second.pk])

    assert "1 done." in response.content.decode()
    assert ModerationAction.objects.count() == 1
    assert set(Report.objects.values_list("status", flat=True)) == {Report.Status.ACTIONED}


def test_a_refused_step_is_reported_to_the_moderator(case, admin_client):
    response = _act(admin_client, QUEUE, "restore_posts", [case["report"].pk])  # the post is not hidden

    assert "Only a hidden post can be restored." in response.content.decode()
    assert not ModerationAction.objects.exists()


def test_post_admin_hides_and_restores_with_a_record(case, admin_client):
    posts = "/admin/feed/post/"
    _act(admin_client, posts, "hide_posts", [case["post"].pk])
    assert Post.objects.get(pk=case["post"].pk).status == Post.Status.HIDDEN
    _act(admin_client, posts, "restore_posts", [case["post"].pk])
    assert Post.objects.get(pk=case["post"].pk).status == Post.Status.PUBLISHED
    assert list(ModerationAction.objects.order_by("created_at", "pk").values_list("action", "moderator")) == [
        (ModerationAction.Action.HIDE_POST, case["moderator"].pk),
        (ModerationAction.Action.RESTORE_POST, case["moderator"].pk),
    ]


def test_post_text_and_status_cannot_be_edited_in_place(case, admin_client):
    url = reverse("admin:feed_post_change", args=[case["post"].pk])
    admin_client.post(url, {"body": "rewritten by staff", "status": "hidden", "content_type": "news"})

    post = Post.objects.get(pk=case["post"].pk)
    assert (post.body, post.status) == ("$BTC to the moon, buy now!!! #pump", Post.Status.PUBLISHED)


def test_user_admin_suspends_with_a_record_and_the_date_is_read_only(case, admin_client):
    _act(admin_client, "/admin/creators/user/", "suspend_users", [case["author"].pk])

    case["author"].refresh_from_db()
    assert case["author"].suspended_at is not None
    assert ModerationAction.objects.get().action == ModerationAction.Action.SUSPEND
    page = admin_client.get(reverse("admin:creators_user_change", args=[case["author"].pk])).content.decode()
    assert 'name="suspended_at' not in page


def test_the_moderation_record_and_the_engagement_log_are_read_only(case, admin_client):
    _act(admin_client, QUEUE, "warn_authors", [case["report"].pk])
    action = ModerationAction.objects.get()
    engagement = Engagement.objects.first()

    assert admin_client.get(reverse("admin:feed_moderationaction_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:feed_moderationaction_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:feed_moderationaction_delete", args=[action.pk]), {"post": "yes"}).status_code
        == 403
    )
    admin_client.post(reverse("admin:feed_moderationaction_change", args=[action.pk]), {"note": "rewritten"})
    assert ModerationAction.objects.get().note == action.note
    assert admin_client.get(reverse("admin:feed_engagement_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:feed_engagement_delete", args=[engagement.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert admin_client.get(reverse("admin:feed_report_add")).status_code == 403


def test_staff_without_the_change_permission_see_the_queue_but_cannot_act(case):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_report"))
    secret = activate_totp(viewer)
    client = Client(REMOTE_ADDR=new_ip())
    sign_in_with_code(client, viewer.username, secret)

    assert client.get(QUEUE).status_code == 200
    _act(client, QUEUE, "hide_posts", [case["report"].pk])

    assert Post.objects.get(pk=case["post"].pk).status == Post.Status.PUBLISHED
    assert not ModerationAction.objects.exists()


def test_post_admin_shows_each_revision_with_the_trade_card_it_replaced(admin_client):
    Asset.objects.get_or_create(symbol="ETH", defaults={"name": "Ether"})
    author = UserFactory()
    card = TradeCardInput(instrument="ETH-USDT", side="short", entry_price="3100")
    post = publish_post(author=author, body="Short <b>$ETH</b>", content_type="trade_share", trade_card=card)
    edit_post(editor=author, post_id=post.pk, body="Short $ETH, stop 3300", remove_trade_card=True)

    page = admin_client.get(reverse("admin:feed_post_change", args=[post.pk])).content.decode()
    assert "Short &lt;b&gt;$ETH&lt;/b&gt;" in page and "Short <b>$ETH</b>" not in page
    assert "ETH-USDT" in page and "3100.00000000" in page
    assert 'name="revisions-0-body"' not in page  # shown, never editable
