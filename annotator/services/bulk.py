"""Actions on several images at once, chosen in the project page's grid.

Each action takes at most `MAX_BULK_IDS` images of one project and runs in one transaction
(deleting, whose bucket calls cannot be rolled back, is `images.delete_images`). Images the
action does not apply to are not an error: they are reported as skipped, with the reason,
and left as they are.

- `mark_negative`: unlabelled images become "no objects", written through `save_annotations`
  exactly as the editor's button writes them (new version, activity row, event).
- `send_to_review`: approved or rejected images go back to `labelled`, i.e. to the review
  queue; their review history stays. The annotations did not change, so neither does the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotator.errors import CodedError
from annotator.events import broadcast
from annotator.models import Image, ImageStatus, Project
from annotator.services import tally
from annotator.services.annotations import AnnotationSet, StaleVersion, save_annotations

MAX_BULK_IDS = 500


class BulkRefused(CodedError):
    """The request as a whole cannot be carried out; nothing was changed."""


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)

    def skip(self, image_id: int, code: str, message: str) -> None:
        self.skipped.append({"id": image_id, "code": code, "message": message})


def images_of(project: Project, ids: list[int]) -> list[Image]:
    """The project's images with these ids, in id order; refused whole if any id is not one of them."""
    if not ids:
        raise BulkRefused("no_images", "Choose at least one image.")
    if len(ids) > MAX_BULK_IDS:
        raise BulkRefused("too_many_images", f"At most {MAX_BULK_IDS} images per request; send the rest in another.")
    wanted = sorted(set(ids))
    images = list(Image.objects.filter(project=project, pk__in=wanted).select_related("project").order_by("pk"))
    if unknown := sorted(set(wanted) - {image.pk for image in images}):
        raise BulkRefused(
            "unknown_images", f"Not images of this project (deleted meanwhile?): {', '.join(map(str, unknown[:20]))}."
        )
    return images


def mark_negative(project: Project, user: User, ids: list[int]) -> BulkResult:
    images = images_of(project, ids)
    result = BulkResult()
    nothing = AnnotationSet(boxes=[], label_ids=[], negative=True)
    with transaction.atomic():
        for image in images:
            if image.status != ImageStatus.UNLABELLED or image.negative:
                result.skip(image.pk, "has_annotations", "Already labelled; open it to change its annotations.")
                continue
            try:
                save_annotations(image, nothing, base_version=image.version, user=user)
            except StaleVersion:
                result.skip(image.pk, "stale_version", "Someone labelled it meanwhile; left as they saved it.")
                continue
            result.done.append(image.pk)
    return result


def send_to_review(project: Project, ids: list[int]) -> BulkResult:
    images = images_of(project, ids)
    result = BulkResult()
    decided = (ImageStatus.APPROVED, ImageStatus.REJECTED)
    with transaction.atomic(), tally.track(project.pk, [image.pk for image in images]):
        current = Image.objects.filter(pk__in=[image.pk for image in images]).order_by("pk")
        for image in current.only("pk", "status", "version", "last_review_id"):
            if image.status == ImageStatus.LABELLED:
                result.skip(image.pk, "in_review", "Already waiting for review.")
            elif image.status not in decided:
                result.skip(image.pk, "not_labelled", "Nothing to review: it has no annotations yet.")
            else:
                result.done.append(image.pk)
                broadcast(
                    project.pk,
                    "image.reviewed",
                    {"image": image.pk, "status": ImageStatus.LABELLED, "version": image.version,
                     "review": image.last_review_id},
                )  # fmt: skip
        Image.objects.filter(pk__in=result.done).update(status=ImageStatus.LABELLED, updated_at=timezone.now())
    return result
