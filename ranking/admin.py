from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from feed.models import Post, PostType
from orbit.admin_site import AuditedAdmin, ReadOnlyAdmin
from orbit.security import audit

from . import teaching, weights
from .models import (
    ActionValue,
    ContentTypeWeight,
    ContentTypeWeightChange,
    Impression,
    PostTags,
    RankingModel,
    TagCorrection,
    TaggerModel,
    TagReview,
    UserInterest,
)

# What operators set on a content type; the multiplier belongs to the daily rebalance.
OPERATOR_FIELDS = ("base_weight", "target_share", "min_multiplier", "max_multiplier", "is_active")
HISTORY_DAYS = 90  # the inline's title says so


def _top(weights_by_key: dict, count: int = 5) -> str:
    ranked = sorted(weights_by_key.items(), key=lambda item: -abs(item[1]))[:count]
    return ", ".join(f"{key} {value:.2f}" for key, value in ranked) or "—"


def _changed_by(change: ContentTypeWeightChange) -> str:
    return change.changed_by.get_username() if change.changed_by_id else gettext("daily rebalance")


# --- Content-type weights ----------------------------------------------------------------

_SHARE_STEP = Decimal("0.001")  # ContentTypeWeight.target_share's decimal places


def percent_of(fraction: Decimal) -> Decimal:
    """0.125 → 12.5: the stored fraction as operators read and type it."""
    return (fraction * 100).quantize(Decimal("0.1"))


def fraction_of(percent: Decimal) -> Decimal:
    """12.5 → 0.125: the percentage typed, as the row stores it."""
    return (percent / 100).quantize(_SHARE_STEP)


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


PERCENT_MESSAGE = _("Enter the target share as a percentage of the feed from 0 to 100, such as 15 or 12.5.")


class ContentTypeWeightForm(forms.ModelForm):
    # Operators type a percentage (15 or 12.5); the row keeps a fraction with 3 decimals (0.150,
    # 0.125), so one decimal of percent is exactly what it can hold.
    target_share = forms.DecimalField(
        label=_("target share (%)"),
        min_value=0,
        max_value=100,
        max_digits=4,
        decimal_places=1,
        help_text=_("Percent of the feed this type should have, 0 to 100; the daily rebalance steers towards it."),
        error_messages={
            "invalid": PERCENT_MESSAGE,
            "min_value": PERCENT_MESSAGE,
            "max_value": PERCENT_MESSAGE,
            "max_digits": PERCENT_MESSAGE,
            "max_whole_digits": PERCENT_MESSAGE,
            "max_decimal_places": _(
                "Use at most one decimal place, such as 12.5: the target share is kept in tenths of a percent."
            ),
        },
    )
    reason = forms.CharField(
        label=_("reason"),
        max_length=ContentTypeWeightChange._meta.get_field("reason").max_length,
        required=False,
        help_text=_("Why you change it; kept in the history below."),
    )

    class Meta:
        model = ContentTypeWeight
        fields = OPERATOR_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "target_share" not in kwargs.get("initial", {}):
            self.initial["target_share"] = percent_of(self.instance.target_share)

    def clean_target_share(self) -> Decimal:
        """The stored fraction of the percentage typed."""
        return fraction_of(self.cleaned_data["target_share"])

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
        "supply_percent",
        "exposure_percent",
        "multiplier_within_bounds",
        "effective_weight",
        "active",
    ]
    # No filter sidebar and no rebalance time here (it is on each type's page and in the history):
    # a handful of rows, and the figures side by side need the width on a laptop.
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
        # The name in the operator's language; the slug is on the type's own page.
        return str(weight.post_type)

    @admin.display(description=_("target share"), ordering="target_share")
    def target_share_percent(self, weight):
        return _percent(float(weight.target_share))

    @admin.display(description=_("supply, 7 days"))
    def supply_percent(self, weight):
        """Share of the last 7 days' published posts, counted as the daily rebalance counts them."""
        return _percent(getattr(weight, "supply_share", None))

    @admin.display(description=_("exposure, 7 days"))
    def exposure_percent(self, weight):
        """Share of For You impressions over the last 7 days; "—" until any were recorded."""
        return _percent(getattr(weight, "exposure_share", None))

    @admin.display(description=_("active"), boolean=True, ordering="is_active")
    def active(self, weight):
        return weight.is_active

    @admin.display(description=_("multiplier"), ordering="multiplier")
    def multiplier_within_bounds(self, weight):
        # The multiplier between its bounds, one column for three numbers: the list fits a laptop.
        return f"{weight.min_multiplier} ≤ {weight.multiplier} ≤ {weight.max_multiplier}"

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        self.annotate_rows(changelist.result_list)
        return changelist

    def annotate_rows(self, rows) -> None:
        """The actual shares of every type from two grouped queries, set on the rows for the
        columns above (a ModelAdmin is shared between requests, so nothing is kept on self). The
        list page and its CSV export (orbit/admin_export.py) both call it."""
        shares = weights.actual_shares()
        for weight in rows:
            if shares.supply is not None:
                weight.supply_share = shares.supply.get(weight.post_type_id, 0.0)
            if shares.exposure is not None:
                weight.exposure_share = shares.exposure.get(weight.post_type_id, 0.0)

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
        "confidence_score",
        "corrected",
        "tagged_at",
    ]
    list_filter = [ContentTypeFilter, "level", LanguageFilter, ModelVersionFilter, "corrected"]
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
        "confidence",
        "corrected",
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

    @admin.display(description=_("confidence"), ordering="confidence")
    def confidence_score(self, tags):
        return f"{tags.confidence:.2f}"


