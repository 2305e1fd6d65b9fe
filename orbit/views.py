from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health


@never_cache
@require_safe
def healthz(request):
    checks = health.system_health()
    down = [name for name, status in checks.items() if status != "ok"]
    status = 503 if down else 200
    return JsonResponse({**checks, "status": "ok" if not down else "down", "down": down}, status=status)
