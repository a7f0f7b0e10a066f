"""TFRecord export for the TensorFlow Object Detection API (write only).

Writes `train.record`, `val.record`, `label_map.pbtxt` (ids from 1: the API keeps 0
for background) and `split.json` with the per-class split summary, which is also
returned. Unlabelled images are left out: nobody has said what is in them, and as
box-less examples they would teach the model that their objects are background.
TensorFlow is never imported.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .dataset import Dataset, DatasetImage, FormatError
from .files import ImageBytes, required_bytes, write_file
from .split import SplitSummary, stratified_split, summarise
from .tfexample import bytes_feature, example, float_feature, int64_feature, write_record

FORMAT_ID = "tfrecord"
TRAIN_FILE = "train.record"
VALIDATION_FILE = "val.record"
LABEL_MAP_FILE = "label_map.pbtxt"
SUMMARY_FILE = "split.json"
_EXIF_ORIENTATION = 0x0112
_DECODABLE = {"JPEG": b"jpeg", "PNG": b"png", "GIF": b"gif", "BMP": b"bmp"}


def write(
    dataset: Dataset,
    out: Path,
    *,
    image_bytes: ImageBytes | None = None,
    validation_ratio: float = 0.2,
    seed: int = 0,
) -> SplitSummary:
    """Split stratified by class, then write both record files and the label map."""
    if dataset.type != "localization":
        raise FormatError("unsupported_type", "Object Detection TFRecords hold boxes")
    ids = {label: i for i, label in enumerate(dataset.labels, start=1)}
    train, validation = stratified_split(dataset.images, validation_ratio, seed)
    out.mkdir(parents=True, exist_ok=True)
    for name, members in ((TRAIN_FILE, train), (VALIDATION_FILE, validation)):
        with (out / name).open("wb") as stream:
            for image in members:
                write_record(stream, image_example(image, ids, required_bytes(image, image_bytes)))
    write_file(out, LABEL_MAP_FILE, label_map(dataset.labels).encode())
    summary = summarise(dataset.images, train, validation, validation_ratio, seed)
    write_file(out, SUMMARY_FILE, json.dumps(summary.to_dict(), ensure_ascii=False, indent=1).encode())
    return summary


def image_example(image: DatasetImage, ids: dict[str, int], data: bytes) -> bytes:
    """One tf.train.Example with the feature keys the Object Detection API reads."""
    data, kind = _encoded(data, image.key)
    key = image.key.encode()
    boxes = image.boxes
    return example(
        {
            "image/encoded": bytes_feature([data]),
            "image/format": bytes_feature([kind]),
            "image/filename": bytes_feature([key]),
            "image/source_id": bytes_feature([key]),
            "image/height": int64_feature([image.height]),
            "image/width": int64_feature([image.width]),
            "image/object/bbox/xmin": float_feature(box.x for box in boxes),
            "image/object/bbox/xmax": float_feature(box.x2 for box in boxes),
            "image/object/bbox/ymin": float_feature(box.y for box in boxes),
            "image/object/bbox/ymax": float_feature(box.y2 for box in boxes),
            "image/object/class/text": bytes_feature(box.label.encode() for box in boxes),
            "image/object/class/label": int64_feature(ids[box.label] for box in boxes),
        }
    )


def _encoded(data: bytes, key: str) -> tuple[bytes, bytes]:
    """(bytes, format) that TensorFlow decodes to the image as displayed.

    EXIF rotation is baked into the pixels because TensorFlow's decoders ignore it
    while boxes are drawn on the displayed image; formats TensorFlow cannot decode
    (WebP, TIFF) become PNG.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            if image.getexif().get(_EXIF_ORIENTATION, 1) in (None, 1) and kind in _DECODABLE:
                return data, _DECODABLE[kind]
            kind = "JPEG" if kind == "JPEG" else "PNG"
            buffer = io.BytesIO()
            ImageOps.exif_transpose(image).save(buffer, format=kind, quality=95)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise FormatError("bad_image", f"cannot read the image: {exc}", file=key) from None
    return buffer.getvalue(), _DECODABLE[kind]


def label_map(labels: list[str]) -> str:
    """`label_map.pbtxt` in protobuf text format, ids from 1 in label order."""
    items = []
    for i, label in enumerate(labels, start=1):
        name = label.replace("\\", "\\\\").replace("'", "\\'")
        items.append(f"item {{\n  id: {i}\n  name: '{name}'\n}}\n")
    return "".join(items)
