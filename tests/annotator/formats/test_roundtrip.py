"""Any dataset written in a format and read back is the same, within that format's precision."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from annotator.formats import READERS, WRITERS, Dataset, detect_format, read_dataset

from .helpers import assert_same, datasets, image_png

# (format, dataset type, absolute tolerance in normalised units, keeps the label list)
# VOC and CSV write pixels with three decimals (images here are at least 2 px wide).
CASES = [
    ("cloud-annotations", "localization", 1e-12, True),
    ("cloud-annotations", "classification", 0.0, True),
    ("voc", "localization", 0.0005 / 2 + 1e-9, False),
    ("coco", "localization", 1e-9, True),
    ("yolo", "localization", 1.5e-6, True),
    ("createml", "localization", 1e-9, False),
    ("csv", "localization", 0.0005 / 2 + 1e-9, False),
    ("folders", "classification", 0.0, True),
]
PROFILE = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _round_trip(dataset: Dataset, format_id: str) -> tuple[Dataset, str | None]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        WRITERS[format_id](dataset, out, image_bytes=image_png)
        result = READERS[format_id](out)
        assert result.skipped == []
        detected = None
        if any(image.labelled for image in dataset.images):
            detected = detect_format(out)
            assert read_dataset(out).dataset == result.dataset
        return result.dataset, detected


@pytest.mark.parametrize(("format_id", "kind", "tolerance", "keeps_labels"), CASES)
def test_round_trip(format_id: str, kind: str, tolerance: float, keeps_labels: bool) -> None:
    @PROFILE
    @given(datasets(kind))
    def check(dataset: Dataset) -> None:
        read_back, detected = _round_trip(dataset, format_id)
        assert_same(dataset, read_back, tolerance=tolerance, keeps_label_list=keeps_labels)
        assert detected in (None, format_id)

    check()
