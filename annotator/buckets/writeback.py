"""Writing `_annotations.json` back to a project's own bucket.

The database is the authority and the file is derived. Every annotation change
bumps the connection's revision; the writer notes the revision before it reads the
database, writes the whole file with one PUT (readers see the old file or the new,
never a mix), and records that revision as written. A change made while it ran
leaves the revision ahead, so the file stays dirty and is written again: no edit
is ever missing from the file for longer than one more write.

The write-back hears of changes through the domain events (annotator.domain_events):
`on_domain_change` receives `annotations_changed`, `labels_changed` and `images_removed`
(connected in AnnotatorConfig.ready()). They are sent inside the changing transaction, so
the revision bump commits or rolls back with the change; the ticker starts on commit only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Prefetch, Q
from django.utils import timezone

from annotator import jobs
from annotator.errors import CodedError
from annotator.formats.cloud_annotations import FILENAME, render
from annotator.models import Box, BucketConnection, Image, ImageStatus, Project, ProjectType
from annotator.storage import Bucket, BucketError, project_bucket

# A writer silent for this long is presumed dead and its claim is taken over.
_CLAIM_TIMEOUT = timedelta(minutes=10)
_MAX_ROUNDS = 3
# After a failed write the automatic writer waits this long; a person can retry at once.
_RETRY_AFTER = timedelta(minutes=5)


class WriteBusy(CodedError):
    status = 409

    def __init__(self, message: str) -> None:
        super().__init__("write_in_progress", message)


def mark_annotations_changed(project_id: int) -> None:
    """Note that the project's annotations or labels changed (a no-op without a connection)."""
    changed = BucketConnection.objects.filter(project_id=project_id).update(
        annotations_revision=F("annotations_revision") + 1, annotations_changed_at=timezone.now()
    )
    if changed and settings.ANNOTATOR_BUCKET_JOBS == "thread":  # no beat: this process writes it back
        transaction.on_commit(jobs.ensure_ticker)


def on_domain_change(sender: object, *, project_id: int, **kwargs: Any) -> None:
    """Receiver of the domain events that change what `_annotations.json` holds."""
    mark_annotations_changed(project_id)


def _records(project: Project) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every labelled image still in the bucket, streamed in key order."""
    images = (
        Image.objects.present()
        .filter(project=project)
        .exclude(status=ImageStatus.UNLABELLED)
        .only("id", "key", "negative")
        .order_by("key")
    )
    if project.type == ProjectType.CLASSIFICATION:
        images = images.prefetch_related("labels")
        for image in images.iterator(chunk_size=2000):
            yield image.key, [{"label": label.name} for label in image.labels.all()]
        return
    boxes = Box.objects.select_related("label").order_by("id")
    for image in images.prefetch_related(Prefetch("boxes", queryset=boxes)).iterator(chunk_size=2000):
        yield (
            image.key,
            [{"x": b.x, "y": b.y, "x2": b.x2, "y2": b.y2, "label": b.label.name} for b in image.boxes.all()],
        )


def render_project(project: Project) -> bytes:
    labels = list(project.labels.order_by("order", "id").values_list("name", flat=True))
    return render(project.type, labels, _records(project))


def file_etag(bucket: Bucket) -> str:
    """The current ETag of the project's `_annotations.json`, or "" when there is none."""
    return next((info.etag for info in bucket.list(FILENAME) if info.key == FILENAME), "")


def _claim(connection: BucketConnection) -> bool:
    now = timezone.now()
    free = Q(annotations_writing_since__isnull=True) | Q(annotations_writing_since__lt=now - _CLAIM_TIMEOUT)
    return bool(BucketConnection.objects.filter(free, pk=connection.pk).update(annotations_writing_since=now))


def write_annotations_file(project: Project) -> BucketConnection:
    """Write the file now, again while edits arrive during the write; WriteBusy if another writer runs."""
    connection = project.bucket_connection
    if not _claim(connection):
        raise WriteBusy("_annotations.json is being written right now; try again in a moment.")
    rows = BucketConnection.objects.filter(pk=connection.pk)
    try:
        bucket = project_bucket(project)
        for _ in range(_MAX_ROUNDS):
            revision = rows.values_list("annotations_revision", flat=True).get()
            bucket.put(FILENAME, render_project(project), "application/json")
            rows.update(
                annotations_written_revision=revision,
                annotations_written_at=timezone.now(),
                annotations_file_etag=file_etag(bucket),
                annotations_write_error="",
                annotations_retry_after=None,
            )
            if rows.values_list("annotations_revision", flat=True).get() == revision:
                break
    except BucketError as exc:
        rows.update(annotations_write_error=str(exc), annotations_retry_after=timezone.now() + _RETRY_AFTER)
        raise
    finally:
        rows.update(annotations_writing_since=None)
    connection.refresh_from_db()
    return connection


def write_quiet_files() -> list[int]:
    """Write every dirty file whose annotations have been quiet for the configured delay."""
    now = timezone.now()
    quiet_since = now - timedelta(seconds=settings.ANNOTATOR_ANNOTATIONS_WRITE_DELAY)
    due = BucketConnection.objects.filter(
        Q(annotations_retry_after__isnull=True) | Q(annotations_retry_after__lte=now),
        annotations_revision__gt=F("annotations_written_revision"),
        annotations_changed_at__lte=quiet_since,
        annotations_writing_since__isnull=True,
    ).select_related("project")
    written = []
    for connection in due:
        try:
            write_annotations_file(connection.project)
        except (BucketError, WriteBusy):
            continue  # recorded on the connection (or another writer has it); retried next tick
        written.append(connection.project_id)
    return written
