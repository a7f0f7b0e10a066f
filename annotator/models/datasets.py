"""Dataset imports and exports: background jobs whose rows are the truth (docs/datasets.md)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from annotator.models.jobs import ACTIVE_JOB_STATUSES, JobStatus
from annotator.models.project import Project


class DatasetJob(models.Model):
    """What imports and exports share: status, progress, report, error, heartbeat."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
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
    error_code = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def is_stale(self, timeout_seconds: int) -> bool:
        """Active, but silent for longer than `timeout_seconds`: its worker is gone."""
        if self.status not in ACTIVE_JOB_STATUSES:
            return False
        last_sign = self.heartbeat_at or self.created_at
        return timezone.now() - last_sign > timedelta(seconds=timeout_seconds)


class ImportJob(DatasetJob):
    """A dataset upload being read into the project; `format` may be "auto" until detected."""

    skip_invalid = models.BooleanField(default=False)
    file_name = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"import {self.pk} of project {self.project_id}: {self.status}"


class ExportJob(DatasetJob):
    """The project written as a zip in one format; TFRecord exports put `split` of it in train."""

    split = models.FloatField(default=0.8)
    seed = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"export {self.pk} of project {self.project_id}: {self.status}"
