"""Every admin list as CSV: the rows the operator is looking at (the same filters, search and order),
with the same columns, in full rather than one page.

One view for every registered model (`admin/export/<app>/<model>.csv`), linked from every list's
object tools (templates/admin/change_list_object_tools.html), so a new admin gets its export without
a line of code. The model admin's own checks apply: staff with TOTP (admin_view) and the model's view
or change permission. Rows are streamed, so a long log does not sit in memory; each export is
written to the security log (lists hold people's names and e-mail addresses).
"""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import islice

from django.apps import apps
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import label_for_field, lookup_field
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.db.models.options import Options
from django.http import Http404, HttpRequest, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from .charts import safe_cell
from .security import audit

# Columns that are controls, not data (the row checkbox, per-row buttons).
SKIPPED_COLUMNS = {"action_checkbox"}
CHUNK_ROWS = 2_000


class _Echo:
    """csv.writer writes into this and gets the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_download(filename: str, rows: Iterable[Sequence[object]]) -> StreamingHttpResponse:
    """A CSV attachment of `rows` (the first is the header), each cell through `cell`: for pages
    whose tables are not model lists (the operations page, the dashboard, the creator center)."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow([cell(value) for value in row]) for row in rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


def export_url(opts: Options, query_string: str = "") -> str:
    """Where the CSV of a list lives, with the list's current filters (`cl.get_query_string()`)."""
    url = reverse("admin_export_csv", args=[opts.app_label, opts.model_name])
    return f"{url}{query_string}" if query_string and query_string != "?" else url


def _columns(model_admin: ModelAdmin, request: HttpRequest) -> list[str]:
    # Callables in list_display are rare here and have no stable column name: named columns only.
    return [
        name
        for name in model_admin.get_list_display(request)
        if isinstance(name, str) and name not in SKIPPED_COLUMNS and not name.endswith("_button")
    ]


def cell(value: object) -> str:
    """A value as text for a spreadsheet: plain numbers and ISO times, HTML (admin's formatted
    columns) reduced to its text, and nothing a spreadsheet would run."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, Decimal | int | float):
        text = str(value)
    else:
        text = html.unescape(strip_tags(str(value))).strip()
    return safe_cell(text)


def _value(name: str, obj: Model, model_admin: ModelAdmin) -> object:
    try:
        field, _attr, value = lookup_field(name, obj, model_admin)
    except (AttributeError, ObjectDoesNotExist):
        return None
    if field is not None and getattr(field, "flatchoices", None):
        return dict(field.flatchoices).get(value, value)
    if field is not None and getattr(field, "many_to_one", False) and value is not None:
        return str(value)
    return value


def _rows(model_admin: ModelAdmin, queryset: QuerySet, columns: list[str]) -> Iterator[list[str]]:
    model = model_admin.model
    yield [str(label_for_field(name, model, model_admin)) for name in columns]
    # Chunked iterator: prefetches (if any) still apply, and memory stays flat on a long log. A
    # model admin whose columns read figures computed for a whole page at once (not per row) gives
    # them to each chunk through `annotate_rows(objects)`, as its list page does.
    annotate = getattr(model_admin, "annotate_rows", None)
    objects = queryset.iterator(chunk_size=CHUNK_ROWS)
    while chunk := list(islice(objects, CHUNK_ROWS)):
        if annotate is not None:
            annotate(chunk)
        for obj in chunk:
            yield [cell(_value(name, obj, model_admin)) for name in columns]


@require_GET
def export_csv(request: HttpRequest, app_label: str, model_name: str) -> HttpResponseBase:
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        raise Http404(_("There is no such list.")) from None
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        raise Http404(_("There is no such list."))
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    try:
        changelist = model_admin.get_changelist_instance(request)
    except (IncorrectLookupParameters, FieldDoesNotExist):
        return HttpResponseBadRequest(_("Those filters do not apply to this list; open it again from admin."))
    columns = _columns(model_admin, request)
    queryset = changelist.queryset
    audit("admin_export", request, model=f"{app_label}.{model_name}", query=request.GET.urlencode() or "-")
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _rows(model_admin, queryset, columns)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{app_label}-{model_name}-{stamp}.csv"'
    return response
