"""The API's JSON parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]); a module of its own because
DRF imports it while defining APIView, before orbit.api can be imported."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from . import json_input


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with limits: JSON nested deeper than json_input.MAX_DEPTH, or holding a
    number that is not finite (1e999, NaN), is a 400 rather than a RecursionError or an infinity
    that fails later as a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_input.loads(stream.read().decode(encoding))
        except ValueError as exc:  # JSONRefused and UnicodeDecodeError included
            raise exceptions.ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
