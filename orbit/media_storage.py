"""The object-store backend (MEDIA_STORAGE=s3); its own module so that boto3 is imported only when used."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage

from .media import CACHE_CONTROL, CONTENT_TYPES


class S3MediaStorage(S3Storage):
    """django-storages' S3 backend, with private objects whose URLs point at Orbit's /media/ view
    (orbit.media.serve_media), which streams them with the headers a bucket cannot set itself."""

    def get_object_parameters(self, name: str) -> dict:
        params = super().get_object_parameters(name)
        content_type = CONTENT_TYPES.get(PurePosixPath(name).suffix.lower())
        if content_type is not None:
            params.setdefault("ContentType", content_type)
        params.setdefault("CacheControl", CACHE_CONTROL)
        return params

    def url(self, name: str, parameters=None, expire=None, http_method=None) -> str:
        return f"{settings.MEDIA_URL}{filepath_to_uri(name)}"
