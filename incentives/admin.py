"""Operators' side of payouts: set pools, weights and rules; review, approve and pay each week."""

import json

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from orbit.admin_site import AuditedAdmin, ReadOnlyAdmin
from orbit.security import log_operator_change

from . import settlement as settlement_service
from . import tasks
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
    list_display = [
        "week",
        "status",
        "pool_amount",
        "carried_in",
        "total_allocated",
        "carried_out",
        "creator_count",
        "contributions_link",
        "flags_link",
        "held_link",
        "computed_at",
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
        "contributions_link",
        "flags_link",
        "held_link",
        "parameters_json",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                flag_count=Count("flags", distinct=True),
                held_count=Count("payouts", filter=Q(payouts__status=Payout.Status.HELD), distinct=True),
            )
        )

    @admin.display(description=_("creators"))
    def contributions_link(self, obj):
        return _link("contribution", _("contributions"), settlement__id__exact=obj.pk)

    @admin.display(description=_("flags"))
    def flags_link(self, obj):
        return _link("integrityflag", getattr(obj, "flag_count", obj.flags.count()), settlement__id__exact=obj.pk)

    @admin.display(description=_("held"))
    def held_link(self, obj):
        held = getattr(obj, "held_count", None)
        held = obj.payouts.filter(status=Payout.Status.HELD).count() if held is None else held
        return _link("payout", held, settlement__id__exact=obj.pk, status__exact="held")

    @admin.display(description=_("parameters used"))
    def parameters_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.parameters, indent=2, ensure_ascii=False))

    @admin.action(description=_("Recompute the selected drafts"), permissions=["change"])
    def recompute(self, request, queryset):
        drafts = list(queryset.filter(status=Settlement.Status.DRAFT))
        for draft in drafts:
            log_operator_change(
                request, draft, action="recompute", changes={"computed_at": (draft.computed_at, "queued")}
            )
            transaction.on_commit(lambda week=draft.week: tasks.draft_week.delay(week))
        self.message_user(request, _("Recomputing %(count)d draft(s) in the background.") % {"count": len(drafts)})

    @admin.action(description=_("Approve the selected drafts"), permissions=["change"])
    def approve(self, request, queryset):
        for obj in queryset:
            try:
                approved = settlement_service.approve_settlement(settlement_id=obj.pk, by=request.user)
            except settlement_service.SettlementError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                log_operator_change(
                    request,
                    approved,
                    action="approve",
                    changes={"status": (obj.status, approved.status)},
                )
                self.message_user(request, _("%(week)s approved.") % {"week": obj.week})

    @admin.action(description=_("Pay the selected approved settlements"), permissions=["change"])
    def pay(self, request, queryset):
        approved = list(queryset.filter(status=Settlement.Status.APPROVED))
        for obj in approved:
            # The payment runs on the settlement queue: the ledger records the money, this who asked for it.
            log_operator_change(
                request,
                obj,
                action="pay",
                changes={"status": (obj.status, Settlement.Status.PAID)},
            )
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
        "amount",
        "currency",
        "status",
        "hold_reason",
        "appealed_at",
        "reviewed_by",
    ]
    list_filter = ["status", AppealedFilter, "settlement"]
    search_fields = ["creator__username"]
    list_select_related = ["creator", "settlement", "reviewed_by"]
    actions = ["release", "forfeit"]

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


@admin.register(PayoutTransfer)
class PayoutTransferAdmin(ReadOnlyAdmin):
    """Where each paid payout is on its way to the exchange: stuck and returned ones stand out by
    state; a stuck one is sent again with `incentives.tasks.send_payout_transfer` once fixed."""

    list_display = [
        "idempotency_key",
        "state",
        "amount",
        "to_uid",
        "attempts",
        "failure_code",
        "last_error",
        "exchange_transfer_id",
        "updated_at",
    ]
    list_filter = ["state", "failure_code"]
    search_fields = ["idempotency_key", "exchange_transfer_id", "to_uid"]
    list_select_related = ["payout"]

    @admin.display(description=_("amount"))
    def amount(self, obj):
        return f"{obj.payout.amount} {obj.payout.currency}"
