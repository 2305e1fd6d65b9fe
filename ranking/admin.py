from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from feed.models import Post, PostType
from orbit.admin_site import AuditedAdmin, ReadOnlyAdmin
from orbit.security import audit

from . import weights
from .models import ContentTypeWeight, ContentTypeWeightChange, PostTags, TaggerModel, UserInterest

# What operators set on a content type; the multiplier belongs to the daily rebalance.
OPERATOR_FIELDS = ("base_weight", "target_share", "min_multiplier", "max_multiplier", "is_active")
HISTORY_DAYS = 90  # the inline's title says so


def _top(weights_by_key: dict, count: int = 5) -> str:
    ranked = sorted(weights_by_key.items(), key=lambda item: -abs(item[1]))[:count]
    return ", ".join(f"{key} {value:.2f}" for key, value in ranked) or "—"


def _changed_by(change: ContentTypeWeightChange) -> str:
    return change.changed_by.get_username() if change.changed_by_id else gettext("daily rebalance")


# --- Content-type weights ----------------------------------------------------------------


class ContentTypeWeightForm(forms.ModelForm):
    reason = forms.CharField(
        label=_("reason"),
        max_length=ContentTypeWeightChange._meta.get_field("reason").max_length,
        required=False,
        help_text=_("Why you change it; kept in the history below."),
    )

    class Meta:
        model = ContentTypeWeight
        fields = OPERATOR_FIELDS

    def clean(self):
        cleaned_data = super().clean()
        # The same rules the save applies, so a bad value comes back as a form error next to the
        # field. A field that already failed on its own (not a number) is reported alone.
        if all(name in cleaned_data for name in OPERATOR_FIELDS):
            try:
                weights.validate_weight_changes(
                    weight=self.instance, changes={name: cleaned_data[name] for name in OPERATOR_FIELDS}
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned_data


class WeightChangeInline(admin.TabularInline):
    model = ContentTypeWeightChange
    verbose_name_plural = _("changes in the last 90 days")
    fields = ["changed_at", "by", "field", "change", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        # Filtered, not sliced (the inline formset filters again); the full record is under
        # "Content type weight changes".
        since = timezone.now() - timedelta(days=HISTORY_DAYS)
        return super().get_queryset(request).filter(changed_at__gte=since).select_related("changed_by")

    @admin.display(description=_("by"))
    def by(self, change):
        return _changed_by(change)

    @admin.display(description=_("change"))
    def change(self, change):
        return f"{change.old_value} → {change.new_value}"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ContentTypeWeight)
class ContentTypeWeightAdmin(AuditedAdmin):
    """Operators set base weight, target share and bounds; the daily rebalance sets the multiplier.
    Every save goes through `weights.update_content_type_weight`: an audit row per changed field,
    and the For You lists are rebuilt. Types are switched off (inactive = neutral), never deleted."""

    form = ContentTypeWeightForm
    list_display = [
        "content_type",
        "base_weight",
        "target_share_percent",
        "min_multiplier",
        "max_multiplier",
        "multiplier",
        "effective_weight",
        "is_active",
        "rebalanced_at",
    ]
    list_filter = ["is_active"]
    list_select_related = ["post_type"]
    fields = [
        "post_type",
        "base_weight",
        "target_share",
        "min_multiplier",
        "max_multiplier",
        "is_active",
        "reason",
        "multiplier",
        "effective_weight",
        "rebalanced_at",
        "updated_at",
    ]
    readonly_fields = ["post_type", "multiplier", "effective_weight", "rebalanced_at", "updated_at"]
    inlines = [WeightChangeInline]

    @admin.display(description=_("content type"), ordering="post_type__position")
    def content_type(self, weight):
        return f"{weight.post_type.name_en} / {weight.post_type.name_zh} ({weight.post_type_id})"

    @admin.display(description=_("target share"), ordering="target_share")
    def target_share_percent(self, weight):
        return f"{weight.target_share:.1%}"

    @admin.display(description=_("effective weight"))
    def effective_weight(self, weight):
        return f"{weight.effective:.2f}"

    def changelist_view(self, request, extra_context=None):
        # A content type added in admin a minute ago is listed with a neutral row at once instead of
        # after the next daily rebalance; a no-op query when every type has its row.
        weights.ensure_weight_rows()
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        try:
            weights.update_content_type_weight(
                weight=obj,
                changes={name: form.cleaned_data[name] for name in OPERATOR_FIELDS},
                by=request.user,
                reason=form.cleaned_data.get("reason", ""),
            )
        except ValidationError as error:
            # The form checked the same rules; only a change saved in between (by another operator
            # or the daily job) gets here.
            request._weight_change_refused = True
            self.message_user(request, " ".join(error.messages), messages.ERROR)

    def log_change(self, request, obj, message):
        if getattr(request, "_weight_change_refused", False):
            return None  # nothing was saved, so nothing to log
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(request, "_weight_change_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def has_add_permission(self, request):
        return False  # every content type gets its row from ensure_weight_rows

    def has_delete_permission(self, request, obj=None):
        return False  # operators deactivate a type instead; its history stays


class ChangedByFilter(admin.SimpleListFilter):
    title = _("by")
    parameter_name = "by"

    def lookups(self, request, model_admin):
        return [("operators", _("Operators")), ("rebalance", _("Daily rebalance"))]

    def queryset(self, request, queryset):
        if self.value() == "operators":
            return queryset.filter(changed_by__isnull=False)
        if self.value() == "rebalance":
            return queryset.filter(changed_by__isnull=True)
        return queryset


@admin.register(ContentTypeWeightChange)
class ContentTypeWeightChangeAdmin(ReadOnlyAdmin):
    """The full record of weight changes: read-only, like every audit trail."""

    list_display = ["changed_at", "weight", "field", "change", "by", "reason"]
    list_filter = ["weight", "field", ChangedByFilter]
    search_fields = ["reason", "changed_by__username"]
    list_select_related = ["changed_by", "weight"]
    date_hierarchy = "changed_at"

    @admin.display(description=_("change"))
    def change(self, change):
        return f"{change.old_value} → {change.new_value}"

    @admin.display(description=_("by"), ordering="changed_by__username")
    def by(self, change):
        return _changed_by(change)


# --- Tags and the tagger --------------------------------------------------------------


class ContentTypeFilter(admin.SimpleListFilter):
    # Choices from PostType (a few rows), not SELECT DISTINCT over every tag row.
    title = _("content type")
    parameter_name = "content_type"

    def lookups(self, request, model_admin):
        return list(PostType.objects.values_list("slug", "name_en"))

    def queryset(self, request, queryset):
        return queryset.filter(content_type=self.value()) if self.value() else queryset


class LanguageFilter(admin.SimpleListFilter):
    title = _("language")
    parameter_name = "language"

    def lookups(self, request, model_admin):
        return Post.Language.choices

    def queryset(self, request, queryset):
        return queryset.filter(language=self.value()) if self.value() else queryset


class ModelVersionFilter(admin.SimpleListFilter):
    title = _("model version")
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        return [(version, version) for version in TaggerModel.objects.values_list("version", flat=True)]

    def queryset(self, request, queryset):
        return queryset.filter(model_version=self.value()) if self.value() else queryset


@admin.register(PostTags)
class PostTagsAdmin(ReadOnlyAdmin):
    """What the tagger said about each post. Written by tagging only; `manage.py retag` redoes them."""

    list_display = [
        "post_link",
        "content_type",
        "level",
        "language",
        "quality_score",
        "topics",
        "assets",
        "trending",
        "model_version",
        "tagged_at",
    ]
    list_filter = [ContentTypeFilter, "level", LanguageFilter, ModelVersionFilter]
    search_fields = ["post_id"]  # see get_search_results
    search_help_text = _("Post id")
    show_full_result_count = False  # an exact count of a large table is slow
    fields = [
        "post_link",
        "content_type",
        "level",
        "language",
        "quality",
        "topics",
        "assets",
        "trending",
        "model_version",
        "tagged_at",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        # Searched by post id only; anything else finds nothing rather than scanning the table.
        term = search_term.strip()
        if not term:
            return queryset, False
        return (queryset.filter(post_id=int(term)) if term.isdigit() else queryset.none()), False

    @admin.display(description=_("post"), ordering="post_id")
    def post_link(self, tags):
        return format_html('<a href="{}">{}</a>', reverse("admin:feed_post_change", args=[tags.post_id]), tags.post_id)

    @admin.display(description=_("quality"), ordering="quality")
    def quality_score(self, tags):
        return f"{tags.quality:.2f}"


def _flat_metrics(metrics, prefix: str = "") -> list[tuple[str, str]]:
    """{"content_type": {"macro_f1": 0.91}} → [("content_type macro_f1", "0.910")]."""
    if not isinstance(metrics, dict):
        return [(prefix, f"{metrics:.3f}" if isinstance(metrics, float) else str(metrics))]
    rows = []
    for key, value in metrics.items():
        rows += _flat_metrics(value, f"{prefix} {key}".strip())
    return rows


@admin.register(TaggerModel)
class TaggerModelAdmin(ReadOnlyAdmin):
    """Trained taggers (`manage.py train_tagger`). Operators compare their metrics and choose the active
    one; new posts are tagged by it."""

    list_display = ["version", "trained_at", "is_active", "metrics_summary"]
    list_filter = ["is_active"]
    fields = ["version", "trained_at", "is_active", "corpus_sha256", "metrics_table"]
    readonly_fields = fields
    actions = ["activate"]

    def get_queryset(self, request):
        # The artifact is megabytes of model; nothing here shows it.
        return super().get_queryset(request).defer("artifact")

    @admin.display(description=_("metrics"))
    def metrics_summary(self, tagger):
        return " · ".join(f"{name} {value}" for name, value in _flat_metrics(tagger.metrics)[:6]) or "—"

    @admin.display(description=_("metrics"))
    def metrics_table(self, tagger):
        rows = _flat_metrics(tagger.metrics)
        if not rows:
            return "—"
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    def has_activate_permission(self, request):
        return request.user.has_perm("ranking.change_taggermodel")

    @admin.action(description=_("Activate this model"), permissions=["activate"])
    def activate(self, request, queryset):
        chosen = list(queryset.values_list("version", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, gettext("Select exactly one model to activate."), messages.WARNING)
            return
        # Imported here: scikit-learn is loaded by workers and commands, never by web processes.
        from .tagging import activate_tagger

        previous = TaggerModel.objects.filter(is_active=True).values_list("version", flat=True).first()
        try:
            version = activate_tagger(version=chosen[0]).version
        except TaggerModel.DoesNotExist:
            self.message_user(request, gettext("That tagger model no longer exists."), messages.WARNING)
            return
        audit("tagger_activated", request, version=repr(version), previous=repr(previous))
        self.message_user(
            request,
            gettext("%(version)s is now the active tagger; posts tagged from now on use it.") % {"version": version},
            messages.SUCCESS,
        )


@admin.register(UserInterest)
class UserInterestAdmin(ReadOnlyAdmin):
    """Interest profiles, rebuilt from trading and the engagement log; shown to explain a feed."""

    list_display = ["user", "top_engagement", "top_trading", "updated_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    show_full_result_count = False
    fields = ["user", "top_engagement", "top_trading", "last_engagement_id", "engagement_as_of", "updated_at"]
    readonly_fields = fields

    @admin.display(description=_("reads most"))
    def top_engagement(self, interest):
        return _top(interest.engagement)

    @admin.display(description=_("trades"))
    def top_trading(self, interest):
        return _top(interest.trading)
