"""Requests larger than the server accepts are answered 413, with a message, not a traceback."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

# Django raises these lazily, wherever request.POST or request.body is first read.
TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def too_large_message(exception: Exception | None = None) -> str:
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return _("The request has too many fields or files; send fewer.")
    return _("The request is too large: this server accepts at most %(size)d KB.") % {
        "size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
    }


def too_large_response(request, exception: Exception | None = None) -> HttpResponse:
    message = too_large_message(exception)
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message, "status": 413}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class RequestSizeMiddleware:
    """A declared Content-Length over DATA_UPLOAD_MAX_MEMORY_SIZE is refused before any of the body
    is read, whichever view the request was for (Django itself only checks once a view reads it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if limit is not None and declared > limit:
            return too_large_response(request)
        return self.get_response(request)


def bad_request(request, exception=None):
    """handler400: Django answers the lazily raised TOO_LARGE errors 400; they are 413s."""
    if isinstance(exception, TOO_LARGE):
        return too_large_response(request, exception)
    return defaults.bad_request(request, exception)
