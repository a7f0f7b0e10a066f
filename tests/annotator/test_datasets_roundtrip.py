"""Export → re-import through the database, for every format that can import, and TFRecord read by TensorFlow."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings

from annotator.datasets.exporting import export_dataset, project_dataset
from annotator.datasets.importing import import_dataset
from annotator.formats import Box, Dataset, DatasetImage, write_dataset
from annotator.services.images import clean_name
from annotator.services.projects import create_project
from tests.annotator.formats.helpers import assert_same, datasets, image_png
from tests.annotator.formats.test_roundtrip import CASES
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SMALL = Dataset(
    "localization",
    ["raccoon", "Traffic light", "猫"],
    [
        DatasetImage("a.png", 40, 30, boxes=[Box("raccoon", 0.1, 0.2, 0.5, 0.6), Box("猫", 0.25, 0.1, 0.75, 0.9)]),
        DatasetImage("sub/b.png", 32, 32, boxes=[Box("Traffic light", 0.0, 0.0, 1.0, 1.0)]),
        DatasetImage("c.png", 20, 24, negative=True),
        DatasetImage("d.png", 16, 16),
    ],
)
SMALL_CLASSES = Dataset(
    "classification",
    ["cat", "dog"],
    [
        DatasetImage("cat/1.png", 20, 20, labels=["cat"]),
        DatasetImage("dog/2.png", 24, 20, labels=["dog"]),
        DatasetImage("3.png", 16, 16),
    ],
)


def _project_from(dataset: Dataset, tmp: Path, name: str = "source"):
    """A project holding `dataset`: written as Cloud Annotations with real PNGs, imported through the service."""
    owner = UserFactory()
    project = create_project(owner, name, dataset.type)
    # A fresh folder every time: a reused one (Hypothesis examples can share a name) would
    # still hold the images of an earlier example, and the import would take them too.
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-seed-", dir=tmp))
    write_dataset(dataset, folder, "cloud-annotations", image_bytes=image_png)
    import_dataset(project, folder, "cloud-annotations", user=owner)
    return project, owner


def _round_trip(project, owner, format_id: str, tmp: Path) -> Dataset:
    out = tmp / f"{format_id}-{project.pk}.zip"
    export_dataset(project, format_id, out)
    again = create_project(owner, "again", project.type)
    report = import_dataset(again, out, "auto", user=owner)
    assert report.format == format_id
    assert report.skipped == []
    return project_dataset(again)


@pytest.mark.parametrize(("format_id", "kind", "tolerance", "keeps_labels"), CASES)
def test_export_then_import_gives_the_same_project(format_id, kind, tolerance, keeps_labels, tmp_path):
    dataset = SMALL if kind == "localization" else SMALL_CLASSES
    project, owner = _project_from(dataset, tmp_path)
    stored = project_dataset(project)
    assert_same(dataset, stored, tolerance=1e-12, keeps_label_list=True)

    read_back = _round_trip(project, owner, format_id, tmp_path)

    assert_same(stored, read_back, tolerance=tolerance, keeps_label_list=keeps_labels)


@pytest.mark.parametrize("format_id", ["coco", "yolo"])
def test_any_dataset_survives_the_database_and_a_format(format_id, tmp_path):
    tolerance = {"coco": 1e-9, "yolo": 1.5e-6}[format_id]

    @hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(datasets("localization"))
    def check(dataset: Dataset) -> None:
        # The database keeps one label per case-insensitive name of at most 100 characters, and
        # keys are cleaned like upload names (docs/datasets.md).
        assume(dataset.images and len({name.lower() for name in dataset.labels}) == len(dataset.labels))
        assume(all(len(name) <= 100 for name in dataset.labels))
        assume(all(clean_name(image.key) == image.key for image in dataset.images))
        project, owner = _project_from(dataset, tmp_path, f"p{len(dataset.images)}")
        stored = project_dataset(project)
        assert_same(dataset, stored, tolerance=1e-12, keeps_label_list=True)
        assert_same(
            stored, _round_trip(project, owner, format_id, tmp_path), tolerance=tolerance, keeps_label_list=True
        )

    check()


def test_tfrecord_export_reads_back_in_tensorflow_with_ids_from_one(tmp_path):
    tf = pytest.importorskip("tensorflow")
    project, _ = _project_from(SMALL, tmp_path)
    out = tmp_path / "tfrecord.zip"

    summary = export_dataset(project, "tfrecord", out, split=0.5)
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "tfr")

    label_map = (tmp_path / "tfr" / "label_map.pbtxt").read_text()
    assert "id: 1\n  name: 'raccoon'" in label_map and "id: 3\n  name: '猫'" in label_map
    seen = {}
    for name in ("train.record", "val.record"):
        for record in tf.data.TFRecordDataset(str(tmp_path / "tfr" / name)):
            features = tf.train.Example.FromString(record.numpy()).features.feature
            key = features["image/filename"].bytes_list.value[0].decode()
            decoded = tf.io.decode_image(features["image/encoded"].bytes_list.value[0])
            seen[key] = (
                tuple(decoded.shape[:2]),
                list(features["image/object/class/label"].int64_list.value),
                [round(v, 6) for v in features["image/object/bbox/xmin"].float_list.value],
            )
    # The unlabelled image is left out; the negative one is kept with no boxes.
    assert seen == {
        "a.png": ((30, 40), [1, 3], [0.1, 0.25]),
        "sub/b.png": ((32, 32), [2], [0.0]),
        "c.png": ((24, 20), [], []),
    }
    assert summary["split"]["train_images"] + summary["split"]["validation_images"] == 3
