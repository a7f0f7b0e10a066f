"""The worker's image cache: verified against the snapshot, upright as displayed."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image as PILImage

from annotator.storage import LocalBucket
from training.cache import ImageChanged, fetch_images


def _rotated_jpeg() -> bytes:
    exif = PILImage.Exif()
    exif[0x0112] = 6  # displayed rotated 90° clockwise
    out = io.BytesIO()
    PILImage.new("RGB", (80, 20), (200, 30, 30)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_cached_images_are_upright_and_reused(tmp_path):
    bucket = LocalBucket(tmp_path / "buckets", "b")
    data = _rotated_jpeg()
    bucket.put("cat.jpg", data)
    images = [{"id": 1, "key": "cat.jpg", "sha256": hashlib.sha256(data).hexdigest()}]

    paths, downloaded = fetch_images(bucket, images, tmp_path / "cache")
    again, downloaded_again = fetch_images(bucket, images, tmp_path / "cache")

    with PILImage.open(paths[1]) as cached:
        assert cached.size == (20, 80)
    assert (downloaded, downloaded_again, again) == (1, 0, paths)


def test_bytes_that_changed_since_the_snapshot_are_refused(tmp_path):
    bucket = LocalBucket(tmp_path / "buckets", "b")
    bucket.put("cat.jpg", _rotated_jpeg())
    with pytest.raises(ImageChanged, match=r"cat\.jpg"):
        fetch_images(bucket, [{"id": 1, "key": "cat.jpg", "sha256": "0" * 64}], tmp_path / "cache")
    assert not any((tmp_path / "cache").rglob("*.jpg"))
