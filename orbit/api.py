"""API-wide behaviour: every error is JSON with a message a person can act on."""

from __future__ import annotations

import logging
import math

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from .middleware import TOO_LARGE, too_large_message
from .pagination import MAX_PAGE_SIZE, PAGE_SIZE
from .parsers import BoundedJSONParser
from .throttles import UserActionThrottle

logger = logging.getLogger("orbit.api")


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        if not detail:
            return _("The request is not valid.")
        field, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if field in {"non_field_errors", "detail"} else f"{field}: {message}"
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else _("The request is not valid.")
    return str(detail)


def exception_handler(exc, context):
    # Service functions raise Django's errors; the API speaks DRF's.
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, exceptions.Throttled):
        exc = _throttled(exc.wait)
    elif isinstance(exc, TOO_LARGE):
        return error_response(too_large_message(exc), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = drf_exception_handler(exc, context)
    if response is None:
        # Anything else is our bug: log it with its traceback, undo the request's writes and
        # still answer in JSON, so clients never have to parse an HTML error page.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        set_rollback()
        return error_response(
            _("Something went wrong on our side; it has been logged. Try again later."),
            status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    detail = response.data
    body = {"message": _first_message(detail), "status": response.status_code}
    if isinstance(detail, dict) and set(detail) - {"detail"}:
        body["errors"] = detail
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = exc.wait
    return Response(body, status=response.status_code, headers=dict(response.headers.items()) or None)


def _throttled(wait: float | None) -> exceptions.Throttled:
    if wait is None:
        return exceptions.Throttled(detail=_("Too many requests; slow down and try again later."))
    seconds = max(1, math.ceil(wait))
    message = ngettext(
        "Too many requests of this kind; try again in %(seconds)d second.",
        "Too many requests of this kind; try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}
    throttled = exceptions.Throttled(detail=message)
    throttled.wait = seconds  # DRF turns this into the Retry-After header
    return throttled


def valid(serializer_class, data) -> dict:
    """The validated data of an input serializer; a 400 naming each refused field otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


USERNAME = OpenApiParameter("username", str, OpenApiParameter.PATH, description="The username, without the @.")


class PageQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="The `next_cursor` of the previous page; omit for the first page.",
    )
    size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE)


def page_query(request) -> dict:
    """`cursor` and `size` of a keyset-paginated list, checked (orbit.pagination)."""
    query = valid(PageQuerySerializer, request.query_params)
    return {"cursor": query.get("cursor") or None, "size": query["size"]}


def error_response(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"message": message, "status": code}, status=code)


# --- Shared pieces of the API views and their documentation ----------------------------


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    message = serializers.CharField(help_text="What went wrong, in words a person can act on.")
    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    errors = serializers.DictField(
        required=False,
        help_text="On validation errors: each field that was refused, with its messages.",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="On 429: seconds until the request will be accepted again."
    )


ERROR_DESCRIPTIONS = {
    400: "The input was refused; `message` says why and `errors` names each field.",
    401: "No valid credentials: log in or send `Authorization: Token <key>`.",
    403: "Not allowed: someone else's content, a suspended account, a block, or a missing CSRF token.",
    404: "No such object, or it was deleted or hidden.",
    429: "Too many requests of this kind; `retry_after` and the Retry-After header say when to retry.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented errors of an operation: `codes`, plus 400 and 401, which any operation can
    answer (a NUL character in the address; a wrong or expired token, even where none is needed)."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in sorted({400, 401, *codes})
    }


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose enum gets its own name in the schema.

    The schema names enums after their field, so the post's `language` (en, zh) and the profile's
    `language` (en, zh-hans) would collide and get hashed names."""

    def __init__(self, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldSchema(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def get_name(self):
        return self.target.enum_name

    def map_serializer_field(self, auto_schema, direction):
        return auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)


class OrbitAPIView(APIView):
    # Base of every Orbit API view. (A comment, not a docstring: the schema would show it as the
    # description of every operation.) Authentication comes from REST_FRAMEWORK's
    # DEFAULT_AUTHENTICATION_CLASSES (Orbit's API tokens, then the browser session). Writes are
    # counted against the view's `throttle_scope`, if it has one.

    throttle_classes = [UserActionThrottle]
    parser_classes = [BoundedJSONParser]
    throttle_scope: str | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # PostgreSQL cannot store or compare text with NUL characters; refuse them at the door
        # rather than let a query fail. (Serializer CharFields refuse them in bodies already.)
        texts = [str(value) for value in kwargs.values()]
        for name, values in request.query_params.lists():
            texts += [name, *values]
        if any("\x00" in text for text in texts):
            raise exceptions.ValidationError({"detail": _("The address contains a NUL character; remove it.")})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([AllowAny])
def not_found(request, *args, **kwargs):
    """Unknown addresses under /api/v1/ answer JSON too (and this catch-all keeps Django from
    redirecting a POST without its trailing slash, which would drop the body)."""
    with_slash = f"{request.path}/"
    try:
        resolves = not request.path.endswith("/") and resolve(with_slash).func is not not_found
    except Resolver404:
        resolves = False
    if resolves:
        message = _("Every API address ends with a slash: use %(path)s.") % {"path": with_slash}
    else:
        message = _("There is nothing at %(path)s; see /api/v1/docs/ for the API.") % {"path": request.path}
    return error_response(message, status.HTTP_404_NOT_FOUND)
