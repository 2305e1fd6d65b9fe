"""Operators' side of payouts: set pools, weights and rules; review, approve and pay each week."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from orbit.admin_site import AuditedAdmin, ReadOnlyAdmin
from orbit.security import audit, log_operator_change

from . import reconciliation, review, tasks, transfers
from . import settlement as settlement_service
from .models import (
    ActionWeight,
    Contribution,
    IncentivePolicy,
    IntegrityFlag,
    LedgerEntry,
    Payout,
    PayoutTransfer,
    PrizePool,
    ReaderValueRules,
    Settlement,
    Tip,
    TransferReconciliation,
)
from .weeks import Week


class PrizePoolForm(forms.ModelForm):
    class Meta:
        model = PrizePool
        fields = ["week", "amount", "currency", "note"]

    def clean_week(self):
        week = self.cleaned_data["week"]
        try:
            Week.parse(week)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error
        if Settlement.objects.filter(week=week).exclude(status=Settlement.Status.DRAFT).exists():
            raise forms.ValidationError(_("This week is already approved; its pool can no longer change."))
        return week

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount != amount.quantize(amount.__class__("0.01")):
            raise forms.ValidationError(_("Use whole cents."))
        return amount


@admin.register(PrizePool)
class PrizePoolAdmin(AuditedAdmin):
    form = PrizePoolForm
    list_display = ["week", "amount", "currency", "note", "created_at"]
    search_fields = ["week"]


@admin.register(ActionWeight)
class ActionWeightAdmin(AuditedAdmin):
    list_display = ["kind", "weight", "per_view_cap_seconds", "updated_at"]
    list_editable = ["weight", "per_view_cap_seconds"]

    def has_add_permission(self, request):
        return False  # one row per action, created by migration

    def has_delete_permission(self, request, obj=None):
        return False


class SingletonAdmin(AuditedAdmin):
    """One row of settings: the list goes straight to it."""

    def changelist_view(self, request, extra_context=None):
        obj = self.model.current()
        return HttpResponseRedirect(reverse(f"admin:incentives_{self.model._meta.model_name}_change", args=[obj.pk]))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IncentivePolicy)
class IncentivePolicyAdmin(SingletonAdmin):
    fieldsets = [
        (_("Allocation"), {"fields": ["alpha", "max_share", "minimum_payout"]}),
        (
            _("Counting"),
            {
                "fields": [
                    "daily_cap",
                    "reader_week_points",
                    "reader_creator_share",
                    "time_spent_week_minutes",
                    "post_earning_days",
                ]
            },
        ),
        (_("Review"), {"fields": ["hold_severity"]}),
    ]


@admin.register(ReaderValueRules)
class ReaderValueRulesAdmin(SingletonAdmin):
    fieldsets = [
        (None, {"fields": ["base", "maximum"]}),
        (_("Fees paid"), {"fields": ["full_fees_usd", "fee_scale_usd", "fee_window_days"]}),
        (_("KYC level"), {"fields": ["kyc_none", "kyc_basic", "kyc_verified", "kyc_advanced"]}),
        (_("Trading tenure"), {"fields": ["tenure_bonus", "tenure_weeks"]}),
        (_("Account age"), {"fields": ["new_account_days", "new_account_factor"]}),
    ]


def _link(model: str, label, **filters) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', reverse(f"admin:incentives_{model}_changelist"), query, label)


class ReviewedRecordAdmin(ReadOnlyAdmin):
    """Records nobody edits by hand; staff with the change permission act on them through the
    admin actions (approve, pay, release, dismiss), which call the services."""

    def has_change_permission(self, request, obj=None):
        meta = self.model._meta
        return obj is None and request.user.has_perm(f"{meta.app_label}.change_{meta.model_name}")


@admin.register(Settlement)
class SettlementAdmin(ReviewedRecordAdmin):
    """The weeks: a list that fits a laptop, a "Draft week" button, and a review page per week with
    the buttons its status allows (recompute, approve, pay) and the payment's progress. Reads come
    from incentives/review.py; every button calls the same code as the list's actions."""

    change_list_template = "admin/incentives/settlement/change_list.html"
    change_form_template = "admin/incentives/settlement/change_form.html"
    list_display = [
        "week_shown",
        "status_badge",
        "pool_shown",
        "allocated_shown",
        "carried_out_shown",
        "creators_shown",
        "flags_link",
        "held_link",
    ]
    list_filter = ["status"]
    actions = ["recompute", "approve", "pay"]
    fields = [
        "week",
        "status",
        "starts_at",
        "ends_at",
        "currency",
        "pool_amount",
        "carried_in",
        "total_allocated",
        "carried_out",
        "total_score",
        "creator_count",
        "computed_at",
        "computation_ms",
        "approved_at",
        "approved_by",
        "paid_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("approved_by")
            .annotate(
                flag_count=Count("flags", distinct=True),
                held_count=Count("payouts", filter=Q(payouts__status=Payout.Status.HELD), distinct=True),
            )
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("draft-week/", view(self.draft_week_view), name="incentives_settlement_draft_week"),
            path("<int:object_id>/recompute/", view(self.recompute_view), name="incentives_settlement_recompute"),
            path("<int:object_id>/approve/", view(self.approve_view), name="incentives_settlement_approve"),
            path("<int:object_id>/pay/", view(self.pay_view), name="incentives_settlement_pay"),
            path(
                "<int:object_id>/pay-progress/",
                view(self.pay_progress_view),
                name="incentives_settlement_pay_progress",
            ),
            *super().get_urls(),
        ]

    # --- The list ---------------------------------------------------------------------------

    @admin.display(description=_("week"), ordering="week")
    def week_shown(self, obj):
        return obj.week

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="settlement-status settlement-status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description=_("pool"), ordering="pool_amount")
    def pool_shown(self, obj):
        return review.money(obj.pool_amount, obj.currency)

    @admin.display(description=_("allocated"), ordering="total_allocated")
    def allocated_shown(self, obj):
        return review.money(obj.total_allocated, obj.currency)

    @admin.display(description=_("carried out"), ordering="carried_out")
    def carried_out_shown(self, obj):
        return review.money(obj.carried_out, obj.currency)

    @admin.display(description=_("creators"), ordering="creator_count")
    def creators_shown(self, obj):
        return _link(
            "contribution", number_format(obj.creator_count, force_grouping=True), settlement__id__exact=obj.pk
        )

    @admin.display(description=_("flags"))
    def flags_link(self, obj):
        return _link("integrityflag", getattr(obj, "flag_count", obj.flags.count()), settlement__id__exact=obj.pk)

    @admin.display(description=_("held"))
    def held_link(self, obj):
        held = getattr(obj, "held_count", None)
        held = obj.payouts.filter(status=Payout.Status.HELD).count() if held is None else held
        return _link("payout", held, settlement__id__exact=obj.pk, status__exact="held")

    def changelist_view(self, request, extra_context=None):
        context = {
            "draft_week_default": review.last_finished_week().label,
            "can_draft_week": self.has_change_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    # --- The week's page --------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                review=review.settlement_review(obj),
                can_act=self.has_change_permission(request),
                # The page just asked for the payment: watch it start even while still "approved".
                watch_payment=obj.status == Settlement.Status.PAID or request.GET.get("paying") == "1",
                title=_("Settlement %(week)s") % {"week": obj.week},
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def pay_progress_view(self, request, object_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            progress = review.pay_progress(object_id)
        except Settlement.DoesNotExist:
            raise Http404 from None
        return TemplateResponse(
            request,
            "admin/incentives/settlement/_pay_progress.html",
            {"progress": progress, "progress_url": request.path, "watch_payment": True},
        )

    # --- Buttons (POST, CSRF, the change permission) ------------------------------------------

    def _button_view(self, request, object_id: int, act) -> HttpResponseRedirect | HttpResponseNotAllowed:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, str(object_id))
        if obj is None:
            raise Http404
        query = act(request, obj)
        return HttpResponseRedirect(reverse("admin:incentives_settlement_change", args=[obj.pk]) + query)

    def recompute_view(self, request, object_id: int):
        def recompute(request, obj: Settlement) -> str:
            if self._recompute_one(request, obj):
                self.message_user(request, _("Recomputing %(week)s in the background.") % {"week": obj.week})
            return ""

        return self._button_view(request, object_id, recompute)

    def approve_view(self, request, object_id: int):
        def approve(request, obj: Settlement) -> str:
            self._approve_one(request, obj)
            return ""

        return self._button_view(request, object_id, approve)

    def pay_view(self, request, object_id: int):
        return self._button_view(
            request, object_id, lambda request, obj: "?paying=1" if self._pay_one(request, obj) else ""
        )

    def draft_week_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:incentives_settlement_changelist")
        try:
            week = settlement_service.check_draftable(week_label=request.POST.get("week", ""), now=timezone.now())
        except settlement_service.SettlementError as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(changelist)
        existing = Settlement.objects.filter(week=week.label).first()
        # Who asked, in the security log (and the week's history when it already has a draft).
        if existing is not None:
            log_operator_change(
                request, existing, action="recompute", changes={"computed_at": (existing.computed_at, "queued")}
            )
        else:
            audit("admin_draft_week", request, week=week.label)
        transaction.on_commit(lambda: tasks.draft_week.delay(week.label))
        self.message_user(
            request,
            _("Drafting %(week)s in the background; it appears in this list when it is ready.") % {"week": week},
        )
        return HttpResponseRedirect(changelist)

    # --- One settlement at a time: the buttons and the actions share these ---------------------

    def _recompute_one(self, request, draft: Settlement) -> bool:
        if draft.status != Settlement.Status.DRAFT:
            self.message_user(
                request,
                _("%(week)s is not a draft; it cannot be computed again.") % {"week": draft.week},
                messages.ERROR,
            )
            return False
        log_operator_change(request, draft, action="recompute", changes={"computed_at": (draft.computed_at, "queued")})
        transaction.on_commit(lambda week=draft.week: tasks.draft_week.delay(week))
        return True

    def _approve_one(self, request, obj: Settlement) -> bool:
        try:
            approved = settlement_service.approve_settlement(settlement_id=obj.pk, by=request.user)
        except settlement_service.SettlementError as error:
            self.message_user(request, str(error), messages.ERROR)
            return False
        log_operator_change(request, approved, action="approve", changes={"status": (obj.status, approved.status)})
        self.message_user(request, _("%(week)s approved.") % {"week": obj.week})
        return True

    def _pay_one(self, request, obj: Settlement) -> bool:
        if obj.status != Settlement.Status.APPROVED:
            self.message_user(
                request,
                _("%(week)s is %(status)s; only an approved settlement can be paid.")
                % {"week": obj.week, "status": obj.get_status_display()},
                messages.ERROR,
            )
            return False
        # The payment runs on the settlement queue: the ledger records the money, this who asked for it.
        log_operator_change(request, obj, action="pay", changes={"status": (obj.status, Settlement.Status.PAID)})
        transaction.on_commit(lambda pk=obj.pk: tasks.pay_settlement.delay(pk))
        self.message_user(request, _("Paying %(count)d settlement(s) in the background.") % {"count": 1})
        return True

    @admin.action(description=_("Recompute the selected drafts"), permissions=["change"])
    def recompute(self, request, queryset):
        drafts = [
            draft for draft in queryset.filter(status=Settlement.Status.DRAFT) if self._recompute_one(request, draft)
        ]
        self.message_user(request, _("Recomputing %(count)d draft(s) in the background.") % {"count": len(drafts)})

    @admin.action(description=_("Approve the selected drafts"), permissions=["change"])
    def approve(self, request, queryset):
        for obj in queryset:
            self._approve_one(request, obj)

    @admin.action(description=_("Pay the selected approved settlements"), permissions=["change"])
    def pay(self, request, queryset):
        approved = list(queryset.filter(status=Settlement.Status.APPROVED))
        for obj in approved:
            log_operator_change(request, obj, action="pay", changes={"status": (obj.status, Settlement.Status.PAID)})
            transaction.on_commit(lambda pk=obj.pk: tasks.pay_settlement.delay(pk))
        skipped = queryset.count() - len(approved)
        self.message_user(request, _("Paying %(count)d settlement(s) in the background.") % {"count": len(approved)})
        if skipped:
            self.message_user(
                request, _("Only approved settlements are paid; %(n)d skipped.") % {"n": skipped}, messages.WARNING
            )


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdmin):
    list_display = ["rank", "creator", "settlement", "score", "share", "counted", "discounted", "excluded_reason"]
    list_filter = ["settlement"]
    search_fields = ["creator__username"]
    list_select_related = ["creator", "settlement"]
    ordering = ["settlement", "rank"]

    @admin.display(description=_("counted"))
    def counted(self, obj):
        return ", ".join(f"{key} {value}" for key, value in sorted(obj.counted_counts.items())) or "—"

    @admin.display(description=_("discounted"))
    def discounted(self, obj):
        return ", ".join(f"{key} {value}" for key, value in sorted(obj.discounts.items())) or "—"


