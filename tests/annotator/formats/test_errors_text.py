"""YOLO and CSV: line-precise errors, the CSV formula guard, and data.yaml names."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotator.formats import Box, Dataset, DatasetImage, FormatError, csv_boxes, yolo
from annotator.formats.csv_boxes import neutralise, unneutralise
from annotator.formats.yamlnames import read_names

from .helpers import png_bytes, put


def _yolo(root: Path, labels: str) -> None:
    put(root, "classes.txt", "cat\ndog\n")
    put(root, "images/a.png", png_bytes(40, 30))
    put(root, "labels/a.txt", labels)


@pytest.mark.parametrize(
    ("line", "code", "field"),
    [
        ("2 0.5 0.5 0.2 0.2", "unknown_class", "class"),
        ("0 nan 0.5 0.2 0.2", "invalid_number", "x_center"),
        ("0 0.5 0.5 0.2 -0.2", "degenerate_box", "width"),
        ("0 1.2 0.5 0.2 0.2", "out_of_image", "x_center-width/2"),
        ("0 0.05 0.5 0.2 0.2", "negative_coordinate", "x_center-width/2"),
        ("0 0.5 0.5 0.2", "bad_value", None),
    ],
)
def test_yolo_bad_line(tmp_path: Path, line: str, code: str, field: str | None) -> None:
    _yolo(tmp_path, f"0 0.5 0.5 0.2 0.2\n{line}\n")
    with pytest.raises(FormatError) as caught:
        yolo.read(tmp_path)
    error = caught.value
    assert (error.code, error.file, error.line, error.field) == (code, "labels/a.txt", 2, field)


def test_yolo_orphan_label_and_skip_report(tmp_path: Path) -> None:
    _yolo(tmp_path, "0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n")
    put(tmp_path, "labels/ghost.txt", "1 0.5 0.5 0.1 0.1\n")
    put(tmp_path, "README.txt", "not labels\n")
    result = yolo.read(tmp_path, skip_invalid=True)
    assert [(e.code, e.file, e.line) for e in result.skipped] == [
        ("unknown_class", "labels/a.txt", 2),
        ("missing_image", "labels/ghost.txt", 1),
    ]
    assert len(result.dataset.images[0].boxes) == 1


def test_yolo_labelimg_layout_and_empty_file_is_negative(tmp_path: Path) -> None:
    put(tmp_path, "classes.txt", "cat\n")
    put(tmp_path, "a.png", png_bytes(40, 30))
    put(tmp_path, "a.txt", "")
    put(tmp_path, "b.png", png_bytes(40, 30))
    a, b = yolo.read(tmp_path).dataset.images
    assert (a.key, a.negative, b.key, b.labelled) == ("a.png", True, "b.png", False)


def test_yolo_without_class_names(tmp_path: Path) -> None:
    put(tmp_path, "a.png", png_bytes(4, 4))
    with pytest.raises(FormatError) as caught:
        yolo.read(tmp_path)
    assert caught.value.code == "missing_file"


@pytest.mark.parametrize(
    "text",
    [
        "names: [cat, 'dog''s', \"a, b\"]\n",
        'nc: 3\nnames:\n  - cat\n  - dog\'s  # comment\n  - "a, b"\ntrain: x\n',
        "names:\n  2: \"a, b\"\n  0: cat\n  1: 'dog''s'\n",
        "names: {0: cat, 1: \"dog's\", 2: 'a, b'}\n",
    ],
)
def test_data_yaml_names(text: str) -> None:
    assert read_names(text, "data.yaml") == ["cat", "dog's", "a, b"]


def test_data_yaml_used_without_classes_txt(tmp_path: Path) -> None:
    put(tmp_path, "data.yaml", "names: [cat, dog]\n")
    put(tmp_path, "images/a.png", png_bytes(40, 30))
    put(tmp_path, "labels/a.txt", "1 0.5 0.5 0.2 0.2\n")
    dataset = yolo.read(tmp_path).dataset
    assert dataset.labels == ["cat", "dog"] and dataset.images[0].boxes[0].label == "dog"


def test_data_yaml_gap_in_ids() -> None:
    with pytest.raises(FormatError) as caught:
        read_names("names:\n  0: a\n  2: b\n", "data.yaml")
    assert (caught.value.code, caught.value.field) == ("bad_value", "names")


CSV_HEAD = "filename,width,height,class,xmin,ymin,xmax,ymax\n"


def test_csv_bad_rows_are_located(tmp_path: Path) -> None:
    put(tmp_path, "images/a.png", png_bytes(40, 30))
    rows = (
        "a.png,40,30,cat,1,2,10,10\na.png,40,30,cat,-4,2,10,10\nb.png,40,30,cat,1,2,10,10\na.png,40,30,cat,1,2,10,nan\n"
    )
    put(tmp_path, "labels.csv", CSV_HEAD + rows)
    with pytest.raises(FormatError) as caught:
        csv_boxes.read(tmp_path)
    assert (caught.value.code, caught.value.line, caught.value.field) == ("negative_coordinate", 3, "xmin")
    result = csv_boxes.read(tmp_path, skip_invalid=True)
    assert [(e.code, e.file, e.line, e.field) for e in result.skipped] == [
        ("negative_coordinate", "labels.csv", 3, "xmin"),
        ("missing_image", "labels.csv", 4, "filename"),
        ("invalid_number", "labels.csv", 5, "ymax"),
    ]


def test_csv_missing_columns(tmp_path: Path) -> None:
    put(tmp_path, "labels.csv", "filename,class\na.png,cat\n")
    with pytest.raises(FormatError) as caught:
        csv_boxes.read(tmp_path)
    assert (caught.value.code, caught.value.line, caught.value.field) == ("missing_field", 1, "width")


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("'plain", "'plain"),
        ("cat", "cat"),
    ],
)
def test_formula_neutralisation(cell: str, written: str) -> None:
    assert neutralise(cell) == written
    assert unneutralise(written) == cell


@given(st.text())
def test_neutralisation_is_reversible(cell: str) -> None:
    assert unneutralise(neutralise(cell)) == cell
    assert neutralise(cell)[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_csv_export_neutralises_and_import_restores(tmp_path: Path) -> None:
    labels = ["=SUM(A1:A9)", "@x"]
    image = DatasetImage("=cmd.png", 40, 30, boxes=[Box("=SUM(A1:A9)", 0.1, 0.1, 0.5, 0.5), Box("@x", 0, 0, 1, 1)])
    csv_boxes.write(Dataset("localization", labels, [image]), tmp_path, image_bytes=lambda _: png_bytes(40, 30))
    text = (tmp_path / "annotations.csv").read_text()
    assert "'=cmd.png,40,30,'=SUM(A1:A9),4,3,20,15" in text and ",'@x," in text
    (read_back,) = csv_boxes.read(tmp_path).dataset.images
    assert read_back.key == "=cmd.png" and [b.label for b in read_back.boxes] == labels
