import functools

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from creators.admin import UserAdmin
from creators.models import User
from orbit.admin_export import csv_download
from orbit.admin_site import ReadOnlyAdmin

from . import moderation, moderation_queue
from .models import Call, Comment, Engagement, Hashtag, ModerationAction, Post, PostRevision, PostType, Report


def _excerpt(text: str, length: int = 80) -> str:
    # Returned as plain text: the admin escapes it like any other value (post text is untrusted).
    return Truncator(" ".join(text.split())).chars(length)


def _run(modeladmin, request, steps) -> None:
    """Run moderation steps one by one; report each refusal and the number done."""
    done = 0
    for label, step in steps:
        try:
            step()
        except (ValidationError, PermissionDenied, ObjectDoesNotExist) as error:
            reasons = error.messages if isinstance(error, ValidationError) else [str(error)]
            modeladmin.message_user(request, f"{label}: {' '.join(reasons)}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, gettext("%(count)d done.") % {"count": done}, messages.SUCCESS)


@admin.register(PostType)
class PostTypeAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_en", "name_zh", "position", "is_active"]
    list_editable = ["position", "is_active"]


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class PostRevisionInline(admin.TabularInline):
    """What the post said (and its trade card showed) before each edit: read when a card is disputed."""

    model = PostRevision
    fields = ["replaced_at", "content_type_id", "body", "trade_card"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    """Posts are the authors' words: staff read them here and hide or restore them with an action,
    which keeps a record; nothing is edited in place."""

    list_display = ["id", "excerpt", "author", "content_type", "language", "status", "created_at"]
    list_filter = ["status", "content_type", "language"]
    search_fields = ["body", "author__username"]
    list_select_related = ["author", "content_type"]
    show_full_result_count = False  # an exact count of a large table is slow
    fields = [
        "author",
        "content_type",
        "language",
        "status",
        "body",
        "like_count",
        "comment_count",
        "created_at",
        "edited_at",
        "deleted_at",
    ]
    readonly_fields = fields
    inlines = [PostRevisionInline]
    actions = ["hide_posts", "restore_posts"]

    @admin.display(description=_("text"))
    def excerpt(self, post):
        return _excerpt(post.body)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Hide post"), permissions=["change"])
    def hide_posts(self, request, queryset):
        _run(
            self,
            request,
            [
                (str(post), lambda post=post: moderation.hide_post(moderator=request.user, post_id=post.pk))
                for post in queryset
            ],
        )

    @admin.action(description=_("Restore post"), permissions=["change"])
    def restore_posts(self, request, queryset):
        _run(
            self,
            request,
            [
                (str(post), lambda post=post: moderation.restore_post(moderator=request.user, post_id=post.pk))
                for post in queryset
            ],
        )


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "post", "author", "created_at"]
    raw_id_fields = ["post", "author", "parent"]
    list_select_related = ["author", "post"]
    show_full_result_count = False


class ReportStatusFilter(admin.SimpleListFilter):
    """Open reports first: the queue is what still needs a decision."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*Report.Status.choices, ("all", _("All"))]

    def choices(self, changelist):
        value = self.value() or Report.Status.OPEN
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or Report.Status.OPEN
        return queryset if value == "all" else queryset.filter(status=value)


def _decision_message(decision: str, outcome: moderation.PostDecision) -> str:
    """What was done, in the moderator's words, for the message on the queue."""
    action, count = outcome.action, outcome.settled_reports
    names = {"post": action.post_id, "author": action.target_user.get_username(), "count": count}
    if decision == moderation.QueueDecision.HIDE:
        text = ngettext(
            "Post %(post)d by @%(author)s is hidden; %(count)d open report settled.",
            "Post %(post)d by @%(author)s is hidden; %(count)d open reports settled.",
            count,
        )
    elif decision == moderation.QueueDecision.WARN:
        text = ngettext(
            "@%(author)s is warned about post %(post)d; %(count)d open report settled.",
            "@%(author)s is warned about post %(post)d; %(count)d open reports settled.",
            count,
        )
    elif decision == moderation.QueueDecision.SUSPEND:
        text = ngettext(
            "@%(author)s is suspended; %(count)d open report on post %(post)d settled.",
            "@%(author)s is suspended; %(count)d open reports on post %(post)d settled.",
            count,
        )
    else:
        text = ngettext(
            "%(count)d open report on post %(post)d dismissed; the post and @%(author)s are left alone.",
            "%(count)d open reports on post %(post)d dismissed; the post and @%(author)s are left alone.",
            count,
        )
    return text % names


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderation queue. Its default view groups open reports by post, with one-click decisions
    (feed.moderation_queue reads, feed.moderation.decide_on_reported_post decides); the flat list of
    reports under all/ keeps the filters, search and actions. Every decision goes through the
    moderation services, so each one leaves a ModerationAction."""

    list_display = ["id", "created_at", "reason", "post_excerpt", "post_status", "author", "reporter", "status"]
    list_display_links = ["id", "created_at"]
    list_filter = [ReportStatusFilter, "reason"]
    search_fields = ["post__body", "post__author__username", "reporter__username", "details"]
    list_select_related = ["reporter", "post__author"]
    ordering = ["created_at"]  # oldest open report first
    fields = ["post", "post_text", "author", "reporter", "reason", "details", "status", "created_at", "resolved_at"]
    readonly_fields = fields
    actions = [
        "hide_posts",
        "restore_posts",
        "warn_authors",
        "suspend_authors",
        "lift_suspensions",
        "dismiss_reports",
    ]

    @admin.display(description=_("post"))
    def post_excerpt(self, report):
        return _excerpt(report.post.body)

    @admin.display(description=_("post text"))
    def post_text(self, report):
        return report.post.body

    @admin.display(description=_("post status"))
    def post_status(self, report):
        return report.post.get_status_display()

    @admin.display(description=_("author"), ordering="post__author__username")
    def author(self, report):
        return report.post.author

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_view)
        # One route per decision (not a <str:decision> parameter): the names say what each button does.
        decisions = [
            path(f"queue/<int:post_id>/{decision}/", decide, {"decision": decision}, name=f"feed_report_{decision}")
            for decision in moderation.QueueDecision.values
        ]
        all_reports = path("all/", self.admin_site.admin_view(self.all_reports_view), name="feed_report_all")
        return [all_reports, *decisions, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":
            # An action posted from the flat list's older address: the flat list handles it.
            return super().changelist_view(request, extra_context)
        return self.queue_view(request)

    def all_reports_view(self, request: HttpRequest) -> HttpResponse:
        """One row per report, with the filters, search and actions the queue always had."""
        return super().changelist_view(request, {"grouped_queue_url": reverse("admin:feed_report_changelist")})

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        """Open reports grouped by post, the one that waited longest first."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.GET.get("csv"):
            return csv_download("moderation-queue", moderation_queue.queue_csv_rows())
        queue = moderation_queue.moderation_queue_page(page_number=request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Moderation queue"),
            "queue": queue,
            "can_decide": self.has_change_permission(request),
            "decisions": moderation.QueueDecision.choices,
            "all_reports_url": reverse("admin:feed_report_all"),
        }
        return TemplateResponse(request, "admin/feed/report/queue.html", context)

    def decide_view(self, request: HttpRequest, post_id: int, decision: str) -> HttpResponse:
        """A one-click decision about every open report on a post; back to the same page of the queue."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            outcome = moderation.decide_on_reported_post(moderator=request.user, post_id=post_id, decision=decision)
        except moderation.AlreadyHandled as error:
            self.message_user(request, " ".join(error.messages), messages.WARNING)
        except (ValidationError, ObjectDoesNotExist) as error:
            reasons = error.messages if isinstance(error, ValidationError) else [str(error)]
            self.message_user(request, " ".join(reasons), messages.ERROR)
        else:
            self.message_user(request, _decision_message(decision, outcome), messages.SUCCESS)
        queue_url = reverse("admin:feed_report_changelist")
        page = request.POST.get("p", "")
        on_a_later_page = page.isascii() and page.isdigit() and int(page) > 1
        return HttpResponseRedirect(f"{queue_url}?p={int(page)}" if on_a_later_page else queue_url)

    def _decide(self, request, reports, decide):
        """Run `decide(report)` once per report, each on its own, and tell the moderator how it went."""
        _run(self, request, [(str(report), functools.partial(decide, report)) for report in reports])

    @staticmethod
    def _first_report_per(queryset, key):
        """One report per post (or author): several reports about one thing get one decision."""
        seen = {}
        for report in queryset.select_related("post__author").order_by("created_at", "pk"):
            seen.setdefault(key(report), report)
        return list(seen.values())

    @admin.action(description=_("Hide post"), permissions=["change"])
    def hide_posts(self, request, queryset):
        reports = self._first_report_per(queryset.filter(status=Report.Status.OPEN), lambda r: r.post_id)
        self._decide(
            request,
            reports,
            lambda report: moderation.hide_post(moderator=request.user, post_id=report.post_id, report_id=report.pk),
        )

    @admin.action(description=_("Restore post"), permissions=["change"])
    def restore_posts(self, request, queryset):
        reports = self._first_report_per(queryset, lambda r: r.post_id)
        self._decide(
            request,
            reports,
            lambda report: moderation.restore_post(
                moderator=request.user,
                post_id=report.post_id,
                report_id=report.pk if report.status == Report.Status.OPEN else None,
            ),
        )

    @admin.action(description=_("Warn author"), permissions=["change"])
    def warn_authors(self, request, queryset):
        reports = self._first_report_per(queryset.filter(status=Report.Status.OPEN), lambda r: r.post_id)
        self._decide(
            request,
            reports,
            lambda report: moderation.warn_user(
                moderator=request.user, user_id=report.post.author_id, report_id=report.pk
            ),
        )

    @admin.action(description=_("Suspend author"), permissions=["change"])
    def suspend_authors(self, request, queryset):
        reports = self._first_report_per(queryset.filter(status=Report.Status.OPEN), lambda r: r.post.author_id)
        self._decide(
            request,
            reports,
            lambda report: moderation.suspend_user(
                moderator=request.user, user_id=report.post.author_id, report_id=report.pk
            ),
        )

    @admin.action(description=_("Lift suspension"), permissions=["change"])
    def lift_suspensions(self, request, queryset):
        reports = self._first_report_per(queryset, lambda r: r.post.author_id)
        self._decide(
            request,
            reports,
            lambda report: moderation.lift_suspension(
                moderator=request.user,
                user_id=report.post.author_id,
                report_id=report.pk if report.status == Report.Status.OPEN else None,
            ),
        )

    @admin.action(description=_("Dismiss report"), permissions=["change"])
    def dismiss_reports(self, request, queryset):
        _run(
            self,
            request,
            [
                (
                    str(report),
                    lambda report=report: moderation.dismiss_report(moderator=request.user, report_id=report.pk),
                )
                for report in queryset.filter(status=Report.Status.OPEN)
            ],
        )


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    """The record of moderation: read-only, like the engagement log."""

    list_display = ["created_at", "action", "moderator", "target_user", "post", "report", "note_excerpt"]
    list_filter = ["action"]
    search_fields = ["target_user__username", "moderator__username", "note"]
    list_select_related = ["moderator", "target_user", "post", "report"]
    date_hierarchy = "created_at"

    @admin.display(description=_("note"))
    def note_excerpt(self, action):
        return _excerpt(action.note)


@admin.register(Engagement)
class EngagementAdmin(ReadOnlyAdmin):
    """Read-only: the log is append-only."""

    list_display = ["id", "kind", "actor", "post", "creator", "dwell_ms", "occurred_at"]
    list_filter = ["kind"]
    raw_id_fields = ["actor", "post", "creator"]
    list_select_related = ["actor", "post", "creator"]
    show_full_result_count = False


# Users are creators' model; suspending one is a moderation step with a record, so the actions live here.
admin.site.unregister(User)


@admin.register(User)
class ModeratedUserAdmin(UserAdmin):
    actions = [*UserAdmin.actions, "suspend_users", "lift_suspensions"]

    @admin.action(description=_("Suspend user"), permissions=["change"])
    def suspend_users(self, request, queryset):
        _run(
            self,
            request,
            [
                (user.username, lambda user=user: moderation.suspend_user(moderator=request.user, user_id=user.pk))
                for user in queryset.filter(suspended_at__isnull=True)
            ],
        )

    @admin.action(description=_("Lift suspension"), permissions=["change"])
    def lift_suspensions(self, request, queryset):
        _run(
            self,
            request,
            [
                (user.username, lambda user=user: moderation.lift_suspension(moderator=request.user, user_id=user.pk))
                for user in queryset.filter(suspended_at__isnull=False)
            ],
        )


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    """Calls are a creator's record: nobody edits or deletes one, staff included; the grader
    (feed.calls.grade_due_calls) is the only writer after publishing."""

    list_display = ["post", "author", "asset", "direction", "target_price", "made_at", "horizon_at", "status"]
    list_filter = ["status", "direction"]
    search_fields = ["author__username", "asset__symbol"]
    raw_id_fields = ["post", "author"]
    list_select_related = ["post", "author", "asset"]
    date_hierarchy = "made_at"
    show_full_result_count = False
