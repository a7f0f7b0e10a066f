"""Validation of uploaded image bytes, before anything is stored.

Decoding user-supplied images is where decompression bombs, truncated files
and disguised HTML/SVG bite, so each check runs in order of cost and says
plainly what was wrong.

Memory invariants:
- Nothing is decoded before its cost is known from the header and within `max_decode_bytes`:
  the file's own bytes plus width x height x bytes per pixel, where bytes per pixel is the
  larger of Pillow's storage for the mode and the file's samples at their bit depth (a 16-bit
  RGBA PNG costs 8 bytes a pixel). JPEGs count at the reduced scale they are decoded at, plus
  the coefficient buffer libjpeg keeps for progressive files.
- `precheck` applies the same checks to a stream, reading only the header, so a caller can
  refuse a file before reading it into memory.
- At most `max_concurrent_decodes` images decode at once in a process; others wait their turn
  (and give up with `server_busy` after `DECODE_WAIT_SECONDS`).
- The thumbnail is reduced from the decoded image in stripes, so no full-size copy is made.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

from django.conf import settings
from PIL import Image as PILImage
from PIL import ImageFile, UnidentifiedImageError

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
# How long a check waits for a decoding slot before refusing with `server_busy`.
DECODE_WAIT_SECONDS = 30
# Rows of the decoded image copied at a time while reducing it for the thumbnail.
_STRIPE_PIXELS = 4_000_000
_SAMPLE_BITS = re.compile(r";(\d+)")
_ORIENTATION_TRANSPOSE = {
    2: PILImage.Transpose.FLIP_LEFT_RIGHT,
    3: PILImage.Transpose.ROTATE_180,
    4: PILImage.Transpose.FLIP_TOP_BOTTOM,
    5: PILImage.Transpose.TRANSPOSE,
    6: PILImage.Transpose.ROTATE_270,
    7: PILImage.Transpose.TRANSVERSE,
    8: PILImage.Transpose.ROTATE_90,
}


class UploadRejected(CodedError):
    """One file is not an image we accept; the rest of the batch goes on."""


class DecoderBusy(UploadRejected):
    """Every decoding slot stayed taken: a refusal for now, not a verdict on the file."""


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int
    max_bytes: int
    max_decode_bytes: int
    thumbnail_size: int
    max_concurrent_decodes: int

    @classmethod
    def from_settings(cls) -> ImageLimits:
        return cls(
            max_pixels=settings.ANNOTATOR_MAX_IMAGE_PIXELS,
            max_bytes=settings.ANNOTATOR_MAX_UPLOAD_BYTES,
            max_decode_bytes=settings.ANNOTATOR_MAX_DECODE_BYTES,
            thumbnail_size=settings.ANNOTATOR_THUMBNAIL_SIZE,
            max_concurrent_decodes=settings.ANNOTATOR_MAX_CONCURRENT_DECODES,
        )


@dataclass(frozen=True)
class ValidatedImage:
    data: bytes
    width: int
    height: int
    sha256: str
    content_type: str
    thumbnail: bytes


def _looks_like_markup(head: bytes) -> bool:
    head = head[:512].lstrip()
    return head.startswith(_MARKUP_PREFIXES) or b"<svg" in head.lower() or b"<html" in head.lower()


def _open(stream: IO[bytes]) -> ImageFile.ImageFile:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(stream)
    except (UnidentifiedImageError, PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise UploadRejected("not_an_image", "This file is not an image we can read.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadRejected("corrupt_image", f"The image could not be read ({exc}).") from None
    if image.format not in ALLOWED_FORMATS:
        raise UploadRejected(
            "unsupported_format",
            f"{image.format} images are not supported; use JPEG, PNG, WebP, GIF, BMP or TIFF.",
        )
    return image


def _orientation(image: PILImage.Image) -> int:
    """The EXIF orientation the header carries. The base class's reader, because PNG's own decodes
    the whole image looking for an eXIf chunk after the pixels: before any budget is checked, and
    a failed decode then caught here would leave a half-decoded image that later loads "fine"."""
    try:
        return int(PILImage.Image.getexif(image).get(0x0112, 1))
    except Exception:  # a malformed EXIF block never fails an otherwise readable image
        return 1


def _storage_bytes(mode: str) -> int:
    """Bytes Pillow keeps per pixel: one for 1/L/P, two for 16-bit grey, four for the rest."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _file_bytes_per_pixel(image: ImageFile.ImageFile) -> int:
    """Bytes a pixel takes at the file's own bit depth (its raw mode says "RGBA;16B" for 16 bits)."""
    args = image.tile[0].args if image.tile else None
    raw = args if isinstance(args, str) else args[0] if isinstance(args, tuple) and args else ""
    found = _SAMPLE_BITS.search(raw) if isinstance(raw, str) else None
    bits = min(max(int(found.group(1)), 8), 64) if found else 8
    return len(image.getbands()) * bits // 8


def _progressive_coefficients(image: PILImage.Image) -> int:
    """libjpeg buffers every DCT coefficient (2 bytes) of a progressive JPEG, whatever the scale."""
    if image.format != "JPEG" or not image.info.get("progressive"):
        return 0
    layers = getattr(image, "layer", None) or []
    if layers:
        widest = max(h for _, h, _, _ in layers) * max(v for _, _, v, _ in layers)
        samples = sum(h * v for _, h, v, _ in layers) / widest
    else:
        samples = len(image.getbands())
    return int(image.width * image.height * samples * 2)


