"""Bulk auto-label: an assist run's suggestions at or above a threshold, written as annotations on
images nobody has annotated yet. The job kernel (annotator.jobs) runs `run_autolabel`.

Invariants:

- Only never-annotated images are filled: unlabelled, no boxes, no class, not "no objects",
  `annotated_at` null. Each write goes through `save_annotations` with the version the job just
  read, so a person who saves the image meanwhile wins: the job gets StaleVersion and skips the
  image. Human work is never overwritten.
- A box is written with its suggestion's uid, so provenance (provenance.py) marks the suggestion
  accepted, decided by the job's creator; the image is marked `auto_labelled` for review.
- A detector's image gets every pending suggestion of the run at or above the threshold; a
  classifier's gets the label of its best one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from annotator import jobs
from annotator.models import Box, Image, ImageStatus, Project
from annotator.services.annotations import AnnotationSet, BoxData, InvalidAnnotations, StaleVersion, save_annotations
from assist.models import AutoLabelJob, Suggestion, SuggestionStatus
from training.models import Run

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 0.5


def _never_annotated(project: Project) -> QuerySet[Image]:
    return (
        Image.objects.present()
        .filter(project=project, status=ImageStatus.UNLABELLED, negative=False, annotated_at__isnull=True)
        .exclude(Exists(Box.objects.filter(image=OuterRef("pk"))))
        .exclude(Exists(Image.labels.through.objects.filter(image=OuterRef("pk"))))
    )


def _chosen(run: Run, suggestions: list[Suggestion]) -> list[Suggestion]:
    """What gets written from an image's qualifying suggestions (best first)."""
    return suggestions[:1] if run.kind == "classification" else suggestions


def plan(project: Project, run: Run, threshold: float) -> Iterator[tuple[Image, list[Suggestion]]]:
    """(image, suggestions to write) for every image an auto-label at `threshold` would fill, by key."""
    qualifying = (
        Suggestion.objects.filter(run=run, status=SuggestionStatus.PENDING, score__gte=threshold)
        .select_related("label")
        .order_by("-score", "id")
    )
    images = (
        _never_annotated(project)
        .filter(Exists(qualifying.filter(image=OuterRef("pk"))))
        .prefetch_related(Prefetch("suggestions", queryset=qualifying, to_attr="qualifying"))
        .order_by("key")
    )
    for image in images.iterator(chunk_size=200):
        yield image, _chosen(run, image.qualifying)


def _annotations(run: Run, chosen: list[Suggestion]) -> AnnotationSet:
    if run.kind == "classification":
        return AnnotationSet(boxes=[], label_ids=[s.label_id for s in chosen], negative=False)
    boxes = [
        BoxData(s.label_id, s.x, s.y, s.x2, s.y2, uid=s.uid)
        for s in chosen
        if s.x is not None and s.y is not None and s.x2 is not None and s.y2 is not None
    ]
    return AnnotationSet(boxes=boxes, label_ids=[], negative=False)


def run_autolabel(job: AutoLabelJob) -> None:
    """Fill the planned images one by one, each its own versioned write; skip any a person got to first."""
    run = job.run
    planned = [(image.pk, [s.pk for s in chosen]) for image, chosen in plan(job.project, run, job.threshold)]
    job.images_total = len(planned)
    jobs.progress(job, "images_total")
    per_label: Counter[str] = Counter()
    last = time.monotonic()
    for image_id, suggestion_ids in planned:
        written = _fill(job, image_id, suggestion_ids)
        if written:
            job.images_labelled += 1
            job.boxes_created += 0 if run.kind == "classification" else len(written)
            per_label.update(s.label.name for s in written)
            job.per_label = dict(sorted(per_label.items()))
        job.images_done += 1
        if time.monotonic() - last >= PROGRESS_INTERVAL_SECONDS or job.images_done == job.images_total:
            last = time.monotonic()
            jobs.progress(job, *job.result_fields)


def _fill(job: AutoLabelJob, image_id: int, suggestion_ids: list[int]) -> list[Suggestion]:
    """Write one image's suggestions if it is still never-annotated; what was written ([]: skipped)."""
    image = _never_annotated(job.project).filter(pk=image_id).select_related("project").first()
    if image is None:
        return []  # annotated, deleted or gone missing since the plan
    chosen = list(
        Suggestion.objects.filter(pk__in=suggestion_ids, status=SuggestionStatus.PENDING)
        .select_related("label")
        .order_by("-score", "id")
    )
    if not chosen:
        return []  # rejected (or its label deleted) since the plan
    # A creator deleted since leaves the writes unattributed, like a deleted person's own saves.
    creator: Any = job.created_by
    try:
        save_annotations(image, _annotations(job.run, chosen), base_version=image.version, user=creator,
                         auto_labelled=True)  # fmt: skip
    except StaleVersion:
        log.info("Auto-label %s skipped image %s: someone saved it meanwhile", job.pk, image_id)
        return []
    except InvalidAnnotations as error:
        log.info("Auto-label %s skipped image %s: %s", job.pk, image_id, error.message)
        return []
    return chosen
