from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from orbit.admin_site import ReadOnlyAdmin

from . import privacy, tokens
from .models import ApiToken, CreatorTitle, Follow, Profile, User


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    # Avatars come only through creators.services.update_profile, which re-encodes them (orbit.images).
    readonly_fields = ["avatar"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [ProfileInline]
    list_display = ["username", "email", "is_staff", "suspended_at", "date_joined"]
    list_filter = [*DjangoUserAdmin.list_filter, "suspended_at"]
    fieldsets = [*DjangoUserAdmin.fieldsets, (_("Moderation"), {"fields": ["suspended_at"]})]
    # Suspension goes through the "Suspend user" / "Lift suspension" actions, which keep a record.
    readonly_fields = ["suspended_at", "deleted_at", "last_login", "date_joined"]
    actions = ["export_data", "erase_accounts"]

    def has_delete_permission(self, request, obj=None):
        # The engagement log and the ledger point at every account: "Delete account" erases the
        # personal data and keeps the row as a tombstone instead.
        return False

    @admin.action(description=_("Export data"), permissions=["view"])
    def export_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one user to export."), messages.ERROR)
            return None
        user = queryset.get()
        self.log_change(request, user, gettext("Exported personal data"))
        response = JsonResponse(privacy.export_account_data(user=user), json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{privacy.export_filename(user)}"'
        return response

    @admin.action(description=_("Delete account (erase personal data)"), permissions=["change"])
    def erase_accounts(self, request, queryset):
        if not request.POST.get("post"):
            context = {
                **self.admin_site.each_context(request),
                "title": gettext("Delete account (erase personal data)"),
                "queryset": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            }
            return TemplateResponse(request, "admin/creators/user/erase_confirmation.html", context)
        deleted = 0
        for user in queryset.order_by("pk"):
            try:
                privacy.delete_account(user=user, by=request.user)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(
                    request, f"{user.username}: {' '.join(getattr(exc, 'messages', [str(exc)]))}", messages.ERROR
                )
                continue
            self.log_change(
                request, self.model.objects.get(pk=user.pk), gettext("Deleted account (personal data erased)")
            )
            deleted += 1
        if deleted:
            message = ngettext("Deleted %(count)d account.", "Deleted %(count)d accounts.", deleted)
            self.message_user(request, message % {"count": deleted}, messages.SUCCESS)
        return None


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["follower", "followee", "created_at"]
    raw_id_fields = ["follower", "followee"]
    list_select_related = ["follower", "followee"]


@admin.register(CreatorTitle)
class CreatorTitleAdmin(admin.ModelAdmin):
    """Operators set the stages; `refresh_titles` (hourly in beat) hands them out."""

    list_display = ["slug", "name_en", "name_zh", "min_followers", "min_recent_contribution", "is_active"]
    list_editable = ["name_en", "name_zh", "min_followers", "min_recent_contribution", "is_active"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Who holds which API token (never the key); staff with the change permission revoke one
    that leaked without touching the person's password."""

    list_display = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    search_fields = ["user__username", "prefix"]
    list_select_related = ["user"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_revoke_permission(self, request):
        return request.user.has_perm("creators.change_apitoken")

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        for token in queryset:
            tokens.revoke_token(token=token)
        self.message_user(request, gettext("The selected tokens are revoked."), messages.SUCCESS)