def _flat_metrics(metrics, prefix: str = "") -> list[tuple[str, str]]:
    """{"content_type": {"macro_f1": 0.91}} → [("content_type macro_f1", "0.910")]."""
    if not isinstance(metrics, dict):
        return [(prefix, f"{metrics:.3f}" if isinstance(metrics, float) else str(metrics))]
    rows = []
    for key, value in metrics.items():
        rows += _flat_metrics(value, f"{prefix} {key}".strip())
    return rows


def _language_name(code: str) -> str:
    return str(dict(Post.Language.choices).get(code, code))


def _comparison_rows(new: dict, active: dict) -> list[tuple[str, float | None, float | None, bool]]:
    """(label, this model, the model it was compared with, gated) for every held-out figure either has."""
    languages = sorted(set(teaching.held_out_languages(new)) | set(teaching.held_out_languages(active)))
    gated = set(teaching.gated_figures(new)) | set(teaching.gated_figures(active))
    specs: list[tuple[str, tuple[str, ...], str]] = [
        (gettext("Content-type macro-F1, all languages"), ("content_type", "macro_f1"), "content_type macro_f1")
    ]
    for language in languages:
        specs.append(
            (
                gettext("Content-type macro-F1, %(language)s") % {"language": _language_name(language)},
                ("by_language", language, "content_type", "macro_f1"),
                f"content_type macro_f1 {language}",
            )
        )
    specs.append((gettext("Asset F1, all languages"), ("assets", "f1"), "assets f1"))
    for language in languages:
        specs.append(
            (
                gettext("Asset F1, %(language)s") % {"language": _language_name(language)},
                ("by_language", language, "assets", "f1"),
                f"assets f1 {language}",
            )
        )
    types = sorted(
        set((new.get("content_type") or {}).get("f1_per_type") or {})
        | set((active.get("content_type") or {}).get("f1_per_type") or {})
    )
    for content_type in types:
        specs.append(
            (gettext("F1 of %(type)s") % {"type": content_type}, ("content_type", "f1_per_type", content_type), "")
        )
        for language in languages:
            specs.append(
                (
                    gettext("F1 of %(type)s, %(language)s")
                    % {"type": content_type, "language": _language_name(language)},
                    ("by_language", language, "content_type", "f1_per_type", content_type),
                    "",
                )
            )
    rows = []
    for label, path_to_figure, gated_name in specs:
        new_value = teaching.held_out_figure(new, *path_to_figure)
        active_value = teaching.held_out_figure(active, *path_to_figure)
        if new_value is not None or active_value is not None:
            rows.append((label, new_value, active_value, gated_name in gated))
    return rows


def _figure_cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


