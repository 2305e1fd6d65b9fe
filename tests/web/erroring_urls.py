"""Orbit's URLs plus pages that fail outside any view's own error handling, to see Orbit's error pages."""

from django.core.exceptions import PermissionDenied
from django.urls import include, path


def forbidden(request):
    raise PermissionDenied


def crash(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("test-forbidden/", forbidden),
    path("test-crash/", crash),
    path("", include("orbit.urls")),
]
