"""Images of a project and the annotations drawn on them."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef

from annotator.models.project import Label, Project


class ImageStatus(models.TextChoices):
    UNLABELLED = "unlabelled", "Unlabelled"
    LABELLED = "labelled", "Labelled"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ImageQuerySet(models.QuerySet["Image"]):
    def present(self) -> ImageQuerySet:
        """Images whose object is still in the bucket: the grid and training see only these."""
        return self.filter(missing=False)

    def carrying_label(self, label_id: int, *, as_class: bool) -> ImageQuerySet:
        """Images that carry a label: as their class (classification projects) or on a box."""
        tagged: models.QuerySet[Any]
        if as_class:
            tagged = Image.labels.through.objects.filter(image=OuterRef("pk"), label_id=label_id)
        else:
            tagged = Box.objects.filter(image=OuterRef("pk"), label_id=label_id)
        return self.filter(Exists(tagged))


class Image(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    # The object's key relative to the project's prefix; also its display name.
    key = models.CharField(max_length=1024)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=50, default="image/jpeg")
    thumbnail_key = models.CharField(max_length=1024, blank=True)
    # Why a synced object got no thumbnail, and its ETag then: views skip it until the ETag changes.
    thumbnail_error = models.CharField(max_length=300, blank=True)
    thumbnail_error_etag = models.CharField(max_length=200, blank=True)
    # The object's ETag when last read: a bucket sync notices a replaced object by its change.
    etag = models.CharField(max_length=200, blank=True)
    # The object vanished from the bucket: annotations are kept, training and the grid skip it.
    missing = models.BooleanField(default=False)
    # The last bucket sync whose listing saw the object; the others are the missing ones.
    seen_by_sync = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=ImageStatus.choices, default=ImageStatus.UNLABELLED)
    # Bumped by every accepted annotation write; a write names the version it started from.
    version = models.PositiveIntegerField(default=0)
    # Digest of the Idempotency-Key of the last accepted write and of its request, so a retry is
    # not refused as stale and a key reused for another request is refused (services/annotations.py).
    last_write_key = models.CharField(max_length=64, blank=True)
    # "No objects here": counts as labelled, trains as background.
    negative = models.BooleanField(default=False)
    # The annotations were written by a bulk auto-label (assist) and no person has saved since:
    # reviewers filter on it. Any person's save clears it (services/annotations.py).
    auto_labelled = models.BooleanField(default=False)
    # How unsure the project's assist model was on its latest prediction of this image (0..1; None:
    # never predicted). The image list's `order=uncertain` reads it; assist/ writes it.
    uncertainty = models.FloatField(null=True, blank=True)
    # Image-level labels of classification projects.
    labels = models.ManyToManyField(Label, blank=True, related_name="classified_images")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    annotated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    annotated_at = models.DateTimeField(null=True, blank=True)
    # The latest review decision (its history is image.reviews): shown to annotators with its comment.
    last_review = models.ForeignKey(
        "annotator.ReviewEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="image_key_unique"),
            models.CheckConstraint(condition=models.Q(width__gt=0, height__gt=0), name="image_size_positive"),
        ]
        indexes = [
            models.Index(fields=["project", "status", "key"], name="image_status_key_idx"),
            models.Index(fields=["project", "sha256"], name="image_sha256_idx"),
            models.Index(fields=["project", "-uncertainty", "key"], name="image_uncertainty_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class Box(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="boxes")
    # Stable public identity chosen by the client, so concurrent edits can be merged box by box.
    uid = models.UUIDField(default=uuid.uuid4)
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="boxes")
    # Normalised 0..1 against the image as displayed (EXIF orientation applied).
    x = models.FloatField()
    y = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["image", "uid"], name="box_uid_unique"),
            models.CheckConstraint(
                condition=models.Q(x__gte=0, y__gte=0, x2__lte=1, y2__lte=1),
                name="box_within_image",
            ),
            models.CheckConstraint(
                condition=models.Q(x__lt=models.F("x2"), y__lt=models.F("y2")),
                name="box_positive_area",
            ),
        ]
        indexes = [models.Index(fields=["label", "image"], name="box_label_image_idx")]

    def __str__(self) -> str:
        return f"{self.label_id} ({self.x:.3f},{self.y:.3f})-({self.x2:.3f},{self.y2:.3f})"
