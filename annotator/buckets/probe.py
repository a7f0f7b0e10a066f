"""An image's displayed size from the first bytes of its object, not the whole object.

The size sits in the first few hundred bytes of PNG, GIF, BMP and WebP files. A JPEG's
frame header follows its APPn segments (EXIF, ICC profile, XMP), which are usually
well under 64 KB but can be larger with an embedded preview, so the read widens
step by step before giving up.
"""

from __future__ import annotations

import io
import posixpath
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from annotator.storage import Bucket
from annotator.uploads import ALLOWED_FORMATS, IMAGE_EXTENSIONS

READ_STEPS = (64 * 1024, 1024 * 1024, 8 * 1024 * 1024)
_TRANSPOSED = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    content_type: str


class Unreadable(Exception):
    """The object's name says image, but its bytes do not give one we can use."""


def is_image_key(key: str) -> bool:
    return posixpath.splitext(key)[1].lower() in IMAGE_EXTENSIONS


def _parse(head: bytes, complete: bool, max_pixels: int) -> Header | None:
    """The header, or None when `head` stops before the size (and is not the whole object)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(head))
            width, height = image.size
            try:
                orientation = image.getexif().get(0x0112, 1)
            except Exception:  # a broken EXIF block must not refuse an otherwise good image
                orientation = 1
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if complete:
            raise Unreadable(f"not an image we can read ({exc})") from None
        return None
    if image.format not in ALLOWED_FORMATS:
        raise Unreadable(f"{image.format} images are not supported")
    if width * height > max_pixels:
        raise Unreadable(f"{width}x{height} pixels is more than the {max_pixels:,} allowed")
    if orientation in _TRANSPOSED:
        width, height = height, width
    return Header(width, height, ALLOWED_FORMATS[image.format])


def read_header(bucket: Bucket, key: str, size: int, max_pixels: int) -> tuple[Header, int]:
    """The image's header and how many ranged GETs it took; raises Unreadable or BucketError."""
    if size <= 0:
        raise Unreadable("the object is empty")
    for reads, step in enumerate(READ_STEPS, start=1):
        length = min(step, size)
        head = bucket.read_range(key, 0, length)
        complete = length >= size or len(head) < length
        header = _parse(head, complete, max_pixels)
        if header is not None:
            return header, reads
        if complete:
            break
    raise Unreadable(f"no image size in the first {READ_STEPS[-1] // (1024 * 1024)} MB")
