"""COCO object detection JSON: pixel `bbox` [x, y, width, height] and categories.

Every JSON file under the folder that has `images`, `annotations` and `categories`
is read, so split exports (`train/_annotations.coco.json`, `valid/...`) import as
one dataset. A listed image without annotations is negative (COCO's background
images); an image file that no JSON lists is unlabelled.

Within one file, image, category and annotation ids must each be unique. A repeated id
is ambiguous (which image does `image_id: 3` mean?), so the file is refused naming the
id, even with skip-invalid: leaving out either record could keep the wrong one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checks import SkipLog, Where, checked_label, number, pixel_box, positive_int, shown
from .dataset import Box, Dataset, DatasetImage, FormatError, ReadResult
from .files import (
    ImageBytes,
    ImageIndex,
    relative_key,
    walk_files,
    with_unannotated,
    write_file,
    write_images,
)
from .jsonfile import load_json

FORMAT_ID = "coco"
FILENAME = "annotations.json"
_COCO_KEYS = ("images", "annotations", "categories")


def is_coco(doc: Any) -> bool:
    return isinstance(doc, dict) and all(isinstance(doc.get(key), list) for key in _COCO_KEYS)


def read(path: Path, *, skip_invalid: bool = False) -> ReadResult:
    """Merge every COCO JSON under `path`, matching `file_name` to image files."""
    index = ImageIndex(path)
    log = SkipLog(skip_invalid)
    labels: list[str] = []
    found: dict[str, DatasetImage] = {}
    files = [p for p in walk_files(path) if p.suffix.lower() == ".json"]
    documents = [(p, load_json(p, relative_key(p, path))) for p in files]
    documents = [(p, doc) for p, doc in documents if is_coco(doc)]
    if not documents:
        raise FormatError("missing_file", "no COCO JSON (images, annotations, categories) found")
    for json_path, doc in documents:
        _read_document(doc, _Context(relative_key(json_path, path), json_path, index, log, labels, found))
    images = with_unannotated(index, found, log)
    return ReadResult(Dataset("localization", labels, images), log.skipped)


class _Context:
    """What reading one COCO document needs, and where its results go."""

    def __init__(
        self,
        file: str,
        json_path: Path,
        index: ImageIndex,
        log: SkipLog,
        labels: list[str],
        found: dict[str, DatasetImage],
    ) -> None:
        self.where = Where(file)
        folder = json_path.parent
        self.near = relative_key(folder, index.base) if folder.is_relative_to(index.base) else ""
        self.index, self.log, self.labels, self.found = index, log, labels, found


def _read_document(doc: dict[str, Any], ctx: _Context) -> None:
    for kind in _COCO_KEYS:
        _check_unique_ids(doc[kind], kind, ctx.where)
    categories = _categories(doc["categories"], ctx)
    entries: dict[Any, tuple[str, tuple[int, int]]] = {}
    for i, entry in enumerate(doc["images"]):
        try:
            image_id, key, size = _image_entry(entry, f"images[{i}]", ctx)
        except FormatError as error:
            ctx.log.reject(error)
            continue
        entries[image_id] = (key, size)
    boxes: dict[Any, list[Box]] = {image_id: [] for image_id in entries}
    mentioned: set[Any] = set()
    for i, ann in enumerate(doc["annotations"]):
        if isinstance(ann, dict) and _hashable(ann.get("image_id")):
            mentioned.add(ann["image_id"])
        try:
            image_id, box = _annotation(ann, f"annotations[{i}]", entries, categories, ctx)
        except FormatError as error:
            ctx.log.reject(error)
            continue
        boxes[image_id].append(box)
    for image_id, (key, size) in entries.items():
        source = ctx.index.by_key[key]
        negative = image_id not in mentioned
        ctx.found[key] = DatasetImage(key, *size, boxes[image_id], negative=negative, source=source)


def _hashable(value: Any) -> bool:
    return isinstance(value, (int, str, float))


def _check_unique_ids(records: list[Any], kind: str, where: Where) -> None:
    """Refuse the file if two of its `kind` share an id; records without a usable id are judged later."""
    first_seen: dict[Any, int] = {}
    repeats: list[tuple[Any, int, int]] = []
    for i, record in enumerate(records):
        if not isinstance(record, dict) or not _hashable(record_id := record.get("id")):
            continue
        if record_id in first_seen:
            repeats.append((record_id, first_seen[record_id], i))
        else:
            first_seen[record_id] = i
    if repeats:
        record_id, first, second = repeats[0]
        more = f" ({len(repeats) - 1} more repeated ids)" if len(repeats) > 1 else ""
        message = f"{kind} ids must be unique: id {shown(record_id)} is used by {kind}[{first}] and {kind}[{second}]"
        raise where.error("duplicate_id", message + more, f"{kind}[{second}].id")


def _categories(value: list[Any], ctx: _Context) -> dict[Any, str]:
    categories: dict[Any, str] = {}
    for i, category in enumerate(value):
        if not isinstance(category, dict) or not _hashable(category.get("id")):
            raise ctx.where.error("bad_json", "category needs an id and a name", f"categories[{i}]")
        name = checked_label(category.get("name"), ctx.where, f"categories[{i}].name")
        categories[category["id"]] = name
        if name not in ctx.labels:
            ctx.labels.append(name)
    return categories


def _image_entry(entry: Any, field: str, ctx: _Context) -> tuple[Any, str, tuple[int, int]]:
    if not isinstance(entry, dict) or not _hashable(entry.get("id")):
        raise ctx.where.error("bad_json", "image needs an id, file_name, width and height", field)
    file_name = entry.get("file_name")
    key = ctx.index.find(file_name, ctx.near) if isinstance(file_name, str) else None
    if key is None:
        raise ctx.where.error("missing_image", f"no image file {shown(file_name)}", f"{field}.file_name")
    if key in ctx.found:
        raise ctx.where.error("duplicate_image", f"{key} is listed twice", f"{field}.file_name")
    width = positive_int(entry.get("width"), ctx.where, f"{field}.width")
    height = positive_int(entry.get("height"), ctx.where, f"{field}.height")
    return entry["id"], key, (width, height)


def _annotation(
    ann: Any,
    field: str,
    entries: dict[Any, tuple[str, tuple[int, int]]],
    categories: dict[Any, str],
    ctx: _Context,
) -> tuple[Any, Box]:
    where = ctx.where
    if not isinstance(ann, dict):
        raise where.error("bad_json", "expected an annotation object", field)
    image_id = ann.get("image_id")
    if not _hashable(image_id) or image_id not in entries:
        raise where.error("missing_image", f"image_id {shown(image_id)} is not a readable image", f"{field}.image_id")
    category_id = ann.get("category_id")
    if not _hashable(category_id) or category_id not in categories:
        raise where.error(
            "unknown_class", f"category_id {shown(category_id)} is not a category", f"{field}.category_id"
        )
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise where.error("bad_value", f"bbox must be [x, y, width, height], got {shown(bbox)}", f"{field}.bbox")
    x, y, w, h = (number(v, where, f"{field}.bbox[{i}]") for i, v in enumerate(bbox))
    fields = (f"{field}.bbox[0]", f"{field}.bbox[1]", f"{field}.bbox[2]", f"{field}.bbox[3]")
    if w <= 0 or h <= 0:
        raise where.error("degenerate_box", f"bbox has no area: {bbox}", f"{field}.bbox")
    size = entries[image_id][1]
    return image_id, pixel_box(categories[category_id], (x, y, x + w, y + h), size, where, fields)


def write(dataset: Dataset, out: Path, *, image_bytes: ImageBytes | None = None) -> None:
    """Write `annotations.json` listing labelled images (and `images/<key>` with bytes)."""
    if dataset.type != "localization":
        raise FormatError("unsupported_type", "COCO detection holds boxes, not classification")
    category_ids = {label: i for i, label in enumerate(dataset.labels, start=1)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    labelled = [image for image in dataset.images if image.labelled]
    for image_id, image in enumerate(labelled, start=1):
        images.append({"id": image_id, "file_name": image.key, "width": image.width, "height": image.height})
        for box in image.boxes:
            x, y = box.x * image.width, box.y * image.height
            w, h = (box.x2 - box.x) * image.width, (box.y2 - box.y) * image.height
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category_ids[box.label],
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "segmentation": [],
                }
            )
    categories = [{"id": i, "name": label, "supercategory": ""} for label, i in category_ids.items()]
    doc = {"images": images, "annotations": annotations, "categories": categories}
    write_file(out, FILENAME, json.dumps(doc, ensure_ascii=False).encode())
    write_images(out, dataset.images, image_bytes, "images")
