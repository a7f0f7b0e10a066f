"""Cloud Annotations v1 — the one codec for `_annotations.json`.

This is the interchange file IBM Cloud Annotations kept in each bucket, so a bucket
that already has one imports as it was. Two readers share one set of record rules:

- ``read(path)`` imports a dataset folder a person uploaded: every image is sized from
  its file, the label list is checked name by name, and a record naming a label the file
  does not list is refused (``unknown_class``). A bad record refuses the import, or with
  ``skip_invalid`` leaves that image unlabelled and is listed — never half its boxes.
- ``parse(data)`` + ``read_entry(...)`` read a bucket's file record by record (``strict=False``):
  images stay in the bucket (sizes come from the database), one bad record written years
  ago by another tool must not block the others, odd label names are judged where they are
  used, and labels used but not listed are accepted.

In both, a key mapped to ``[]`` is a negative image, and in localization files an
image-level ``{"label": "Negative"}`` entry (no coordinates) marks the image negative too,
as Cloud Annotations wrote it. An image the file does not mention is unlabelled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checks import SkipLog, Where, checked_label, normalised_box, number, shown
from .dataset import DATASET_TYPES, Box, Dataset, DatasetImage, DatasetType, FormatError, ReadResult
from .files import ImageBytes, ImageIndex, image_size, write_file, write_images
from .jsonfile import load_json

FORMAT_ID = "cloud-annotations"
FILENAME = "_annotations.json"
NEGATIVE_LABEL = "negative"
_BOX_KEYS = ("x", "y", "x2", "y2")
_WHERE = Where(FILENAME)


@dataclass
class Document:
    type: DatasetType
    labels: list[str]
    annotations: dict[str, Any]


@dataclass
class Entry:
    """One image's record: boxes, or image-level labels, or negative."""

    boxes: list[Box] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    negative: bool = False


def parse(data: bytes) -> Document:
    """A bucket's file, leniently; raises FormatError when it is not a Cloud Annotations file at all."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _WHERE.error("bad_json", f"malformed JSON: {exc}") from None
    except RecursionError:
        raise _WHERE.error("bad_json", "the JSON is nested too deeply") from None
    return outline(doc, strict=False)


def outline(doc: Any, *, strict: bool) -> Document:
    """Type, labels and the annotations object. Strict: every listed name must be a valid label;
    lenient: names are kept if they are non-empty strings and judged where records use them."""
    if not isinstance(doc, dict):
        raise _WHERE.error("bad_json", "expected a JSON object at the top level")
    kind = doc.get("type", "localization")
    if kind not in DATASET_TYPES:
        raise _WHERE.error("bad_value", f"type must be one of {DATASET_TYPES}, not {shown(kind)}", "type")
    labels, annotations = doc.get("labels", []), doc.get("annotations", {})
    if not isinstance(labels, list):
        raise _WHERE.error("bad_json", "labels must be a list of names", "labels")
    if not isinstance(annotations, dict):
        raise _WHERE.error("bad_json", "annotations must be an object keyed by image", "annotations")
    if strict:
        names = [checked_label(name, _WHERE, f"labels[{i}]") for i, name in enumerate(labels)]
    else:
        names = [name.strip() for name in labels if isinstance(name, str) and name.strip()]
    return Document(kind, list(dict.fromkeys(names)), annotations)


def read_entry(
    key: str, records: Any, size: tuple[int, int], boxes_wanted: bool, listed: set[str] | None = None
) -> Entry:
    """One image's annotations; raises FormatError on its first bad record. ``listed``: the
    labels a record may use (strict reading); None accepts any valid name."""
    field_name = f"annotations[{json.dumps(key)}]"
    if not isinstance(records, list):
        raise _WHERE.error("bad_json", "expected a list of annotations", field_name)
    entry = Entry(negative=not records)
    for i, record in enumerate(records):
        where = f"{field_name}[{i}]"
        if not isinstance(record, dict):
            raise _WHERE.error("bad_json", "expected an annotation object", where)
        label = checked_label(record.get("label"), _WHERE, f"{where}.label")
        if boxes_wanted and not _has_box(record) and label.lower() == NEGATIVE_LABEL:
            entry.negative = True
            continue
        if listed is not None and label not in listed:
            raise _WHERE.error("unknown_class", f"label {shown(label)} is not in labels", f"{where}.label")
        if not boxes_wanted:
            entry.labels.append(label)
        elif _has_box(record):
            coords = tuple(number(record.get(name), _WHERE, f"{where}.{name}") for name in _BOX_KEYS)
            fields = tuple(f"{where}.{name}" for name in _BOX_KEYS)
            entry.boxes.append(normalised_box(label, coords, size, _WHERE, fields))  # type: ignore[arg-type]
        else:
            raise _WHERE.error("missing_box", "a localization record needs x, y, x2 and y2", where)
    entry.labels = list(dict.fromkeys(entry.labels))
    if entry.negative and (entry.boxes or entry.labels):
        raise _WHERE.error("negative_with_annotations", "an image marked Negative cannot have annotations", field_name)
    return entry


def labels_used(doc: Document, boxes_wanted: bool) -> list[str]:
    """The file's labels, then any its records use without listing them, in first-seen order
    (case-insensitively distinct), leaving out the image-level Negative marker of box files."""
    names = list(doc.labels)
    for records in doc.annotations.values():
        for record in records if isinstance(records, list) else []:
            label = record.get("label") if isinstance(record, dict) else None
            if not isinstance(label, str) or not label.strip():
                continue
            marker = boxes_wanted and label.strip().lower() == NEGATIVE_LABEL and not _has_box(record)
            if not marker:
                names.append(label.strip())
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def _has_box(record: dict[str, Any]) -> bool:
    return any(name in record for name in _BOX_KEYS)


def read(path: Path, *, skip_invalid: bool = False) -> ReadResult:
    """Read a dataset folder's `_annotations.json` strictly and size every image from its header."""
    doc = outline(load_json(path / FILENAME, FILENAME), strict=True)
    index = ImageIndex(path, strip_image_dir=False)
    log = SkipLog(skip_invalid)
    for key in doc.annotations:
        if key not in index.by_key:
            log.reject(_WHERE.error("missing_image", f"no image file {shown(key)}", f"annotations[{json.dumps(key)}]"))
    images = []
    listed = set(doc.labels)
    for key, source in sorted(index.by_key.items()):
        try:
            size = image_size(source, key)
        except FormatError as error:
            log.reject(error)
            continue
        entry, records = Entry(), doc.annotations.get(key)
        if records is not None:
            try:
                entry = read_entry(key, records, size, doc.type == "localization", listed)
            except FormatError as error:
                log.reject(error)
        images.append(DatasetImage(key, *size, entry.boxes, entry.labels, entry.negative, source=source))
    return ReadResult(Dataset(doc.type, doc.labels, images), log.skipped)


def render(kind: str, labels: list[str], annotations: Iterable[tuple[str, list[dict[str, Any]]]]) -> bytes:
    """A bucket's whole file, one PUT's worth: version, type, labels, then every labelled image."""
    doc = {"version": "1.0", "type": kind, "labels": labels, "annotations": dict(annotations)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


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
    doc = {"version": "1.0", "type": dataset.type, "labels": dataset.labels, "annotations": annotations}
    write_file(out, FILENAME, json.dumps(doc, ensure_ascii=False, indent=1).encode())
    write_images(out, dataset.images, image_bytes)
