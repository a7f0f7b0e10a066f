"""Maintained image counts per project: the numbers of the filter bar, read in one indexed query.

One row per (project, key) with the number of images under that key:

- ``status:<status>``: present images in that status (unlabelled, labelled, approved, rejected);
- ``label:<id>``: present images carrying that label (a box of it, or it as an image-level class);
- ``missing``: images whose object vanished from the bucket (they count under nothing else).

Invariant: the rows equal what `annotator.services.tally.measure` computes from the images,
boxes and classes themselves. Every write that changes an image's status, labels or presence
updates them in the same transaction (`annotator.services.tally`); bulk work recounts.
"""

from __future__ import annotations

from django.db import models

from annotator.models.project import Project


class ImageTally(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="image_tally_unique")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.key}={self.n}"