@admin.register(TaggerModel)
class TaggerModelAdmin(ReadOnlyAdmin):
    """Trained taggers (`manage.py train_tagger`, or "Retrain from corrections" here). Retrained models
    pass the promotion gate on the frozen held-out set or are stored refused; operators compare the
    figures and may still choose the active one by hand. New posts are tagged by the active one."""

    change_list_template = "admin/ranking/taggermodel/change_list.html"
    list_display = ["version", "trained_at", "is_active", "gate_decision", "metrics_summary"]
    list_filter = ["is_active", "promoted"]
    fields = [
        "version",
        "trained_at",
        "is_active",
        "gate_decision",
        "refusal",
        "examples_added",
        "comparison",
        "corpus_sha256",
        "metrics_table",
    ]
    readonly_fields = fields
    actions = ["activate"]

    def get_queryset(self, request):
        # The artifact is megabytes of model; nothing here shows it.
        return super().get_queryset(request).defer("artifact")

    def get_urls(self):
        retrain = path("retrain/", self.admin_site.admin_view(self.retrain_view), name="ranking_taggermodel_retrain")
        return [retrain, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_retrain": self.has_retrain_permission(request)}
        return super().changelist_view(request, extra_context)

    def has_retrain_permission(self, request):
        return request.user.has_perm("ranking.add_taggermodel")

    def retrain_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_retrain_permission(request):
            raise PermissionDenied
        from .tasks import retrain_tagger

        transaction.on_commit(retrain_tagger.delay)
        audit("tagger_retrain_queued", request)
        self.message_user(
            request,
            gettext(
                "Retraining from corrections is queued. The new model appears in this list when it is done, "
                "promoted or refused with the reason."
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:ranking_taggermodel_changelist"))

    @admin.display(description=_("metrics"))
    def metrics_summary(self, tagger):
        return " · ".join(f"{name} {value}" for name, value in _flat_metrics(tagger.metrics)[:6]) or "—"

    @admin.display(description=_("metrics"))
    def metrics_table(self, tagger):
        rows = _flat_metrics(tagger.metrics)
        if not rows:
            return "—"
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    @admin.display(description=_("promotion gate"), ordering="promoted")
    def gate_decision(self, tagger):
        if tagger.promoted is None:
            return gettext("not gated (trained by command)")
        if tagger.promoted:
            if tagger.compared_with:
                return gettext("promoted over %(version)s") % {"version": tagger.compared_with}
            return gettext("promoted (no model was active)")
        return gettext("refused")

    @admin.display(description=_("why it was refused"))
    def refusal(self, tagger):
        if not tagger.refused_reason:
            return "—"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in tagger.refused_reason.splitlines()))
        )

    @admin.display(description=_("examples added to the corpus"))
    def examples_added(self, tagger):
        counts = tagger.training_examples or {}
        if not counts:
            return "—"
        return gettext("operator corrections: %(corrections)s; authors' choices: %(choices)s (weight %(weight)s)") % {
            "corrections": counts.get("corrections", 0),
            "choices": counts.get("author_choices", 0),
            "weight": counts.get("author_choice_weight", teaching.AUTHOR_CHOICE_WEIGHT),
        }

    @admin.display(description=_("held-out comparison"))
    def comparison(self, tagger):
        rows = _comparison_rows(tagger.held_out_metrics or {}, tagger.compared_metrics or {})
        if not rows:
            return "—"
        tolerance = teaching.GATE_TOLERANCE

        def verdict(new_value, active_value, gated):
            if not gated or active_value is None:
                return ""
            if new_value is None or new_value < active_value - tolerance:
                return gettext("below the active model")
            return gettext("not worse")

        body = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    label,
                    _figure_cell(new_value),
                    _figure_cell(active_value),
                    "—" if new_value is None or active_value is None else f"{new_value - active_value:+.3f}",
                    verdict(new_value, active_value, gated),
                )
                for label, new_value, active_value, gated in rows
            ),
        )
        return format_html(
            '<table class="tagger-comparison"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
            '<th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead>'
            "<tbody>{}</tbody></table><p>{}</p>",
            gettext("Held-out figure"),
            gettext("This model (%(version)s)") % {"version": tagger.version},
            (gettext("Active then (%(version)s)") % {"version": tagger.compared_with})
            if tagger.compared_with
            else gettext("No model to compare with"),
            gettext("Difference"),
            gettext("Gate"),
            body,
            gettext("Gated figures may fall at most %(tolerance)s below the active model's.")
            % {"tolerance": f"{tolerance:.3f}"},
        )

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


# --- Teaching the tagger: the review queue and corrections ----------------------------------------


