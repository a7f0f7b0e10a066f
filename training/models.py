"""Training runs and the files they produce. The run's row is the truth; the queue only delivers."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from annotator.models import Project
from annotator.models.jobs import ACTIVE_JOB_STATUSES, Job, JobStatus
from annotator.storage import BucketError, layout, project_bucket


class RunKind(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    DETECTION = "detection", "Object detection"


# A run's lifecycle is every job's (annotator.models.jobs); the old names stay for readers.
RunStatus = JobStatus
ACTIVE_STATUSES = ACTIVE_JOB_STATUSES
# The key of a run's headline figure in Run.metrics (the ML side's validation.MAP50 / ACCURACY), and
# how pages name it. Detector runs evaluated before the key was unified stored mAP@0.5 as "map":
# Run.score and Run.shown_metrics read it when "map50" is absent, so old runs stay readable.
METRIC_KEYS = {RunKind.DETECTION: "map50", RunKind.CLASSIFICATION: "accuracy"}
METRIC_LABELS = {"map50": "mAP@0.5", "accuracy": "accuracy"}
LEGACY_METRIC_KEYS = {"map50": "map"}
# The artifact a run keeps for later runs to warm-start from, never offered for download.
CHECKPOINT_ARTIFACT = "checkpoint"
# A detection run's box classifier, which names its suggestions (docs/assist.md); not a download either.
BOX_CLASSIFIER_ARTIFACT = "box_classifier"
HIDDEN_ARTIFACTS = (CHECKPOINT_ARTIFACT, BOX_CLASSIFIER_ARTIFACT)

log = logging.getLogger(__name__)


class RunQuerySet(models.QuerySet["Run"]):
    def active(self) -> RunQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)


class Run(Job):
    """One training run; its lifecycle (claim, heartbeat, finish, fail, cancel, reap) is annotator.jobs'."""

    job_kind = "run"
    noun = "run"
    queue = "training"
    runner = "training.worker.run"
    heartbeat_timeout_setting = "ANNOTATOR_RUN_HEARTBEAT_TIMEOUT"
    # training.api.serializers.RunSerializer's model fields, in its order; `event_payload` gives
    # `created_by` and `metrics` as the serializer does and adds `urls` and `artifacts`.
    PAYLOAD_FIELDS = (
        "id", "project", "kind", "status", "hyperparameters", "snapshot_key", "snapshot_sha256",
        "dataset_summary", "metrics", "progress", "error_code", "error", "attempts", "heartbeat_at", "worker",
        "created_by", "created_at", "started_at", "finished_at", "base_run",
    )  # fmt: skip

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20, choices=RunKind.choices)
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
    # How many times a worker claimed it (a redelivered message claims nothing: see annotator.jobs.claim).
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
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
    def metric_name(self) -> str:
        """The key of this run's headline figure: `map50` (detectors) or `accuracy` (classifiers)."""
        return METRIC_KEYS[RunKind(self.kind)]

    @property
    def metric_label(self) -> str:
        return METRIC_LABELS[self.metric_name]

    @property
    def score(self) -> float | None:
        """The final evaluation's headline figure, None before one exists."""
        name = self.metric_name
        value = self.metrics.get(name)
        if value is None and name in LEGACY_METRIC_KEYS:
            value = self.metrics.get(LEGACY_METRIC_KEYS[name])
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    @property
    def shown_metrics(self) -> dict:
        """`metrics` as readers expect them today: an old detector run's `map` also answers as `map50`."""
        name = self.metric_name
        if self.metrics.get(name) is None and self.score is not None:
            return {**self.metrics, name: self.score}
        return self.metrics

    @property
    def offered_artifacts(self) -> models.QuerySet[Artifact]:
        """What people download: every artifact but the warm-start checkpoint and the box classifier."""
        return self.artifacts.exclude(name__in=HIDDEN_ARTIFACTS)

    @property
    def prefix(self) -> str:
        return layout.run_prefix(self.pk)

    @property
    def created_by_name(self) -> str | None:
        user = self.created_by
        return (user.display_name or user.email) if user else None

    @property
    def urls(self) -> dict[str, str]:
        args = [self.project_id, self.pk]
        return {
            "detail": reverse("api:run-detail", args=args),
            "cancel": reverse("api:run-cancel", args=args),
            "artifacts": reverse("api:run-artifacts", args=args),
            "page": reverse("training:run-detail", args=args),
        }

    def discard_uploads(self) -> None:
        """Remove files the run wrote but never offered; the snapshot stays, for the record."""
        if self.artifacts.exists():
            return
        bucket = project_bucket(self.project)
        try:
            failed = bucket.delete_many([i.key for i in bucket.list(self.prefix + "/") if i.key != self.snapshot_key])
            if failed:
                raise next(iter(failed.values()))
        except BucketError:
            log.exception("Could not remove the unfinished files of run %s", self.pk)

    def on_failed(self) -> None:
        # However it failed (its worker, the reaper, a refused queue), a failed run offers nothing.
        self.discard_uploads()

    def event_payload(self) -> dict[str, Any]:
        """RunSerializer's representation, plus what a succeeded run offers (so a page can show its
        downloads without asking): each artifact's name, size and whether its export was verified."""
        payload = super().event_payload()
        payload.update(created_by=self.created_by_name, metrics=self.shown_metrics, urls=self.urls)
        offered = self.offered_artifacts.values("name", "size_bytes", "verified")
        payload["artifacts"] = list(offered) if self.status == JobStatus.SUCCEEDED else []
        return payload


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
