"""Malformed or hostile Pascal VOC input gives precise FormatErrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.formats import FormatError, voc

from .helpers import png_bytes, put

XML = """<annotation>
\t<filename>{filename}</filename>
\t<size><width>40</width><height>30</height><depth>3</depth></size>
{objects}</annotation>
"""
OBJECT = """\t<object>
\t\t<name>{name}</name>
\t\t<bndbox>
\t\t\t<xmin>{xmin}</xmin>
\t\t\t<ymin>{ymin}</ymin>
\t\t\t<xmax>{xmax}</xmax>
\t\t\t<ymax>{ymax}</ymax>
\t\t</bndbox>
\t</object>
"""


def _object(name: str = "cat", xmin: str = "1", ymin: str = "2", xmax: str = "20", ymax: str = "25") -> str:
    return OBJECT.format(name=name, xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax)


def _dataset(root: Path, *objects: str, filename: str = "a.png") -> None:
    put(root, "images/a.png", png_bytes(40, 30))
    put(root, "annotations/a.xml", XML.format(filename=filename, objects="".join(objects)))


def _error(root: Path) -> FormatError:
    with pytest.raises(FormatError) as caught:
        voc.read(root)
    return caught.value


def test_valid_file_reads(tmp_path: Path) -> None:
    _dataset(tmp_path, _object())
    (image,) = voc.read(tmp_path).dataset.images
    assert (image.key, image.width, image.height) == ("a.png", 40, 30)
    assert image.boxes[0].x == pytest.approx(1 / 40) and image.boxes[0].y2 == pytest.approx(25 / 30)


@pytest.mark.parametrize(
    ("values", "code", "field", "line"),
    [
        ({"xmin": "nan"}, "invalid_number", "object[0].bndbox.xmin", 7),
        ({"ymin": "inf"}, "invalid_number", "object[0].bndbox.ymin", 8),
        ({"xmax": "twenty"}, "invalid_number", "object[0].bndbox.xmax", 9),
        ({"xmin": "-3"}, "negative_coordinate", "object[0].bndbox.xmin", 7),
        ({"ymax": "31"}, "out_of_image", "object[0].bndbox.ymax", 10),
        ({"xmin": "20"}, "degenerate_box", "object[0].bndbox.xmin", 7),
        ({"name": " "}, "bad_label", "object[0].name", 5),
    ],
)
def test_bad_box_is_located(tmp_path: Path, values: dict[str, str], code: str, field: str, line: int) -> None:
    _dataset(tmp_path, _object(**values))
    error = _error(tmp_path)
    assert (error.code, error.file, error.field, error.line) == (code, "annotations/a.xml", field, line)


def test_half_pixel_overshoot_is_clamped(tmp_path: Path) -> None:
    _dataset(tmp_path, _object(xmin="-0.4", xmax="40.5"))
    (image,) = voc.read(tmp_path).dataset.images
    assert (image.boxes[0].x, image.boxes[0].x2) == (0.0, 1.0)


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    put(tmp_path, "images/a.png", png_bytes(40, 30))
    put(tmp_path, "annotations/a.xml", "<annotation>\n<filename>a.png</filename>\n<size>\n</annotation>\n")
    error = _error(tmp_path)
    assert (error.code, error.file, error.line) == ("bad_xml", "annotations/a.xml", 4)


def test_xml_for_a_missing_image(tmp_path: Path) -> None:
    _dataset(tmp_path, _object(), filename="zzz.jpg")
    (tmp_path / "annotations/a.xml").rename(tmp_path / "annotations/b.xml")
    error = _error(tmp_path)
    assert (error.code, error.field, error.line) == ("missing_image", "filename", 2)


def test_filename_falls_back_to_the_stem(tmp_path: Path) -> None:
    _dataset(tmp_path, _object(), filename="renamed-elsewhere.jpg")
    assert voc.read(tmp_path).dataset.images[0].boxes


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<annotation><filename>a.png</filename><object><name>&lol2;</name></object></annotation>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><filename>a.png</filename><object><name>&xxe;</name></object></annotation>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entities_are_refused(tmp_path: Path, document: str) -> None:
    put(tmp_path, "images/a.png", png_bytes(40, 30))
    put(tmp_path, "annotations/a.xml", document)
    error = _error(tmp_path)
    assert (error.code, error.file) == ("unsafe_xml", "annotations/a.xml")


def test_skip_invalid_reports_every_bad_record(tmp_path: Path) -> None:
    _dataset(tmp_path, _object(xmin="nan"), _object(), _object(name="dog", xmax="99"))
    put(tmp_path, "images/b.png", png_bytes(40, 30))
    put(tmp_path, "annotations/b.xml", "<annotation><filename>b.png</filename>")
    put(tmp_path, "annotations/c.xml", XML.format(filename="c.png", objects=_object()))
    result = voc.read(tmp_path, skip_invalid=True)
    found = [(e.code, e.file, e.field) for e in result.skipped]
    assert found == [
        ("invalid_number", "annotations/a.xml", "object[0].bndbox.xmin"),
        ("out_of_image", "annotations/a.xml", "object[2].bndbox.xmax"),
        ("bad_xml", "annotations/b.xml", None),
        ("missing_image", "annotations/c.xml", "filename"),
    ]
    images = {image.key: image for image in result.dataset.images}
    assert [box.label for box in images["a.png"].boxes] == ["cat"]
    assert not images["b.png"].labelled
