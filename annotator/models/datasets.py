"""Dataset imports and exports: background jobs whose rows are the truth (docs/datasets.md)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from annotator.models.jobs import Job
from annotator.models.project import Project


class DatasetJob(Job):
    """What imports and exports share beyond the job lifecycle: format, file, phase progress, report."""

    queue = "jobs"  # Celery's "jobs" queue: never stuck behind a training run
    heartbeat_timeout_setting = "ANNOTATOR_DATASET_JOB_HEARTBEAT_TIMEOUT"
    result_fields: ClassVar[tuple[str, ...]] = ("phase", "done", "total", "report")
    PAYLOAD_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "status", "format", "phase", "done", "total", "report", "error_code", "error",
        "created_by", "created_at", "started_at", "finished_at", "heartbeat_at",
    )  # fmt: skip

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    format = models.CharField(max_length=30)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The bucket object the job reads (an import's upload) or writes (an export's zip).
    file_key = models.CharField(max_length=1024, blank=True)
    # Progress of the current phase: a person sees "storing images 120 / 400".
    phase = models.CharField(max_length=30, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def event_payload(self) -> dict[str, Any]:
        """As the REST serializer shows it: `created_by` is the e-mail (None once the user is deleted)."""
        payload = super().event_payload()
        payload["created_by"] = self.created_by.email if self.created_by else None
        return payload


class ImportJob(DatasetJob):
    """A dataset upload being read into the project; `format` may be "auto" until detected."""

    job_kind = "import"
    noun = "import"
    runner = "annotator.datasets.jobs.run_import"
    PAYLOAD_FIELDS = (*DatasetJob.PAYLOAD_FIELDS, "file_name", "skip_invalid")

    skip_invalid = models.BooleanField(default=False)
    file_name = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"import {self.pk} of project {self.project_id}: {self.status}"


class ExportJob(DatasetJob):
    """The project written as a zip in one format; TFRecord exports put `split` of it in train."""

    job_kind = "export"
    noun = "export"
    runner = "annotator.datasets.jobs.run_export"
    result_fields = (*DatasetJob.result_fields, "file_key", "size_bytes")
    PAYLOAD_FIELDS = (*DatasetJob.PAYLOAD_FIELDS, "split", "size_bytes")

    split = models.FloatField(default=0.8)
    seed = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"export {self.pk} of project {self.project_id}: {self.status}"
