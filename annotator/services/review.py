"""Reviewing labelled images: approve or reject, with an optional comment, kept as history.

A review applies to the annotation version the reviewer saw. It does not bump
the version (the boxes did not change), so an annotator's editor stays in sync;
the next annotation write sends the image back to `labelled`, i.e. to review.

Unless the project switches `reviewers_review_own_work` on, nobody decides on an
image whose latest annotation write is their own (`Image.annotated_by`): the
check runs under the image's row lock, against the write the decision is about.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from annotator.events import broadcast
from annotator.models import Image, ImageStatus, ReviewDecision, ReviewEvent
from annotator.services import tally
from annotator.services.annotations import StaleVersion

REVIEWABLE = (ImageStatus.LABELLED, ImageStatus.APPROVED, ImageStatus.REJECTED)
MAX_COMMENT_LENGTH = 2000


class NotReviewable(Exception):
    code = "not_labelled"


class OwnWork(Exception):
    code = "own_work"


def may_review(image: Image, reviewer: User) -> bool:
    """False for the person who labelled the image last, unless their project allows reviewing one's own work."""
    return image.project.reviewers_review_own_work or image.annotated_by_id != reviewer.pk


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
