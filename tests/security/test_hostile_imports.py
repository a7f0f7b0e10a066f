"""Dataset imports with hostile numbers, deep JSON and duplicate COCO ids (issue #14, items 5 and 11).

Before, a 400-digit integer (float() raises OverflowError on it), JSON too deep for
Python's parser (RecursionError) ended the job as `internal_error`, even with skip-invalid,
and a nested record that did parse was echoed whole (or past the recursion limit) in its
error message. Now
each is a coded refusal naming the file and record, or with skip-invalid a record left
out and listed. COCO files whose image, category or annotation ids repeat were imported
silently by whichever entry came last; they are refused, naming the ids.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotator.models import Image
from tests.conftest import client_for, make_image_bytes

pytestmark = pytest.mark.django_db

BIG = 10**400  # 401 digits: json parses it, float() of it raises OverflowError
DEEP = 50_000
# Parses in a request (about 200 frames deep already) and in a worker; repr() of it is long.
NESTED = 300


def _zip(files: dict[str, bytes | str]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return SimpleUploadedFile("dataset.zip", buffer.getvalue(), "application/zip")


def _images(*names: str) -> dict[str, bytes]:
    return {f"images/{name}": make_image_bytes(64, 48) for name in names}


def _coco(annotations: list, images: list | None = None, categories: list | None = None) -> str:
    images = images or [
        {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
        {"id": 2, "file_name": "b.jpg", "width": 64, "height": 48},
    ]
    categories = categories or [{"id": 1, "name": "cat"}]
    return json.dumps({"images": images, "annotations": annotations, "categories": categories})


def _ann(id: object = 1, image_id: object = 1, bbox: object = None, category_id: object = 1) -> dict:
    return {"id": id, "image_id": image_id, "category_id": category_id, "bbox": bbox or [1, 2, 10, 10]}


GOOD = _ann(id=2, image_id=2, bbox=[3, 4, 10, 10])


def _import(personas, files: dict, skip_invalid: bool, format: str = "auto"):
    url = f"/api/v1/projects/{personas.project.pk}/imports/"
    body = {"file": _zip(files), "format": format, "skip_invalid": "true" if skip_invalid else "false"}
    return client_for(personas.owner).post(url, body)


def _refused(response) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    error = response.json()["error"]
    assert error["code"] != "internal_error", error
    return error


def _skipped(response) -> list[dict]:
    assert response.status_code == 201, (response.status_code, response.content[:500])
    return response.json()["report"]["skipped"]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE_RECORDS = {
    "400-digit bbox value": (
        {"annotations.json": _coco([_ann(bbox=[BIG, 2, 10, 10]), GOOD])},
        "invalid_number",
        "annotations[0].bbox[0]",
    ),
    "400-digit width": (
        {
            "annotations.json": _coco(
                [GOOD],
                images=[
                    {"id": 1, "file_name": "a.jpg", "width": BIG, "height": 48},
                    {"id": 2, "file_name": "b.jpg", "width": 64, "height": 48},
                ],
            )
        },
        "invalid_number",
        "images[0].width",
    ),
    "1e400 bbox value": (
        {"annotations.json": _coco([_ann(bbox=[1, 2, 10, 10]), GOOD]).replace("[1, 2, 10, 10]", "[1e400, 2, 10, 10]")},
        "invalid_number",
        "annotations[0].bbox[0]",
    ),
    "deeply nested bbox": (
        {"annotations.json": _coco([_ann(bbox="DEEP"), GOOD]).replace('"DEEP"', _deep(NESTED))},
        "bad_value",
        "annotations[0].bbox",
    ),
    "deeply nested width": (
        {
            "annotations.json": _coco(
                [GOOD],
                images=[
                    {"id": 1, "file_name": "a.jpg", "width": "DEEP", "height": 48},
                    {"id": 2, "file_name": "b.jpg", "width": 64, "height": 48},
                ],
            ).replace('"DEEP"', "[" + _deep(NESTED) + "]")
        },
        "invalid_number",
        "images[0].width",
    ),
    "400-digit Cloud Annotations coordinate": (
        {
            "_annotations.json": json.dumps(
                {
                    "version": "1.0",
                    "type": "localization",
                    "labels": ["cat"],
                    "annotations": {
                        "a.jpg": [{"label": "cat", "x": 0.1, "y": 0.1, "x2": BIG, "y2": 0.5}],
                        "b.jpg": [{"label": "cat", "x": 0.1, "y": 0.1, "x2": 0.5, "y2": 0.5}],
                    },
                }
            ),
            "a.jpg": make_image_bytes(64, 48),
            "b.jpg": make_image_bytes(64, 48),
        },
        "invalid_number",
        'annotations["a.jpg"][0].x2',
    ),
    "deeply nested Cloud Annotations label": (
        {
            "_annotations.json": json.dumps(
                {
                    "version": "1.0",
                    "type": "localization",
                    "labels": ["cat"],
                    "annotations": {
                        "a.jpg": [{"label": "DEEP", "x": 0.1, "y": 0.1, "x2": 0.5, "y2": 0.5}],
                        "b.jpg": [{"label": "cat", "x": 0.1, "y": 0.1, "x2": 0.5, "y2": 0.5}],
                    },
                }
            ).replace('"DEEP"', _deep(NESTED)),
            "a.jpg": make_image_bytes(64, 48),
            "b.jpg": make_image_bytes(64, 48),
        },
        "bad_label",
        'annotations["a.jpg"][0].label',
    ),
}


def _with_images(case: dict) -> dict:
    return case if "a.jpg" in case else {**case, **_images("a.jpg", "b.jpg")}


@pytest.mark.parametrize(("files", "code", "field"), HOSTILE_RECORDS.values(), ids=HOSTILE_RECORDS.keys())
def test_a_hostile_record_is_a_coded_refusal_naming_it(personas, files, code, field):
    error = _refused(_import(personas, _with_images(files), skip_invalid=False))

    assert error["code"] == code
    [record] = error["job"]["report"]["errors"]
    assert record["field"] == field and record["file"] in ("annotations.json", "_annotations.json")
    assert len(record["message"]) < 300  # a 900-deep value or a 401-digit number is not echoed in full
    assert not Image.objects.filter(project=personas.project).exists()


@pytest.mark.parametrize(("files", "code", "field"), HOSTILE_RECORDS.values(), ids=HOSTILE_RECORDS.keys())
def test_with_skip_invalid_a_hostile_record_is_left_out_and_listed(personas, files, code, field):
    skipped = _skipped(_import(personas, _with_images(files), skip_invalid=True))

    assert [(s["code"], s["field"]) for s in skipped] == [(code, field)]
    assert Image.objects.filter(project=personas.project).count() >= 1


COCO_DEEP = '{"images": [], "annotations": [], "categories": ' + _deep(DEEP) + "}"
HOSTILE_FILES = {
    "50k-deep COCO file": ({"annotations.json": COCO_DEEP}, "coco", "bad_json", "annotations.json"),
    "50k-deep COCO file, detected": ({"annotations.json": COCO_DEEP}, "auto", "bad_json", "annotations.json"),
    "50k-deep Create ML file": ({"annotations.json": _deep(DEEP)}, "createml", "bad_json", "annotations.json"),
    "50k-deep Cloud Annotations file": (
        {"_annotations.json": _deep(DEEP), "a.jpg": make_image_bytes()},
        "auto",
        "bad_json",
        "_annotations.json",
    ),
    "5000-digit YOLO class index": (
        {"data.yaml": "names:\n  " + "9" * 5000 + ": cat\n", "labels/a.txt": "0 0.5 0.5 0.2 0.2\n"},
        "auto",
        "bad_value",
        "data.yaml",
    ),
}


@pytest.mark.parametrize("skip_invalid", [False, True], ids=["atomic", "skip-invalid"])
@pytest.mark.parametrize(("files", "format", "code", "file"), HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_a_file_that_cannot_be_read_is_a_coded_refusal_naming_it(personas, files, format, code, file, skip_invalid):
    error = _refused(_import(personas, _with_images(files), skip_invalid=skip_invalid, format=format))

    assert error["code"] == code
    [record] = error["job"]["report"]["errors"]
    assert record["file"] == file
    assert len(record["message"]) < 300


def test_a_json_file_too_deep_to_parse_is_not_taken_for_create_ml(personas):
    """Detection skips what it cannot parse; what remains decides (here: class folders), never a 500."""
    files = {"annotations.json": _deep(DEEP), **_images("a.jpg", "b.jpg")}

    _refused(_import(personas, files, skip_invalid=False))


# --- COCO: ids that repeat (item 11) ------------------------------------------------------------

DUPLICATES = {
    "image id": (
        _coco(
            [_ann(), GOOD],
            images=[
                {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
                {"id": 1, "file_name": "b.jpg", "width": 64, "height": 48},
            ],
        ),
        "duplicate_id",
        "images[1].id",
    ),
    "category id": (
        _coco([_ann(), GOOD], categories=[{"id": 1, "name": "cat"}, {"id": 1, "name": "dog"}]),
        "duplicate_id",
        "categories[1].id",
    ),
    "annotation id": (_coco([_ann(id=7), _ann(id=7, image_id=2)]), "duplicate_id", "annotations[1].id"),
}


@pytest.mark.parametrize("skip_invalid", [False, True], ids=["atomic", "skip-invalid"])
@pytest.mark.parametrize(("doc", "code", "field"), DUPLICATES.values(), ids=DUPLICATES.keys())
def test_a_coco_file_with_a_repeated_id_is_refused_naming_it(personas, doc, code, field, skip_invalid):
    files = {"annotations.json": doc, **_images("a.jpg", "b.jpg")}

    error = _refused(_import(personas, files, skip_invalid=skip_invalid, format="coco"))

    assert error["code"] == code
    [record] = error["job"]["report"]["errors"]
    assert (record["file"], record["field"]) == ("annotations.json", field)
    assert "1" in record["message"] or "7" in record["message"]
    assert not Image.objects.filter(project=personas.project).exists()


def test_distinct_coco_ids_of_different_kinds_may_coincide(personas):
    """Image 1, category 1 and annotation 1 are different things: no complaint."""
    files = {"annotations.json": _coco([_ann(id=1), _ann(id=2, image_id=2)]), **_images("a.jpg", "b.jpg")}

    response = _import(personas, files, skip_invalid=False, format="coco")

    assert response.status_code == 201, response.json()
    assert response.json()["report"]["boxes"] == 2
