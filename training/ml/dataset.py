"""Plain-Python description of a training set, independent of TensorFlow and Django.

The worker builds a ``TrainingSet`` from a dataset snapshot; tests and benchmarks build one
from a labelImg (Pascal VOC) folder with ``from_voc_folder``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from defusedxml import ElementTree

from .errors import DatasetError

CLASSIFICATION = "classification"
DETECTION = "detection"
KINDS = (CLASSIFICATION, DETECTION)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Box:
    """A box normalised to 0..1 (origin top left) with the index of its label."""

    x: float
    y: float
    x2: float
    y2: float
    label: int

    @property
    def area(self) -> float:
        return max(self.x2 - self.x, 0.0) * max(self.y2 - self.y, 0.0)


@dataclass(frozen=True)
class Sample:
    """One local image: a class index (classification) or boxes (detection).

    ``crop`` (normalised x, y, x2, y2) lets a classifier train on a region of the image, e.g.
    on objects cut out of a detection dataset, without writing crops to disk.
    """

    image_path: str
    label: int | None = None
    boxes: tuple[Box, ...] = ()
    crop: tuple[float, float, float, float] | None = None

    @property
    def class_index(self) -> int:
        """``label``, which every classification sample has (``TrainingSet.validate`` checks)."""
        if self.label is None:
            raise DatasetError(f"{self.image_path}: a classification sample without a label")
        return self.label


@dataclass(frozen=True)
class TrainingSet:
    kind: str
    labels: tuple[str, ...]
    train: tuple[Sample, ...]
    validation: tuple[Sample, ...]

    def validate(self) -> None:
        """Fail early with every problem at once, so a run never dies half way."""
        problems = []
        if self.kind not in KINDS:
            problems.append(f"unknown kind {self.kind!r}")
        if not self.labels:
            problems.append("no labels")
        if not self.train:
            problems.append("no training samples")
        for split, samples in (("train", self.train), ("validation", self.validation)):
            for sample in samples:
                problems.extend(f"{split}: {p}" for p in _sample_problems(self, sample))
        if problems:
            raise DatasetError("; ".join(problems[:20]))


def _sample_problems(data: TrainingSet, sample: Sample) -> list[str]:
    where = sample.image_path
    if not Path(sample.image_path).is_file():
        return [f"{where}: image file missing"]
    if data.kind == CLASSIFICATION:
        if sample.label is None or not 0 <= sample.label < len(data.labels):
            return [f"{where}: label index {sample.label} out of range"]
        return []
    problems = []
    for box in sample.boxes:
        if not 0 <= box.label < len(data.labels):
            problems.append(f"{where}: box label {box.label} out of range")
        if not (0 <= box.x < box.x2 <= 1 and 0 <= box.y < box.y2 <= 1):
            problems.append(f"{where}: degenerate or out-of-image box {box}")
    return problems


def split_samples(
    samples: Sequence[Sample], validation_fraction: float, seed: int
) -> tuple[tuple[Sample, ...], tuple[Sample, ...]]:
    """Deterministic shuffled split; the seed is part of the dataset snapshot."""
    order = list(samples)
    random.Random(seed).shuffle(order)
    n_val = round(len(order) * validation_fraction)
    return tuple(order[n_val:]), tuple(order[:n_val])


def read_voc_file(xml_path: Path) -> tuple[str, int, int, list[tuple[str, tuple[float, ...]]]]:
    """Return (filename, width, height, [(name, (x, y, x2, y2) normalised)]) of a labelImg XML."""
    root = ElementTree.parse(xml_path).getroot()
    width = float(root.findtext("size/width"))
    height = float(root.findtext("size/height"))
    objects = []
    for obj in root.iter("object"):
        bnd = obj.find("bndbox")
        x1, y1, x2, y2 = (float(bnd.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        box = (x1 / width, y1 / height, x2 / width, y2 / height)
        objects.append((obj.findtext("name").strip(), tuple(min(max(v, 0.0), 1.0) for v in box)))
    return root.findtext("filename"), int(width), int(height), objects


def voc_samples(folder: str | Path, labels: Sequence[str] | None = None) -> tuple[tuple[str, ...], list[Sample]]:
    """Detection samples from a folder of images with labelImg XML next to them (or in
    ``annotations/`` beside ``images/``). Labels default to first-seen order."""
    folder = Path(folder)
    xml_files, image_dir = sorted(folder.glob("*.xml")), folder
    if not xml_files:
        xml_files, image_dir = sorted((folder / "annotations").glob("*.xml")), folder / "images"
    if not xml_files:
        raise DatasetError(f"no labelImg XML files in {folder}")
    names = list(labels or [])
    samples = []
    for xml_path in xml_files:
        filename, _, _, objects = read_voc_file(xml_path)
        image_path = _find_image(image_dir, filename, xml_path.stem)
        boxes = []
        for name, (x, y, x2, y2) in objects:
            if name not in names:
                if labels is not None:
                    raise DatasetError(f"{xml_path}: label {name!r} not in {list(labels)}")
                names.append(name)
            boxes.append(Box(x, y, x2, y2, names.index(name)))
        samples.append(Sample(str(image_path), boxes=tuple(boxes)))
    return tuple(names), samples


def _find_image(image_dir: Path, filename: str | None, stem: str) -> Path:
    if filename and (image_dir / filename).is_file():
        return image_dir / filename
    for path in image_dir.glob(stem + ".*"):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return path
    raise DatasetError(f"no image for {stem} in {image_dir}")


# The context kept around a box when it is cut out for a classifier (training and suggestions alike).
CROP_MARGIN = 0.05


def crop_window(
    box: tuple[float, float, float, float], margin: float = CROP_MARGIN
) -> tuple[float, float, float, float]:
    """The normalised window a classifier sees of box ``x, y, x2, y2``: the box grown by ``margin``
    of its size on every side, clipped to the image."""
    x, y, x2, y2 = box
    mx, my = (x2 - x) * margin, (y2 - y) * margin
    return (max(x - mx, 0.0), max(y - my, 0.0), min(x2 + mx, 1.0), min(y2 + my, 1.0))


def crops_as_classification(samples: Iterable[Sample], margin: float = CROP_MARGIN) -> list[Sample]:
    """One classification sample per box, cropping the box (plus a small margin) at load time."""
    return [
        replace(sample, label=box.label, boxes=(), crop=crop_window((box.x, box.y, box.x2, box.y2), margin))
        for sample in samples
        for box in sample.boxes
    ]
