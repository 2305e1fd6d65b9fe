"""JSON from outside, parsed with limits: bounded nesting and finite numbers only.

Python's parser recurses once per level, so a few kilobytes of `[[[[…` end in RecursionError, and
`1e999` parses to infinity, which no integer field or database column can hold. Both are refused
here, as a ValueError with a message a client can act on, before any view sees the data.
"""

from __future__ import annotations

import json
import math

from django.utils.translation import gettext as _

MAX_DEPTH = 32


class JSONRefused(ValueError):
    pass


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONRefused(_("The number %(number)s is too large.") % {"number": text[:40]})
    return number


def _no_constant(name: str):
    raise JSONRefused(_("%(name)s is not a JSON number; send a finite number.") % {"name": name})


def _depth(value) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return deepest


def loads(text: str | bytes):
    """json.loads, refusing nesting deeper than MAX_DEPTH and numbers that are not finite."""
    too_deep = JSONRefused(_("The JSON is nested deeper than %(depth)d levels; flatten it.") % {"depth": MAX_DEPTH})
    try:
        value = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except RecursionError:
        raise too_deep from None
    if _depth(value) > MAX_DEPTH:
        raise too_deep
    return value
