"""The `_annotations.json` document of a bucket, parsed leniently and written in full.

annotator/formats/cloud_annotations.py reads a dataset from a folder and sizes every
image from its file, refusing the whole file on the first bad record: right for an
import a person uploads. A bucket's file is different: images stay in the bucket
(their sizes come from the database), and one bad record written years ago by
another tool must not block the others. So this module parses the same format
record by record, reusing the formats' label and number checks, and keeps each
complaint for the sync's report.

Negative images: `[]` is the negative marker in both project types (as the formats
codec writes it); in localization files an image-level `{"label": "Negative"}` entry
(no coordinates) is read as negative too, as Cloud Annotations wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from annotator.formats.checks import Where, checked_label, normalised_box, number

FILENAME = "_annotations.json"
NEGATIVE_LABEL = "negative"
_BOX_KEYS = ("x", "y", "x2", "y2")
_WHERE = Where(FILENAME)


@dataclass
class Entry:
    """One image's record: boxes as (label, x, y, x2, y2), or image-level labels, or negative."""

    boxes: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    negative: bool = False


@dataclass
class Document:
    type: str
    labels: list[str]
    annotations: dict[str, list[Any]]


def parse(data: bytes) -> Document:
    """The document's outline; raises FormatError when it is not a Cloud Annotations file at all."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _WHERE.error("bad_json", f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _WHERE.error("bad_json", "expected a JSON object at the top level")
    kind = doc.get("type", "localization")
    if kind not in ("localization", "classification"):
        raise _WHERE.error("bad_value", f"type must be localization or classification, not {kind!r}", "type")
    labels = doc.get("labels", [])
    annotations = doc.get("annotations", {})
    if not isinstance(labels, list):
        raise _WHERE.error("bad_json", "labels must be a list of names", "labels")
    if not isinstance(annotations, dict):
        raise _WHERE.error("bad_json", "annotations must be an object keyed by image", "annotations")
    # Names are checked where they are used, so one odd name does not refuse the whole file.
    names = [name.strip() for name in labels if isinstance(name, str) and name.strip()]
    return Document(kind, list(dict.fromkeys(names)), annotations)


def read_entry(key: str, records: Any, size: tuple[int, int], boxes_wanted: bool) -> Entry:
    """One image's annotations for a project that wants boxes (or image-level labels)."""
    field_name = f"annotations[{json.dumps(key)}]"
    if not isinstance(records, list):
        raise _WHERE.error("bad_json", "expected a list of annotations", field_name)
    entry = Entry(negative=not records)
    for i, record in enumerate(records):
        where = f"{field_name}[{i}]"
        if not isinstance(record, dict):
            raise _WHERE.error("bad_json", "expected an annotation object", where)
        label = checked_label(record.get("label"), _WHERE, f"{where}.label")
        if not boxes_wanted:
            entry.labels.append(label)
        elif _has_box(record):
            coords = tuple(number(record.get(name), _WHERE, f"{where}.{name}") for name in _BOX_KEYS)
            box = normalised_box(label, coords, size, _WHERE, tuple(f"{where}.{n}" for n in _BOX_KEYS))  # type: ignore[arg-type]
            entry.boxes.append((box.label, box.x, box.y, box.x2, box.y2))
        elif label.lower() == NEGATIVE_LABEL:
            entry.negative = True
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


def render(kind: str, labels: list[str], annotations: Iterable[tuple[str, list[dict[str, Any]]]]) -> bytes:
    """The whole file, one PUT's worth: version, type, labels, then every labelled image."""
    doc = {"version": "1.0", "type": kind, "labels": labels, "annotations": dict(annotations)}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