class AppealedFilter(admin.SimpleListFilter):
    title = _("appeal")
    parameter_name = "appealed"

    def lookups(self, request, model_admin):
        return [("yes", _("Appealed")), ("no", _("Not appealed"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(appealed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(appealed_at__isnull=True)
        return queryset


@admin.register(Payout)
class PayoutAdmin(ReviewedRecordAdmin):
    """Held payouts are the review queue: release pays the creator, forfeit sends the money to the next pool."""

    list_display = [
        "creator",
        "settlement",
        "amount_shown",
        "status",
        "hold_reason",
        "appealed_at",
        "reviewed_by",
    ]
    list_filter = ["status", AppealedFilter, "settlement"]
    search_fields = ["creator__username"]
    list_select_related = ["creator", "settlement", "reviewed_by"]
    actions = ["release", "forfeit"]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, obj):
        return review.money(obj.amount, obj.currency)

    def _review(self, request, queryset, *, release: bool):
        done = 0
        for payout in queryset.filter(status=Payout.Status.HELD):
            try:
                reviewed = settlement_service.review_held_payout(
                    payout_id=payout.pk,
                    by=request.user,
                    release=release,
                    note=f"{'Released' if release else 'Forfeited'} in admin by {request.user.get_username()}",
                )
                log_operator_change(
                    request,
                    reviewed,
                    action="release" if release else "forfeit",
                    changes={
                        "status": (payout.status, reviewed.status),
                        f"{reviewed.amount} {reviewed.currency}": (
                            f"held:{reviewed.settlement.week}",
                            f"creator:{reviewed.creator_id}" if release else "carryover",
                        ),
                    },
                )
                done += 1
            except settlement_service.SettlementError as error:
                self.message_user(request, f"{payout}: {error}", messages.ERROR)
        self.message_user(request, _("%(count)d payout(s) reviewed.") % {"count": done})

    @admin.action(description=_("Release the selected held payouts (pay them)"), permissions=["change"])
    def release(self, request, queryset):
        self._review(request, queryset, release=True)

    @admin.action(description=_("Forfeit the selected held payouts (to the next pool)"), permissions=["change"])
    def forfeit(self, request, queryset):
        self._review(request, queryset, release=False)


@admin.register(IntegrityFlag)
class IntegrityFlagAdmin(ReviewedRecordAdmin):
    list_display = ["rule", "creator", "settlement", "severity", "actor_count", "discounted_interactions", "review"]
    list_filter = ["rule", "severity", "review", "settlement"]
    search_fields = ["creator__username"]
    list_select_related = ["creator", "settlement"]
    actions = ["confirm", "dismiss"]
    fields = [
        "settlement",
        "rule",
        "creator",
        "severity",
        "actor_count",
        "actors",
        "discounted_interactions",
        "evidence_json",
        "review",
        "reviewed_by",
        "reviewed_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("evidence"))
    def evidence_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.evidence, indent=2, ensure_ascii=False))

    def _review(self, request, queryset, review):
        with transaction.atomic():
            flags = list(queryset.select_for_update(of=("self",)))
            count = queryset.update(review=review, reviewed_by=request.user, reviewed_at=timezone.now())
            for flag in flags:
                log_operator_change(
                    request,
                    flag,
                    action="confirm" if review == IntegrityFlag.Review.CONFIRMED else "dismiss",
                    changes={"review": (flag.review, review)},
                )
        self.message_user(request, _("%(count)d flag(s) updated.") % {"count": count})

    @admin.action(description=_("Confirm the selected flags"), permissions=["change"])
    def confirm(self, request, queryset):
        self._review(request, queryset, IntegrityFlag.Review.CONFIRMED)

    @admin.action(description=_("Dismiss the selected flags"), permissions=["change"])
    def dismiss(self, request, queryset):
        self._review(request, queryset, IntegrityFlag.Review.DISMISSED)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "account", "amount", "currency", "memo", "transfer_id"]
    search_fields = ["account", "memo", "transfer_id"]
    list_filter = ["currency"]


# --- Payouts: transfers to the exchange, tips, and the daily reconciliation ----------------------

# Admin's own icons (its CSS is the only style the CSP allows here): what needs a look stands out.
STATE_ICONS = {
    "requested": "admin/img/icon-clock.svg",
    "sent": "admin/img/icon-clock.svg",
    "waiting_for_account": "admin/img/icon-unknown.svg",
    "confirmed": "admin/img/icon-yes.svg",
    "returned": "admin/img/icon-no.svg",
    "refused": "admin/img/icon-no.svg",
    "failed": "admin/img/icon-no.svg",
    "stuck": "admin/img/icon-alert.svg",
    "matched": "admin/img/icon-yes.svg",
    "differences": "admin/img/icon-alert.svg",
    "unavailable": "admin/img/icon-unknown.svg",
}
PROBLEM_LABELS = {
    reconciliation.Problem.MISSING_IN_ORBIT: _("Completed at the exchange, not confirmed in Orbit"),
    reconciliation.Problem.MISSING_AT_EXCHANGE: _("Confirmed in Orbit, missing from the exchange's report"),
    reconciliation.Problem.AMOUNT_MISMATCH: _("Amounts differ"),
    reconciliation.Problem.CURRENCY_MISMATCH: _("Currencies differ"),
    reconciliation.Problem.UID_MISMATCH: _("Accounts differ"),
    reconciliation.Problem.UNKNOWN_KEY: _("A key Orbit never sent"),
}


def _state_badge(value: str, label) -> str:
    return format_html(
        '<span class="state state-{}"><img src="{}" alt=""> {}</span>', value, static(STATE_ICONS[value]), label
    )


def _changelist_url(model: str) -> str:
    return reverse(f"admin:incentives_{model}_changelist")


class SendAgainAdmin(ReviewedRecordAdmin):
    """A "Send again" action and per-row button (POST, CSRF, the model's change permission), calling
    `resend_one`. The button is a submit of the changelist's own form (which carries the CSRF token)
    with its own formaction, so it works without JavaScript and without a form inside a form."""

    send_again_url_name = ""

    def resend_one(self, request, obj):
        raise NotImplementedError

    def can_resend(self, obj) -> bool:
        raise NotImplementedError

    def get_urls(self):
        name = self.send_again_url_name
        return [
            path("<int:object_id>/send-again/", self.admin_site.admin_view(self.send_again_view), name=name),
            *super().get_urls(),
        ]

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        return [*shown, "send_again_button"] if self.has_change_permission(request) else shown

    @admin.display(description=_("operator"))
    def send_again_button(self, obj):
        if not self.can_resend(obj):
            return ""
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" formnovalidate>{}</button>',
            reverse(f"admin:{self.send_again_url_name}", args=[obj.pk]),
            _("Send again"),
        )

    def send_again_view(self, request, object_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, str(object_id))
        if obj is None:
            raise Http404
        self._send_again(request, obj)
        return HttpResponseRedirect(_changelist_url(self.model._meta.model_name))

    def _send_again(self, request, obj) -> bool:
        try:
            resent = self.resend_one(request, obj)
        except transfers.ResendRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return False
        log_operator_change(request, resent, action="send_again", changes={"state": (obj.state, resent.state)})
        self.message_user(request, _("%(key)s is queued to be sent again under the same key.") % {"key": obj})
        return True

    @admin.action(description=_("Send the selected stuck transfers again"), permissions=["change"])
    def send_again(self, request, queryset):
        for obj in queryset.order_by("pk"):
            self._send_again(request, obj)


