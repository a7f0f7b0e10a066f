"""What people did, kept as rows: reviews (the history behind an image's status) and annotation writes.

Both are append-only; team progress is counted from them rather than from the
current state, which forgets who labelled an image once someone else edits it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotator.models.project import Project


class ReviewDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ReviewEvent(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey("annotator.Image", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision = models.CharField(max_length=20, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True, max_length=2000)
    # The annotation version that was reviewed: a later edit makes this review historical.
    image_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "created_at"], name="review_project_time_idx"),
            # Covers the per-member COUNT(DISTINCT image) of team progress without touching the table.
            models.Index(fields=["project", "reviewer", "image"], name="review_project_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} image {self.image_id} v{self.image_version}"


class AnnotationEvent(models.Model):
    """One accepted annotation write: who changed which image, when."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey("annotator.Image", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "created_at"], name="annotation_project_time_idx"),
            models.Index(fields=["project", "user", "image"], name="annotation_project_user_idx"),
        ]

    def __str__(self) -> str:
        return f"image {self.image_id} by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M}"
