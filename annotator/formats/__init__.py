"""Dataset formats: pure-Python codecs between files on disk and `Dataset`.

Nothing here imports Django; the import and export services translate between
these plain objects and the database. Readers take an already extracted, already
vetted folder (see `annotator.archives`). Each format module has
`read(path, *, skip_invalid=False) -> ReadResult` (except TFRecord, export only)
and `write(dataset, out, *, image_bytes=None, ...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import cloud_annotations, coco, createml, csv_boxes, folders, tfrecord, voc, yolo
from .dataset import Box, Dataset, DatasetImage, FormatError, ReadResult
from .detect import detect_format
from .files import dataset_root

Reader = Callable[..., ReadResult]
Writer = Callable[..., Any]

READERS: dict[str, Reader] = {
    module.FORMAT_ID: module.read for module in (cloud_annotations, voc, coco, yolo, createml, csv_boxes, folders)
}
WRITERS: dict[str, Writer] = {
    module.FORMAT_ID: module.write
    for module in (cloud_annotations, voc, coco, yolo, createml, csv_boxes, folders, tfrecord)
}

__all__ = [
    "READERS",
    "WRITERS",
    "Box",
    "Dataset",
    "DatasetImage",
    "FormatError",
    "ReadResult",
    "detect_format",
    "read_dataset",
    "write_dataset",
]


def read_dataset(path: Path, format: str = "auto", skip_invalid: bool = False) -> ReadResult:
    """Read the dataset extracted at `path`; `format="auto"` detects it first."""
    root = dataset_root(path)
    format_id = detect_format(root) if format == "auto" else format
    if format_id not in READERS:
        raise FormatError("unknown_format", f"cannot import {format_id!r}; known: {sorted(READERS)}")
    return READERS[format_id](root, skip_invalid=skip_invalid)


def write_dataset(dataset: Dataset, out: Path, format: str, **options: Any) -> Any:
    """Write `dataset` under `out` as `format`; TFRecord returns its split summary."""
    if format not in WRITERS:
        raise FormatError("unknown_format", f"cannot export {format!r}; known: {sorted(WRITERS)}")
    out.mkdir(parents=True, exist_ok=True)
    return WRITERS[format](dataset, out, **options)