@admin.register(PayoutTransfer)
class PayoutTransferAdmin(SendAgainAdmin):
    """The operators' payouts page: where each paid payout is on its way to the creator's exchange
    account, what needs a look (stuck, waiting), and the last reconciliation with the exchange."""

    change_list_template = "admin/incentives/payouttransfer/change_list.html"
    send_again_url_name = "incentives_payouttransfer_send_again"
    list_display = [
        "week",
        "creator",
        "amount",
        "state_badge",
        "attempts",
        "short_error",
        "failure_code",
        "exchange_transfer_id",
        "sent_at",
        "confirmed_at",
    ]
    list_filter = ["state", "payout__settlement__week", "failure_code"]
    search_fields = ["payout__creator__username", "idempotency_key", "exchange_transfer_id", "to_uid"]
    list_select_related = ["payout__settlement", "payout__creator"]
    actions = ["send_again"]

    def resend_one(self, request, obj):
        return transfers.resend(transfer_id=obj.pk, operator=request.user)

    def can_resend(self, obj) -> bool:
        return transfers.can_resend(obj)

    def changelist_view(self, request, extra_context=None):
        summary = transfers.state_summary()
        context = {
            "title": _("Payouts: transfers to creators' exchange accounts"),
            "state_summary": summary,
            "needs_a_look": sum(line["count"] for line in summary if line["state"] in ("stuck", "waiting_for_account")),
            "last_reconciliation": reconciliation.latest(),
            "open_differences": reconciliation.open_differences(),
            "problem_labels": PROBLEM_LABELS,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    @admin.display(description=_("week"), ordering="payout__settlement__week")
    def week(self, obj):
        return obj.payout.settlement.week

    @admin.display(description=_("creator"), ordering="payout__creator__username")
    def creator(self, obj):
        return obj.payout.creator

    @admin.display(description=_("amount"), ordering="payout__amount")
    def amount(self, obj):
        return review.money(obj.payout.amount, obj.payout.currency)

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj):
        return _state_badge(obj.state, obj.get_state_display())

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return Truncator(obj.last_error).chars(80)


