from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health
from .admin_export import csv_download


@never_cache
@require_safe
def healthz(request):
    checks = health.system_health()
    if request.META.get(health.LISTENER_ENVIRON_KEY):
        # Asked on the health listener's port: whether the web server itself is up is a question too.
        checks = {"web": health.check_web(settings.ORBIT_WEB_ADDRESS), **checks}
    # A pipeline whose broker cannot be read is left to "redis" and "worker" to name.
    down = [name for name in ("web", "database", "redis", "worker") if checks.get(name, "ok") != "ok"]
    if checks["pipelines"].startswith("down"):
        down.append("pipelines")
    status = 503 if down else 200
    return JsonResponse({**checks, "status": "ok" if not down else "down", "down": down}, status=status)


def operations(request):
    """Admin's operations page (staff with TOTP, through admin_view): the queues as /healthz sees
    them, and each periodic job's last run."""
    worker, states = health.check_queues()
    jobs = health.periodic_job_runs()
    if request.GET.get("csv") == "queues":
        header = [
            _("Queue"),
            _("Consumers"),
            _("Waiting messages"),
            _("Oldest waited (s)"),
            _("Limit (s)"),
            _("Status"),
        ]
        return csv_download(
            "queues",
            [header]
            + [
                [name, q["consumers"], q["backlog"], q["oldest_seconds"], q["max_wait_seconds"], q["status"]]
                for name, q in states.items()
            ],
        )
    if request.GET.get("csv") == "jobs":
        header = [_("Job"), _("Queue"), _("Schedule"), _("Last started"), _("Duration (s)"), _("Outcome"), _("Error")]
        return csv_download(
            "periodic-jobs",
            [header]
            + [
                [j["name"], j["queue"], j["schedule"], j["started_at"], j["duration"], j["outcome"], j["error"]]
                for j in jobs
            ],
        )
    context = {
        **admin.site.each_context(request),
        "title": _("Operations"),
        "worker": worker,
        "queues": states,
        "jobs": jobs,
    }
    return TemplateResponse(request, "admin/operations.html", context)
