"""Real hostile image files, built by the tests: script carriers, polyglots, decompression bombs, GPS photos."""

from __future__ import annotations

import io

from PIL import Image

PWNED = "pwned-by-upload"
# What each script below does when a browser runs it; a test asserts it never happened.
SCRIPT = f"document.title='{PWNED}';window.pwned=true;"


def _saved(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def gif_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    return _saved(Image.new("RGB", size, color), "GIF")


def gif_with_html(script_src: str | None = None) -> bytes:
    """A valid GIF followed by HTML: a browser told it is text/html renders the script."""
    tag = f'<script src="{script_src}"></script>' if script_src else f"<script>{SCRIPT}</script>"
    return gif_bytes() + f"<html><body>{tag}</body></html>".encode()


def gif_js_polyglot() -> bytes:
    """One file that is both a GIF Pillow decodes and JavaScript a browser runs.

    As JavaScript it reads `GIF89a=1;/* ...image... */;SCRIPT`: the logical screen size bytes are
    `=\\t1\\t` (2365 x 2353 pixels), the packed byte `;` says there is no global palette, and the
    background and aspect bytes open the comment that swallows the image data. The one frame (1 x 1)
    brings its own two-colour palette.
    """
    frame = (
        b"\x2c"  # image descriptor
        + (0).to_bytes(2, "little") * 2  # at 0,0
        + (1).to_bytes(2, "little") * 2  # 1×1
        + b"\x80"  # a local palette of two colours follows
        + b"\xf0\xb9\x0b\x00\x00\x00"
        + b"\x02\x02\x4c\x01\x00"  # LZW: minimum code size 2, one sub-block (clear, colour 1, end)
    )
    image = b"GIF89a=\t1\t;/*" + frame + b";"
    assert b"*/" not in image
    return image + b"*/;" + SCRIPT.encode()


def png_bomb(side: int = 20_000) -> bytes:
    """A real PNG of side x side one-bit pixels: about 48 KB on disk, 1.6 GB once decoded to RGBA."""
    return _saved(Image.new("1", (side, side)), "PNG")


def gif_claiming(width: int = 65_535, height: int = 65_535) -> bytes:
    """A small valid GIF whose header claims a width x height canvas."""
    data = bytearray(gif_bytes(size=(8, 8)))
    data[6:10] = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return bytes(data)


CAMERA = "SpyCam X1000"


def jpeg_with_gps(size=(300, 200)) -> bytes:
    """A photo as phones write it: EXIF with the camera, GPS coordinates, and 'rotate 90° to view'."""
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0112] = 6  # Orientation: the pixels are stored rotated; turn them 90° clockwise
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS: Paris
    return _saved(Image.new("RGB", size, (10, 120, 200)), "JPEG", exif=exif.tobytes())


def png_bytes(size=(8, 8), color=(240, 185, 11)) -> bytes:
    return _saved(Image.new("RGB", size, color), "PNG")
