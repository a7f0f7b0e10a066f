"""Validation of uploaded image bytes, before anything is stored.

Decoding user-supplied images is where decompression bombs, truncated files
and disguised HTML/SVG bite, so each check runs in order of cost and says
plainly what was wrong.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import ImageFile, ImageOps, UnidentifiedImageError

from annotator.errors import CodedError

# Truncated images are errors, never silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# We compare against our own (configurable) limit before decoding; Pillow's check would fire first.
PILImage.MAX_IMAGE_PIXELS = None

ALLOWED_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
_MARKUP_PREFIXES = (b"<", b"\xef\xbb\xbf<")


class UploadRejected(CodedError):
    """One file is not an image we accept; the rest of the batch goes on."""


@dataclass(frozen=True)
class ValidatedImage:
    data: bytes
    width: int
    height: int
    sha256: str
    content_type: str
    thumbnail: bytes


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip()
    return head.startswith(_MARKUP_PREFIXES) or b"<svg" in head.lower() or b"<html" in head.lower()


def _open(data: bytes) -> PILImage.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(data))
    except (UnidentifiedImageError, PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise UploadRejected("not_an_image", "This file is not an image we can read.") from None
    except OSError as exc:
        raise UploadRejected("corrupt_image", f"The image could not be read ({exc}).") from None
    if image.format not in ALLOWED_FORMATS:
        raise UploadRejected(
            "unsupported_format",
            f"{image.format} images are not supported; use JPEG, PNG, WebP, GIF, BMP or TIFF.",
        )
    return image


def _oriented_size(image: PILImage.Image) -> tuple[int, int]:
    """Size as displayed: EXIF orientations 5-8 rotate by 90 degrees."""
    width, height = image.size
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:
        orientation = 1
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _thumbnail(image: PILImage.Image, size: int) -> bytes:
    if image.format == "JPEG":
        image.draft("RGB", (size, size))  # decode at a reduced scale: much faster for big photos
    image.load()
    thumb = ImageOps.exif_transpose(image).convert("RGB")
    thumb.thumbnail((size, size))
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


def validate_image(data: bytes, *, max_pixels: int, max_bytes: int, thumbnail_size: int) -> ValidatedImage:
    """Check `data` is a whole, allowed, reasonably sized image; return what we store about it."""
    if not data:
        raise UploadRejected("empty_file", "The file is empty.")
    if len(data) > max_bytes:
        raise UploadRejected("file_too_large", f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    if _looks_like_markup(data):
        raise UploadRejected("not_an_image", "This file is HTML or SVG, not a raster image.")
    image = _open(data)
    width, height = image.size
    if width * height > max_pixels:
        raise UploadRejected(
            "image_too_large",
            f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted.",
        )
    # Before the thumbnail: JPEG draft mode shrinks `image.size` to the reduced decoding scale.
    oriented_width, oriented_height = _oriented_size(image)
    try:
        # Scaled JPEG decoding still consumes the whole entropy-coded stream, so truncation shows here.
        thumbnail = _thumbnail(image, thumbnail_size)
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadRejected("corrupt_image", f"The image is truncated or corrupt ({exc}).") from None
    return ValidatedImage(
        data=data,
        width=oriented_width,
        height=oriented_height,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=ALLOWED_FORMATS[image.format],
        thumbnail=thumbnail,
    )
