"""Import and export jobs: what they do; the job kernel (annotator.jobs) runs them (docs/datasets.md).

Small jobs run inline in the request that asked (an answer in a second beats a queue round
trip); large ones go to Celery's "jobs" queue once the transaction commits. Either way the
kernel claims the row and calls `run_import` / `run_export` (the models' `runner`), which write
progress through the kernel (a heartbeat, and one `job.progress` event at most every
PROGRESS_INTERVAL_SECONDS per phase) and end by returning (succeeded) or raising a DatasetError
(failed with its code and message, its `errors` kept in `report["errors"]`). The kernel's
reaper fails a job whose heartbeat stops. An import's upload is deleted from the bucket when its
job ends, however it ends.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from accounts.models import User
from annotator import jobs
from annotator.archives import ArchiveError, checked_entries
from annotator.datasets.errors import DatasetError
from annotator.datasets.exporting import EXPORT_FORMATS, export_dataset
from annotator.datasets.importing import IMPORT_FORMATS, import_dataset
from annotator.models import ExportJob, Image, ImportJob, Project
from annotator.models.datasets import DatasetJob
from annotator.storage import Bucket, BucketError, layout, project_bucket

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 0.5


def start_import(
    project: Project, user: User, upload: BinaryIO, name: str, size: int, format: str, skip_invalid: bool
) -> ImportJob:
    """Check the upload is a safe zip, keep it in the bucket, and run or queue its import."""
    if format not in IMPORT_FORMATS:
        raise DatasetError("unknown_format", f"Unknown format {format!r}; use one of {', '.join(IMPORT_FORMATS)}.")
    try:
        checked_entries(upload)
    except ArchiveError as exc:
        raise DatasetError(exc.code, exc.message) from None
    upload.seek(0)
    job = ImportJob.objects.create(
        project=project, created_by=user, format=format, skip_invalid=skip_invalid, file_name=name[-255:]
    )
    job.file_key = layout.import_key(job.pk)
    project_bucket(project).put(job.file_key, upload, "application/zip")
    job.save(update_fields=["file_key"])
    jobs.dispatch(job, "inline" if size <= settings.ANNOTATOR_INLINE_IMPORT_MAX_BYTES else "celery")
    return job


def start_export(project: Project, user: User, format: str, split: float) -> ExportJob:
    if format not in EXPORT_FORMATS:
        raise DatasetError("unknown_format", f"Unknown format {format!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    if not 0.0 < split <= 1.0:
        raise DatasetError("invalid_split", "split is the share of images for training, above 0 and at most 1.")
    job = ExportJob.objects.create(project=project, created_by=user, format=format, split=split)
    images = Image.objects.present().filter(project=project).count()
    jobs.dispatch(job, "inline" if images <= settings.ANNOTATOR_INLINE_EXPORT_MAX_IMAGES else "celery")
    return job


class Reporter:
    """Progress callback of the dataset code: a kernel progress write at most every PROGRESS_INTERVAL_SECONDS.

    A new phase and a phase's last step are always written, so the row never shows a stale phase.
    """

    def __init__(self, job: DatasetJob) -> None:
        self.job = job
        self._last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self.job.phase and done < total and now - self._last < PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        self.job.phase, self.job.done, self.job.total = phase, done, total
        jobs.progress(self.job, "phase", "done", "total")


@contextmanager
def _errors_in_report(job: DatasetJob) -> Iterator[None]:
    """Keep a DatasetError's records in the report; the kernel then fails the job with its code and message."""
    try:
        yield
    except DatasetError as error:
        job.report = {**job.report, "errors": error.errors}
        raise


def run_import(job: ImportJob) -> None:
    """Import the uploaded zip of a claimed ImportJob; the upload is deleted afterwards, whatever happens."""
    bucket = project_bucket(job.project)
    try:
        with _errors_in_report(job), tempfile.TemporaryDirectory(prefix="annotator-upload-") as tmp:
            path = Path(tmp) / "upload.zip"
            with bucket.open(job.file_key) as source, path.open("wb") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
            report = import_dataset(
                job.project, path, job.format, job.skip_invalid, user=job.created_by, progress=Reporter(job)
            )
        job.report = report.to_dict()
    finally:
        _delete_upload(bucket, job)


def _delete_upload(bucket: Bucket, job: ImportJob) -> None:
    """The upload is only this job's input: failing to delete it must not change what the import did."""
    try:
        bucket.delete(job.file_key)
    except BucketError:
        log.exception("Could not delete the upload %s of import %s; delete it by hand.", job.file_key, job.pk)


def run_export(job: ExportJob) -> None:
    """Write a claimed ExportJob's zip into the bucket, where its download link points."""
    with _errors_in_report(job), tempfile.TemporaryDirectory(prefix="annotator-export-zip-") as tmp:
        path = Path(tmp) / "export.zip"
        job.report = export_dataset(job.project, job.format, path, split=job.split, progress=Reporter(job))
        key = layout.export_key(job.pk, export_file_name(job))
        with path.open("rb") as stream:
            project_bucket(job.project).put(key, stream, "application/zip")
        job.file_key, job.size_bytes = key, path.stat().st_size


def export_file_name(job: ExportJob) -> str:
    """`project-7-coco.zip`: safe in any file system, and says what it holds."""
    return f"project-{job.project_id}-{job.format}.zip"
