"""Managing a project's labels: rename, recolour, reorder, delete, merge one into another.

Invariants:

- Names are unique per project, case-insensitively (the database constraint says so too).
- `order` is 1..n without gaps after a reorder; the first nine labels answer to keys 1-9
  (the tenth to 0) in the editor and on the project page.
- Deleting a label deletes its boxes and classes; merging moves them to the target label.
  Either way every image that carried it gets a new annotation `version` (so an editor
  holding the old one is told it is stale and merges instead of overwriting), keeps its
  boxes' uids, authors and creation times, keeps its review status (the annotations mean the
  same thing under another name), and the maintained counts move with them (`tally.track`).
- Every change is broadcast after commit: `labels.changed` with the project's labels, and
  `annotations.changed` for each image whose annotations moved, so open editors update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotator import domain_events
from annotator.errors import CodedError
from annotator.events import broadcast
from annotator.models import Box, Image, Label, Project
from annotator.services import tally

# Above this many images a merge or delete sends one `labels.changed` (editors resync from it)
# instead of one `annotations.changed` per image.
MAX_IMAGE_EVENTS = 500


class LabelError(CodedError):
    """A label change that cannot be made; nothing was written."""


def labels_payload(project_id: int) -> list[dict[str, Any]]:
    return [dict(row) for row in Label.objects.filter(project_id=project_id).values("id", "name", "color", "order")]


def announce(project_id: int, images: Sequence[tuple[int, int]] = ()) -> None:
    """After commit: the labels changed, and the new versions of images whose annotations moved."""
    broadcast(project_id, "labels.changed", {"labels": labels_payload(project_id), "images": len(images)})
    if len(images) <= MAX_IMAGE_EVENTS:
        for image_id, version in images:
            broadcast(project_id, "annotations.changed", {"image": image_id, "version": version})


def usage(label: Label) -> dict[str, int]:
    """How much rides on the label: its boxes, and the images carrying it (boxes or class)."""
    boxes = Box.objects.filter(label=label).count()
    images = tally.read(label.project_id).get(tally.label_key(label.pk), 0)
    return {"boxes": boxes, "images": images}


def update_label(label: Label, *, name: str | None = None, color: str | None = None) -> Label:
    """Rename and/or recolour."""
    fields = []
    if name is not None:
        name = name.strip()
        if not name:
            raise LabelError("invalid_name", "A label needs a name.")
        if Label.objects.filter(project_id=label.project_id, name__iexact=name).exclude(pk=label.pk).exists():
            raise LabelError("label_exists", f"Another label is already called {name!r}.", status=409)
        label.name = name
        fields.append("name")
    if color is not None:
        label.color = color
        fields.append("color")
    if not fields:
        return label
    try:
        with transaction.atomic():
            label.save(update_fields=fields)
            domain_events.labels_changed.send(sender=Project, project_id=label.project_id)
            announce(label.project_id)
    except IntegrityError:  # renamed by someone else to the same name meanwhile
        raise LabelError("label_exists", f"Another label is already called {name!r}.", status=409) from None
    return label


def reorder_labels(project: Project, ids: Sequence[int]) -> list[Label]:
    """Put the labels in the order of `ids`, which must name each of the project's labels once."""
    with transaction.atomic():
        labels = {label.pk: label for label in Label.objects.select_for_update().filter(project=project)}
        if len(ids) != len(set(ids)) or set(ids) != set(labels):
            raise LabelError("invalid_order", "Name every label of the project exactly once, in the new order.")
        for position, pk in enumerate(ids, start=1):
            labels[pk].order = position
        Label.objects.bulk_update(labels.values(), ["order"])
        domain_events.labels_changed.send(sender=Project, project_id=project.pk)
        announce(project.pk)
    return sorted(labels.values(), key=lambda label: label.order)


def _images_with(label: Label) -> list[int]:
    boxed = Box.objects.filter(label=label).values_list("image_id", flat=True).distinct()
    classed = Image.labels.through.objects.filter(label=label).values_list("image_id", flat=True).distinct()
    return sorted(set(boxed) | set(classed))


def _bump(image_ids: list[int]) -> list[tuple[int, int]]:
    """A new version for images whose annotations changed without a write of their own."""
    now = timezone.now()
    # The idempotency token named the replaced state: a retry of it must now be told it is stale.
    Image.objects.filter(pk__in=image_ids).update(version=F("version") + 1, last_write_key="", updated_at=now)
    return list(Image.objects.filter(pk__in=image_ids).order_by("pk").values_list("pk", "version"))


def _changed(project_id: int, image_ids: list[int]) -> None:
    """A label went: the labels changed, and so did the annotations of the images that carried it."""
    domain_events.labels_changed.send(sender=Project, project_id=project_id)
    if image_ids:
        domain_events.annotations_changed.send(sender=Project, project_id=project_id, image_ids=image_ids)


def delete_label(label: Label) -> int:
    """Delete the label with its boxes and classes; answers how many images lost annotations."""
    project_id = label.project_id
    with transaction.atomic():
        ids = _images_with(label)
        with tally.track(project_id, ids):
            label.delete()
            versions = _bump(ids)
        _changed(project_id, ids)
        announce(project_id, versions)
    return len(ids)


def merge_label(source: Label, target: Label) -> int:
    """Move every box and class of `source` to `target`, then delete `source`; answers the images changed.

    An image with boxes of both keeps all its boxes (now of `target`); one classified as both
    keeps `target` once.
    """
    if source.project_id != target.project_id:
        raise LabelError("invalid_target", "Merge into a label of the same project.")
    if source.pk == target.pk:
        raise LabelError("invalid_target", "A label cannot be merged into itself.")
    project_id = source.project_id
    through = Image.labels.through
    with transaction.atomic():
        ids = _images_with(source)
        with tally.track(project_id, ids):
            Box.objects.filter(label=source).update(label=target, updated_at=timezone.now())
            both = through.objects.filter(label=target, image_id__in=ids).values_list("image_id", flat=True)
            through.objects.filter(label=source, image_id__in=list(both)).delete()
            through.objects.filter(label=source).update(label=target)
            source.delete()
            versions = _bump(ids)
        _changed(project_id, ids)
        announce(project_id, versions)
    return len(ids)
