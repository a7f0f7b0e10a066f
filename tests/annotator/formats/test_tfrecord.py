"""TFRecord export: pure-Python encoding read back by TensorFlow, and the stratified split."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from annotator.formats import Box, Dataset, DatasetImage, read_dataset, tfrecord, write_dataset
from annotator.formats.split import stratified_split
from annotator.formats.tfexample import crc32c, python_crc32c

from .helpers import PLAYING_CARDS, png_bytes


@pytest.mark.parametrize(
    ("data", "crc"),
    [(b"", 0), (b"123456789", 0xE3069283), (bytes(32), 0x8A9136AA), (bytes(range(32)), 0x46DD794E)],
)
@pytest.mark.parametrize("implementation", [crc32c, python_crc32c], ids=["chosen", "pure-python"])
def test_crc32c_known_values(implementation, data: bytes, crc: int) -> None:
    assert implementation(data) == crc


def _single_label(counts: dict[str, int]) -> Dataset:
    images = []
    for label, count in counts.items():
        for i in range(count):
            images.append(DatasetImage(f"{label}-{i}.png", 8, 8, boxes=[Box(label, 0.1, 0.1, 0.9, 0.9)]))
    images += [DatasetImage(f"bg-{i}.png", 8, 8, negative=True) for i in range(10)]
    images += [DatasetImage(f"new-{i}.png", 8, 8) for i in range(3)]
    return Dataset("localization", sorted(counts), images)


def test_split_is_stratified_per_class() -> None:
    counts = {"a": 50, "b": 20, "c": 7, "d": 2, "e": 1}
    dataset = _single_label(counts)
    train, validation = stratified_split(dataset.images, 0.2, seed=3)
    per_class = Counter(image.boxes[0].label for image in validation if image.boxes)
    assert per_class == {"a": 10, "b": 4, "c": 1, "d": 1}
    assert sum(image.negative for image in validation) == 2
    assert len(train) + len(validation) == len(dataset.images) - 3


def test_split_is_reproducible_and_order_independent() -> None:
    dataset = _single_label({"a": 30, "b": 12})
    first = stratified_split(dataset.images, 0.25, seed=11)
    again = stratified_split(list(reversed(dataset.images)), 0.25, seed=11)
    assert [i.key for i in first[1]] == [i.key for i in again[1]]
    assert {i.key for i in stratified_split(dataset.images, 0.25, seed=12)[1]} != {i.key for i in first[1]}


def test_multi_class_split_keeps_every_class_near_the_ratio(tmp_path: Path) -> None:
    dataset = read_dataset(PLAYING_CARDS, "voc").dataset
    summary = tfrecord.write(dataset, tmp_path, validation_ratio=0.25, seed=5)
    images_per_class = Counter(name for image in dataset.images for name in image.class_names())
    for name, split in summary.classes.items():
        total = images_per_class[name]
        assert split.train_images + split.validation_images == total
        assert abs(split.validation_images - 0.25 * total) <= max(2, 0.1 * total), (name, split)
    assert summary.train_images + summary.validation_images == 200
    assert json.loads((tmp_path / "split.json").read_text()) == summary.to_dict()


def test_label_map_ids_start_at_one(tmp_path: Path) -> None:
    write_dataset(_single_label({"it's": 2, "b": 2}), tmp_path, "tfrecord", image_bytes=lambda i: png_bytes(8, 8))
    text = (tmp_path / "label_map.pbtxt").read_text()
    assert text == "item {\n  id: 1\n  name: 'b'\n}\nitem {\n  id: 2\n  name: 'it\\'s'\n}\n"


FEATURES = {
    "image/encoded": "string",
    "image/format": "string",
    "image/filename": "string",
    "image/source_id": "string",
    "image/height": "int64",
    "image/width": "int64",
}
VAR_FEATURES = {
    "image/object/bbox/xmin": "float32",
    "image/object/bbox/xmax": "float32",
    "image/object/bbox/ymin": "float32",
    "image/object/bbox/ymax": "float32",
    "image/object/class/text": "string",
    "image/object/class/label": "int64",
}


def _read_records(tf, path: Path) -> list[dict]:
    spec = {name: tf.io.FixedLenFeature([], getattr(tf, kind)) for name, kind in FEATURES.items()}
    spec |= {name: tf.io.VarLenFeature(getattr(tf, kind)) for name, kind in VAR_FEATURES.items()}
    records = []
    for raw in tf.data.TFRecordDataset(str(path)):
        parsed = tf.io.parse_single_example(raw, spec)
        record = {name: parsed[name].numpy() for name in FEATURES}
        record |= {name: tf.sparse.to_dense(parsed[name]).numpy().tolist() for name in VAR_FEATURES}
        record["shape"] = tuple(tf.io.decode_image(parsed["image/encoded"]).shape)
        records.append(record)
    return records


def test_records_read_back_with_tensorflow(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    dataset = read_dataset(PLAYING_CARDS, "voc").dataset
    summary = tfrecord.write(dataset, tmp_path, validation_ratio=0.25, seed=5)
    train = _read_records(tf, tmp_path / "train.record")
    validation = _read_records(tf, tmp_path / "val.record")
    assert (len(train), len(validation)) == (summary.train_images, summary.validation_images)
    ids = {label: i for i, label in enumerate(dataset.labels, start=1)}
    by_key = {image.key: image for image in dataset.images}
    for record in train + validation:
        image = by_key[record["image/source_id"].decode()]
        assert record["image/filename"].decode() == image.key and record["image/format"] == b"jpeg"
        assert (record["image/width"], record["image/height"]) == (image.width, image.height)
        assert record["shape"] == (image.height, image.width, 3)
        assert record["image/object/class/text"] == [box.label.encode() for box in image.boxes]
        assert record["image/object/class/label"] == [ids[box.label] for box in image.boxes]
        for name, attr in (("xmin", "x"), ("xmax", "x2"), ("ymin", "y"), ("ymax", "y2")):
            got = record[f"image/object/bbox/{name}"]
            assert got == pytest.approx([getattr(box, attr) for box in image.boxes], abs=1e-6)
    assert min(label for r in train for label in r["image/object/class/label"]) == 1


def test_exif_rotation_is_baked_and_odd_formats_become_png(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated, webp = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (30, 20)).save(rotated, "JPEG", exif=exif)
    Image.new("RGB", (12, 10)).save(webp, "WEBP")
    data = {"r.jpg": rotated.getvalue(), "w.webp": webp.getvalue()}
    images = [
        DatasetImage("r.jpg", 20, 30, boxes=[Box("a", 0, 0, 1, 1)]),
        DatasetImage("w.webp", 12, 10, negative=True),
    ]
    tfrecord.write(
        Dataset("localization", ["a"], images), tmp_path, validation_ratio=0, image_bytes=lambda i: data[i.key]
    )
    records = {r["image/filename"]: r for r in _read_records(tf, tmp_path / "train.record")}
    assert records[b"r.jpg"]["shape"] == (30, 20, 3)
    assert (records[b"w.webp"]["image/format"], records[b"w.webp"]["shape"]) == (b"png", (10, 12, 3))
