"""Class folders, format detection, safe names and image sizes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from PIL import Image

from annotator.formats import Box, Dataset, DatasetImage, FormatError, detect_format, folders, read_dataset, voc, yolo
from annotator.formats.files import image_size
from annotator.formats.names import MAX_NAME_LENGTH, safe_name, unique_names

from .helpers import AWKWARD_LABELS, labels_strategy, png_bytes, put


def test_folders_read_third_party_layout(tmp_path: Path) -> None:
    put(tmp_path, "flowers/daisy/1.png", png_bytes(4, 4))
    put(tmp_path, "flowers/rose/2.png", png_bytes(4, 5))
    put(tmp_path, "flowers/_negative/3.png", png_bytes(4, 6))
    put(tmp_path, "flowers/_unlabelled/loose.png", png_bytes(4, 7))
    result = read_dataset(tmp_path)
    dataset = result.dataset
    assert dataset.type == "classification" and dataset.labels == ["daisy", "rose"]
    images = {image.key: image for image in dataset.images}
    assert images["1.png"].labels == ["daisy"] and images["2.png"].labels == ["rose"]
    assert images["3.png"].negative and not images["loose.png"].labelled


def test_folders_same_name_different_files_keep_their_folder(tmp_path: Path) -> None:
    put(tmp_path, "cat/1.png", png_bytes(4, 4))
    put(tmp_path, "dog/1.png", png_bytes(5, 5))
    keys = [image.key for image in folders.read(tmp_path).dataset.images]
    assert keys == ["cat/1.png", "dog/1.png"]


def test_folders_same_file_in_two_classes_is_multi_label(tmp_path: Path) -> None:
    put(tmp_path, "cat/1.png", png_bytes(4, 4))
    put(tmp_path, "dog/1.png", png_bytes(4, 4))
    (image,) = folders.read(tmp_path).dataset.images
    assert (image.key, image.labels) == ("1.png", ["cat", "dog"])


def test_folders_bad_labels_file(tmp_path: Path) -> None:
    put(tmp_path, "_labels.json", json.dumps([{"label": "x", "folder": "../x"}]))
    with pytest.raises(FormatError) as caught:
        folders.read(tmp_path)
    assert (caught.value.code, caught.value.file, caught.value.field) == ("bad_value", "_labels.json", "[0].folder")


def test_detect_ambiguous_and_unknown(tmp_path: Path) -> None:
    put(tmp_path, "a.png", png_bytes(4, 4))
    with pytest.raises(FormatError) as caught:
        detect_format(tmp_path)
    assert caught.value.code == "unknown_format"
    put(tmp_path, "a.xml", "<annotation><filename>a.png</filename></annotation>")
    put(tmp_path, "classes.txt", "cat\n")
    with pytest.raises(FormatError) as caught:
        detect_format(tmp_path)
    assert caught.value.code == "ambiguous_format" and "voc" in caught.value.message


def test_read_dataset_steps_into_a_wrapper_folder(tmp_path: Path) -> None:
    put(tmp_path, "export/_annotations.json", json.dumps({"version": "1.0", "labels": [], "annotations": {}}))
    put(tmp_path, "export/a.png", png_bytes(4, 4))
    assert [image.key for image in read_dataset(tmp_path).dataset.images] == ["a.png"]


@given(labels_strategy)
def test_safe_name_is_one_harmless_path_component(label: str) -> None:
    name = safe_name(label)
    assert name and len(name) <= MAX_NAME_LENGTH
    assert "/" not in name and "\\" not in name and name not in (".", "..")
    assert not name.startswith(".") and not any(ord(c) < 32 for c in name)


def test_unique_names_are_deterministic_and_case_insensitive() -> None:
    names = unique_names(AWKWARD_LABELS, reserved=["_negative"])
    assert names == unique_names(AWKWARD_LABELS, reserved=["_negative"])
    assert len({name.casefold() for name in names.values()}) == len(AWKWARD_LABELS)
    assert names["cat"] == "cat-2" and names["Cat"] == "Cat" and names["_negative"] == "_negative-2"
    assert names["a/b"] == "a_b" and names["CON"] == "CON_" and names[".."] == "label"


def _jpeg_with_orientation(width: int, height: int, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize(("orientation", "size"), [(1, (30, 20)), (3, (30, 20)), (6, (20, 30)), (8, (20, 30))])
def test_image_size_follows_exif_orientation(tmp_path: Path, orientation: int, size: tuple[int, int]) -> None:
    path = put(tmp_path, "a.jpg", _jpeg_with_orientation(30, 20, orientation))
    assert image_size(path, "a.jpg") == size


def test_unreadable_image_is_a_format_error(tmp_path: Path) -> None:
    path = put(tmp_path, "a.jpg", b"not a jpeg")
    with pytest.raises(FormatError) as caught:
        image_size(path, "a.jpg")
    assert (caught.value.code, caught.value.file) == ("bad_image", "a.jpg")


def test_same_stem_different_extension_survives_voc_and_yolo(tmp_path: Path) -> None:
    box = Box("cat", 0.1, 0.1, 0.5, 0.5)
    images = [DatasetImage("a.png", 4, 4, boxes=[box]), DatasetImage("a.jpg", 4, 4, negative=True)]
    dataset = Dataset("localization", ["cat"], images)
    voc.write(dataset, tmp_path / "voc", image_bytes=lambda image: png_bytes(4, 4))
    assert {p.name for p in (tmp_path / "voc/annotations").iterdir()} == {"a.png.xml", "a.jpg.xml"}
    read_back = {image.key: image for image in voc.read(tmp_path / "voc").dataset.images}
    assert read_back["a.png"].boxes and read_back["a.jpg"].negative
    yolo.write(dataset, tmp_path / "yolo", image_bytes=lambda image: png_bytes(4, 4))
    keys = sorted(image.key for image in yolo.read(tmp_path / "yolo").dataset.images)
    assert keys == ["a.png", "a_jpg.jpg"]


def test_format_error_reports() -> None:
    error = FormatError("out_of_image", "too far", file="a.xml", line=3, field="xmax")
    assert str(error) == "a.xml:3 xmax: too far [out_of_image]"
    expected = {"code": "out_of_image", "message": "too far", "file": "a.xml", "line": 3, "field": "xmax"}
    assert error.as_dict() == expected
