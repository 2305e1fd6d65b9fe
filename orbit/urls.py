from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from insights import admin_views as insights_admin

from . import admin_export, admin_site, media, views

# Staff sign in through allauth (password, then their TOTP code) and use admin only with TOTP.
admin.site.login = secure_admin_login(admin_site.login)
admin.site.has_permission = admin_site.has_permission
# Admin's index carries the operators' dashboard (insights/dashboard.py), behind the same check.
admin.site.index = insights_admin.index_with_dashboard(admin.site.index)

handler400 = "orbit.middleware.bad_request"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Uploads, in production too, with the headers that keep them inert (orbit/media.py).
    path("media/<path:path>", media.serve_media, name="media"),
    # Before admin's own URLs, behind the same staff-and-TOTP check (admin_view).
    path("admin/operations/", admin.site.admin_view(views.operations), name="admin_operations"),
    path(
        "admin/export/<str:app_label>/<str:model_name>.csv",
        admin.site.admin_view(admin_export.export_csv),
        name="admin_export_csv",
    ),
    path(
        "admin/dashboard/<slug:slug>.csv",
        admin.site.admin_view(insights_admin.dashboard_csv),
        name="admin_dashboard_csv",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("orbit.api_urls")),
    path("", include("ranking.urls")),
    path("", include("creators.urls")),
    path("", include("markets.urls")),
    path("", include("incentives.urls")),
    path("", include("insights.urls")),
    path("", include("feed.urls")),
]
