"""Guessing a dataset's format from its files, for `--format auto`.

Each format has a cheap signature (a file name or a few bytes of content). Class
folders have none of their own, so they are chosen only when nothing else matches.
Two matching signatures are an error rather than a guess: importing with the wrong
codec would silently drop annotations.
"""

from __future__ import annotations

import json
from pathlib import Path

from .cloud_annotations import FILENAME as CLOUD_ANNOTATIONS_FILE
from .createml import is_createml
from .dataset import FormatError
from .files import is_image, walk_files
from .folders import LABELS_FILE
from .yolo import CLASSES_FILE

_SAMPLE = 4096
_MAX_XML_SAMPLES = 5
_COCO_MARKERS = (b'"images"', b'"annotations"', b'"categories"')


def detect_format(path: Path) -> str:
    """The one format id whose signature `path` carries, else a FormatError."""
    files = list(walk_files(path))
    matches = [format_id for format_id, matcher in _MATCHERS.items() if matcher(path, files)]
    if len(matches) > 1:
        raise FormatError(
            "ambiguous_format",
            f"the files look like several formats ({', '.join(matches)}); choose one explicitly",
        )
    if matches:
        return matches[0]
    if _is_folders(path, files):
        return "folders"
    raise FormatError(
        "unknown_format",
        "no known dataset format found: expected _annotations.json, Pascal VOC XML, COCO JSON, "
        "YOLO labels with classes.txt or data.yaml, Create ML JSON, a CSV with "
        "filename,width,height,class,xmin,ymin,xmax,ymax, or one folder per class",
    )


def _head(path: Path, size: int = _SAMPLE) -> bytes:
    with path.open("rb") as stream:
        return stream.read(size)


def _is_cloud_annotations(root: Path, files: list[Path]) -> bool:
    return (root / CLOUD_ANNOTATIONS_FILE).is_file()


def _is_voc(root: Path, files: list[Path]) -> bool:
    xml_files = [p for p in files if p.suffix.lower() == ".xml"][:_MAX_XML_SAMPLES]
    return any(b"<annotation" in _head(p) for p in xml_files)


def _json_files(files: list[Path]) -> list[Path]:
    return [p for p in files if p.suffix.lower() == ".json" and p.name != CLOUD_ANNOTATIONS_FILE]


def _is_coco(root: Path, files: list[Path]) -> bool:
    for json_path in _json_files(files):
        data = json_path.read_bytes()
        if data.lstrip()[:1] == b"{" and all(marker in data for marker in _COCO_MARKERS):
            return True
    return False


def _is_createml(root: Path, files: list[Path]) -> bool:
    for json_path in _json_files(files):
        if _head(json_path, 64).lstrip()[:1] != b"[":
            continue
        try:
            doc = json.loads(json_path.read_bytes())
        except (ValueError, RecursionError):  # the reader names the problem if this is the format
            continue
        if doc and is_createml(doc):
            return True
    return False


def _is_yolo(root: Path, files: list[Path]) -> bool:
    for file_path in files:
        if file_path.name.lower() == CLASSES_FILE:
            return True
        if file_path.suffix.lower() in (".yaml", ".yml") and b"names" in _head(file_path):
            return True
    return False


def _is_csv(root: Path, files: list[Path]) -> bool:
    for csv_path in (p for p in files if p.suffix.lower() == ".csv"):
        header = _head(csv_path, 512).split(b"\n", 1)[0].lower()
        if all(column in header for column in (b"filename", b"class", b"xmin")):
            return True
    return False


def _is_folders(root: Path, files: list[Path]) -> bool:
    if (root / LABELS_FILE).is_file():
        return True
    return any(is_image(p) and len(p.relative_to(root).parts) > 1 for p in files)


_MATCHERS = {
    "cloud-annotations": _is_cloud_annotations,
    "voc": _is_voc,
    "coco": _is_coco,
    "yolo": _is_yolo,
    "createml": _is_createml,
    "csv": _is_csv,
}
