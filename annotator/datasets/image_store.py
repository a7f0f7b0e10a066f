"""The image-bytes phase of an import: check each image as an upload is checked, store it once.

Images are validated and written a chunk at a time from a few threads (decoding and
bucket round trips both release the GIL), so memory stays bounded by one chunk.
Every object written is remembered: a failed import removes exactly what it added
and nothing else, not even a thumbnail another image of the project shares. Should the
bucket fail that removal too, the import still fails with its own reason (the one a person
can act on); what stayed is logged.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from annotator.buckets import stranded
from annotator.datasets.errors import DatasetError
from annotator.formats import DatasetImage, FormatError
from annotator.models import Image, Project
from annotator.services.images import check_image, clean_name
from annotator.storage import Bucket, layout
from annotator.uploads import UploadRejected, ValidatedImage

CHUNK = 64
WORKERS = 4
log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class StoredImage:
    """A dataset image placed in the project: a new object, or one it already had (`existing_id`)."""

    source: DatasetImage
    key: str
    width: int
    height: int
    sha256: str
    size_bytes: int
    content_type: str
    thumbnail_key: str
    existing_id: int | None = None


class ImageStore:
    def __init__(self, project: Project, bucket: Bucket, skip_invalid: bool, skipped: list[dict]) -> None:
        self.project = project
        self.bucket = bucket
        self.skip_invalid = skip_invalid
        self.skipped = skipped
        self.written: list[str] = []
        self._taken: set[str] = set()
        self._thumbnails: set[str] = set()

    def store_all(self, images: list[DatasetImage], progress: Progress) -> list[StoredImage]:
        stored: list[StoredImage] = []
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="import") as pool:
            for start in range(0, len(images), CHUNK):
                stored += self._store_chunk(pool, images[start : start + CHUNK])
                progress("images", min(start + CHUNK, len(images)), len(images))
        return stored

    def remove_written(self) -> None:
        """Undo: delete every object this import wrote (1,000 per S3 request). Never raises: it
        runs while the import fails, whose error must reach the person; a key the bucket failed
        to remove stays in `written`, is logged, and is remembered as stranded, so that a sync
        removes it instead of adding it as an image (annotator/buckets/stranded.py)."""
        failed = self.bucket.delete_many(self.written)
        self.written = [key for key in self.written if key in failed]
        if failed:
            log.warning(
                "A failed import of project %s left %d object(s) in its bucket (%s), e.g. %s: %s",
                self.project.pk, len(failed), self.bucket.name, self.written[0], next(iter(failed.values())),
            )  # fmt: skip
            try:
                stranded.record(self.project, failed)
            except Exception:  # the database too: the import's own error still reaches the person
                log.exception("The objects left by a failed import of project %s were not recorded", self.project.pk)

    def _store_chunk(self, pool: ThreadPoolExecutor, chunk: list[DatasetImage]) -> list[StoredImage]:
        checked = list(pool.map(_check, chunk))
        valid = [isinstance(result, ValidatedImage) for result in checked]
        keys = [clean_name(image.key) if ok else "" for image, ok in zip(chunk, valid, strict=True)]
        existing = _existing(self.project, keys, [r.sha256 for r in checked if isinstance(r, ValidatedImage)])
        placed, uploads = [], []
        for image, result, key in zip(chunk, checked, keys, strict=True):
            if isinstance(result, FormatError):
                self._reject(result)
                continue
            entry = self._place(image, result, key, existing)
            placed.append(entry)
            if entry.existing_id is None:
                uploads.append((entry.key, result.data, result.content_type))
                if entry.thumbnail_key not in self._thumbnails and entry.sha256 not in existing.shas:
                    self._thumbnails.add(entry.thumbnail_key)
                    uploads.append((entry.thumbnail_key, result.thumbnail, "image/jpeg"))
        # Remember before writing: a put that fails half-way still gets cleaned up.
        self.written += [key for key, _, _ in uploads]
        # Keys a failed import left behind are this import's from now on (stranded.py).
        stranded.claim(self.project, [key for key, _, _ in uploads if not layout.is_reserved(key)])
        list(pool.map(lambda upload: self.bucket.put(*upload), uploads))
        return placed

    def _place(self, image: DatasetImage, checked: ValidatedImage, key: str, existing: _Existing) -> StoredImage:
        found = existing.by_key.get(key)
        if found is not None and found[1] == checked.sha256 and key not in self._taken:
            existing_id: int | None = found[0]
        else:
            existing_id = None
            if found is not None or key in self._taken:
                key = self._free_key(key)
        self._taken.add(key)
        return StoredImage(
            source=image,
            key=key,
            width=checked.width,
            height=checked.height,
            sha256=checked.sha256,
            size_bytes=len(checked.data),
            content_type=checked.content_type,
            thumbnail_key=layout.thumbnail_key(checked.sha256),
            existing_id=existing_id,
        )

    def _free_key(self, key: str) -> str:
        """`name-2.jpg`, `name-3.jpg`, …: the first name neither the project nor this import uses."""
        stem, ext = posixpath.splitext(key)
        n = 2
        while (candidate := f"{stem}-{n}{ext}") in self._taken or Image.objects.filter(
            project=self.project, key=candidate
        ).exists():
            n += 1
        return candidate

    def _reject(self, error: FormatError) -> None:
        if not self.skip_invalid:
            raise DatasetError.from_format_error(error)
        self.skipped.append(error.as_dict())


@dataclass(frozen=True, slots=True)
class _Existing:
    by_key: dict[str, tuple[int, str]]
    shas: set[str]


def _existing(project: Project, keys: Iterable[str], shas: Iterable[str]) -> _Existing:
    images = Image.objects.filter(project=project)
    rows = images.filter(key__in=[key for key in keys if key]).values_list("id", "key", "sha256")
    by_key = {key: (pk, sha) for pk, key, sha in rows}
    return _Existing(by_key, set(images.filter(sha256__in=list(shas)).values_list("sha256", flat=True)))


def _check(image: DatasetImage) -> ValidatedImage | FormatError:
    """The image's bytes, checked like an upload; a FormatError naming the file when they fail."""
    try:
        if image.source is None:
            raise UploadRejected("missing_image", "the dataset names this image but does not contain it")
        if image.source.stat().st_size > settings.ANNOTATOR_MAX_UPLOAD_BYTES:
            raise UploadRejected("file_too_large", "the image is larger than uploads may be")
        clean_name(image.key)
        return check_image(image.source.read_bytes())
    except UploadRejected as exc:
        return FormatError(exc.code, exc.message, file=image.key)
    except OSError as exc:
        return FormatError("unreadable_image", f"cannot read the image: {exc.strerror}", file=image.key)
