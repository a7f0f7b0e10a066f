"""The database phase of an import: labels, image rows, boxes and classes, in bulk, in one transaction.

Rows are written with `bulk_create` in batches, a few queries per thousand images,
which is what makes a 10,000-image import take seconds rather than minutes. Images
the project already had are annotated only if nobody has annotated them yet: the
claim is a conditional UPDATE on version 0 under a row lock, as the bucket import
does, so an editor saving meanwhile wins and nothing is merged half-way.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotator import domain_events
from annotator.datasets.image_store import StoredImage
from annotator.datasets.report import ImportReport
from annotator.events import broadcast
from annotator.models import Box, Image, ImageStatus, Label, Project
from annotator.services import tally
from annotator.services.projects import create_label

BATCH = 500


def write_rows(
    project: Project, label_names: list[str], stored: list[StoredImage], report: ImportReport, user: User | None
) -> None:
    with transaction.atomic():
        labels = _labels(project, label_names, report)
        created = _create_images(project, [s for s in stored if s.existing_id is None], user)
        matched = [(s, s.existing_id) for s in stored if s.existing_id is not None]
        claimed = _claim(matched, user)
        annotated = [(s, pk) for s, pk in created if s.source.labelled] + claimed
        report.boxes = _write_annotations(annotated, labels, user)
        report.created = len(created)
        report.matched = len(matched)
        report.renamed = sum(1 for s, _ in created if s.key != s.source.key)
        report.images = len(stored)
        report.annotated = len(annotated)
        report.kept = sum(1 for s, _ in matched if s.source.labelled) - len(claimed)
        tally.recount(project.pk)
        if created:
            domain_events.images_added.send(sender=Project, project_id=project.pk, image_ids=[pk for _, pk in created])
        if annotated:
            domain_events.annotations_changed.send(
                sender=Project, project_id=project.pk, image_ids=[pk for _, pk in annotated]
            )
        broadcast(project.pk, "images.imported", {"created": report.created, "annotated": report.annotated})


def _labels(project: Project, names: list[str], report: ImportReport) -> dict[str, int]:
    """Label id by lower-cased name: existing labels matched case-insensitively, the rest created."""
    ids = {name.lower(): pk for pk, name in Label.objects.filter(project=project).values_list("id", "name")}
    for name in names:
        if name.lower() not in ids:
            ids[name.lower()] = create_label(project, name).pk
            report.labels_created.append(name)
    report.labels = len({name.lower() for name in names})
    return ids


def _create_images(project: Project, new: list[StoredImage], user: User | None) -> list[tuple[StoredImage, int]]:
    now = timezone.now()
    rows = [
        Image(
            project=project,
            key=s.key,
            width=s.width,
            height=s.height,
            sha256=s.sha256,
            size_bytes=s.size_bytes,
            content_type=s.content_type,
            thumbnail_key=s.thumbnail_key,
            uploaded_by=user,
            negative=s.source.negative,
            status=ImageStatus.LABELLED if s.source.labelled else ImageStatus.UNLABELLED,
            version=1 if s.source.labelled else 0,
            annotated_by=user if s.source.labelled else None,
            annotated_at=now if s.source.labelled else None,
        )
        for s in new
    ]
    # PostgreSQL and SQLite >= 3.35 return the new primary keys from a bulk insert.
    Image.objects.bulk_create(rows, batch_size=BATCH)
    return [(s, row.pk) for s, row in zip(new, rows, strict=True)]


def _claim(matched: list[tuple[StoredImage, int]], user: User | None) -> list[tuple[StoredImage, int]]:
    """The matched images whose annotations this import may write: the never-annotated ones."""
    wanted = {pk: s for s, pk in matched if s.source.labelled}
    claimed: list[tuple[StoredImage, int]] = []
    pks = list(wanted)
    for start in range(0, len(pks), BATCH):
        free = Image.objects.select_for_update().filter(pk__in=pks[start : start + BATCH], version=0)
        claimed += [(wanted[pk], pk) for pk in free.values_list("id", flat=True)]
    now = timezone.now()
    for negative in (False, True):
        ids = [pk for s, pk in claimed if s.source.negative == negative]
        for start in range(0, len(ids), BATCH):
            Image.objects.filter(pk__in=ids[start : start + BATCH], version=0).update(
                version=1, negative=negative, status=ImageStatus.LABELLED, annotated_by=user, annotated_at=now
            )
    return claimed


def _write_annotations(annotated: list[tuple[StoredImage, int]], labels: dict[str, int], user: User | None) -> int:
    boxes = [
        Box(image_id=pk, label_id=labels[box.label.lower()], x=box.x, y=box.y, x2=box.x2, y2=box.y2, author=user)
        for s, pk in annotated
        for box in s.source.boxes
    ]
    Box.objects.bulk_create(boxes, batch_size=BATCH * 2)
    through = Image.labels.through
    classes = {(pk, labels[name.lower()]) for s, pk in annotated for name in s.source.labels}
    through.objects.bulk_create([through(image_id=pk, label_id=label) for pk, label in classes], batch_size=BATCH * 2)
    return len(boxes)
