"""Shared data paths, tiny images, hypothesis strategies and dataset comparison."""

from __future__ import annotations

import io
import math
from functools import cache
from pathlib import Path

from hypothesis import strategies as st
from PIL import Image

from annotator.formats import Box, Dataset, DatasetImage
from annotator.formats.dataset import label_problem
from tests.conftest import SHARED_DATA

RACCOON = SHARED_DATA / "raccoon"
PLAYING_CARDS = SHARED_DATA / "playing-cards"

AWKWARD_LABELS = [
    "../etc",
    "a/b",
    "a\\b",
    "=HYPERLINK(1)",
    "+1",
    "-x",
    "@sum",
    "'=q",
    "''",
    "CON",
    "nul.txt",
    ".hidden",
    "..",
    "traffic light",
    "猫",
    "🐱‍👤",
    "x" * 200,
    "_negative",
    "Cat",
    "cat",
    'quo"te',
    "com,ma",
    "<tag>&amp;",
    "a: b # c",
    "[list]",
]


@cache
def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (width * 3 % 256, height * 5 % 256, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def image_png(image: DatasetImage) -> bytes:
    return png_bytes(image.width, image.height)


labels_strategy = st.one_of(
    st.sampled_from(AWKWARD_LABELS),
    st.text(min_size=1, max_size=12).filter(lambda text: label_problem(text) is None),
)
_stems = st.text(alphabet="abcXYZ09 -_=+@'éü猫", min_size=0, max_size=6)
_folders = st.sampled_from(["", "sub/", "a/b/", "ünï/"])


@st.composite
def _box(draw: st.DrawFn, label: str, width: int, height: int) -> Box:
    x = draw(st.floats(0, width - 1))
    y = draw(st.floats(0, height - 1))
    w = draw(st.floats(1, width - x))
    h = draw(st.floats(1, height - y))
    return Box(label, x / width, y / height, min((x + w) / width, 1.0), min((y + h) / height, 1.0))


@st.composite
def _image(draw: st.DrawFn, index: int, labels: list[str], kind: str, multi_label: bool) -> DatasetImage:
    key = f"{draw(_folders)}{draw(_stems)}{index}.png"
    width, height = draw(st.integers(2, 40)), draw(st.integers(2, 40))
    state = draw(st.sampled_from(["labelled", "labelled", "negative", "unlabelled"]))
    if state == "negative":
        return DatasetImage(key, width, height, negative=True)
    if state == "unlabelled" or not labels:
        return DatasetImage(key, width, height)
    if kind == "classification":
        count = draw(st.integers(1, min(2, len(labels)) if multi_label else 1))
        chosen = draw(st.lists(st.sampled_from(labels), min_size=count, max_size=count, unique=True))
        return DatasetImage(key, width, height, labels=[label for label in labels if label in chosen])
    boxes = draw(st.lists(st.sampled_from(labels).flatmap(lambda lb: _box(lb, width, height)), min_size=1, max_size=4))
    return DatasetImage(key, width, height, boxes=boxes)


@st.composite
def datasets(draw: st.DrawFn, kind: str = "localization", multi_label: bool = True) -> Dataset:
    labels = draw(st.lists(labels_strategy, max_size=5, unique=True))
    count = draw(st.integers(0, 6))
    images = [draw(_image(i, labels, kind, multi_label)) for i in range(count)]
    return Dataset(kind, labels, images)


def assert_same(expected: Dataset, actual: Dataset, *, tolerance: float, keeps_label_list: bool) -> None:
    """Equal within the format's precision; formats without a label list keep only used labels."""
    assert actual.type == expected.type
    if keeps_label_list:
        assert actual.labels == expected.labels
    else:
        used = {name for image in expected.images for name in image.class_names()}
        assert actual.labels == sorted(used)
    by_key = {image.key: image for image in actual.images}
    assert sorted(by_key) == sorted(image.key for image in expected.images)
    for want in expected.images:
        got = by_key[want.key]
        assert (got.width, got.height, got.negative, got.labels) == (
            want.width,
            want.height,
            want.negative,
            want.labels,
        ), want.key
        assert [box.label for box in got.boxes] == [box.label for box in want.boxes], want.key
        for a, b in zip(got.boxes, want.boxes, strict=True):
            for u, v in ((a.x, b.x), (a.y, b.y), (a.x2, b.x2), (a.y2, b.y2)):
                assert math.isclose(u, v, abs_tol=tolerance), (want.key, a, b)


def put(root: Path, relpath: str, content: str | bytes) -> Path:
    """Write a file under root, creating folders; text is UTF-8."""
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path
