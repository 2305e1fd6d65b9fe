"""Every uploaded image (post images, avatars) is decoded and written anew here.

Nothing a client sends survives but pixels: not its file name, not its content type, not its bytes
(a GIF with a <script> appended, or a GIF/JavaScript polyglot, comes out as a plain image), not
its metadata (EXIF with GPS, comments, XMP). The size an image claims is checked from its header
before anything is decoded, so a small file claiming a huge canvas (a decompression bomb) is a 400,
not a worker's memory; what is kept is downscaled, so no reader ever decodes more than
`display_side`² pixels.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 10_000
MAX_PIXELS = 40_000_000
# Pillow itself refuses (DecompressionBombError) past twice this, wherever an image is opened.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

POST_IMAGE_SIDE = 2048
POST_THUMBNAIL_SIDE = 640
AVATAR_SIDE = 256

# Format read -> extension written. Only these decoders are ever tried on an upload.
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
SAVE_OPTIONS = {
    "JPEG": {"quality": 85, "optimize": True, "progressive": True},
    "PNG": {"optimize": True},
    "GIF": {"optimize": True},
    "WEBP": {"quality": 85, "method": 4},
}
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


@dataclass(frozen=True)
class StoredImage:
    """A re-encoded image under a server-chosen random name, ready to assign to an ImageField."""

    display: ContentFile
    width: int
    height: int
    thumbnail: ContentFile | None


def process_image(
    upload: UploadedFile,
    *,
    field: str,
    label: str,
    display_side: int,
    thumbnail_side: int | None = None,
) -> StoredImage:
    """Decode `upload`, downscale it to fit `display_side` (and a thumbnail), re-encode it.

    Raises ValidationError({field: ...}) naming `label` when the file is too large, not an image
    Orbit shows, or claims more pixels than MAX_SIDE / MAX_PIXELS. An animated GIF or WebP keeps
    its first frame: decoding every frame is what makes animations costly, and charts and
    screenshots are what Orbit's posts show.
    """
    if upload.size > settings.ORBIT_MAX_IMAGE_BYTES:
        raise ValidationError(
            {
                field: _("%(label)s is larger than %(mb)d MB.")
                % {"label": label, "mb": settings.ORBIT_MAX_IMAGE_BYTES // (1024 * 1024)}
            }
        )
    too_large = ValidationError(
        {
            field: _(
                "%(label)s is too large an image: Orbit takes at most %(side)d pixels a side and %(megapixels)d "
                "megapixels in all. Make it smaller and try again."
            )
            % {"label": label, "side": MAX_SIDE, "megapixels": MAX_PIXELS // 1_000_000}
        }
    )
    not_an_image = ValidationError(
        {field: _("%(label)s is not an image Orbit can show (JPEG, PNG, GIF or WebP).") % {"label": label}}
    )
    upload.seek(0)
    try:
        image = Image.open(upload, formats=list(EXTENSIONS))
    except Image.DecompressionBombError:
        raise too_large from None
    except DECODE_ERRORS:
        raise not_an_image from None
    with image:
        width, height = image.size
        if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
            raise too_large
        image_format = image.format
        try:
            # JPEG decodes straight to 1/2, 1/4 or 1/8 scale when that still covers display_side.
            image.draft(None, (display_side, display_side))
            ImageOps.exif_transpose(image, in_place=True)
            frame = _display_pixels(image, image_format, side=display_side)
        except Image.DecompressionBombError:
            raise too_large from None
        except DECODE_ERRORS:
            raise not_an_image from None
    token = secrets.token_urlsafe(16)
    extension = EXTENSIONS[image_format]
    thumbnail = None
    if thumbnail_side is not None:
        small = frame.copy()
        small.thumbnail((thumbnail_side, thumbnail_side), Image.Resampling.LANCZOS)
        thumbnail = ContentFile(_encode(small, image_format), name=f"{token}.{extension}")
    display = ContentFile(_encode(frame, image_format), name=f"{token}.{extension}")
    return StoredImage(display=display, width=frame.width, height=frame.height, thumbnail=thumbnail)


def _display_pixels(image: Image.Image, image_format: str, *, side: int) -> Image.Image:
    """The pixels, downscaled to fit `side`, and the colour profile: nothing else from the upload."""
    if image_format == "JPEG":
        mode = image.mode if image.mode in ("L", "RGB") else "RGB"
    elif image.mode in ("L", "LA", "RGB", "RGBA"):
        mode = image.mode
    else:
        mode = "RGBA" if image.has_transparency_data else "RGB"
    # In place where it can be: a full-size copy of a 40-megapixel image would be another 160 MB.
    frame = image.convert(mode) if mode != image.mode else image
    frame.thumbnail((side, side), Image.Resampling.LANCZOS)
    frame = frame.copy()
    # EXIF (GPS, camera serials), XMP, comments, text chunks: dropped. The ICC profile is kept so
    # that phone photos (Display P3) keep their colours; it describes colours, not the author.
    icc_profile = image.info.get("icc_profile")
    frame.info = {"icc_profile": icc_profile} if icc_profile else {}
    return frame


def _encode(frame: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    options = dict(SAVE_OPTIONS[image_format])
    if frame.info.get("icc_profile"):
        options["icc_profile"] = frame.info["icc_profile"]
    frame.save(buffer, format=image_format, **options)
    return buffer.getvalue()
