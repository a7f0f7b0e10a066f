"""What a project's model proposes, kept apart from what people drew.

Invariants:
- A `Suggestion` never changes human work. Accepting one writes an ordinary box (or image label)
  through the versioned annotation PUT; the box's `uid` is the suggestion's `uid`, which is how the
  suggestion learns it was accepted (assist/provenance.py, on `annotations_changed`) and how the
  run page counts accepted, edited, rejected and added boxes.
- A suggestion's label is a live project label: deleting the label deletes its suggestions; renaming
  it changes nothing (suggestions follow the label id).
- `Prediction` says which run predicted which image, once per (image, run): a repeated prediction
  replaces the run's pending suggestions on that image and keeps the decided ones.
- `Image.uncertainty` (annotator) mirrors the latest prediction's uncertainty, so the image list can
  order "most uncertain first" without joining this app.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from annotator.models import Image, Label, Project
from annotator.models.jobs import Job
from training.models import Run

# The websocket event of new or decided suggestions (annotator.events.EVENTS): {"run": id, "images": [ids]}.
SUGGESTIONS_CHANGED = "suggestions.changed"


class AssistSettings(models.Model):
    """Per project: a pinned assist run (None: the latest succeeded run of the project's kind), auto-suggest."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="assist_settings")
    pinned_run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Predict images as they arrive (upload, import, bucket sync) with the assist run.
    auto_suggest = models.BooleanField(default=False)
    # The run whose predictions `Image.uncertainty` holds (None: no image has one). When the assist
    # run changes (a pin, or a newer run succeeding), the next read of it re-points every image.
    uncertainty_run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"assist settings of project {self.project_id}"


class PredictionScope(models.TextChoices):
    UNLABELLED = "unlabelled", "Unlabelled images"
    UNPREDICTED = "unpredicted", "Images the run has not predicted yet"
    ALL = "all", "Every image"
    FILTER = "filter", "The image list's filter (status, label)"
    IMAGES = "images", "Listed images"


class PredictionJob(Job):
    """The assist run's model over a set of the project's images, in batches, writing suggestions."""

    job_kind = "predict"
    noun = "prediction"
    queue = "predict"
    runner = "assist.worker.run_prediction"
    heartbeat_timeout_setting = "ANNOTATOR_PREDICT_HEARTBEAT_TIMEOUT"
    result_fields = ("images_total", "images_done", "images_failed", "suggestions_created", "runtime",
                     "images_per_second", "dropped_labels")  # fmt: skip
    PAYLOAD_FIELDS = (
        "id", "project", "run", "scope", "filters", "auto", "status", "images_total", "images_done",
        "images_failed", "suggestions_created", "runtime", "images_per_second", "dropped_labels",
        "error_code", "error", "created_by", "created_at", "started_at", "finished_at",
    )  # fmt: skip

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prediction_jobs")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="prediction_jobs")
    scope = models.CharField(max_length=20, choices=PredictionScope.choices, default=PredictionScope.UNLABELLED)
    # scope "filter": {"status": [...], "label": id}; scope "images": {"ids": [...]}.
    filters = models.JSONField(default=dict, blank=True)
    # Started by auto-suggest for arriving images rather than by a person.
    auto = models.BooleanField(default=False)
    images_total = models.PositiveIntegerField(default=0)
    images_done = models.PositiveIntegerField(default=0)
    images_failed = models.PositiveIntegerField(default=0)
    suggestions_created = models.PositiveIntegerField(default=0)
    runtime = models.CharField(max_length=20, blank=True)  # "litert" | "saved_model"
    images_per_second = models.FloatField(null=True, blank=True)
    # Names of the run's labels deleted from the project since: their suggestions are dropped.
    dropped_labels = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="predict_status_heartbeat_idx")]

    def __str__(self) -> str:
        return f"prediction {self.pk} of project {self.project_id}: {self.status}"


class AutoLabelJob(Job):
    """Suggestions at or above `threshold` written as annotations on never-annotated images."""

    job_kind = "autolabel"
    noun = "auto-label"
    queue = "jobs"
    runner = "assist.autolabel.run_autolabel"
    heartbeat_timeout_setting = "ANNOTATOR_DATASET_JOB_HEARTBEAT_TIMEOUT"
    reap_queued = True
    result_fields = ("images_total", "images_done", "images_labelled", "boxes_created", "per_label")
    PAYLOAD_FIELDS = (
        "id", "project", "run", "threshold", "status", "images_total", "images_done", "images_labelled",
        "boxes_created", "per_label", "error_code", "error", "created_by", "created_at", "started_at",
        "finished_at",
    )  # fmt: skip

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="autolabel_jobs")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="autolabel_jobs")
    threshold = models.FloatField()
    images_total = models.PositiveIntegerField(default=0)
    images_done = models.PositiveIntegerField(default=0)
    images_labelled = models.PositiveIntegerField(default=0)
    boxes_created = models.PositiveIntegerField(default=0)
    # {label name: annotations written}
    per_label = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"auto-label {self.pk} of project {self.project_id}: {self.status}"


class Prediction(models.Model):
    """One run's look at one image: when, and how unsure it was (assist/uncertainty in docs/assist.md)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="predictions")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="predictions")
    uncertainty = models.FloatField()
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "run"], name="prediction_image_run_unique")]
        indexes = [models.Index(fields=["run", "image"], name="prediction_run_image_idx")]

    def __str__(self) -> str:
        return f"run {self.run_id} on image {self.image_id}"


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted unchanged"
    EDITED = "edited", "Accepted, then edited"
    REJECTED = "rejected", "Rejected"


class Suggestion(models.Model):
    """A box (detectors) or a class with its probability (classifiers) that a run proposed for an image."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="suggestions")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="suggestions")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="suggestions")
    # The uid an accepted box carries (annotator.models.Box.uid): provenance without a foreign key.
    uid = models.UUIDField(default=uuid.uuid4)
    # Normalised 0..1 like Box; all None for a classification suggestion.
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    x2 = models.FloatField(null=True, blank=True)
    y2 = models.FloatField(null=True, blank=True)
    score = models.FloatField()
    status = models.CharField(max_length=20, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["image", "uid"], name="suggestion_uid_unique"),
            models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=1), name="suggestion_score_0_1"),
        ]
        indexes = [
            models.Index(fields=["image", "run", "status"], name="suggestion_image_run_idx"),
            models.Index(fields=["run", "status"], name="suggestion_run_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.label_id} {self.score:.2f} on image {self.image_id} ({self.status})"

    @property
    def is_box(self) -> bool:
        return self.x is not None
