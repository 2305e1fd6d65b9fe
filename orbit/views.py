from django.contrib import admin
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health


@never_cache
@require_safe
def healthz(request):
    checks = health.system_health()
    down = [name for name in ("database", "redis", "worker") if checks[name] != "ok"]
    status = 503 if down else 200
    return JsonResponse({**checks, "status": "ok" if not down else "down", "down": down}, status=status)


def operations(request):
    """Admin's operations page (staff with TOTP, through admin_view): the queues as /healthz sees
    them, and each periodic job's last run."""
    worker, states = health.check_queues()
    context = {
        **admin.site.each_context(request),
        "title": _("Operations"),
        "worker": worker,
        "queues": states,
        "jobs": health.periodic_job_runs(),
    }
    return TemplateResponse(request, "admin/operations.html", context)
