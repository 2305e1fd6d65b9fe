"""The operators' dashboard in admin: admin's index with the dashboard above the app list, and the
CSV of each chart and table. Both run behind admin's own check (staff who gave their TOTP code in
this session, orbit/admin_site.py): orbit/urls.py installs the index through `admin.site` and
wraps the CSV view in `admin.site.admin_view`."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from orbit.charts import Chart

from . import dashboard


def index_with_dashboard(index: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admin's index view with the dashboard in its context: the cached sections (rebuilt when the
    operator follows the page's "refresh" link, ?refresh=1) and the live queue health. Wrapping an
    already wrapped index (orbit.urls imported again) changes nothing."""
    if getattr(index, "shows_dashboard", False):
        return index

    @functools.wraps(index)
    def index_view(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        cached = dashboard.cached_dashboard(refresh=request.GET.get("refresh") == "1")
        context = {
            "dashboard": cached,
            "dashboard_sections": [*cached.sections, dashboard.queue_section()],
            **(extra_context or {}),
        }
        return index(request, extra_context=context)

    index_view.shows_dashboard = True  # type: ignore[attr-defined]
    return index_view


@require_safe
def dashboard_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """One chart's or table's numbers as CSV: the same numbers the page shows (the cached
    dashboard), the queues as they are now."""
    export: Chart | dashboard.Table | None = (
        dashboard.queue_section().tables[0] if slug == "queues" else dashboard.cached_dashboard().export(slug)
    )
    if export is None:
        raise Http404("No such chart or table.")
    response = HttpResponse(export.as_csv(), content_type="text/csv; charset=utf-8")
    day = timezone.now().date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="orbit-{slug}-{day}.csv"'
    return response
