"""What people did with suggestions, learnt from what they saved (on `annotations_changed`).

Accepting a suggestion is saving a box whose `uid` is the suggestion's (or, for a class, saving
the image with that label), through the ordinary versioned PUT; so the saved annotations alone
say what became of each suggestion. Runs inside the saving transaction (receivers.py): the
decision commits or rolls back with the save.

Box suggestions:
- pending, a box with its uid now exists: accepted if it has the suggestion's label and
  coordinates (within TOLERANCE), else edited;
- accepted, its box now differs: edited (edited stays edited);
- accepted or edited, its box gone: rejected (kept, then deleted);
- pending, no such box: still pending.
Class suggestions (pending only): the image now has that label: accepted; it has other labels
but not this one: rejected.

`decided_by` is whoever saved (the image's `annotated_by`: the job's creator for an auto-label).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.utils import timezone

from annotator.events import broadcast
from annotator.models import Box, Image
from assist.models import SUGGESTIONS_CHANGED, Suggestion, SuggestionStatus

TOLERANCE = 1e-4
OPEN = (SuggestionStatus.PENDING, SuggestionStatus.ACCEPTED, SuggestionStatus.EDITED)


def _same(suggestion: Suggestion, box: Box) -> bool:
    proposed = (suggestion.x, suggestion.y, suggestion.x2, suggestion.y2)
    saved = (box.x, box.y, box.x2, box.y2)
    close = all(a is not None and abs(a - b) <= TOLERANCE for a, b in zip(proposed, saved, strict=True))
    return close and suggestion.label_id == box.label_id


def _box_outcome(suggestion: Suggestion, box: Box | None) -> str:
    if box is None:
        return SuggestionStatus.PENDING if suggestion.status == SuggestionStatus.PENDING else SuggestionStatus.REJECTED
    if suggestion.status == SuggestionStatus.EDITED or not _same(suggestion, box):
        return SuggestionStatus.EDITED
    return SuggestionStatus.ACCEPTED


def _class_outcome(suggestion: Suggestion, labels: set[int]) -> str:
    if suggestion.status != SuggestionStatus.PENDING or not labels:
        return suggestion.status
    return SuggestionStatus.ACCEPTED if suggestion.label_id in labels else SuggestionStatus.REJECTED


def record_decisions(project_id: int, image_ids: Iterable[int]) -> None:
    """Update the open suggestions of these images from their saved annotations; tell the project."""
    image_ids = list(image_ids)
    suggestions = list(Suggestion.objects.filter(image_id__in=image_ids, status__in=OPEN).order_by("id"))
    if not suggestions:
        return
    touched = {s.image_id for s in suggestions}
    boxes = {(b.image_id, b.uid): b for b in Box.objects.filter(image_id__in=touched)}
    labels: dict[int, set[int]] = defaultdict(set)
    for image_id, label_id in Image.labels.through.objects.filter(image_id__in=touched).values_list(
        "image_id", "label_id"
    ):
        labels[image_id].add(label_id)
    savers = dict(Image.objects.filter(pk__in=touched).values_list("pk", "annotated_by"))
    now = timezone.now()
    changed: list[Suggestion] = []
    for suggestion in suggestions:
        if suggestion.is_box:
            status = _box_outcome(suggestion, boxes.get((suggestion.image_id, suggestion.uid)))
        else:
            status = _class_outcome(suggestion, labels[suggestion.image_id])
        if status != suggestion.status:
            suggestion.status, suggestion.decided_at = status, now
            suggestion.decided_by_id = savers.get(suggestion.image_id)
            changed.append(suggestion)
    Suggestion.objects.bulk_update(changed, ["status", "decided_by", "decided_at"])
    by_run: dict[int, set[int]] = defaultdict(set)
    for suggestion in changed:
        by_run[suggestion.run_id].add(suggestion.image_id)
    for run_id, images in sorted(by_run.items()):
        broadcast(project_id, SUGGESTIONS_CHANGED, {"run": run_id, "images": sorted(images)})
