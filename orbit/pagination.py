"""Keyset pagination shared by every list: pages of a queryset in time order, with an opaque cursor.

Offsets get slower with every page and skip or repeat rows when new ones arrive; a cursor naming the
last row's (time, id) does neither.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

PAGE_SIZE = 20
MAX_PAGE_SIZE = 50


@dataclass
class Page:
    items: list
    next_cursor: str | None


def encode_cursor(created_at: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": _("That page link is broken; start again from the first page.")}) from None


def keyset_page(
    queryset: QuerySet, *, cursor: str | None, size: int, time_field: str = "created_at", oldest_first: bool = False
) -> Page:
    """One page of `queryset`, newest first (or oldest first), after `cursor`."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    after, before = ("gt", "gte") if oldest_first else ("lt", "lte")
    if cursor:
        moment, pk = decode_cursor(cursor)
        # The first condition bounds the index scan; the OR only breaks ties. Alone, the OR is a filter
        # Postgres applies row by row from the top of the index, so page 5,000 would read 5,000 pages.
        queryset = queryset.filter(
            Q(**{f"{time_field}__{before}": moment}),
            Q(**{f"{time_field}__{after}": moment}) | Q(**{time_field: moment, f"pk__{after}": pk}),
        )
    order = (time_field, "pk") if oldest_first else (f"-{time_field}", "-pk")
    items = list(queryset.order_by(*order)[: size + 1])
    more = len(items) > size
    items = items[:size]
    next_cursor = encode_cursor(getattr(items[-1], time_field), items[-1].pk) if more else None
    return Page(items=items, next_cursor=next_cursor)


def count_of(queryset: QuerySet, group_by: str) -> Coalesce:
    """A correlated COUNT(*) subquery (0 when there are no rows), to annotate without GROUP BY."""
    counted = queryset.order_by().values(group_by).annotate(total=Count("*")).values("total")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)