@admin.register(Tip)
class TipAdmin(SendAgainAdmin):
    """Readers' tips to creators, read-only; a stuck one is sent again under its key."""

    send_again_url_name = "incentives_tip_send_again"
    list_display = [
        "created_at",
        "tipper",
        "creator",
        "post",
        "amount_shown",
        "state_badge",
        "attempts",
        "failure_code",
        "exchange_transfer_id",
    ]
    list_filter = ["state", "currency", "failure_code"]
    search_fields = ["tipper__username", "creator__username", "idempotency_key", "exchange_transfer_id"]
    list_select_related = ["tipper", "creator", "post"]
    actions = ["send_again"]

    def resend_one(self, request, obj):
        return transfers.resend_tip(tip_id=obj.pk, operator=request.user)

    def can_resend(self, obj) -> bool:
        return obj.state == Tip.State.STUCK

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, obj):
        return f"{obj.amount} {obj.currency}"

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj):
        return _state_badge(obj.state, obj.get_state_display())


class ReconciliationReviewForm(forms.ModelForm):
    class Meta:
        model = TransferReconciliation
        fields = ["review_note"]


@admin.register(TransferReconciliation)
class TransferReconciliationAdmin(AuditedAdmin):
    """One row per UTC day: Orbit's confirmed transfers against the exchange's report. Differences
    are listed one per line; the reviewer records what was done in the note."""

    form = ReconciliationReviewForm
    list_display = [
        "day",
        "status_badge",
        "exchange_count",
        "orbit_count",
        "totals_shown",
        "difference_count",
        "reviewed_by",
        "reviewed_at",
        "checked_at",
    ]
    list_filter = ["status", ("reviewed_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "day"
    list_select_related = ["reviewed_by"]
    actions = ["reconcile_again"]
    fields = [
        "day",
        "status_badge",
        "checked_at",
        "exchange_count",
        "orbit_count",
        "totals_table",
        "error",
        "differences_table",
        "reviewed_by",
        "reviewed_at",
        "review_note",
    ]
    readonly_fields = [name for name in fields if name != "review_note"]

    def has_add_permission(self, request):
        return False  # made by the daily job (or the action below)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        reconciliation.record_review(reconciliation_id=obj.pk, by=request.user, note=obj.review_note)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return _state_badge(obj.status, obj.get_status_display())

    @admin.display(description=_("totals"))
    def totals_shown(self, obj):
        return "; ".join(
            f"{currency}: {sides.get('orbit')} / {sides.get('exchange')}" for currency, sides in obj.totals.items()
        )

    @admin.display(description=_("differences"))
    def difference_count(self, obj):
        return len(obj.differences)

    @admin.display(description=_("totals (Orbit / exchange)"))
    def totals_table(self, obj):
        if not obj.totals:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((currency, sides.get("orbit"), sides.get("exchange")) for currency, sides in obj.totals.items()),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("currency"),
            _("Orbit"),
            _("exchange"),
            rows,
        )

    @admin.display(description=_("differences"))
    def differences_table(self, obj):
        return render_to_string(
            "admin/incentives/_reconciliation_differences.html",
            {"differences": obj.differences, "problem_labels": PROBLEM_LABELS},
        )

    @admin.action(description=_("Reconcile the selected days again"), permissions=["change"])
    def reconcile_again(self, request, queryset):
        for day in queryset.order_by("day").values_list("day", flat=True)[: reconciliation.LOOKBACK_DAYS]:
            row = reconciliation.reconcile_day(day)
            self.message_user(
                request,
                _("%(day)s: %(status)s, %(count)d difference(s).")
                % {"day": day, "status": row.get_status_display(), "count": len(row.differences)},
                messages.WARNING if row.status != TransferReconciliation.Status.MATCHED else messages.SUCCESS,
            )
