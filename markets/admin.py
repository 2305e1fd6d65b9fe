"""Operators look at what the exchange sent; nobody edits it here (the webhook is the only writer)."""

from django.contrib import admin

from creators.admin import UserAdmin
from orbit.admin_site import ReadOnlyAdmin

from .models import Asset, ExchangeEvent, Fill, Position, TradingProfile


class TradingProfileInline(admin.StackedInline):
    model = TradingProfile
    can_delete = False
    # Reported by the exchange; operators look, they do not edit.
    readonly_fields = [f.name for f in TradingProfile._meta.fields if f.name != "user"]


# A user's page in admin shows their trading profile under their profile (creators cannot name it).
UserAdmin.inlines = [*UserAdmin.inlines, TradingProfileInline]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "is_listed"]
    search_fields = ["symbol", "name"]


@admin.register(TradingProfile)
class TradingProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "kyc_level", "volume_tier", "volume_30d_usd", "trades_30d", "is_frozen"]
    list_filter = ["kyc_level", "volume_tier", "is_frozen"]
    search_fields = ["user__username", "exchange_uid"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in TradingProfile._meta.fields]


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
