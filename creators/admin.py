from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from orbit.admin_site import ReadOnlyAdmin

from .models import CreatorTitle, ExchangeEvent, Fill, Follow, Position, Profile, TradingProfile, User


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False


class TradingProfileInline(admin.StackedInline):
    model = TradingProfile
    can_delete = False
    # Reported by the exchange; operators look, they do not edit.
    readonly_fields = [f.name for f in TradingProfile._meta.fields if f.name != "user"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [ProfileInline, TradingProfileInline]
    list_display = ["username", "email", "is_staff", "suspended_at", "date_joined"]
    list_filter = [*DjangoUserAdmin.list_filter, "suspended_at"]
    fieldsets = [*DjangoUserAdmin.fieldsets, (_("Moderation"), {"fields": ["suspended_at"]})]
    # Suspension goes through the "Suspend user" / "Lift suspension" actions, which keep a record.
    readonly_fields = ["suspended_at", "last_login", "date_joined"]


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["follower", "followee", "created_at"]
    raw_id_fields = ["follower", "followee"]
    list_select_related = ["follower", "followee"]


@admin.register(TradingProfile)
class TradingProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "kyc_level", "volume_tier", "volume_30d_usd", "trades_30d", "is_frozen"]
    list_filter = ["kyc_level", "volume_tier", "is_frozen"]
    search_fields = ["user__username", "exchange_uid"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in TradingProfile._meta.fields]


@admin.register(CreatorTitle)
class CreatorTitleAdmin(admin.ModelAdmin):
    """Operators set the stages; `refresh_titles` (hourly in beat) hands them out."""

    list_display = ["slug", "name_en", "name_zh", "min_followers", "min_recent_contribution", "is_active"]
    list_editable = ["name_en", "name_zh", "min_followers", "min_recent_contribution", "is_active"]


@admin.register(ExchangeEvent)
class ExchangeEventAdmin(ReadOnlyAdmin):
    """What the exchange sent, as it sent it; the webhook writes these, nobody edits them."""

    list_display = ["key", "type", "exchange_uid", "occurred_at", "received_at"]
    list_filter = ["type"]
    search_fields = ["key", "exchange_uid"]
    date_hierarchy = "received_at"
    # The table only grows; counting it for every page would be the slowest part of the page.
    show_full_result_count = False


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ["fill_id", "user", "instrument", "side", "quantity", "price", "notional_usd", "filled_at"]
    list_filter = ["instrument_type", "side"]
    search_fields = ["fill_id", "user__username", "instrument"]
    list_select_related = ["user"]
    date_hierarchy = "filled_at"
    show_full_result_count = False


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["user", "instrument", "side", "quantity", "entry_price", "taken_at"]
    search_fields = ["user__username", "instrument"]
    list_select_related = ["user"]
