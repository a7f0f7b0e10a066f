"""Training runs and the files they produce. The run's row is the truth; the queue only delivers."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models

from annotator.models import Project
from annotator.storage import layout


class RunKind(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    DETECTION = "detection", "Object detection"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
# The artifact a run keeps for later runs to warm-start from, never offered for download.
CHECKPOINT_ARTIFACT = "checkpoint"


class RunQuerySet(models.QuerySet["Run"]):
    def active(self) -> RunQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def stale(self, cutoff: datetime) -> RunQuerySet:
        """Running, but no heartbeat since `cutoff`: the worker is gone."""
        return self.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)


class Run(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20, choices=RunKind.choices)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # Validated by training.api.serializers.HyperParametersSerializer, stored with every default filled in.
    hyperparameters = models.JSONField(default=dict)
    # The frozen dataset this run trains on, in the project's bucket.
    snapshot_key = models.CharField(max_length=1024, blank=True)
    snapshot_sha256 = models.CharField(max_length=64, blank=True)
    # What the snapshot held, for lists and comparisons without reading the bucket.
    dataset_summary = models.JSONField(default=dict)
    # Final evaluation (accuracy, confusion matrix, AP per class, mAP, timings).
    metrics = models.JSONField(default=dict)
    # Latest progress report: phase, step, total_steps, epoch, loss, eta_seconds.
    progress = models.JSONField(default=dict)
    # [[step, loss], ...], thinned to a bounded length as training goes on.
    loss_curve = models.JSONField(default=list)
    # [[step, value], ...]: the validation metric (detector mAP@0.5, classifier accuracy)
    # measured during training; metrics["best"] names the point whose weights were exported.
    eval_curve = models.JSONField(default=list)
    log = models.TextField(blank=True)
    # The earlier run whose trained weights this one started from (None: from ImageNet).
    # metrics["warm_start"] records what it reused, so the record survives the base's deletion.
    base_run = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="warm_started_runs"
    )
    # What went wrong, written for the person who started the run.
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="run_project_created_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat_idx"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.kind}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def offered_artifacts(self) -> models.QuerySet[Artifact]:
        """What people download: every artifact but the warm-start checkpoint."""
        return self.artifacts.exclude(name=CHECKPOINT_ARTIFACT)

    @property
    def prefix(self) -> str:
        return layout.run_prefix(self.pk)


class Artifact(models.Model):
    """One finished file of a run; rows exist only once every file of the run is in the bucket."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="artifacts")
    # model, model_web, model_android, model_ios, report, prediction_000, ...
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=1024)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    # False: the export did not reproduce the SavedModel in its own runtime; it is offered
    # anyway, marked, with the reason (a run never throws away good work for one bad format).
    verified = models.BooleanField(default=True)
    verification_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="artifact_name_unique")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.name}"

    @property
    def filename(self) -> str:
        return self.key.rsplit("/", 1)[-1]
