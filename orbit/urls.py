from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from . import admin_site, views

# Staff sign in through allauth (password, then their TOTP code) and use admin only with TOTP.
admin.site.login = secure_admin_login(admin_site.login)
admin.site.has_permission = admin_site.has_permission

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("orbit.api_urls")),
    path("", include("ranking.urls")),
    path("", include("creators.urls")),
    path("", include("incentives.urls")),
    path("", include("feed.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
