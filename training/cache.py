"""A worker's local copy of the images it trains on, keyed by sha256.

Workers may run on other machines: they read images through the bucket, once. A cached
file is named by the checksum it was verified against, so a hit needs no re-check and a
changed image in the bucket can never be trained on under an old snapshot.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageOps

from annotator.storage import Bucket

CHUNK = 1 << 20
EXIF_ORIENTATION = 0x0112


class ImageChanged(Exception):
    """The bucket's bytes no longer match the checksum the snapshot froze."""


def cached_path(cache_dir: Path, sha256: str, key: str) -> Path:
    suffix = posixpath.splitext(key)[1].lower()[:8]
    return cache_dir / sha256[:2] / f"{sha256}{suffix}"


def fetch_images(
    bucket: Bucket, images: list[dict], cache_dir: Path, on_fetch: Callable[[int, int], None] | None = None
) -> tuple[dict[int, Path], int]:
    """Local paths of the snapshot's images by image id, and how many were downloaded."""
    paths: dict[int, Path] = {}
    downloaded = 0
    for done, image in enumerate(images, start=1):
        path = cached_path(cache_dir, image["sha256"], image["key"])
        if not path.is_file():
            _download(bucket, image["key"], image["sha256"], path)
            downloaded += 1
        paths[image["id"]] = path
        if on_fetch is not None:
            on_fetch(done, len(images))
    return paths, downloaded


def _upright(path: Path) -> None:
    """Apply the EXIF orientation to the pixels: boxes are drawn on the image as displayed, and
    TensorFlow's decoders ignore EXIF."""
    with PILImage.open(path) as image:
        if image.getexif().get(EXIF_ORIENTATION, 1) in (1, None):
            return
        upright = ImageOps.exif_transpose(image)
        fmt = image.format if image.format in ("JPEG", "PNG") else "PNG"
    upright.save(path, fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def _download(bucket: Bucket, key: str, sha256: str, path: Path) -> None:
    """Write beside the target and rename after the checksum matched: never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, bucket.open(key) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ImageChanged(f"{key} changed in the bucket after it was labelled (its checksum differs).")
        _upright(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
