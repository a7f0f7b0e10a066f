"""The dataset snapshot: deterministic, stratified, stored with the run, tamper-evident."""

from __future__ import annotations

import json

import pytest

from annotator.storage import project_bucket
from tests.training.conftest import classification_data, detection_data
from training import snapshot
from training.preflight import run_preflight
from training.services import create_run

pytestmark = pytest.mark.django_db


def test_same_data_and_seed_give_the_same_bytes(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=6)
    first = snapshot.encode(snapshot.build_manifest(run_preflight(classification_project, "classification"), 7, 0.2))
    again = snapshot.encode(snapshot.build_manifest(run_preflight(classification_project, "classification"), 7, 0.2))
    assert first == again
    other = snapshot.build_manifest(run_preflight(classification_project, "classification"), 8, 0.2)
    assert [i["split"] for i in json.loads(first)["images"]] != [i["split"] for i in other["images"]]


def test_split_is_stratified_by_class(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    manifest = snapshot.build_manifest(run_preflight(classification_project, "classification"), 0, 0.2)
    for label in (0, 1):
        splits = [i["split"] for i in manifest["images"] if i["label"] == label]
        assert splits.count("validation") == 1 and splits.count("train") == 4
    assert manifest["labels"] == ["red", "blue"] and manifest["source"] == "images"


def test_detection_manifest_holds_normalised_boxes(personas):
    detection_data(personas.project, personas.owner, images=10)
    manifest = snapshot.build_manifest(run_preflight(personas.project, "detection"), 0, 0.2)
    image = manifest["images"][0]
    assert set(image) == {"id", "key", "sha256", "width", "height", "split", "boxes"}
    assert image["boxes"] == [[0.1, 0.2, 0.45, 0.7, 0], [0.5, 0.2, 0.85, 0.7, 1]]
    assert image["sha256"] == personas.project.images.get(pk=image["id"]).sha256
    assert sum(i["split"] == "validation" for i in manifest["images"]) == 2


def test_a_run_stores_its_snapshot_under_its_prefix(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    run = create_run(classification_project, personas.owner, "classification", {"seed": 3})
    assert run.snapshot_key == f"_annotator/runs/{run.pk}/snapshot.json"
    manifest = snapshot.read_snapshot(project_bucket(classification_project), run.snapshot_key, run.snapshot_sha256)
    assert manifest["seed"] == 3 and len(manifest["images"]) == 10
    assert run.dataset_summary["train"] == 8 and run.dataset_summary["validation"] == 2
    second = create_run(classification_project, personas.owner, "classification", {"seed": 3})
    assert second.snapshot_sha256 == run.snapshot_sha256


def test_a_changed_snapshot_is_refused(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    run = create_run(classification_project, personas.owner, "classification", {})
    bucket = project_bucket(classification_project)
    bucket.put(run.snapshot_key, bucket.read(run.snapshot_key).replace(b'"train"', b'"validation"'))
    with pytest.raises(snapshot.SnapshotChanged):
        snapshot.read_snapshot(bucket, run.snapshot_key, run.snapshot_sha256)


def test_synced_images_without_checksum_get_one_frozen(classification_project, personas):
    """A bucket sync reads only headers; the run reads the bytes once and freezes their checksum."""
    classification_data(classification_project, personas.owner, per_class=5)
    expected = dict(classification_project.images.values_list("id", "sha256"))
    classification_project.images.update(sha256="", thumbnail_key="")

    run = create_run(classification_project, personas.owner, "classification", {})

    manifest = snapshot.read_snapshot(project_bucket(classification_project), run.snapshot_key, run.snapshot_sha256)
    assert {image["id"]: image["sha256"] for image in manifest["images"]} == expected
    assert dict(classification_project.images.values_list("id", "sha256")) == expected


def test_unreadable_synced_image_blocks_the_run_with_its_name(classification_project, personas):
    from training.services import PreflightFailed

    classification_data(classification_project, personas.owner, per_class=5)
    broken = classification_project.images.order_by("key").first()
    classification_project.images.filter(pk=broken.pk).update(sha256="", thumbnail_key="")
    project_bucket(classification_project).put(broken.key, b"<html>not an image</html>")

    with pytest.raises(PreflightFailed) as failed:
        create_run(classification_project, personas.owner, "classification", {})

    [problem] = failed.value.preflight.errors
    assert problem.code == "images_unreadable" and problem.examples == (broken.key,)
