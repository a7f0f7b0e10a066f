"""Adding uploaded files to a project: validate, store bytes, then record rows.

One bad file never fails the batch: every file gets its own outcome. Bytes
are written before the row, and removed again if the row cannot be written,
so nothing is half-stored.

A zip is all or nothing as an archive: every member is verified (annotator.archives)
before the first is stored, so a damaged one refuses the zip and stores none of it;
members that are intact but not acceptable images get their own outcome, like files.
Files are taken in order of cost: header checks on the stream, then the bytes are read
(one file at a time), hashed and compared with the project's images, and only a new
image within the decode budget is decoded (annotator.uploads).
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import IO, BinaryIO

from django.db import IntegrityError, transaction

from accounts.models import User
from annotator import domain_events
from annotator.archives import ArchiveError, iter_members
from annotator.buckets import stranded
from annotator.events import broadcast
from annotator.models import Image, Project
from annotator.services import tally
from annotator.storage import Bucket, BucketError, layout, project_bucket
from annotator.uploads import (
    IMAGE_EXTENSIONS,
    ImageLimits,
    UploadRejected,
    ValidatedImage,
    precheck,
    validate_image,
)

log = logging.getLogger(__name__)

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
    if layout.is_reserved(key):
        raise UploadRejected("reserved_name", f"{key!r} is reserved for Annotator's own files.")
    return key


def check_image(data: bytes, *, sha256: str = "") -> ValidatedImage:
    """`validate_image` under this instance's limits: what every way in (upload, import, sync) applies."""
    return validate_image(data, ImageLimits.from_settings(), sha256=sha256)


def _free_key(project: Project, key: str) -> str:
    """`key`, or `key` with a numeric suffix when another image already uses it."""
    stem, ext = posixpath.splitext(key)
    candidate, n = key, 1
    while Image.objects.filter(project=project, key=candidate).exists():
        n += 1
        candidate = f"{stem}-{n}{ext}"
    return candidate


def _store(project: Project, bucket: Bucket, user: User, name: str, image: ValidatedImage) -> UploadOutcome:
    if duplicate := _duplicate(project, name, image.sha256):
        return duplicate
    key = _free_key(project, clean_name(name))
    thumbnail = layout.thumbnail_key(image.sha256)
    stranded.claim(project, [key])  # an object a failed import left there is overwritten, and kept
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
            tally.counted(project.pk, [row.pk])
            domain_events.images_added.send(sender=Project, project_id=project.pk, image_ids=[row.pk])
            broadcast(project.pk, "image.created", {"id": row.pk, "key": row.key})
    except (IntegrityError, BucketError):
        bucket.delete(key)
        raise
    return UploadOutcome(name, "created", image=row)


@dataclass(frozen=True)
class _Incoming:
    """One file to add, uploaded or from a zip; its bytes are read only once its header passed."""

    name: str
    size: int
    open: Callable[[], AbstractContextManager[IO[bytes]]]
    read: Callable[[], bytes]
    sha256: str = ""  # known before reading for zip members: their verification hashed them


def _duplicate(project: Project, name: str, sha256: str) -> UploadOutcome | None:
    existing = project.images.filter(sha256=sha256).only("id", "key").first()
    if existing:
        return UploadOutcome(name, "duplicate", "duplicate", f"Same content as {existing.key}.", existing)
    return None


def _uploaded(name: str, stream: BinaryIO, limits: ImageLimits) -> _Incoming:
    size = getattr(stream, "size", None)
    if size is None:
        size = stream.seek(0, os.SEEK_END)

    def opened() -> AbstractContextManager[BinaryIO]:
        stream.seek(0)
        return nullcontext(stream)

    def read() -> bytes:
        stream.seek(0)
        return stream.read(limits.max_bytes + 1)

    return _Incoming(name, size, opened, read)


def _expand(files: Iterable[tuple[str, BinaryIO]], limits: ImageLimits) -> Iterator[_Incoming | UploadOutcome]:
    """Each uploaded file, with zips replaced by their members (or by one error for the zip)."""
    for name, stream in files:
        if not name.lower().endswith(".zip"):
            yield _uploaded(name, stream, limits)
            continue
        try:
            # Every member is verified before the first is yielded: a damaged zip yields only its error.
            for member in iter_members(stream, max_member_bytes=limits.max_bytes):
                if posixpath.splitext(member.name)[1].lower() in IMAGE_EXTENSIONS:
                    yield _Incoming(member.name, member.size, member.open, member.read, member.sha256)
                else:
                    yield UploadOutcome(member.name, "error", "not_an_image", "Not an image file; skipped.")
        except ArchiveError as exc:
            yield UploadOutcome(name, "error", exc.code, exc.message)


