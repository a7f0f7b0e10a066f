"""Thumbnails for images that came from a bucket sync, made on first view.

A sync reads only headers, so a synced image has no thumbnail (and no checksum) until
someone looks at it; the first request downloads it once, checks it as an upload would
be checked, and stores the thumbnail beside the others.
"""

from __future__ import annotations

import logging

from django.conf import settings

from annotator.models import Image
from annotator.services.images import THUMBNAIL_PREFIX
from annotator.storage import BucketError, project_bucket
from annotator.uploads import UploadRejected, validate_image

log = logging.getLogger(__name__)


def ensure_thumbnail(image: Image) -> str:
    """The key to serve as the image's thumbnail: a new one if it had none, else the image itself."""
    if image.thumbnail_key:
        return image.thumbnail_key
    bucket = project_bucket(image.project)
    try:
        with bucket.open(image.key) as stream:
            data = stream.read(settings.ANNOTATOR_MAX_UPLOAD_BYTES + 1)
        checked = validate_image(
            data,
            max_pixels=settings.ANNOTATOR_MAX_IMAGE_PIXELS,
            max_bytes=settings.ANNOTATOR_MAX_UPLOAD_BYTES,
            thumbnail_size=settings.ANNOTATOR_THUMBNAIL_SIZE,
        )
        key = f"{THUMBNAIL_PREFIX}{checked.sha256}.jpg"
        bucket.put(key, checked.thumbnail, "image/jpeg")
    except (BucketError, UploadRejected) as exc:
        # The grid still shows something: the image itself, scaled by the browser.
        log.warning("No thumbnail for image %s of project %s: %s", image.pk, image.project_id, exc)
        return image.key
    Image.objects.filter(pk=image.pk, etag=image.etag).update(
        thumbnail_key=key, sha256=checked.sha256, width=checked.width, height=checked.height
    )
    image.thumbnail_key = key
    return key
