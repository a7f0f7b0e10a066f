"""Writing an image's annotations: versioned, whole-set replacement, never lost silently.

A write names the version it was based on. The row's version is bumped by a
conditional UPDATE (compare-and-swap), so of two concurrent writes on the same
version exactly one succeeds and the other is told it is stale, with the
current state, on every database we run on.

An Idempotency-Key makes a retry safe: the image keeps, in `last_write_key`, a digest
of the key of its last accepted write and of that request (`request_fingerprint`). The
same key with the same request replays the current state; the same key with another
request is refused (`idempotency_key_reused`), never answered as if it had been applied.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from annotator import domain_events
from annotator.errors import CodedError
from annotator.events import broadcast
from annotator.models import AnnotationEvent, Box, Image, ImageStatus, Label, Project, ProjectType
from annotator.services import tally


@dataclass(frozen=True)
class BoxData:
    label_id: int
    x: float
    y: float
    x2: float
    y2: float
    uid: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class AnnotationSet:
    boxes: list[BoxData]
    label_ids: list[int]
    negative: bool


class StaleVersion(CodedError):
    """The write was based on an old version; `image` holds the current state.

    The API's views answer it themselves: their message fits the request, and `current`
    is the image's annotations as the API serialises them.
    """

    status = 409

    def __init__(self, image: Image) -> None:
        super().__init__("stale_version", f"Image {image.pk} is at version {image.version}.")
        self.image = image


class InvalidAnnotations(CodedError):
    """The annotation set breaks a rule of the project; nothing was written."""


class IdempotencyKeyReused(CodedError):
    """The key already names another request on this image; nothing was written."""

    status = 422  # as in the IETF Idempotency-Key draft: the key is fine, this request is not its request

    def __init__(self) -> None:
        super().__init__(
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request on this image; "
            "send a new key for a new change.",
        )


# `last_write_key` (64 characters) holds half a digest of each: 128 bits apiece.
_HALF = 32


def request_fingerprint(**request: Any) -> str:
    """A digest of what makes two requests the same (canonical JSON; UUIDs and the like as text)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _write_token(idempotency_key: str, fingerprint: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:_HALF] + fingerprint[:_HALF]


def _replayed(image: Image, token: str) -> Image | None:
    """The current image if `token`'s key was its last accepted write; refused if for another request."""
    if image.last_write_key[:_HALF] != token[:_HALF]:
        return None
    current = Image.objects.select_for_update().get(pk=image.pk)
    if current.last_write_key[:_HALF] != token[:_HALF]:
        return None  # another write got in since `image` was read: the key names nothing any more
    if current.last_write_key != token:
        raise IdempotencyKeyReused
    return current


def derive_status(has_annotations: bool) -> ImageStatus:
    """Any change sends a reviewed image back to review; no annotations means unlabelled."""
    return ImageStatus.LABELLED if has_annotations else ImageStatus.UNLABELLED


def _check(image: Image, data: AnnotationSet) -> None:
    project = image.project
    wanted = {b.label_id for b in data.boxes} | set(data.label_ids)
    known = set(Label.objects.filter(project=project, pk__in=wanted).values_list("pk", flat=True))
    if unknown := wanted - known:
        raise InvalidAnnotations("unknown_label", f"Unknown label ids for this project: {sorted(unknown)}.")
    if project.type == ProjectType.CLASSIFICATION and data.boxes:
        raise InvalidAnnotations("boxes_not_allowed", "Classification projects take labels, not boxes.")
    if data.negative and (data.boxes or data.label_ids):
        raise InvalidAnnotations("negative_with_annotations", "An image marked 'no objects' cannot have any.")
    uids = [b.uid for b in data.boxes]
    if len(uids) != len(set(uids)):
        raise InvalidAnnotations("duplicate_box", "Two boxes share one id.")


def save_annotations(
    image: Image,
    data: AnnotationSet,
    *,
    base_version: int,
    user: User,
    idempotency_key: str = "",
    fingerprint: str = "",
    auto_labelled: bool = False,
) -> Image:
    """Replace the image's annotations if nobody wrote since `base_version`; else StaleVersion.

    `auto_labelled` is true only for a bulk auto-label's write (assist/autolabel.py): a person's
    save clears the mark reviewers filter on.

    With an `idempotency_key`, `fingerprint` (see `request_fingerprint`) says which request
    the key was sent with: a retry of the accepted one returns the current state unwritten.
    """
    _check(image, data)
    token = _write_token(idempotency_key, fingerprint) if idempotency_key else ""
    has_annotations = bool(data.boxes or data.label_ids or data.negative)
    with transaction.atomic(), tally.track(image.project_id, [image.pk]):
        if token and (current := _replayed(image, token)) is not None:
            return current  # a retry of a write we already accepted
        updated = Image.objects.filter(pk=image.pk, version=base_version).update(
            version=F("version") + 1,
            negative=data.negative,
            status=derive_status(has_annotations),
            annotated_by=user,
            annotated_at=timezone.now(),
            last_write_key=token,
            auto_labelled=auto_labelled,
            updated_at=timezone.now(),
        )
        if not updated:
            raise StaleVersion(Image.objects.get(pk=image.pk))
        _replace_boxes(image, data.boxes, user)
        image.labels.set(data.label_ids)
        AnnotationEvent.objects.create(project_id=image.project_id, image=image, user=user)
        domain_events.annotations_changed.send(sender=Project, project_id=image.project_id, image_ids=[image.pk])
        image.refresh_from_db()
        broadcast(image.project_id, "annotations.changed", {"image": image.pk, "version": image.version})
    return image


def _replace_boxes(image: Image, boxes: list[BoxData], user: User) -> None:
    """Keep rows of boxes that survive (by uid), so authorship and creation time stay true."""
    existing = {b.uid: b for b in image.boxes.all()}
    incoming = {b.uid: b for b in boxes}
    Box.objects.filter(image=image).exclude(uid__in=list(incoming)).delete()
    changed, created = [], []
    for uid, b in incoming.items():
        row = existing.get(uid)
        if row is None:
            created.append(Box(image=image, uid=uid, label_id=b.label_id, x=b.x, y=b.y, x2=b.x2, y2=b.y2, author=user))
        elif (row.label_id, row.x, row.y, row.x2, row.y2) != (b.label_id, b.x, b.y, b.x2, b.y2):
            row.label_id, row.x, row.y, row.x2, row.y2 = b.label_id, b.x, b.y, b.x2, b.y2
            changed.append(row)
    Box.objects.bulk_create(created)
    if changed:
        now = timezone.now()
        for row in changed:
            row.updated_at = now
        Box.objects.bulk_update(changed, ["label_id", "x", "y", "x2", "y2", "updated_at"])
