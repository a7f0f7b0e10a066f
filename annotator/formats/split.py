"""A stratified, reproducible train/validation split.

A random split of a small detection set easily leaves a rare class out of
validation entirely, so its AP is undefined and a regression goes unseen. This uses
iterative stratification (Sechidis et al., 2011), which also copes with images that
hold several classes: classes are served rarest first, and each image goes to the
subset that still wants that class most. Targets are whole numbers per class (at
least one validation image for any class with two or more images), and the same
seed always gives the same split.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any

from .dataset import DatasetImage

TRAIN, VALIDATION = 0, 1


@dataclass(frozen=True, slots=True)
class ClassSplit:
    train_images: int = 0
    validation_images: int = 0
    train_boxes: int = 0
    validation_boxes: int = 0


@dataclass(frozen=True, slots=True)
class SplitSummary:
    """How many images and boxes of each class went to each subset."""

    seed: int
    validation_ratio: float
    train_images: int
    validation_images: int
    negative_train: int
    negative_validation: int
    unlabelled_excluded: int
    classes: dict[str, ClassSplit] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "validation_ratio": self.validation_ratio,
            "train_images": self.train_images,
            "validation_images": self.validation_images,
            "negative": {"train": self.negative_train, "validation": self.negative_validation},
            "unlabelled_excluded": self.unlabelled_excluded,
            "classes": {
                name: {
                    "train_images": c.train_images,
                    "validation_images": c.validation_images,
                    "train_boxes": c.train_boxes,
                    "validation_boxes": c.validation_boxes,
                }
                for name, c in self.classes.items()
            },
        }


def stratified_split(
    images: list[DatasetImage], validation_ratio: float, seed: int
) -> tuple[list[DatasetImage], list[DatasetImage]]:
    """(train, validation) over labelled images; unlabelled ones are left out."""
    if not 0.0 <= validation_ratio < 1.0:
        raise ValueError("validation_ratio must be in [0, 1)")
    rng = random.Random(seed)
    pool = sorted((image for image in images if image.labelled), key=lambda image: image.key)
    rng.shuffle(pool)
    with_classes = [image for image in pool if image.class_names()]
    negatives = [image for image in pool if not image.class_names()]
    chosen = _iterative(with_classes, validation_ratio, rng)
    cut = round(len(negatives) * validation_ratio)
    validation = [image for image, subset in zip(with_classes, chosen, strict=True) if subset]
    train = [image for image, subset in zip(with_classes, chosen, strict=True) if not subset]
    return train + negatives[cut:], validation + negatives[:cut]


def _iterative(images: list[DatasetImage], ratio: float, rng: random.Random) -> list[int]:
    counts: dict[str, int] = {}
    for image in images:
        for name in image.class_names():
            counts[name] = counts.get(name, 0) + 1
    wanted = {name: _validation_target(n, ratio) for name, n in counts.items()}
    desired = [{name: n - wanted[name] for name, n in counts.items()}, wanted]
    desired_total = [len(images) * (1 - ratio), len(images) * ratio]
    assigned = [-1] * len(images)
    remaining = {name: [i for i, im in enumerate(images) if name in im.class_names()] for name in counts}
    while remaining:
        rarest = min(remaining, key=lambda name: (len(remaining[name]), name))
        for i in remaining.pop(rarest):
            if assigned[i] >= 0:
                continue
            subset = _choose(desired, desired_total, rarest, rng)
            assigned[i] = subset
            desired_total[subset] -= 1
            for name in images[i].class_names():
                desired[subset][name] -= 1
        for name in remaining:
            remaining[name] = [i for i in remaining[name] if assigned[i] < 0]
        remaining = {name: left for name, left in remaining.items() if left}
    return assigned


def _validation_target(count: int, ratio: float) -> int:
    if ratio <= 0 or count < 2:
        return 0
    return min(count - 1, max(1, round(count * ratio)))


def _choose(desired: list[dict[str, int]], total: list[float], name: str, rng: random.Random) -> int:
    keys = [(desired[s][name], total[s]) for s in (TRAIN, VALIDATION)]
    if keys[TRAIN] == keys[VALIDATION]:
        return rng.choice((TRAIN, VALIDATION))
    return TRAIN if keys[TRAIN] > keys[VALIDATION] else VALIDATION


def summarise(
    images: list[DatasetImage],
    train: list[DatasetImage],
    validation: list[DatasetImage],
    validation_ratio: float,
    seed: int,
) -> SplitSummary:
    """Per-class image and box counts of a split, for the export report."""
    classes: dict[str, dict[str, int]] = {}
    for subset, members in (("train", train), ("validation", validation)):
        for image in members:
            for name in image.class_names():
                entry = classes.setdefault(name, {f.name: 0 for f in fields(ClassSplit)})
                entry[f"{subset}_images"] += 1
                entry[f"{subset}_boxes"] += sum(1 for box in image.boxes if box.label == name)
    return SplitSummary(
        seed=seed,
        validation_ratio=validation_ratio,
        train_images=len(train),
        validation_images=len(validation),
        negative_train=sum(1 for image in train if image.negative),
        negative_validation=sum(1 for image in validation if image.negative),
        unlabelled_excluded=sum(1 for image in images if not image.labelled),
        classes={name: ClassSplit(**counts) for name, counts in sorted(classes.items())},
    )
