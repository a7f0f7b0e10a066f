"""Import and export jobs: the row is the truth, the queue only delivers (docs/datasets.md).

Small jobs run inline in the request that asked (an answer in a second beats a
queue round trip); large ones go to Celery's "jobs" queue once the transaction
commits. Either way the same job function runs, writes its progress to the row
and broadcasts it to the project, and ends succeeded or failed with a reason.
A running job whose heartbeat goes stale (its worker died) is failed by `reap_stale`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotator.archives import ArchiveError, checked_entries
from annotator.datasets.errors import DatasetError
from annotator.datasets.exporting import EXPORT_FORMATS, export_dataset
from annotator.datasets.importing import IMPORT_FORMATS, import_dataset
from annotator.events import broadcast
from annotator.models import ExportJob, Image, ImportJob, JobStatus, Project
from annotator.storage import layout, project_bucket
from config.logs import job_event

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 0.5

DatasetJob = ImportJob | ExportJob
_Job = TypeVar("_Job", ImportJob, ExportJob)


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
    _dispatch(run_import_job, job, inline=size <= settings.ANNOTATOR_INLINE_IMPORT_MAX_BYTES)
    return job


def start_export(project: Project, user: User, format: str, split: float) -> ExportJob:
    if format not in EXPORT_FORMATS:
        raise DatasetError("unknown_format", f"Unknown format {format!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    if not 0.0 < split <= 1.0:
        raise DatasetError("invalid_split", "split is the share of images for training, above 0 and at most 1.")
    job = ExportJob.objects.create(project=project, created_by=user, format=format, split=split)
    images = Image.objects.present().filter(project=project).count()
    _dispatch(run_export_job, job, inline=images <= settings.ANNOTATOR_INLINE_EXPORT_MAX_IMAGES)
    return job


def _dispatch(function: Callable[[int], None], job: DatasetJob, *, inline: bool) -> None:
    if inline:
        function(job.pk)
        job.refresh_from_db()
        return
    from annotator.datasets import tasks  # Celery is imported only where it is used

    task = getattr(tasks, function.__name__)
    transaction.on_commit(lambda: task.delay(job.pk))


class Reporter:
    """Progress callback: writes the row and broadcasts, at most every PROGRESS_INTERVAL_SECONDS."""

    def __init__(self, job: DatasetJob, event: str) -> None:
        self.job = job
        self.event = event
        self._last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self.job.phase and done < total and now - self._last < PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        self.job.phase, self.job.done, self.job.total = phase, done, total
        self.job.heartbeat_at = timezone.now()
        self.job.save(update_fields=["phase", "done", "total", "heartbeat_at"])
        self.publish()

    def publish(self) -> None:
        from annotator.api.dataset_serializers import job_payload

        broadcast(self.job.project_id, self.event, job_payload(self.job))


def _claim(model: type[_Job], job_id: int) -> _Job | None:
    """Move the job from queued to running; None when another delivery got it first."""
    now = timezone.now()
    claimed = model.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    job = model.objects.select_related("project", "created_by").get(pk=job_id)
    job_event(_kind(job), job.pk, "started", project_id=job.project_id, format=job.format)
    return job


def _kind(job: DatasetJob) -> str:
    return "import" if isinstance(job, ImportJob) else "export"


def _finish(job: DatasetJob, reporter: Reporter, error: DatasetError | None) -> None:
    job.status = JobStatus.FAILED if error else JobStatus.SUCCEEDED
    if error:
        job.error_code, job.error = error.code, error.message
        job.report = {**job.report, "errors": error.errors}
    job.finished_at = job.heartbeat_at = timezone.now()
    job.save()
    reporter.publish()
    details = {"error_code": error.code} if error else {}
    job_event(_kind(job), job.pk, job.status, project_id=job.project_id, **details)


def _run(job: DatasetJob, event: str, work: Callable[[Reporter], None]) -> None:
    reporter = Reporter(job, event)
    reporter.publish()
    try:
        work(reporter)
    except DatasetError as error:
        _finish(job, reporter, error)
    except Exception as exc:
        log.exception("Dataset job %s failed", job)
        _finish(job, reporter, DatasetError("internal_error", f"The job failed unexpectedly ({type(exc).__name__})."))
    else:
        _finish(job, reporter, None)


def run_import_job(job_id: int) -> None:
    """Import the uploaded zip of a queued ImportJob; the upload is deleted afterwards."""
    job = _claim(ImportJob, job_id)
    if job is None:
        return
    bucket = project_bucket(job.project)

    def work(reporter: Reporter) -> None:
        with tempfile.TemporaryDirectory(prefix="annotator-upload-") as tmp:
            path = Path(tmp) / "upload.zip"
            with bucket.open(job.file_key) as source, path.open("wb") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
            report = import_dataset(
                job.project, path, job.format, job.skip_invalid, user=job.created_by, progress=reporter
            )
        job.report = report.to_dict()

    try:
        _run(job, "import.progress", work)
    finally:
        bucket.delete(job.file_key)


def run_export_job(job_id: int) -> None:
    """Write a queued ExportJob's zip into the bucket, where its download link points."""
    job = _claim(ExportJob, job_id)
    if job is None:
        return

    def work(reporter: Reporter) -> None:
        with tempfile.TemporaryDirectory(prefix="annotator-export-zip-") as tmp:
            path = Path(tmp) / "export.zip"
            job.report = export_dataset(job.project, job.format, path, split=job.split, progress=reporter)
            key = layout.export_key(job.pk, export_file_name(job))
            with path.open("rb") as stream:
                project_bucket(job.project).put(key, stream, "application/zip")
            job.file_key, job.size_bytes = key, path.stat().st_size

    _run(job, "export.progress", work)


def export_file_name(job: ExportJob) -> str:
    """`project-7-coco.zip`: safe in any file system, and says what it holds."""
    return f"project-{job.project_id}-{job.format}.zip"


def reap_stale(project: Project) -> None:
    """Fail this project's running jobs whose worker stopped sending heartbeats."""
    timeout = settings.ANNOTATOR_DATASET_JOB_HEARTBEAT_TIMEOUT
    for model in (ImportJob, ExportJob):
        for job in model.objects.filter(project=project, status=JobStatus.RUNNING):
            if job.is_stale(timeout):
                lost = model.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                    status=JobStatus.FAILED,
                    error_code="worker_lost",
                    error=f"The worker stopped reporting for over {timeout} seconds; start the job again.",
                    finished_at=timezone.now(),
                )
                if lost:
                    job_event(_kind(job), job.pk, "lost", project_id=project.pk)