def _add(project: Project, bucket: Bucket, user: User, incoming: _Incoming, limits: ImageLimits) -> UploadOutcome:
    """Cheapest refusal first: a known duplicate is never read, a bad header never read whole,
    and nothing is decoded before its checksum was compared with the project's images."""
    if incoming.sha256 and (duplicate := _duplicate(project, incoming.name, incoming.sha256)):
        return duplicate
    with incoming.open() as stream:
        precheck(stream, incoming.size, limits)
    data = incoming.read()
    sha256 = incoming.sha256 or hashlib.sha256(data).hexdigest()
    if duplicate := _duplicate(project, incoming.name, sha256):
        return duplicate
    return _store(project, bucket, user, incoming.name, validate_image(data, limits, sha256=sha256))


def add_images(project: Project, user: User, files: Iterable[tuple[str, BinaryIO]]) -> list[UploadOutcome]:
    """Validate and store every file (zips expanded); one outcome per image or rejected file."""
    bucket = project_bucket(project)
    limits = ImageLimits.from_settings()
    outcomes = []
    for incoming in _expand(files, limits):
        if isinstance(incoming, UploadOutcome):
            outcomes.append(incoming)
            continue
        name = incoming.name
        try:
            outcomes.append(_add(project, bucket, user, incoming, limits))
        except (UploadRejected, ArchiveError) as exc:
            outcomes.append(UploadOutcome(name, "error", exc.code, exc.message))
        except BucketError as exc:
            outcomes.append(UploadOutcome(name, "error", exc.code, f"Storage failed: {exc}"))
        except IntegrityError:
            outcomes.append(UploadOutcome(name, "error", "conflict", "Another upload took this name; retry."))
    return outcomes


def delete_image(image: Image) -> None:
    """Remove the bytes first, then the row; the shared thumbnail last, once no image uses it.

    Why this order: a bucket failure (answered 502) then leaves the image exactly as it was,
    row and object, so the delete can simply be retried. Deleting the row first answered 502
    with the row already gone and the object orphaned in the bucket for ever. Should the row's
    delete fail after its object went (the database down), the row points at a missing object:
    the next bucket sync flags it missing (annotations kept), and deleting it again succeeds,
    since removing an object that is already gone is not an error.
    """
    bucket = project_bucket(image.project)
    bucket.delete(image.key)
    _delete_rows(image.project_id, [image])
    _drop_unused_thumbnails(bucket, image.project_id, [image])


def _delete_rows(project_id: int, images: list[Image]) -> None:
    ids = [image.pk for image in images]
    with transaction.atomic(), tally.track(project_id, ids):
        Image.objects.filter(project_id=project_id, pk__in=ids).delete()
        for image_id in ids:
            broadcast(project_id, "image.deleted", {"id": image_id})
        domain_events.images_removed.send(sender=Project, project_id=project_id, image_ids=ids)


def _drop_unused_thumbnails(bucket: Bucket, project_id: int, images: list[Image]) -> None:
    thumbnails = {image.thumbnail_key for image in images if image.thumbnail_key}
    used = set(
        Image.objects.filter(project_id=project_id, thumbnail_key__in=thumbnails).values_list(
            "thumbnail_key", flat=True
        )
    )
    failed = bucket.delete_many(sorted(thumbnails - used))
    if failed:
        raise next(iter(failed.values()))


class PartialDelete(BucketError):
    """The bucket failed part-way through a bulk delete: `deleted` are gone, the rest untouched."""

    def __init__(self, deleted: list[int], cause: BucketError) -> None:
        super().__init__(f"Storage failed after {len(deleted)} image(s) were deleted: {cause}")
        self.code = cause.code
        self.deleted = deleted


def delete_images(project: Project, images: list[Image]) -> list[int]:
    """Delete several images: their objects (one S3 request per 1,000), then all their rows in
    one transaction.

    The rows follow their objects, so a row never outlives its bytes by our doing: when the
    bucket fails for some, the images whose objects are gone are deleted (one transaction), the
    others are left whole, and `PartialDelete` says which went.
    """
    bucket = project_bucket(project)
    failed = bucket.delete_many([image.key for image in images])
    gone = [image for image in images if image.key not in failed]
    if gone:
        _delete_rows(project.pk, gone)
        try:
            _drop_unused_thumbnails(bucket, project.pk, gone)
        except BucketError:  # the images are deleted; a leftover thumbnail is bytes named by content
            log.warning("Thumbnails of deleted images in project %s stay in the bucket", project.pk, exc_info=True)
    deleted = [image.pk for image in gone]
    if failed:
        raise PartialDelete(deleted, next(iter(failed.values())))
    return deleted
