"""Apple Create ML object detection JSON.

`[{"image": name, "annotations": [{"label", "coordinates": {"x", "y", "width",
"height"}}]}]` where x, y is the box CENTRE in pixels. Sizes are not stored, so
they come from the image headers. Every such JSON under the folder is read (one per
split is common). An entry with no annotations is a negative image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checks import SkipLog, Where, checked_label, number, pixel_box, shown
from .dataset import Box, Dataset, DatasetImage, FormatError, ReadResult
from .files import (
    ImageBytes,
    ImageIndex,
    image_size,
    relative_key,
    walk_files,
    with_unannotated,
    write_file,
    write_images,
)
from .jsonfile import load_json

FORMAT_ID = "createml"
FILENAME = "annotations.json"
_COORDS = ("x", "y", "width", "height")


def is_createml(doc: Any) -> bool:
    return isinstance(doc, list) and all(isinstance(e, dict) and "image" in e for e in doc)


def read(path: Path, *, skip_invalid: bool = False) -> ReadResult:
    """Read every Create ML JSON under `path` and size the images from their headers."""
    index = ImageIndex(path, strip_image_dir=False)
    log = SkipLog(skip_invalid)
    found: dict[str, DatasetImage] = {}
    documents = [(p, load_json(p, relative_key(p, path))) for p in walk_files(path) if p.suffix.lower() == ".json"]
    documents = [(p, doc) for p, doc in documents if is_createml(doc)]
    if not documents:
        raise FormatError("missing_file", "no Create ML JSON (a list of {image, annotations}) found")
    for json_path, doc in documents:
        where = Where(relative_key(json_path, path))
        near = relative_key(json_path.parent, path)
        for i, entry in enumerate(doc):
            try:
                image = _entry(entry, f"[{i}]", where, index, "" if near == "." else near, log)
                if image.key in found:
                    raise where.error("duplicate_image", f"{image.key} is listed twice", f"[{i}].image")
            except FormatError as error:
                log.reject(error)
                continue
            found[image.key] = image
    images = with_unannotated(index, found, log)
    labels = sorted({box.label for image in images for box in image.boxes})
    return ReadResult(Dataset("localization", labels, images), log.skipped)


def _entry(entry: dict[str, Any], field: str, where: Where, index: ImageIndex, near: str, log: SkipLog) -> DatasetImage:
    name = entry.get("image")
    key = index.find(name, near) if isinstance(name, str) else None
    if key is None:
        raise where.error("missing_image", f"no image file {shown(name)}", f"{field}.image")
    source = index.by_key[key]
    size = image_size(source, key)
    annotations = entry.get("annotations", [])
    if not isinstance(annotations, list):
        raise where.error("bad_json", "annotations must be a list", f"{field}.annotations")
    boxes: list[Box] = []
    for i, annotation in enumerate(annotations):
        try:
            boxes.append(_box(annotation, f"{field}.annotations[{i}]", size, where))
        except FormatError as error:
            log.reject(error)
    return DatasetImage(key, *size, boxes, negative=not annotations, source=source)


def _box(annotation: Any, field: str, size: tuple[int, int], where: Where) -> Box:
    if not isinstance(annotation, dict) or not isinstance(annotation.get("coordinates"), dict):
        raise where.error("bad_json", "annotation needs a label and coordinates", field)
    label = checked_label(annotation.get("label"), where, f"{field}.label")
    coordinates = annotation["coordinates"]
    cx, cy, w, h = (number(coordinates.get(n), where, f"{field}.coordinates.{n}") for n in _COORDS)
    if w <= 0 or h <= 0:
        raise where.error("degenerate_box", f"box has no area: width={w}, height={h}", f"{field}.coordinates")
    fields = tuple(f"{field}.coordinates.{n}" for n in ("x", "y", "x", "y"))
    coords = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return pixel_box(label, coords, size, where, fields)  # type: ignore[arg-type]


def write(dataset: Dataset, out: Path, *, image_bytes: ImageBytes | None = None) -> None:
    """Write `annotations.json` beside the images (written at their keys with bytes)."""
    if dataset.type != "localization":
        raise FormatError("unsupported_type", "Create ML object detection holds boxes")
    entries = []
    for image in dataset.images:
        if not image.labelled:
            continue
        annotations = []
        for box in image.boxes:
            w, h = (box.x2 - box.x) * image.width, (box.y2 - box.y) * image.height
            centre = {"x": box.x * image.width + w / 2, "y": box.y * image.height + h / 2}
            annotations.append({"label": box.label, "coordinates": {**centre, "width": w, "height": h}})
        entries.append({"image": image.key, "annotations": annotations})
    write_file(out, FILENAME, json.dumps(entries, ensure_ascii=False).encode())
    write_images(out, dataset.images, image_bytes)
