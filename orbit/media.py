"""Serving what people uploaded, from the filesystem or from an S3-compatible object store.

Every file under /media/ goes out through `serve_media`, whichever storage holds it, so that every
answer carries the same guarantees: a Content-Type taken from the extension orbit.images wrote
(images only; anything else is a 404), `nosniff` so no browser guesses HTML or script from the
bytes, and a sandboxing CSP so that even a file opened as a page could run nothing. With S3 the
bucket stays private: readers never talk to it, so no bucket policy or proxy has to add headers.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.core.exceptions import SuspiciousOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp"}
# Names are random and never reused (orbit.images), so a year-long immutable cache is safe.
CACHE_CONTROL = "public, max-age=31536000, immutable"
MEDIA_HEADERS = {
    "Cache-Control": CACHE_CONTROL,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@require_safe
def serve_media(request, path: str):
    content_type = CONTENT_TYPES.get(PurePosixPath(path).suffix.lower())
    if content_type is None:
        raise Http404("Not an image Orbit stored.")
    try:
        # Both storages refuse a name that leaves their root (safe_join) with SuspiciousOperation.
        file = default_storage.open(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, SuspiciousOperation):
        raise Http404("No such file.") from None
    return FileResponse(file, content_type=content_type, headers=MEDIA_HEADERS)
