"""Reviewing labelled images: approve or reject, with an optional comment, kept as history.

A review applies to the annotation version the reviewer saw. It does not bump
the version (the boxes did not change), so an annotator's editor stays in sync;
the next annotation write sends the image back to `labelled`, i.e. to review.

Unless the project switches `reviewers_review_own_work` on, nobody decides on an
image whose latest annotation write is their own (`Image.annotated_by`): the
check runs under the image's row lock, against the write the decision is about.

The review queue (`waiting`) is what a reviewer may decide on: labelled images, less their own
work unless allowed, optionally by one annotator or carrying one label. A bulk decision
(`review_many`) takes the images with the versions the reviewer was shown, decides them in one
transaction under the same rules, and leaves out (with a reason) those that changed, were
decided meanwhile or are the reviewer's own work: what was confirmed is what gets decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import User
from annotator.errors import CodedError
from annotator.events import broadcast
from annotator.models import Image, ImageStatus, Project, ProjectType, ReviewDecision, ReviewEvent
from annotator.services import tally
from annotator.services.annotations import StaleVersion

REVIEWABLE = (ImageStatus.LABELLED, ImageStatus.APPROVED, ImageStatus.REJECTED)
MAX_COMMENT_LENGTH = 2000
# Images one bulk decision may cover: one transaction holds their row locks, so it stays short.
MAX_BULK_REVIEW = 500


class NotReviewable(CodedError):
    status = 409

    def __init__(self, message: str) -> None:
        super().__init__("not_labelled", message)


class OwnWork(CodedError):
    status = 403

    def __init__(self, message: str) -> None:
        super().__init__("own_work", message)


def may_review(image: Image, reviewer: User) -> bool:
    """False for the person who labelled the image last, unless their project allows reviewing one's own work."""
    return image.project.reviewers_review_own_work or image.annotated_by_id != reviewer.pk


def waiting(
    project: Project, reviewer: User, *, annotator: int | None = None, label: int | None = None
) -> QuerySet[Image]:
    """The reviewer's queue: labelled images they may decide on, optionally by one annotator or with one label."""
    images = project.images.filter(status=ImageStatus.LABELLED, missing=False)
    if not project.reviewers_review_own_work:
        images = images.exclude(annotated_by=reviewer)  # theirs wait for someone else
    if annotator is not None:
        images = images.filter(annotated_by_id=annotator)
    if label is not None:
        images = images.carrying_label(label, as_class=project.type == ProjectType.CLASSIFICATION)
    return images


def _decide(current: Image, reviewer: User, decision: ReviewDecision, comment: str) -> Image:
    """Record the decision on a locked, checked image and set its status."""
    event = ReviewEvent.objects.create(
        project_id=current.project_id,
        image=current,
        reviewer=reviewer,
        decision=decision,
        comment=comment.strip()[:MAX_COMMENT_LENGTH],
        image_version=current.version,
    )
    current.status = ImageStatus(decision.value)
    current.last_review = event
    current.save(update_fields=["status", "last_review", "updated_at"])
    broadcast(
        current.project_id,
        "image.reviewed",
        {"image": current.pk, "status": current.status, "version": current.version, "review": event.pk},
    )
    return current


def review_image(
    image: Image, reviewer: User, decision: ReviewDecision | str, comment: str = "", *, version: int | None = None
) -> Image:
    """Record the decision and set the image's status, unless it changed since `version`."""
    decision = ReviewDecision(decision)
    with transaction.atomic(), tally.track(image.project_id, [image.pk]):
        current = Image.objects.select_for_update().get(pk=image.pk)
        if current.status not in REVIEWABLE:
            raise NotReviewable("Only labelled images can be reviewed; this one has no annotations yet.")
        if version is not None and current.version != version:
            raise StaleVersion(current)
        if not may_review(current, reviewer):
            raise OwnWork(
                "You labelled it yourself: someone else approves or rejects it "
                "(an admin can allow reviewing one's own work in the project's settings)."
            )
        return _decide(current, reviewer, decision, comment)


class UnknownImages(CodedError):
    def __init__(self, message: str) -> None:
        super().__init__("unknown_images", message)


@dataclass(frozen=True)
class Skipped:
    image: int
    code: str
    message: str


@dataclass(frozen=True)
class BulkOutcome:
    decided: list[int]
    skipped: list[Skipped]


def review_many(
    project: Project,
    reviewer: User,
    decision: ReviewDecision | str,
    versions: Mapping[int, int],
    comment: str = "",
) -> BulkOutcome:
    """Decide every image in `versions` (image id -> the version the reviewer was shown), in one transaction.

    Images not in the project refuse the whole request (UnknownImages) before anything changes.
    An image that is no longer as it was shown is skipped with its reason, never decided.
    """
    decision = ReviewDecision(decision)
    if len(versions) > MAX_BULK_REVIEW:
        raise ValueError(f"At most {MAX_BULK_REVIEW} images per bulk decision.")
    ids = sorted(versions)
    decided: list[int] = []
    skipped: list[Skipped] = []
    with transaction.atomic(), tally.track(project.pk, ids):
        # Locked in primary-key order, as tally.track locks them: writers never wait in a circle.
        found = {image.pk: image for image in project.images.select_for_update().filter(pk__in=ids).order_by("pk")}
        if missing := [pk for pk in ids if pk not in found]:
            raise UnknownImages(f"{len(missing)} of these images are not in this project: {missing[:10]}.")
        for pk in ids:
            current = found[pk]
            reason = _bulk_refusal(current, reviewer, versions[pk])
            if reason:
                skipped.append(Skipped(pk, *reason))
                continue
            _decide(current, reviewer, decision, comment)
            decided.append(pk)
    return BulkOutcome(decided, skipped)


def _bulk_refusal(current: Image, reviewer: User, version: int) -> tuple[str, str] | None:
    if current.status == ImageStatus.UNLABELLED:
        return "not_labelled", "Its annotations were removed."
    if current.version != version:
        return "stale_version", "It changed after you saw it; review it on its own."
    if not may_review(current, reviewer):
        return "own_work", "You labelled it yourself: someone else decides on it."
    if current.status != ImageStatus.LABELLED:
        return "already_reviewed", "Someone decided on it meanwhile."
    return None
