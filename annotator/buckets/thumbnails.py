"""Thumbnails for images that came from a bucket sync, made on first view.

A sync reads only headers, so a synced image has no thumbnail (and no checksum) until
someone looks at it; the first request downloads it once, checks it as an upload would
be checked, and stores the thumbnail beside the others.

An object that fails those checks is remembered on its row with the ETag it had
(`thumbnail_error`, `thumbnail_error_etag`): later views serve the image itself at once,
without downloading or decoding it again, until a sync sees a new ETag. Storage errors
and a busy decoder are not remembered: they pass, and the next view tries again.
"""

from __future__ import annotations

import logging

from annotator.models import Image
from annotator.services.images import check_image
from annotator.storage import BucketError, layout, project_bucket
from annotator.uploads import DecoderBusy, ImageLimits, UploadRejected

log = logging.getLogger(__name__)


def ensure_thumbnail(image: Image) -> str:
    """The key to serve as the image's thumbnail: a new one if it had none, else the image itself."""
    if image.thumbnail_key:
        return image.thumbnail_key
    if image.thumbnail_error and image.thumbnail_error_etag == image.etag:
        return image.key  # this very object was refused before: no download, no decode
    bucket = project_bucket(image.project)
    try:
        with bucket.open(image.key) as stream:
            data = stream.read(ImageLimits.from_settings().max_bytes + 1)
        checked = check_image(data)
        key = layout.thumbnail_key(checked.sha256)
        bucket.put(key, checked.thumbnail, "image/jpeg")
    except DecoderBusy as exc:
        log.info("Thumbnail of image %s postponed: %s", image.pk, exc)
        return image.key
    except UploadRejected as exc:
        # The grid still shows something: the image itself, scaled by the browser.
        log.warning("No thumbnail for image %s of project %s: %s", image.pk, image.project_id, exc.message)
        reason = f"{exc.code}: {exc.message}"[:300]
        Image.objects.filter(pk=image.pk, etag=image.etag).update(
            thumbnail_error=reason, thumbnail_error_etag=image.etag
        )
        image.thumbnail_error, image.thumbnail_error_etag = reason, image.etag
        return image.key
    except BucketError as exc:
        log.warning("No thumbnail for image %s of project %s: %s", image.pk, image.project_id, exc)
        return image.key
    Image.objects.filter(pk=image.pk, etag=image.etag).update(
        thumbnail_key=key, sha256=checked.sha256, width=checked.width, height=checked.height, thumbnail_error=""
    )
    image.thumbnail_key = key
    return key
