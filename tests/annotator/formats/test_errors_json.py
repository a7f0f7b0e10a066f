"""Malformed Cloud Annotations, COCO and Create ML JSON gives precise FormatErrors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.formats import FormatError, cloud_annotations, coco, createml

from .helpers import png_bytes, put


def _error(reader, root: Path) -> FormatError:
    with pytest.raises(FormatError) as caught:
        reader(root)
    return caught.value


def _cloud(root: Path, annotations: dict, labels: tuple[str, ...] = ("cat",)) -> None:
    put(root, "a.png", png_bytes(40, 30))
    doc = {"version": "1.0", "type": "localization", "labels": list(labels), "annotations": annotations}
    put(root, "_annotations.json", json.dumps(doc))


@pytest.mark.parametrize(
    ("box", "code", "field"),
    [
        ({"x": float("nan")}, "invalid_number", 'annotations["a.png"][0].x'),
        ({"y": -0.2}, "negative_coordinate", 'annotations["a.png"][0].y'),
        ({"x2": 1.5}, "out_of_image", 'annotations["a.png"][0].x2'),
        ({"label": "dog"}, "unknown_class", 'annotations["a.png"][0].label'),
        ({"y2": "high"}, "invalid_number", 'annotations["a.png"][0].y2'),
    ],
)
def test_cloud_annotations_bad_box(tmp_path: Path, box: dict, code: str, field: str) -> None:
    _cloud(tmp_path, {"a.png": [{"x": 0.1, "y": 0.1, "x2": 0.5, "y2": 0.5, "label": "cat", **box}]})
    error = _error(cloud_annotations.read, tmp_path)
    assert (error.code, error.file, error.field) == (code, "_annotations.json", field)


def test_cloud_annotations_box_for_missing_image(tmp_path: Path) -> None:
    _cloud(tmp_path, {"gone.jpg": []})
    error = _error(cloud_annotations.read, tmp_path)
    assert (error.code, error.field) == ("missing_image", 'annotations["gone.jpg"]')


def test_bad_json_names_the_line(tmp_path: Path) -> None:
    put(tmp_path, "_annotations.json", '{\n  "version": "1.0",\n  "labels": [,]\n}')
    error = _error(cloud_annotations.read, tmp_path)
    assert (error.code, error.file, error.line) == ("bad_json", "_annotations.json", 3)


def _coco(root: Path, *, images: list | None = None, annotations: list | None = None) -> None:
    put(root, "images/a.png", png_bytes(40, 30))
    doc = {
        "images": images if images is not None else [{"id": 7, "file_name": "a.png", "width": 40, "height": 30}],
        "annotations": annotations or [],
        "categories": [{"id": 3, "name": "cat"}],
    }
    put(root, "annotations/instances.json", json.dumps(doc))


@pytest.mark.parametrize(
    ("ann", "code", "field"),
    [
        ({"category_id": 9}, "unknown_class", "annotations[0].category_id"),
        ({"image_id": 8}, "missing_image", "annotations[0].image_id"),
        ({"bbox": [float("nan"), 1, 2, 3]}, "invalid_number", "annotations[0].bbox[0]"),
        ({"bbox": [-5, 1, 2, 3]}, "negative_coordinate", "annotations[0].bbox[0]"),
        ({"bbox": [30, 1, 20, 3]}, "out_of_image", "annotations[0].bbox[2]"),
        ({"bbox": [1, 2]}, "bad_value", "annotations[0].bbox"),
    ],
)
def test_coco_bad_annotation(tmp_path: Path, ann: dict, code: str, field: str) -> None:
    _coco(tmp_path, annotations=[{"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 10, 10], **ann}])
    error = _error(coco.read, tmp_path)
    assert (error.code, error.file, error.field) == (code, "annotations/instances.json", field)


def test_coco_image_file_missing(tmp_path: Path) -> None:
    _coco(tmp_path, images=[{"id": 1, "file_name": "nope.jpg", "width": 4, "height": 4}])
    error = _error(coco.read, tmp_path)
    assert (error.code, error.field) == ("missing_image", "images[0].file_name")


def test_coco_skip_invalid_lists_every_record(tmp_path: Path) -> None:
    anns = [
        {"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 10, 10]},
        {"id": 2, "image_id": 7, "category_id": 4, "bbox": [1, 2, 10, 10]},
        {"id": 3, "image_id": 99, "category_id": 3, "bbox": [1, 2, 10, 10]},
        {"id": 4, "image_id": 7, "category_id": 3, "bbox": [1, 2, 0, 10]},
    ]
    images = [
        {"id": 7, "file_name": "a.png", "width": 40, "height": 30},
        {"id": 8, "file_name": "b.png", "width": 40, "height": 30},
    ]
    _coco(tmp_path, images=images, annotations=anns)
    result = coco.read(tmp_path, skip_invalid=True)
    assert [(e.code, e.field) for e in result.skipped] == [
        ("missing_image", "images[1].file_name"),
        ("unknown_class", "annotations[1].category_id"),
        ("missing_image", "annotations[2].image_id"),
        ("degenerate_box", "annotations[3].bbox"),
    ]
    (image,) = result.dataset.images
    assert len(image.boxes) == 1 and not image.negative


def test_createml_errors(tmp_path: Path) -> None:
    put(tmp_path, "a.png", png_bytes(40, 30))
    entry = {"image": "a.png", "annotations": [{"label": "cat", "coordinates": {"x": 5, "y": 5, "width": 4}}]}
    put(tmp_path, "annotations.json", json.dumps([entry, {"image": "missing.png", "annotations": []}]))
    error = _error(createml.read, tmp_path)
    assert (error.code, error.field) == ("invalid_number", "[0].annotations[0].coordinates.height")
    result = createml.read(tmp_path, skip_invalid=True)
    assert [(e.code, e.field) for e in result.skipped] == [
        ("invalid_number", "[0].annotations[0].coordinates.height"),
        ("missing_image", "[1].image"),
    ]


def test_createml_centre_coordinates(tmp_path: Path) -> None:
    put(tmp_path, "a.png", png_bytes(40, 30))
    entry = {
        "image": "a.png",
        "annotations": [{"label": "cat", "coordinates": {"x": 20, "y": 15, "width": 8, "height": 6}}],
    }
    put(tmp_path, "annotations.json", json.dumps([entry]))
    (box,) = createml.read(tmp_path).dataset.images[0].boxes
    assert (box.x, box.y, box.x2, box.y2) == pytest.approx((16 / 40, 12 / 30, 24 / 40, 18 / 30))