def _decode_bytes(image: ImageFile.ImageFile, thumbnail_size: int) -> int:
    """Memory decoding `image` takes; applies JPEG draft mode first, which decides the scale."""
    coefficients = _progressive_coefficients(image)
    if image.format == "JPEG":
        image.draft("RGB", (thumbnail_size, thumbnail_size))  # decode at a reduced scale
    per_pixel = max(_storage_bytes(image.mode), _file_bytes_per_pixel(image))
    return image.width * image.height * per_pixel + coefficients


def _check_header(image: ImageFile.ImageFile, size: int, limits: ImageLimits) -> tuple[int, int]:
    """Refuse what is too large to decode; return the size as displayed (EXIF orientation applied)."""
    width, height = image.size
    if width * height > limits.max_pixels:
        raise UploadRejected(
            "image_too_large",
            f"The image is {width}x{height} pixels; at most {limits.max_pixels:,} pixels are accepted.",
        )
    # Before draft mode, which shrinks `image.size` to the reduced decoding scale.
    displayed = (height, width) if _orientation(image) in (5, 6, 7, 8) else (width, height)
    cost = size + _decode_bytes(image, limits.thumbnail_size)
    if cost > limits.max_decode_bytes:
        raise UploadRejected(
            "image_too_large",
            f"Checking this {width}x{height} {image.mode} image would take {cost // 2**20:,} MB of memory; "
            f"at most {limits.max_decode_bytes // 2**20:,} MB are allowed (ANNOTATOR_MAX_DECODE_BYTES).",
        )
    return displayed


def _check_size(size: int, limits: ImageLimits) -> None:
    if size <= 0:
        raise UploadRejected("empty_file", "The file is empty.")
    if size > limits.max_bytes:
        raise UploadRejected("file_too_large", f"The file is larger than {limits.max_bytes // (1024 * 1024)} MB.")


def _check_not_markup(head: bytes) -> None:
    if _looks_like_markup(head):
        raise UploadRejected("not_an_image", "This file is HTML or SVG, not a raster image.")


def precheck(stream: IO[bytes], size: int, limits: ImageLimits) -> None:
    """Every check `validate_image` makes before decoding, reading only the stream's header
    (and nothing of a stream whose size is refused)."""
    _check_size(size, limits)
    _check_not_markup(stream.read(512))
    stream.seek(0)
    with _open(stream) as image:
        _check_header(image, size, limits)


@lru_cache(maxsize=4)
def _decode_slots(count: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(max(count, 1))


@contextmanager
def _decode_slot(limits: ImageLimits) -> Iterator[None]:
    slots = _decode_slots(limits.max_concurrent_decodes)
    if not slots.acquire(timeout=DECODE_WAIT_SECONDS):
        raise DecoderBusy("server_busy", "The server is busy decoding other images; try this file again shortly.")
    try:
        yield
    finally:
        slots.release()


def _reduced(image: PILImage.Image, factor: int) -> PILImage.Image:
    """`image` as RGB, shrunk `factor`-fold by box averaging, one stripe of rows at a time.

    Reducing the whole image at once would first convert it (RGBA is premultiplied, P expanded):
    a second full-size copy. Stripes whose height is a multiple of `factor` reduce exactly alike.
    """
    width, height = image.size
    out = PILImage.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _STRIPE_PIXELS // (width * factor))
    for top in range(0, height, rows):
        stripe = image.crop((0, top, width, min(top + rows, height))).convert("RGB")
        out.paste(stripe.reduce(factor) if factor > 1 else stripe, (0, top // factor))
    return out


def _thumbnail(image: PILImage.Image, size: int, orientation: int) -> bytes:
    image.load()
    # Box-average down to about twice the thumbnail, then resample the small image properly.
    thumb = _reduced(image, max(1, max(image.size) // (2 * size)))
    image.close()  # the decoded pixels go now, before the small copies are made
    if orientation in _ORIENTATION_TRANSPOSE:
        thumb = thumb.transpose(_ORIENTATION_TRANSPOSE[orientation])
    thumb.thumbnail((size, size))
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


def validate_image(data: bytes, limits: ImageLimits, *, sha256: str = "") -> ValidatedImage:
    """Check `data` is a whole, allowed, reasonably sized image; return what we store about it."""
    _check_size(len(data), limits)
    _check_not_markup(data[:512])
    image = _open(io.BytesIO(data))
    orientation = _orientation(image)
    width, height = _check_header(image, len(data), limits)
    try:
        with _decode_slot(limits):
            # Scaled JPEG decoding still consumes the whole entropy-coded stream, so truncation shows here.
            thumbnail = _thumbnail(image, limits.thumbnail_size, orientation)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadRejected("corrupt_image", f"The image is truncated or corrupt ({exc}).") from None
    return ValidatedImage(
        data=data,
        width=width,
        height=height,
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        content_type=ALLOWED_FORMATS[image.format or ""],  # _open refused every other format
        thumbnail=thumbnail,
    )
