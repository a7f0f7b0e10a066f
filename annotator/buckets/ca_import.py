"""Merging a bucket's `_annotations.json` into its project (rules in docs/buckets.md).

The database is the authority: the file only fills images nobody has annotated in
Annotator yet (version 0). Each image is claimed with a conditional UPDATE on its
version, so an editor saving the same image meanwhile wins and the file's record
for it is dropped, never merged half-way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotator.formats.cloud_annotations import FILENAME, Document, labels_used, read_entry
from annotator.formats.dataset import FormatError, label_problem
from annotator.models import Box, Image, ImageStatus, Label, Project, ProjectType
from annotator.services.projects import get_or_create_label

BATCH = 500
MAX_PROBLEMS = 50
_NAME_LENGTH = Label.NAME_MAX_LENGTH


@dataclass
class ImportReport:
    imported: int = 0
    kept: int = 0  # already annotated in the database: the database wins
    unknown_keys: int = 0  # records for objects the project does not have
    problems: list[dict[str, str]] = field(default_factory=list)

    def problem(self, key: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"key": key, "message": message})


def import_document(project: Project, doc: Document) -> ImportReport:
    """Create the file's labels (matched case-insensitively) and fill never-annotated images."""
    report = ImportReport()
    boxes_wanted = project.type == ProjectType.LOCALIZATION
    labels = {}
    for name in labels_used(doc, boxes_wanted):
        problem = label_problem(name) or (f"longer than {_NAME_LENGTH} characters" if len(name) > _NAME_LENGTH else "")
        if problem:
            report.problem(FILENAME, f"label {name!r} not imported: {problem}")
        else:
            labels[name.lower()] = get_or_create_label(project, name)
    if doc.type != project.type:
        report.problem(FILENAME, f"the file is a {doc.type} file; records were read as {project.type}")
    items = iter(doc.annotations.items())
    while batch := list(islice(items, BATCH)):
        _import_batch(project, batch, labels, report)
    return report


def _import_batch(
    project: Project, batch: list[tuple[str, Any]], labels: dict[str, Label], report: ImportReport
) -> None:
    keys = [key for key, _ in batch]
    images = {
        image.key: image
        for image in Image.objects.filter(project=project, key__in=keys).only("id", "key", "width", "height", "version")
    }
    boxes_wanted = project.type == ProjectType.LOCALIZATION
    with transaction.atomic():
        for key, records in batch:
            image = images.get(key)
            if image is None:
                report.unknown_keys += 1
                continue
            if image.version > 0:
                report.kept += 1
                continue
            try:
                entry = read_entry(key, records, (image.width, image.height), boxes_wanted)
            except FormatError as error:
                report.problem(key, str(error))
                continue
            names = {box.label for box in entry.boxes} | set(entry.labels)
            if unknown := sorted(name for name in names if name.lower() not in labels):
                report.problem(key, f"uses labels that could not be imported: {unknown}")
                continue
            claimed = Image.objects.filter(pk=image.pk, version=0).update(
                version=1, negative=entry.negative, status=ImageStatus.LABELLED, annotated_at=timezone.now()
            )
            if not claimed:
                report.kept += 1
                continue
            Box.objects.bulk_create(
                Box(image=image, label=labels[box.label.lower()], x=box.x, y=box.y, x2=box.x2, y2=box.y2)
                for box in entry.boxes
            )
            if entry.labels:
                image.labels.set([labels[name.lower()] for name in entry.labels])
            report.imported += 1