class ReviewReasonFilter(admin.SimpleListFilter):
    title = _("why listed")
    parameter_name = "why"

    def lookups(self, request, model_admin):
        return [("unsure", _("The tagger is unsure")), ("disagrees", _("The author chose another type"))]

    def queryset(self, request, queryset):
        if self.value() == "unsure":
            return queryset.filter(confidence__lt=teaching.REVIEW_BELOW_CONFIDENCE)
        if self.value() == "disagrees":
            return queryset.exclude(content_type=F("post__content_type"))
        return queryset


class SetAssetsForm(forms.Form):
    assets = forms.CharField(
        label=_("assets"),
        required=False,
        max_length=400,
        help_text=_("Ticker symbols separated by spaces or commas, e.g. BTC ETH; empty means the posts name none."),
    )
    note = forms.CharField(label=_("note"), required=False, max_length=TagCorrection._meta.get_field("note").max_length)

    def clean_assets(self):
        return teaching.clean_assets(self.cleaned_data["assets"].replace(",", " ").split())


@admin.register(TagReview)
class TagReviewAdmin(ReadOnlyAdmin):
    """Tags worth an operator's look (teaching.review_queue): the tagger was unsure, or the author chose
    another type. Corrections made here override the tags at once and train the next tagger."""

    list_display = [
        "post_link",
        "excerpt",
        "author_type",
        "content_type",
        "confidence_score",
        "assets",
        "language",
        "model_version",
    ]
    list_filter = [ReviewReasonFilter, ContentTypeFilter, LanguageFilter]
    list_select_related = ["post"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["set_assets"]

    def get_queryset(self, request):
        return teaching.review_queue(super().get_queryset(request))

    def has_correct_permission(self, request):
        return request.user.has_perm("ranking.add_tagcorrection")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_correct_permission(request):
            # One action per content type, so a page of posts is corrected in two clicks.
            for slug, name in self._active_types(request):
                label = gettext("Set content type to %(type)s") % {"type": f"{name} ({slug})"}
                actions[f"set_type_{slug}"] = (self._set_type_action(slug), f"set_type_{slug}", label)
        return actions

    def _active_types(self, request) -> list[tuple[str, str]]:
        # Admin asks for the actions several times per page; one query per request.
        if not hasattr(request, "_tag_review_types"):
            request._tag_review_types = list(PostType.objects.filter(is_active=True).values_list("slug", "name_en"))
        return request._tag_review_types

    def _set_type_action(self, slug: str):
        def set_type(modeladmin, request, queryset):
            if not modeladmin.has_correct_permission(request):
                raise PermissionDenied
            post_ids = list(queryset.values_list("post_id", flat=True))
            corrected = teaching.correct(post_ids, content_type=slug, by=request.user)
            audit("tags_corrected", request, posts=corrected, content_type=repr(slug))
            modeladmin.message_user(
                request,
                ngettext(
                    "%(count)s post now has the content type %(type)s.",
                    "%(count)s posts now have the content type %(type)s.",
                    corrected,
                )
                % {"count": corrected, "type": slug},
                messages.SUCCESS,
            )

        return set_type

    @admin.action(description=_("Set assets…"), permissions=["correct"])
    def set_assets(self, request, queryset):
        form = SetAssetsForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            post_ids = list(queryset.values_list("post_id", flat=True))
            corrected = teaching.correct(
                post_ids, assets=form.cleaned_data["assets"], by=request.user, note=form.cleaned_data["note"]
            )
            audit("tags_corrected", request, posts=corrected, assets=repr(form.cleaned_data["assets"]))
            self.message_user(
                request,
                ngettext(
                    "%(count)s post now has the assets %(assets)s.",
                    "%(count)s posts now have the assets %(assets)s.",
                    corrected,
                )
                % {"count": corrected, "assets": " ".join(form.cleaned_data["assets"]) or "—"},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Set assets"),
            "opts": self.model._meta,
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/ranking/tagreview/set_assets.html", context)

    @admin.display(description=_("post"), ordering="post_id")
    def post_link(self, tags):
        return format_html('<a href="{}">{}</a>', reverse("admin:feed_post_change", args=[tags.post_id]), tags.post_id)

    @admin.display(description=_("text"))
    def excerpt(self, tags):
        return Truncator(" ".join(tags.post.body.split())).chars(140)  # escaped by admin

    @admin.display(description=_("author's type"), ordering="post__content_type")
    def author_type(self, tags):
        return tags.post.content_type_id

    @admin.display(description=_("confidence"), ordering="confidence")
    def confidence_score(self, tags):
        return f"{tags.confidence:.2f}"


@admin.register(TagCorrection)
class TagCorrectionAdmin(ReadOnlyAdmin):
    """Every post an operator corrected: what the tagger said, what it is, who said so."""

    list_display = [
        "post_id",
        "previous_content_type",
        "content_type",
        "previous_assets",
        "assets",
        "by",
        "corrected_at",
        "note",
    ]
    list_filter = [ContentTypeFilter]
    list_select_related = ["corrected_by"]
    search_fields = ["note", "corrected_by__username"]
    date_hierarchy = "corrected_at"
    show_full_result_count = False

    @admin.display(description=_("by"), ordering="corrected_by__username")
    def by(self, correction):
        return correction.corrected_by.get_username() if correction.corrected_by_id else "—"


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


@admin.register(Impression)
class ImpressionAdmin(ReadOnlyAdmin):
    """What readers were shown, where and why (ranking.impressions); written by the queue only."""

    list_display = ["served_at", "reader", "post_link", "position", "source", "propensity_value", "model_version"]
    list_filter = ["source", "surface", "model_version"]
    search_fields = ["reader__username"]
    search_help_text = _("Reader's username")
    list_select_related = ["reader"]
    show_full_result_count = False  # an exact count of a large log is slow
    fields = [
        "served_at",
        "reader",
        "post_link",
        "surface",
        "page",
        "position",
        "source",
        "score",
        "propensity",
        "model_version",
    ]
    readonly_fields = fields

    @admin.display(description=_("post"), ordering="post_id")
    def post_link(self, impression):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:feed_post_change", args=[impression.post_id]), impression.post_id
        )

    @admin.display(description=_("propensity"), ordering="propensity")
    def propensity_value(self, impression):
        return f"{impression.propensity:.4f}"


@admin.register(RankingModel)
class RankingModelAdmin(ReadOnlyAdmin):
    """Trained For You rankers (ranking.learned, beat's `retrain-ranker`): each with its figures and
    the gate's comparison with the ranker active then. Operators may activate one by hand, or go
    back to the heuristic ranker."""

    list_display = ["version", "trained_at", "is_active", "promoted", "compared_with", "difference"]
    list_filter = ["is_active", "promoted"]
    fields = [
        "version",
        "trained_at",
        "is_active",
        "promoted",
        "refused_reason",
        "compared_with",
        "evaluation",
        "metrics",
    ]
    readonly_fields = fields
    actions = ["activate", "back_to_heuristic"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    @admin.display(description=_("better than the active ranker by"))
    def difference(self, ranker):
        figures = (ranker.evaluation or {}).get("difference")
        if not figures:
            return "—"
        return f"{figures['value']:+.4f} [{figures['low']:+.4f}, {figures['high']:+.4f}]"

    def has_activate_permission(self, request):
        return request.user.has_perm("ranking.change_rankingmodel")

    @admin.action(description=_("Activate this ranker"), permissions=["activate"])
    def activate(self, request, queryset):
        chosen = list(queryset.values_list("version", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, gettext("Select exactly one ranker to activate."), messages.WARNING)
            return
        from .training import activate  # scikit-learn: never loaded by web processes otherwise

        previous = RankingModel.objects.filter(is_active=True).values_list("version", flat=True).first()
        version = activate(version=chosen[0]).version
        audit("ranker_activated", request, version=repr(version), previous=repr(previous))
        self.message_user(
            request,
            gettext("%(version)s now ranks For You; lists are rebuilt as they age.") % {"version": version},
            messages.SUCCESS,
        )

    @admin.action(description=_("Go back to the heuristic ranker"), permissions=["activate"])
    def back_to_heuristic(self, request, queryset):
        from .training import deactivate_all

        previous = RankingModel.objects.filter(is_active=True).values_list("version", flat=True).first()
        deactivate_all()
        audit("ranker_activated", request, version=repr("heuristic"), previous=repr(previous))
        self.message_user(request, gettext("The heuristic ranker ranks For You again."), messages.SUCCESS)


@admin.register(ActionValue)
class ActionValueAdmin(AuditedAdmin):
    """What each predicted action is worth in the learned ranker's score (ranking.learned)."""

    list_display = ["action", "value", "updated_at"]
    list_editable = ["value"]
    fields = ["action", "value"]
    readonly_fields = ["action"]

    def has_add_permission(self, request):
        return False  # one row per action, made by the migration

    def has_delete_permission(self, request, obj=None):
        return False
