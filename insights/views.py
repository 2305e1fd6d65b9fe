"""Pages of numbers: the creator center (creators) and the operators' dashboard (staff, in admin)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from orbit.web import signed_in, web_view

from . import creator_center as center

CREATOR_CENTER = "insights/creator_center.html"


@require_GET
@web_view
@signed_in
def creator_center(request: HttpRequest) -> HttpResponse:
    """The signed-in creator's own numbers; no parameter names a creator. A bad ?days=, ?sort= or
    ?csv= is a ValidationError, which web_view answers with a 400 page saying what to choose."""
    days = center.parse_days(request.GET.get("days"))
    sort = center.parse_sort(request.GET.get("sort"))
    page = center.creator_center(request.user, days=days, sort=sort)
    slug = request.GET.get("csv")
    if slug is not None:
        response = HttpResponse(center.as_csv(page, slug), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="creator-center-{slug}-{days}d.csv"'
        return response
    context = {
        "center": page,
        "days": days,
        "csv_base": f"?days={days}&csv=",
        "time_zone": settings.ORBIT_SETTLEMENT_TZ,
    }
    return render(request, CREATOR_CENTER, context)
