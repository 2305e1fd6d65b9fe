"""What moderators do about reports: hide or restore a post, warn, suspend or reinstate its author,
dismiss a report.

Admin actions, and the one-click decisions of the moderation queue grouped by post
(`decide_on_reported_post`, which settles every open report on the post at once), call these
functions. Each checks first (staff only; the step must make sense for the post, user or report
as they are now), then changes the rows and writes the ModerationAction that records who did what,
in one transaction: a step without its record never commits.

See docs/using-orbit.md#moderation.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creators import services as creator_services

from .models import ModerationAction, Notification, Post, Report
from .services import post_published, post_removed

User = get_user_model()


def _ensure_moderator(moderator) -> None:
    if moderator is None or not moderator.is_authenticated or not moderator.is_active or not moderator.is_staff:
        raise PermissionDenied(_("Only staff can moderate."))


def _open_report(report_id: int | None, *, post: Post | None = None) -> Report | None:
    """The report this step answers, locked; it must still be open and, if given, about `post`."""
    if report_id is None:
        return None
    report = Report.objects.select_for_update().select_related("post").filter(pk=report_id).first()
    if report is None:
        raise Report.DoesNotExist(_("That report does not exist."))
    if report.status != Report.Status.OPEN:
        raise ValidationError({"report": _("Report %(id)d was already handled.") % {"id": report.pk}})
    if post is not None and report.post_id != post.pk:
        raise ValidationError({"report": _("Report %(id)d is about another post.") % {"id": report.pk}})
    return report


def _ensure_report_is_about(report: Report | None, user) -> None:
    if report is not None and report.post.author_id != user.pk:
        raise ValidationError({"report": _("Report %(id)d is about someone else.") % {"id": report.pk}})


def _resolve(report: Report | None, *, moderator, status: str) -> None:
    if report is not None:
        report.status, report.resolved_at, report.resolved_by = status, timezone.now(), moderator
        report.save(update_fields=["status", "resolved_at", "resolved_by"])


def _record(*, moderator, action: str, target_user_id: int, post=None, report=None, note: str = ""):
    return ModerationAction.objects.create(
        moderator=moderator,
        action=action,
        target_user_id=target_user_id,
        post=post,
        report=report,
        note=(note or "").strip()[:2000],
    )


def _locked_post(post_id: int) -> Post:
    post = Post.objects.select_for_update().filter(pk=post_id).first()
    if post is None:
        raise Post.DoesNotExist(_("That post does not exist."))
    return post


def hide_post(*, moderator, post_id: int, report_id: int | None = None, note: str = "") -> ModerationAction:
    """Take a post out of every feed and page except its author's own view of it.

    Every open report on the post is settled with it: they all asked for the same thing."""
    _ensure_moderator(moderator)
    with transaction.atomic():
        post = _locked_post(post_id)
        report = _open_report(report_id, post=post)
        if post.status == Post.Status.DELETED:
            raise ValidationError({"post": _("The author already deleted this post.")})
        if post.status == Post.Status.HIDDEN:
            raise ValidationError({"post": _("This post is already hidden.")})
        post.status = Post.Status.HIDDEN
        post.save(update_fields=["status"])
        Report.objects.filter(post=post, status=Report.Status.OPEN).update(
            status=Report.Status.ACTIONED, resolved_at=timezone.now(), resolved_by=moderator
        )
        action = _record(
            moderator=moderator,
            action=ModerationAction.Action.HIDE_POST,
            target_user_id=post.author_id,
            post=post,
            report=report,
            note=note,
        )
        transaction.on_commit(lambda: post_removed.send(sender=Post, post_id=post.pk))
    return action


def restore_post(*, moderator, post_id: int, report_id: int | None = None, note: str = "") -> ModerationAction:
    """Undo a hide: the post is published again where it was."""
    _ensure_moderator(moderator)
    with transaction.atomic():
        post = _locked_post(post_id)
        report = _open_report(report_id, post=post)
        if post.status != Post.Status.HIDDEN:
            raise ValidationError({"post": _("Only a hidden post can be restored.")})
        post.status = Post.Status.PUBLISHED
        post.save(update_fields=["status"])
        # Restoring answers a report by finding nothing wrong with the post.
        _resolve(report, moderator=moderator, status=Report.Status.DISMISSED)
        action = _record(
            moderator=moderator,
            action=ModerationAction.Action.RESTORE_POST,
            target_user_id=post.author_id,
            post=post,
            report=report,
            note=note,
        )
        transaction.on_commit(lambda: post_published.send(sender=Post, post_id=post.pk))
    return action


def _target_user(user_id: int, *, for_update: bool = True):
    queryset = User.objects.select_for_update() if for_update else User.objects
    user = queryset.filter(pk=user_id).first()
    if user is None:
        raise User.DoesNotExist(_("That user does not exist."))
    return user


def warn_user(
    *, moderator, user_id: int, post_id: int | None = None, report_id: int | None = None, note: str = ""
) -> ModerationAction:
    """Tell a user, in their notifications, that a moderator warned them (about a post, if given)."""
    _ensure_moderator(moderator)
    with transaction.atomic():
        user = _target_user(user_id, for_update=False)
        report = _open_report(report_id)
        post = report.post if report is not None else None
        if post is None and post_id is not None:
            post = Post.objects.filter(pk=post_id).first()
        _ensure_report_is_about(report, user)
        Notification.objects.create(recipient=user, actor=moderator, verb=Notification.Verb.WARNING, post=post)
        _resolve(report, moderator=moderator, status=Report.Status.ACTIONED)
        return _record(
            moderator=moderator,
            action=ModerationAction.Action.WARN,
            target_user_id=user.pk,
            post=post,
            report=report,
            note=note,
        )


def suspend_user(*, moderator, user_id: int, report_id: int | None = None, note: str = "") -> ModerationAction:
    """Stop a user from posting and reacting; their content leaves the feeds until the suspension is lifted."""
    _ensure_moderator(moderator)
    with transaction.atomic():
        user = _target_user(user_id)
        report = _open_report(report_id)
        _ensure_report_is_about(report, user)
        if user.pk == moderator.pk:
            raise ValidationError({"user": _("You cannot suspend yourself.")})
        if user.suspended_at is not None:
            raise ValidationError({"user": _("@%(username)s is already suspended.") % {"username": user.username}})
        creator_services.suspend_user(user_id=user.pk)
        _resolve(report, moderator=moderator, status=Report.Status.ACTIONED)
        return _record(
            moderator=moderator,
            action=ModerationAction.Action.SUSPEND,
            target_user_id=user.pk,
            post=report.post if report is not None else None,
            report=report,
            note=note,
        )


def lift_suspension(*, moderator, user_id: int, report_id: int | None = None, note: str = "") -> ModerationAction:
    _ensure_moderator(moderator)
    with transaction.atomic():
        user = _target_user(user_id)
        report = _open_report(report_id)
        if user.suspended_at is None:
            raise ValidationError({"user": _("@%(username)s is not suspended.") % {"username": user.username}})
        creator_services.lift_suspension(user_id=user.pk)
        _resolve(report, moderator=moderator, status=Report.Status.DISMISSED)
        return _record(
            moderator=moderator,
            action=ModerationAction.Action.UNSUSPEND,
            target_user_id=user.pk,
            post=report.post if report is not None else None,
            report=report,
            note=note,
        )


def dismiss_report(*, moderator, report_id: int, note: str = "") -> ModerationAction:
    """Close a report without acting on the post or its author."""
    _ensure_moderator(moderator)
    with transaction.atomic():
        report = _open_report(report_id)
        if report is None:
            raise Report.DoesNotExist(_("That report does not exist."))
        _resolve(report, moderator=moderator, status=Report.Status.DISMISSED)
        return _record(
            moderator=moderator,
            action=ModerationAction.Action.DISMISS,
            target_user_id=report.post.author_id,
            post=report.post,
            report=report,
            note=note,
        )


# --- One decision for every open report on a post (the grouped moderation queue) ----------------


class AlreadyHandled(ValidationError):
    """Nothing is open on the post any more: another moderator decided first, so nothing changes."""


class QueueDecision(models.TextChoices):
    HIDE = "hide", gettext_lazy("Hide post")
    WARN = "warn", gettext_lazy("Warn author")
    SUSPEND = "suspend", gettext_lazy("Suspend author")
    DISMISS = "dismiss", gettext_lazy("Dismiss")


def _lock_open_reports_on(post: Post) -> list[Report]:
    """The post's open reports, oldest first, locked until the decision commits.

    Called with the post row already locked: every step that settles a post's reports locks the
    post first (hide_post does too), so two moderators deciding on one post queue behind each other
    instead of deadlocking, and the second one finds nothing open."""
    reports = list(
        Report.objects.select_for_update().filter(post=post, status=Report.Status.OPEN).order_by("created_at", "pk")
    )
    if not reports:
        raise AlreadyHandled(_("Another moderator already handled the reports on this post; nothing was changed."))
    return reports


def _settle_open_reports_on(post: Post, *, moderator, status: str) -> int:
    return Report.objects.filter(post=post, status=Report.Status.OPEN).update(
        status=status, resolved_at=timezone.now(), resolved_by=moderator
    )


@dataclass(frozen=True)
class PostDecision:
    action: ModerationAction  # answers the oldest open report on the post
    settled_reports: int  # every open report on the post, that one included


def dismiss_reports_on_post(*, moderator, post_id: int, note: str = "") -> PostDecision:
    """Close every open report on a post without acting on it or its author.

    One ModerationAction answers the oldest open report; the others are settled with it."""
    _ensure_moderator(moderator)
    with transaction.atomic():
        post = _locked_post(post_id)
        open_reports = _lock_open_reports_on(post)
        action = dismiss_report(moderator=moderator, report_id=open_reports[0].pk, note=note)
        _settle_open_reports_on(post, moderator=moderator, status=Report.Status.DISMISSED)
    return PostDecision(action=action, settled_reports=len(open_reports))


def decide_on_reported_post(*, moderator, post_id: int, decision: str, note: str = "") -> PostDecision:
    """One moderator decision about every open report on a post, through the services above.

    The decision answers the post's oldest open report (its ModerationAction points at it) and
    settles all the other open reports on the post in the same transaction. Raises AlreadyHandled
    when no report on the post is open any more, and ValidationError when the step itself is refused
    (the post is already hidden, the author already suspended); either way nothing changes."""
    decision = QueueDecision(decision)
    _ensure_moderator(moderator)
    if decision == QueueDecision.DISMISS:
        return dismiss_reports_on_post(moderator=moderator, post_id=post_id, note=note)
    with transaction.atomic():
        post = _locked_post(post_id)
        open_reports = _lock_open_reports_on(post)
        oldest = open_reports[0]
        if decision == QueueDecision.HIDE:
            # hide_post settles every open report on the post itself.
            action = hide_post(moderator=moderator, post_id=post.pk, report_id=oldest.pk, note=note)
        elif decision == QueueDecision.WARN:
            action = warn_user(moderator=moderator, user_id=post.author_id, report_id=oldest.pk, note=note)
        else:
            action = suspend_user(moderator=moderator, user_id=post.author_id, report_id=oldest.pk, note=note)
        _settle_open_reports_on(post, moderator=moderator, status=Report.Status.ACTIONED)
    return PostDecision(action=action, settled_reports=len(open_reports))
