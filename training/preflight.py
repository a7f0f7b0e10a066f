"""Pre-flight: refuse a run that would fail or be useless, and say what to fix.

Errors block the run; warnings are shown and the run may go ahead. The images and
annotations the check approved are what the dataset snapshot freezes, so the check and
the run can never disagree about the data.

Defaults (settings, from the environment):
- ANNOTATOR_MIN_IMAGES_PER_CLASS = 5 labelled images per class for a classifier
  (with a localization project, each box counts as one example: classifiers train on box crops);
- ANNOTATOR_MIN_BOXES_PER_CLASS = 10 boxes per class for a detector.

The check also asks whether the backbone's pretrained weights are there for the run's width
(training/weights.py, without downloading anything): a run that could only fail on its worker
for want of them is refused here, before anything is queued, unless it may train from scratch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from django.conf import settings

from annotator.models import Box, Image, ImageStatus, Project, ProjectType
from annotator.storage import project_bucket
from training import weights
from training.models import RunKind

IMBALANCE_RATIO = 10  # largest class over smallest class before we warn
TINY_BOX_FRACTION = 0.02  # box side under 2 % of the image side
MIN_BOX_PIXELS = 2  # a box thinner than this (in image pixels) cannot be learnt
EXAMPLES_SHOWN = 5
TRAINABLE_STATUSES = (ImageStatus.LABELLED, ImageStatus.APPROVED)


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    label: str | None = None
    count: int | None = None
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["examples"] = list(self.examples)
        return {k: v for k, v in data.items() if v not in (None, [])}


@dataclass(frozen=True)
class ImageRecord:
    id: int
    key: str
    sha256: str
    width: int
    height: int
    label_ids: tuple[int, ...] = ()
    # (x, y, x2, y2, label_id), normalised 0..1.
    boxes: tuple[tuple[float, float, float, float, int], ...] = ()
    negative: bool = False


@dataclass
class Preflight:
    kind: str
    # (label id, name) of the labels the model will know, in the project's order.
    labels: list[tuple[int, str]] = field(default_factory=list)
    images: list[ImageRecord] = field(default_factory=list)
    examples_per_label: dict[str, int] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def from_boxes(self) -> bool:
        """A classifier trained on box crops (a localization project)."""
        return self.kind == RunKind.CLASSIFICATION and any(image.boxes for image in self.images)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "images": len(self.images),
            "examples_per_label": self.examples_per_label,
            "minimum_per_label": minimum_examples(self.kind),
        }


def minimum_examples(kind: str) -> int:
    if kind == RunKind.DETECTION:
        return settings.ANNOTATOR_MIN_BOXES_PER_CLASS
    return settings.ANNOTATOR_MIN_IMAGES_PER_CLASS


def default_kind(project: Project) -> str:
    return RunKind.CLASSIFICATION if project.type == ProjectType.CLASSIFICATION else RunKind.DETECTION


def run_preflight(
    project: Project, kind: str, alpha: float = 0.5, allow_scratch: bool = False, warm_start: bool = False
) -> Preflight:
    """Check the project's labelled data, and the backbone weights of width `alpha`, for a run of `kind`.
    A warm start needs no ImageNet weights: its weights come from its base run (training.base_runs)."""
    result = Preflight(kind=kind)
    if kind == RunKind.DETECTION and project.type == ProjectType.CLASSIFICATION:
        result.errors.append(Problem("kind_mismatch", "A classification project has no boxes to train a detector on."))
        return result
    if not warm_start:
        _check_weights(alpha, allow_scratch, result)
    records = _without_missing(project, _labelled_images(project), result)
    records = _usable(records, kind, result)
    _check_labels(project, records, kind, result)
    if kind == RunKind.DETECTION:
        _check_tiny_boxes(result)
    return result


def _labelled_images(project: Project) -> list[ImageRecord]:
    """Every labelled image of the project with its classes and boxes, in id order."""
    # Images whose object left the bucket (bucket sync) keep their labels but do not train.
    images = Image.objects.present().filter(project=project, status__in=TRAINABLE_STATUSES).order_by("id")
    classes: dict[int, list[int]] = defaultdict(list)
    for image_id, label_id in (
        Image.labels.through.objects.filter(image__project=project, image__status__in=TRAINABLE_STATUSES)
        .values_list("image_id", "label_id")
        .order_by("image_id", "label_id")
    ):
        classes[image_id].append(label_id)
    boxes: dict[int, list[tuple]] = defaultdict(list)
    rows = Box.objects.filter(image__project=project, image__status__in=TRAINABLE_STATUSES).order_by("image_id", "id")
    for image_id, label_id, x, y, x2, y2 in rows.values_list("image_id", "label_id", "x", "y", "x2", "y2"):
        boxes[image_id].append((x, y, x2, y2, label_id))
    fields = ("id", "key", "sha256", "width", "height", "negative")
    return [
        ImageRecord(**row, label_ids=tuple(classes[row["id"]]), boxes=tuple(boxes[row["id"]]))
        for row in images.values(*fields)
    ]


def _without_missing(project: Project, records: list[ImageRecord], result: Preflight) -> list[ImageRecord]:
    """Drop images whose bytes are not in the bucket: one listing, not a request per image."""
    if not records:
        return records
    present = {info.key for info in project_bucket(project).list()}
    missing = [r for r in records if r.key not in present]
    if missing:
        result.warnings.append(
            Problem(
                "images_missing",
                f"{len(missing)} labelled images are not in the bucket and are left out.",
                count=len(missing),
                examples=tuple(r.key for r in missing[:EXAMPLES_SHOWN]),
            )
        )
    return [r for r in records if r.key in present]


def _usable(records: list[ImageRecord], kind: str, result: Preflight) -> list[ImageRecord]:
    """The images this kind of run can learn from; degenerate boxes are errors."""
    degenerate = [r.key for r in records for box in r.boxes if not _box_ok(r, box)]
    if degenerate:
        result.errors.append(
            Problem(
                "degenerate_boxes",
                f"{len(degenerate)} boxes are under {MIN_BOX_PIXELS} pixels wide or high; redraw or delete them.",
                count=len(degenerate),
                examples=tuple(dict.fromkeys(degenerate))[:EXAMPLES_SHOWN],
            )
        )
    if kind == RunKind.DETECTION:
        return [r for r in records if r.boxes or r.negative]
    if any(r.boxes for r in records):
        return [r for r in records if r.boxes]
    multi = [r for r in records if len(r.label_ids) > 1]
    if multi:
        result.warnings.append(
            Problem(
                "multiple_classes",
                f"{len(multi)} images carry more than one class; a classifier needs exactly one, so they are left out.",
                count=len(multi),
                examples=tuple(r.key for r in multi[:EXAMPLES_SHOWN]),
            )
        )
    return [r for r in records if len(r.label_ids) == 1]


def _box_ok(record: ImageRecord, box: tuple) -> bool:
    x, y, x2, y2, _ = box
    return (x2 - x) * record.width >= MIN_BOX_PIXELS and (y2 - y) * record.height >= MIN_BOX_PIXELS


def _check_labels(project: Project, records: list[ImageRecord], kind: str, result: Preflight) -> None:
    counts: Counter[int] = Counter()
    for record in records:
        counts.update([box[4] for box in record.boxes] or record.label_ids)
    names = list(project.labels.order_by("order", "id").values_list("id", "name"))
    used = [(label_id, name) for label_id, name in names if counts[label_id]]
    unused = [name for label_id, name in names if not counts[label_id]]
    if unused:
        result.warnings.append(
            Problem("labels_unused", f"No examples of {', '.join(unused)}; left out of the model.", count=len(unused))
        )
    minimum = minimum_examples(kind)
    unit = "boxes" if kind == RunKind.DETECTION or any(r.boxes for r in records) else "labelled images"
    for label_id, name in used:
        if counts[label_id] < minimum:
            result.errors.append(
                Problem(
                    "too_few_examples",
                    f"{name} has {counts[label_id]} {unit}; label at least {minimum}.",
                    label=name,
                    count=counts[label_id],
                )
            )
    needed = 2 if kind == RunKind.CLASSIFICATION else 1
    if len(used) < needed:
        what = "two classes with examples" if needed == 2 else "one label with boxes"
        result.errors.append(Problem("too_few_classes", f"Training needs at least {what}; label more images."))
    elif len(used) > 1:
        ordered = sorted(counts[label_id] for label_id, _ in used)
        if ordered[-1] > IMBALANCE_RATIO * ordered[0]:
            result.warnings.append(
                Problem(
                    "class_imbalance",
                    f"The largest class has {ordered[-1]} examples, the smallest {ordered[0]}; "
                    "the model will favour the large classes. Label more of the small ones.",
                )
            )
    result.labels = used
    result.images = [r for r in records if r.negative or r.boxes or r.label_ids]
    result.examples_per_label = {name: counts[label_id] for label_id, name in used}


def _check_tiny_boxes(result: Preflight) -> None:
    tiny = [r.key for r in result.images for x, y, x2, y2, _ in r.boxes if min(x2 - x, y2 - y) < TINY_BOX_FRACTION]
    if tiny:
        result.warnings.append(
            Problem(
                "tiny_boxes",
                f"{len(tiny)} boxes are under {TINY_BOX_FRACTION:.0%} of the image side; "
                "the detector sees images shrunk to a few hundred pixels and may miss them.",
                count=len(tiny),
                examples=tuple(dict.fromkeys(tiny))[:EXAMPLES_SHOWN],
            )
        )


def _check_weights(alpha: float, allow_scratch: bool, result: Preflight) -> None:
    """Local weights pass; otherwise Keras' download (when allowed and its host answers from here),
    training from scratch, or an error."""
    if weights.find(alpha) is not None:
        return
    missing = f"The backbone's ImageNet weights for width alpha={alpha} are not on this machine"
    unreachable = weights.download_problem(alpha) if settings.ANNOTATOR_BACKBONE_DOWNLOAD else None
    if unreachable:
        missing += f" and Keras' download of them would fail ({unreachable})"
    if settings.ANNOTATOR_BACKBONE_DOWNLOAD and not unreachable:
        result.warnings.append(
            Problem(
                "weights_download",
                f"{missing}: the worker downloads them when the run starts, which needs internet. "
                f"Without internet: manage.py fetchweights --alpha {alpha} --from FILE, or set "
                "ANNOTATOR_BACKBONE_DOWNLOAD=false to have such runs refused here.",
            )
        )
    elif allow_scratch:
        result.warnings.append(
            Problem("weights_scratch", f"{missing}: the backbone trains from scratch, as allowed (much weaker models).")
        )
    else:
        result.errors.append(Problem("weights_unavailable", f"{missing}. {weights.how_to_fix(alpha)}"))
