"""Cloud Annotations v1: `_annotations.json` at the root, images keyed by their path.

This is the interchange file IBM Cloud Annotations kept in each bucket, so a bucket
that already has one imports as it was. A key mapped to `[]` is a negative image; an
image on disk that the file does not mention is unlabelled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checks import SkipLog, Where, checked_label, normalised_box, number, shown
from .dataset import DATASET_TYPES, Box, Dataset, DatasetImage, FormatError, ReadResult
from .files import ImageBytes, ImageIndex, image_size, write_file, write_images
from .jsonfile import load_json

FORMAT_ID = "cloud-annotations"
FILENAME = "_annotations.json"
_BOX_KEYS = ("x", "y", "x2", "y2")


def read(path: Path, *, skip_invalid: bool = False) -> ReadResult:
    """Read `_annotations.json` and size every image from its header."""
    doc = load_json(path / FILENAME, FILENAME)
    where = Where(FILENAME)
    if not isinstance(doc, dict):
        raise where.error("bad_json", "expected a JSON object at the top level")
    kind = doc.get("type", "localization")
    if kind not in DATASET_TYPES:
        raise where.error("bad_value", f"type must be one of {DATASET_TYPES}, not {shown(kind)}", "type")
    labels = _labels(doc.get("labels", []), where)
    annotations = doc.get("annotations", {})
    if not isinstance(annotations, dict):
        raise where.error("bad_json", "annotations must be an object keyed by image", "annotations")
    index = ImageIndex(path, strip_image_dir=False)
    log = SkipLog(skip_invalid)
    for key in annotations:
        if key not in index.by_key:
            field = f"annotations[{json.dumps(key)}]"
            log.reject(where.error("missing_image", f"no image file {shown(key)}", field))
    images = []
    for key, source in sorted(index.by_key.items()):
        try:
            size = image_size(source, key)
        except FormatError as error:
            log.reject(error)
            continue
        images.append(_image(key, source, size, annotations.get(key), kind, set(labels), log))
    return ReadResult(Dataset(kind, labels, images), log.skipped)


def _labels(value: Any, where: Where) -> list[str]:
    if not isinstance(value, list):
        raise where.error("bad_json", "labels must be a list of names", "labels")
    labels = [checked_label(name, where, f"labels[{i}]") for i, name in enumerate(value)]
    return list(dict.fromkeys(labels))


def _image(
    key: str,
    source: Path,
    size: tuple[int, int],
    entries: Any,
    kind: str,
    labels: set[str],
    log: SkipLog,
) -> DatasetImage:
    field = f"annotations[{json.dumps(key)}]"
    if entries is None:
        return DatasetImage(key, *size, source=source)
    if not isinstance(entries, list):
        log.reject(Where(FILENAME).error("bad_json", "expected a list of annotations", field))
        return DatasetImage(key, *size, source=source)
    boxes: list[Box] = []
    names: list[str] = []
    for i, entry in enumerate(entries):
        try:
            label = _entry_label(entry, labels, f"{field}[{i}]")
            if kind == "localization":
                boxes.append(_box(entry, label, size, f"{field}[{i}]"))
            elif label not in names:
                names.append(label)
        except FormatError as error:
            log.reject(error)
    negative = not entries
    return DatasetImage(key, *size, boxes=boxes, labels=names, negative=negative, source=source)


def _entry_label(entry: Any, labels: set[str], field: str) -> str:
    where = Where(FILENAME)
    if not isinstance(entry, dict):
        raise where.error("bad_json", "expected an annotation object", field)
    label = checked_label(entry.get("label"), where, f"{field}.label")
    if label not in labels:
        raise where.error("unknown_class", f"label {shown(label)} is not in labels", f"{field}.label")
    return label


def _box(entry: dict[str, Any], label: str, size: tuple[int, int], field: str) -> Box:
    where = Where(FILENAME)
    coords = tuple(number(entry.get(name), where, f"{field}.{name}") for name in _BOX_KEYS)
    fields = tuple(f"{field}.{name}" for name in _BOX_KEYS)
    return normalised_box(label, coords, size, where, fields)  # type: ignore[arg-type]


def write(dataset: Dataset, out: Path, *, image_bytes: ImageBytes | None = None) -> None:
    """Write `_annotations.json` (and each image at its key when bytes are given)."""
    annotations: dict[str, list[dict[str, Any]]] = {}
    for image in dataset.images:
        if not image.labelled:
            continue
        if dataset.type == "classification":
            annotations[image.key] = [{"label": label} for label in image.labels]
        else:
            annotations[image.key] = [
                {"x": b.x, "y": b.y, "x2": b.x2, "y2": b.y2, "label": b.label} for b in image.boxes
            ]
    doc = {
        "version": "1.0",
        "type": dataset.type,
        "labels": dataset.labels,
        "annotations": annotations,
    }
    write_file(out, FILENAME, json.dumps(doc, ensure_ascii=False, indent=1).encode())
    write_images(out, dataset.images, image_bytes)
