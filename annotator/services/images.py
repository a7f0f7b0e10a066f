"""Adding uploaded files to a project: validate, store bytes, then record rows.

One bad file never fails the batch: every file gets its own outcome. Bytes
are written before the row, and removed again if the row cannot be written,
so nothing is half-stored.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User
from annotator.archives import ArchiveError, iter_members
from annotator.buckets.writeback import mark_annotations_changed
from annotator.events import broadcast
from annotator.models import Image, Project
from annotator.storage import Bucket, BucketError, project_bucket
from annotator.uploads import IMAGE_EXTENSIONS, UploadRejected, ValidatedImage, validate_image

THUMBNAIL_PREFIX = "_annotator/thumbnails/"
_RESERVED = ("_annotator/", "_annotations.json")
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f\\:*?\"<>|]")


@dataclass
class UploadOutcome:
    name: str
    status: str  # created | duplicate | error
    code: str = ""
    message: str = ""
    image: Image | None = None


def clean_name(name: str) -> str:
    """A safe object key from a user's file name (or a path inside a zip)."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/"))
    parts = [_UNSAFE_CHARS.sub("_", part).strip() for part in name.split("/")]
    parts = [part for part in parts if part not in ("", ".", "..")]
    key = "/".join(parts)[-300:].lstrip("/")
    if not key:
        raise UploadRejected("invalid_name", "The file has no usable name.")
    if key.startswith(_RESERVED):
        raise UploadRejected("reserved_name", f"{key!r} is reserved for Annotator's own files.")
    return key


def check_image(data: bytes) -> ValidatedImage:
    """`validate_image` under this instance's limits: what every way in (upload, import) applies."""
    return validate_image(
        data,
        max_pixels=settings.ANNOTATOR_MAX_IMAGE_PIXELS,
        max_bytes=settings.ANNOTATOR_MAX_UPLOAD_BYTES,
        thumbnail_size=settings.ANNOTATOR_THUMBNAIL_SIZE,
    )


def thumbnail_key(sha256: str) -> str:
    """Thumbnails are named by content, so identical images share one."""
    return f"{THUMBNAIL_PREFIX}{sha256}.jpg"


def _free_key(project: Project, key: str) -> str:
    """`key`, or `key` with a numeric suffix when another image already uses it."""
    stem, ext = posixpath.splitext(key)
    candidate, n = key, 1
    while Image.objects.filter(project=project, key=candidate).exists():
        n += 1
        candidate = f"{stem}-{n}{ext}"
    return candidate


def _store(project: Project, bucket: Bucket, user: User, name: str, image: ValidatedImage) -> UploadOutcome:
    existing = project.images.filter(sha256=image.sha256).only("id", "key").first()
    if existing:
        return UploadOutcome(name, "duplicate", "duplicate", f"Same content as {existing.key}.", existing)
    key = _free_key(project, clean_name(name))
    thumbnail = thumbnail_key(image.sha256)
    bucket.put(key, image.data, image.content_type)
    try:
        bucket.put(thumbnail, image.thumbnail, "image/jpeg")
        with transaction.atomic():
            row = Image.objects.create(
                project=project,
                key=key,
                width=image.width,
                height=image.height,
                sha256=image.sha256,
                size_bytes=len(image.data),
                content_type=image.content_type,
                thumbnail_key=thumbnail,
                uploaded_by=user,
            )
            broadcast(project.pk, "image.created", {"id": row.pk, "key": row.key})
    except (IntegrityError, BucketError):
        bucket.delete(key)
        raise
    return UploadOutcome(name, "created", image=row)


def _expand(files: Iterable[tuple[str, BinaryIO]]) -> Iterator[tuple[str, bytes | UploadRejected]]:
    """Each uploaded file, with zips replaced by their members (or by one error for the zip)."""
    for name, stream in files:
        if name.lower().endswith(".zip"):
            # Members stream one at a time; every safety check runs before the first is yielded.
            try:
                for member_name, data in iter_members(stream):
                    if posixpath.splitext(member_name)[1].lower() in IMAGE_EXTENSIONS:
                        yield member_name, data
                    else:
                        yield member_name, UploadRejected("not_an_image", "Not an image file; skipped.")
            except ArchiveError as exc:
                yield name, UploadRejected(exc.code, exc.message)
        else:
            yield name, stream.read(settings.ANNOTATOR_MAX_UPLOAD_BYTES + 1)


def add_images(project: Project, user: User, files: Iterable[tuple[str, BinaryIO]]) -> list[UploadOutcome]:
    """Validate and store every file (zips expanded); one outcome per image or rejected file."""
    bucket = project_bucket(project)
    outcomes = []
    for name, data in _expand(files):
        try:
            if isinstance(data, UploadRejected):
                raise data
            validated = check_image(data)
            outcomes.append(_store(project, bucket, user, name, validated))
        except UploadRejected as exc:
            outcomes.append(UploadOutcome(name, "error", exc.code, exc.message))
        except BucketError as exc:
            outcomes.append(UploadOutcome(name, "error", exc.code, f"Storage failed: {exc}"))
        except IntegrityError:
            outcomes.append(UploadOutcome(name, "error", "conflict", "Another upload took this name; retry."))
    return outcomes


def delete_image(image: Image) -> None:
    """Remove the row first (the truth), then the bytes; shared thumbnails stay while used."""
    bucket = project_bucket(image.project)
    key, thumbnail_key, project_id, image_id = image.key, image.thumbnail_key, image.project_id, image.pk
    with transaction.atomic():
        image.delete()
        broadcast(project_id, "image.deleted", {"id": image_id})
        mark_annotations_changed(project_id)
    bucket.delete(key)
    if thumbnail_key and not Image.objects.filter(project_id=project_id, thumbnail_key=thumbnail_key).exists():
        bucket.delete(thumbnail_key)
