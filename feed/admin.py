from django.contrib import admin

from .models import Asset, Comment, Engagement, Hashtag, Post, PostType, Report


@admin.register(PostType)
class PostTypeAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_en", "name_zh", "position", "is_active"]
    list_editable = ["position", "is_active"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "is_listed"]
    search_fields = ["symbol", "name"]


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "content_type", "language", "status", "created_at"]
    list_filter = ["status", "content_type", "language"]
    search_fields = ["body", "author__username"]
    raw_id_fields = ["author", "assets", "hashtags"]
    list_select_related = ["author", "content_type"]
    show_full_result_count = False  # an exact count of a large table is slow


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "post", "author", "created_at"]
    raw_id_fields = ["post", "author", "parent"]
    list_select_related = ["author"]
    show_full_result_count = False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["id", "post", "reporter", "reason", "status", "created_at"]
    list_filter = ["status", "reason"]
    raw_id_fields = ["post", "reporter", "resolved_by"]
    list_select_related = ["reporter"]


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ["id", "kind", "actor", "post", "creator", "dwell_ms", "occurred_at"]
    list_filter = ["kind"]
    raw_id_fields = ["actor", "post", "creator"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
