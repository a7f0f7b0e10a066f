"""One codec, two readings: a dataset import reads `_annotations.json` strictly, a bucket sync
leniently — and both agree on every record rule (negative markers, boxes, numbers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.formats import FormatError, cloud_annotations

from .helpers import png_bytes, put

SIZE = (40, 30)
BOX = {"x": 0.1, "y": 0.2, "x2": 0.5, "y2": 0.6}


def _folder(root: Path, records: list, labels: list[str], kind: str = "localization") -> Path:
    put(root, "a.png", png_bytes(*SIZE))
    doc = {"version": "1.0", "type": kind, "labels": labels, "annotations": {"a.png": records}}
    put(root, "_annotations.json", json.dumps(doc))
    return root


def _imported(root: Path):
    [image] = cloud_annotations.read(root).dataset.images
    return image


def _synced(records: list, labels: list[str], kind: str = "localization") -> cloud_annotations.Entry:
    doc = cloud_annotations.parse(
        json.dumps({"type": kind, "labels": labels, "annotations": {"a.png": records}}).encode()
    )
    return cloud_annotations.read_entry("a.png", doc.annotations["a.png"], SIZE, kind == "localization")


@pytest.mark.parametrize(
    "records", [[], [{"label": "Negative"}], [{"label": "negative"}]], ids=["[]", "Negative", "lower"]
)
def test_both_readings_take_the_negative_markers(tmp_path: Path, records: list) -> None:
    image = _imported(_folder(tmp_path, records, ["cat"]))
    entry = _synced(records, ["cat"])

    assert image.negative and not image.boxes
    assert entry.negative and not entry.boxes


def test_both_readings_give_the_same_boxes(tmp_path: Path) -> None:
    records = [{**BOX, "label": "cat"}]

    assert _imported(_folder(tmp_path, records, ["cat"])).boxes == _synced(records, ["cat"]).boxes


@pytest.mark.parametrize(
    ("records", "code"),
    [
        ([{"label": "Negative"}, {**BOX, "label": "cat"}], "negative_with_annotations"),
        ([{"label": "cat"}], "missing_box"),
        ([{**BOX, "x2": 1.5, "label": "cat"}], "out_of_image"),
        ([{**BOX, "label": ""}], "bad_label"),
    ],
)
def test_both_readings_refuse_the_same_records(tmp_path: Path, records: list, code: str) -> None:
    with pytest.raises(FormatError) as imported:
        cloud_annotations.read(_folder(tmp_path, records, ["cat"]))
    with pytest.raises(FormatError) as synced:
        _synced(records, ["cat"])

    assert imported.value.code == synced.value.code == code
    assert imported.value.field == synced.value.field


def test_an_unlisted_label_is_refused_by_an_import_and_accepted_by_a_sync(tmp_path: Path) -> None:
    records = [{**BOX, "label": "dog"}]

    with pytest.raises(FormatError) as imported:
        cloud_annotations.read(_folder(tmp_path, records, ["cat"]))
    entry = _synced(records, ["cat"])

    assert imported.value.code == "unknown_class"
    assert [box.label for box in entry.boxes] == ["dog"]
    assert cloud_annotations.labels_used(
        cloud_annotations.Document("localization", ["cat"], {"a.png": records}), boxes_wanted=True
    ) == ["cat", "dog"]


def test_a_skipped_bad_record_leaves_the_whole_image_unlabelled(tmp_path: Path) -> None:
    _folder(tmp_path, [{**BOX, "label": "cat"}, {**BOX, "y2": "high", "label": "cat"}], ["cat"])

    result = cloud_annotations.read(tmp_path, skip_invalid=True)

    [image] = result.dataset.images
    assert not image.boxes and not image.negative
    assert [error.code for error in result.skipped] == ["invalid_number"]


def test_classification_files_read_labels_in_both(tmp_path: Path) -> None:
    records = [{"label": "cat"}, {"label": "cat"}]

    assert _imported(_folder(tmp_path, records, ["cat"], "classification")).labels == ["cat"]
    assert _synced(records, ["cat"], "classification").labels == ["cat"]


def test_a_bad_name_in_the_label_list_refuses_an_import_but_not_a_sync(tmp_path: Path) -> None:
    with pytest.raises(FormatError) as imported:
        cloud_annotations.read(_folder(tmp_path, [], ["cat", ""]))

    assert imported.value.code == "bad_label"
    assert _synced([], ["cat", ""]).negative
