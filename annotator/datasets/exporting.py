"""Exporting a project as a zip in any format, with its images.

Rows are read a chunk at a time and only their annotations are kept in memory;
image bytes are fetched from the bucket one at a time as the codec writes them,
so memory stays bounded by the metadata whatever the images weigh. Images whose
object left the bucket are not exported (they have no bytes to export).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from annotator.datasets.errors import DatasetError
from annotator.datasets.image_store import Progress
from annotator.formats import WRITERS, Box, Dataset, DatasetImage, FormatError, write_dataset
from annotator.formats.dataset import DatasetType
from annotator.models import Box as BoxRow
from annotator.models import Image, Project
from annotator.storage import BucketError, project_bucket

EXPORT_FORMATS = tuple(WRITERS)
CHUNK = 1000
# Already compressed: deflating JPEGs again costs time and saves nothing.
_STORED_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".record"})


def project_dataset(project: Project) -> Dataset:
    """The project's images present in the bucket, with their annotations, as a codec dataset."""
    names = dict(project.labels.order_by("order", "id").values_list("id", "name"))
    images: list[DatasetImage] = []
    present = Image.objects.present().filter(project=project).order_by("pk")
    rows = present.values_list("id", "key", "width", "height", "negative")
    last = 0
    while chunk := list(rows.filter(pk__gt=last)[:CHUNK]):
        last = chunk[-1][0]
        ids = [row[0] for row in chunk]
        boxes: dict[int, list[Box]] = defaultdict(list)
        for image_id, label_id, x, y, x2, y2 in (
            BoxRow.objects.filter(image_id__in=ids)
            .order_by("id")
            .values_list("image_id", "label_id", "x", "y", "x2", "y2")
        ):
            boxes[image_id].append(Box(names[label_id], x, y, x2, y2))
        classes: dict[int, list[str]] = defaultdict(list)
        through = Image.labels.through.objects.filter(image_id__in=ids).order_by("label_id")
        for image_id, label_id in through.values_list("image_id", "label_id"):
            classes[image_id].append(names[label_id])
        for pk, key, width, height, negative in chunk:
            negative = negative and not boxes[pk] and not classes[pk]
            images.append(DatasetImage(key, width, height, boxes[pk], classes[pk], negative))
    images.sort(key=lambda image: image.key)
    return Dataset(cast(DatasetType, project.type), list(names.values()), images)  # Dataset checks the type


def export_dataset(
    project: Project, format: str, out_zip: Path, *, split: float = 0.8, seed: int = 0, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the project as `format` into the zip `out_zip`; returns a summary for the report."""
    if format not in EXPORT_FORMATS:
        raise DatasetError("unknown_format", f"Unknown format {format!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    if not 0.0 < split <= 1.0:
        raise DatasetError("invalid_split", "split is the share of images for training, above 0 and at most 1.")
    dataset = project_dataset(project)
    if not dataset.images:
        raise DatasetError("empty_project", "The project has no images to export.")
    options: dict[str, Any] = {"validation_ratio": round(1.0 - split, 6), "seed": seed} if format == "tfrecord" else {}
    reader = _bytes_reader(project, len(dataset.images), progress)
    with tempfile.TemporaryDirectory(prefix="annotator-export-") as tmp:
        folder = Path(tmp) / "dataset"
        try:
            result = write_dataset(dataset, folder, format, image_bytes=reader, **options)
        except FormatError as error:
            raise DatasetError.from_format_error(error) from None
        except BucketError as exc:
            raise DatasetError(exc.code, f"Reading an image from the bucket failed: {exc}") from None
        _zip_folder(folder, out_zip)
    summary: dict[str, Any] = {
        "format": format,
        "images": len(dataset.images),
        "boxes": sum(len(image.boxes) for image in dataset.images),
        "labels": len(dataset.labels),
    }
    if result is not None:
        summary["split"] = result.to_dict()
    return summary


def _bytes_reader(project: Project, total: int, progress: Progress | None) -> Callable[[DatasetImage], bytes]:
    bucket = project_bucket(project)
    done = 0

    def read(image: DatasetImage) -> bytes:
        nonlocal done
        done += 1
        if progress is not None:
            progress("images", done, total)
        return bucket.read(image.key)

    return read


def _zip_folder(folder: Path, out_zip: Path) -> None:
    """Zip what the codec wrote, one file at a time, written beside the target then moved into place."""
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    partial = out_zip.with_name(f".{out_zip.name}.partial")
    with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                compression = zipfile.ZIP_STORED if path.suffix.lower() in _STORED_SUFFIXES else zipfile.ZIP_DEFLATED
                archive.write(path, path.relative_to(folder).as_posix(), compress_type=compression)
    os.replace(partial, out_zip)
