"""Moderation steps change what they should, settle the report, and always leave a record."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from creators.services import ensure_can_act
from feed import moderation, selectors
from feed.models import ModerationAction, Notification, Post, Report
from feed.services import comment_on_post, like_post, publish_post, readable_post, report_post
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _only_action():
    action = ModerationAction.objects.get()
    return action


def _ids(page):
    return [post.pk for post in page.items]


def test_hiding_a_post_takes_it_out_of_feeds_and_settles_its_reports(case):
    post, moderator = case["post"], case["moderator"]
    second = report_post(reporter=UserFactory(), post_id=post.pk, reason="spam")

    moderation.hide_post(moderator=moderator, post_id=post.pk, report_id=case["report"].pk, note="pump")

    post.refresh_from_db()
    assert post.status == Post.Status.HIDDEN
    assert set(Report.objects.values_list("status", flat=True)) == {Report.Status.ACTIONED}
    assert {report.resolved_by_id for report in Report.objects.all()} == {moderator.pk}
    action = _only_action()
    assert (action.action, action.moderator, action.target_user, action.post, action.report, action.note) == (
        ModerationAction.Action.HIDE_POST,
        moderator,
        case["author"],
        post,
        case["report"],
        "pump",
    )
    assert second.pk != case["report"].pk
    for page in [
        selectors.latest_posts(),
        selectors.latest_posts(viewer=case["reporter"]),
        selectors.asset_posts(symbol="BTC"),
        selectors.hashtag_posts(name="pump"),
        selectors.creator_posts(author=case["author"]),
    ]:
        assert post.pk not in _ids(page)
    assert post.pk not in [found.pk for found in selectors.search_posts(query="moon").items]


def test_the_author_still_sees_a_hidden_post_on_its_page_and_nobody_else_does(case):
    post = case["post"]
    moderation.hide_post(moderator=case["moderator"], post_id=post.pk)

    assert readable_post(viewer=case["author"], post_id=post.pk) == post
    with pytest.raises(Post.DoesNotExist):
        readable_post(viewer=case["reporter"], post_id=post.pk)

    author, reader = Client(), Client()
    author.force_login(case["author"])
    reader.force_login(case["reporter"])
    assert author.get(reverse("feed:post", args=[post.pk])).status_code == 200
    assert reader.get(reverse("feed:post", args=[post.pk])).status_code == 404
    assert Client().get(reverse("feed:post", args=[post.pk])).status_code == 404


def test_a_hidden_post_takes_no_more_reactions(case):
    moderation.hide_post(moderator=case["moderator"], post_id=case["post"].pk)

    with pytest.raises((PermissionDenied, Post.DoesNotExist)):
        like_post(user=case["reporter"], post_id=case["post"].pk)
    with pytest.raises((PermissionDenied, Post.DoesNotExist)):
        comment_on_post(author=case["reporter"], post_id=case["post"].pk, body="still here?")


def test_restoring_a_post_publishes_it_again_with_a_record(case):
    post, moderator = case["post"], case["moderator"]
    moderation.hide_post(moderator=moderator, post_id=post.pk, report_id=case["report"].pk)

    moderation.restore_post(moderator=moderator, post_id=post.pk, note="appeal accepted")

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert post.pk in _ids(selectors.latest_posts())
    assert list(ModerationAction.objects.order_by("created_at", "pk").values_list("action", flat=True)) == [
        ModerationAction.Action.HIDE_POST,
        ModerationAction.Action.RESTORE_POST,
    ]


def test_only_a_hidden_post_can_be_restored_and_a_refusal_leaves_no_record(case):
    with pytest.raises(ValidationError):
        moderation.restore_post(moderator=case["moderator"], post_id=case["post"].pk)
    assert not ModerationAction.objects.exists()


def test_a_deleted_post_cannot_be_hidden(case):
    Post.objects.filter(pk=case["post"].pk).update(status=Post.Status.DELETED, deleted_at="2026-01-01T00:00Z")

    with pytest.raises(ValidationError):
        moderation.hide_post(moderator=case["moderator"], post_id=case["post"].pk, report_id=case["report"].pk)

    assert Report.objects.get().status == Report.Status.OPEN
    assert not ModerationAction.objects.exists()


def test_a_warned_user_gets_a_notification(case):
    moderation.warn_user(
        moderator=case["moderator"], user_id=case["author"].pk, report_id=case["report"].pk, note="No pumps"
    )

    warning = Notification.objects.get(recipient=case["author"], verb=Notification.Verb.WARNING)
    assert (warning.actor, warning.post) == (case["moderator"], case["post"])
    assert Report.objects.get().status == Report.Status.ACTIONED
    action = _only_action()
    assert (action.action, action.target_user, action.report) == (
        ModerationAction.Action.WARN,
        case["author"],
        case["report"],
    )
    client = Client()
    client.force_login(case["author"])
    page = client.get(reverse("feed:notifications")).content.decode()
    assert "sent you a moderation warning" in page


def test_a_suspended_user_cannot_post_react_or_comment(case):
    author = case["author"]
    moderation.suspend_user(moderator=case["moderator"], user_id=author.pk, report_id=case["report"].pk)

    author.refresh_from_db()
    assert author.suspended_at is not None
    with pytest.raises(PermissionDenied):
        ensure_can_act(author)
    with pytest.raises(PermissionDenied):
        publish_post(author=author, body="Back again $BTC", content_type="chat")
    other = publish_post(author=case["reporter"], body="Something else", content_type="chat")
    with pytest.raises(PermissionDenied):
        like_post(user=author, post_id=other.pk)
    with pytest.raises(PermissionDenied):
        comment_on_post(author=author, post_id=other.pk, body="hi")
    # Their posts leave the feeds while the suspension lasts.
    assert case["post"].pk not in _ids(selectors.latest_posts())
    action = _only_action()
    assert (action.action, action.target_user, action.report) == (
        ModerationAction.Action.SUSPEND,
        author,
        case["report"],
    )
    assert Report.objects.get().status == Report.Status.ACTIONED

    # In the browser: a clear refusal, nothing posted.
    client = Client()
    client.force_login(author)
    response = client.post(reverse("feed:compose"), {"body": "Let me post", "content_type": "chat"})
    assert response.status_code == 403
    assert "suspended" in response.content.decode()
    assert not Post.objects.filter(body="Let me post").exists()


def test_lifting_a_suspension_lets_the_user_post_again(case):
    author, moderator = case["author"], case["moderator"]
    moderation.suspend_user(moderator=moderator, user_id=author.pk)

    moderation.lift_suspension(moderator=moderator, user_id=author.pk, note="appeal")

    author.refresh_from_db()
    assert author.suspended_at is None
    ensure_can_act(author)
    assert publish_post(author=author, body="Lesson learned", content_type="chat").pk
    assert ModerationAction.objects.filter(action=ModerationAction.Action.UNSUSPEND, target_user=author).exists()
    with pytest.raises(ValidationError):
        moderation.lift_suspension(moderator=moderator, user_id=author.pk)


def test_dismissing_a_report_closes_it_and_leaves_the_post_alone(case):
    moderation.dismiss_report(moderator=case["moderator"], report_id=case["report"].pk, note="not a pump")

    report = Report.objects.get()
    assert (report.status, report.resolved_by) == (Report.Status.DISMISSED, case["moderator"])
    assert report.resolved_at is not None
    case["post"].refresh_from_db()
    assert case["post"].status == Post.Status.PUBLISHED
    action = _only_action()
    assert (action.action, action.report, action.target_user) == (
        ModerationAction.Action.DISMISS,
        report,
        case["author"],
    )
    with pytest.raises(ValidationError):
        moderation.dismiss_report(moderator=case["moderator"], report_id=report.pk)
    assert ModerationAction.objects.count() == 1


def test_people_who_are_not_staff_cannot_moderate(case):
    member = case["reporter"]
    for step in [
        lambda: moderation.hide_post(moderator=member, post_id=case["post"].pk),
        lambda: moderation.warn_user(moderator=member, user_id=case["author"].pk),
        lambda: moderation.suspend_user(moderator=member, user_id=case["author"].pk),
        lambda: moderation.dismiss_report(moderator=member, report_id=case["report"].pk),
    ]:
        with pytest.raises(PermissionDenied):
            step()
    case["post"].refresh_from_db()
    case["author"].refresh_from_db()
    assert case["post"].status == Post.Status.PUBLISHED
    assert case["author"].suspended_at is None
    assert Report.objects.get().status == Report.Status.OPEN
    assert not ModerationAction.objects.exists()
    assert not Notification.objects.filter(verb=Notification.Verb.WARNING).exists()


def test_a_moderator_cannot_suspend_themselves(case):
    with pytest.raises(ValidationError):
        moderation.suspend_user(moderator=case["moderator"], user_id=case["moderator"].pk)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_moderators_hiding_the_same_post_at_once_hide_it_once_with_one_record():
    from markets.models import Asset

    Asset.objects.get_or_create(symbol="BTC", defaults={"name": "Bitcoin"})
    post = publish_post(author=UserFactory(), body="$BTC pump", content_type="chat")
    moderators = [UserFactory(is_staff=True) for _ in range(4)]
    barrier = threading.Barrier(len(moderators))
    outcomes = []

    def hide(moderator):
        barrier.wait()
        try:
            moderation.hide_post(moderator=moderator, post_id=post.pk)
            outcomes.append("hidden")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=hide, args=[moderator]) for moderator in moderators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["hidden", "refused", "refused", "refused"]
    assert ModerationAction.objects.filter(post=post).count() == 1
