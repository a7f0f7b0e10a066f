"""The two shared labelImg datasets import exactly, in both VOC layouts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from annotator.formats import detect_format, read_dataset

from .helpers import PLAYING_CARDS, RACCOON

CARD_COUNTS = {"king": 73, "jack": 66, "nine": 64, "ace": 62, "queen": 57, "ten": 54}

pytestmark = pytest.mark.skipif(not RACCOON.is_dir(), reason="shared data is not present")


def _xml_boxes(xml_files: list[Path]) -> dict[str, list[tuple[str, float, float, float, float]]]:
    boxes = {}
    for xml in xml_files:
        root = SafeET.parse(xml).getroot()
        boxes[root.findtext("filename")] = [
            (obj.findtext("name"), *(float(obj.find("bndbox").findtext(n)) for n in ("xmin", "ymin", "xmax", "ymax")))
            for obj in root.iter("object")
        ]
    return boxes


def _assert_within_half_pixel(root: Path, xml_files: list[Path]) -> None:
    expected = _xml_boxes(xml_files)
    dataset = read_dataset(root, "voc").dataset
    assert len(expected) == len(dataset.images)
    for image in dataset.images:
        want = expected[Path(image.key).name]
        assert [box.label for box in image.boxes] == [name for name, *_ in want]
        for box, (_, xmin, ymin, xmax, ymax) in zip(image.boxes, want, strict=True):
            got = (box.x * image.width, box.y * image.height, box.x2 * image.width, box.y2 * image.height)
            assert all(abs(a - b) <= 0.5 for a, b in zip(got, (xmin, ymin, xmax, ymax), strict=True))


def test_raccoon_separate_folders() -> None:
    result = read_dataset(RACCOON, "voc")
    dataset = result.dataset
    assert result.skipped == []
    assert dataset.type == "localization"
    assert dataset.labels == ["raccoon"]
    assert len(dataset.images) == 200
    assert sum(len(image.boxes) for image in dataset.images) == 217
    assert all(image.source and image.source.parent.name == "images" for image in dataset.images)
    assert "raccoon-1.jpg" in {image.key for image in dataset.images}
    _assert_within_half_pixel(RACCOON, sorted((RACCOON / "annotations").glob("*.xml")))


def test_playing_cards_next_to_images() -> None:
    result = read_dataset(PLAYING_CARDS, "voc")
    dataset = result.dataset
    assert result.skipped == []
    assert len(dataset.images) == 200
    assert Counter(box.label for image in dataset.images for box in image.boxes) == CARD_COUNTS
    assert sum(len(image.boxes) for image in dataset.images) == 376
    assert {image.key.split("/")[0] for image in dataset.images} == {"train", "test"}
    assert sum(image.key.startswith("test/") for image in dataset.images) == 67
    _assert_within_half_pixel(PLAYING_CARDS, sorted(PLAYING_CARDS.glob("*/*.xml")))


@pytest.mark.parametrize("root", [RACCOON, PLAYING_CARDS], ids=["raccoon", "playing-cards"])
def test_detected_as_voc(root: Path) -> None:
    assert detect_format(root) == "voc"
    assert read_dataset(root).dataset == read_dataset(root, "voc").dataset
