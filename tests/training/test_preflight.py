"""Pre-flight rules: what blocks a run (errors) and what only warns."""

from __future__ import annotations

import pytest

from annotator.services.projects import create_label
from annotator.storage import project_bucket
from tests.training.conftest import COLOURS, annotate, classification_data, detection_data, upload
from training.preflight import run_preflight

pytestmark = pytest.mark.django_db


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def test_enough_labelled_images_pass(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    check = run_preflight(classification_project, "classification")
    assert check.ok, check.errors
    assert [name for _, name in check.labels] == ["red", "blue"]
    assert check.examples_per_label == {"red": 5, "blue": 5}
    assert len(check.images) == 10


def test_too_few_images_per_class_is_an_error_naming_the_label(classification_project, personas):
    labels = classification_data(classification_project, personas.owner, per_class=5)
    image = upload(classification_project, personas.owner, [("extra-green.png", COLOURS["green"])])[0]
    green = create_label(classification_project, "green")
    annotate(image, personas.owner, labels=[green])
    check = run_preflight(classification_project, "classification")
    assert codes(check.errors) == ["too_few_examples"]
    assert check.errors[0].label == "green" and check.errors[0].count == 1
    assert "at least 5" in check.errors[0].message
    assert labels


def test_minimum_comes_from_settings(classification_project, personas, settings):
    settings.ANNOTATOR_MIN_IMAGES_PER_CLASS = 6
    classification_data(classification_project, personas.owner, per_class=5)
    assert codes(run_preflight(classification_project, "classification").errors) == [
        "too_few_examples",
        "too_few_examples",
    ]


def test_one_class_is_not_enough_for_a_classifier(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5, classes=("red",))
    assert "too_few_classes" in codes(run_preflight(classification_project, "classification").errors)


def test_missing_images_are_left_out_with_a_warning(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=6)
    gone = classification_project.images.order_by("id").first()
    project_bucket(classification_project).delete(gone.key)
    check = run_preflight(classification_project, "classification")
    assert check.ok
    assert codes(check.warnings) == ["images_missing"]
    assert check.warnings[0].examples == (gone.key,)
    assert gone.pk not in {r.id for r in check.images}


def test_missing_images_can_leave_too_few(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    gone = classification_project.images.order_by("id").first()
    project_bucket(classification_project).delete(gone.key)
    assert codes(run_preflight(classification_project, "classification").errors) == ["too_few_examples"]


def test_unused_labels_warn_and_stay_out_of_the_model(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    create_label(classification_project, "purple")
    check = run_preflight(classification_project, "classification")
    assert check.ok
    assert "labels_unused" in codes(check.warnings)
    assert "purple" not in [name for _, name in check.labels]


def test_multi_class_images_are_skipped_with_a_warning(classification_project, personas):
    labels = classification_data(classification_project, personas.owner, per_class=5)
    image = upload(classification_project, personas.owner, [("both.png", COLOURS["green"])])[0]
    annotate(image, personas.owner, labels=list(labels.values()))
    check = run_preflight(classification_project, "classification")
    assert check.ok and "multiple_classes" in codes(check.warnings)
    assert image.pk not in {r.id for r in check.images}


def test_class_imbalance_warns(classification_project, personas, settings):
    settings.ANNOTATOR_MIN_IMAGES_PER_CLASS = 1
    labels = classification_data(classification_project, personas.owner, per_class=1)
    images = upload(classification_project, personas.owner, [(f"more-{i}.png", COLOURS["green"]) for i in range(11)])
    for image in images:
        annotate(image, personas.owner, labels=[labels["red"]])
    check = run_preflight(classification_project, "classification")
    assert check.ok and "class_imbalance" in codes(check.warnings)


def test_detection_counts_boxes(personas, settings):
    settings.ANNOTATOR_MIN_BOXES_PER_CLASS = 4
    detection_data(personas.project, personas.owner, images=4)
    check = run_preflight(personas.project, "detection")
    assert check.ok, check.errors
    assert check.examples_per_label == {"red": 4, "blue": 4}
    settings.ANNOTATOR_MIN_BOXES_PER_CLASS = 10
    assert codes(run_preflight(personas.project, "detection").errors) == ["too_few_examples", "too_few_examples"]


def test_degenerate_boxes_block_and_tiny_boxes_warn(personas, settings):
    settings.ANNOTATOR_MIN_BOXES_PER_CLASS = 1
    labels = detection_data(personas.project, personas.owner, images=2)
    big = upload(personas.project, personas.owner, [("big.png", (90, 90, 90))], size=(400, 300))[0]
    # 0.004 of 400 px is under 2 px: nothing a detector can learn.
    big = annotate(big, personas.owner, boxes=[(labels["red"], (0.5, 0.5, 0.504, 0.9))])
    check = run_preflight(personas.project, "detection")
    assert codes(check.errors) == ["degenerate_boxes"]
    assert check.errors[0].examples == (big.key,)
    big = annotate(big, personas.owner, boxes=[(labels["red"], (0.5, 0.5, 0.6, 0.9))])
    assert run_preflight(personas.project, "detection").ok
    assert "tiny_boxes" not in codes(run_preflight(personas.project, "detection").warnings)
    # 0.01 of the image side: 4 x 3 px, drawable but tiny.
    annotate(big, personas.owner, boxes=[(labels["blue"], (0.1, 0.1, 0.11, 0.11))])
    check = run_preflight(personas.project, "detection")
    assert check.ok and "tiny_boxes" in codes(check.warnings)


def test_negative_images_train_detectors_as_background(personas, settings):
    settings.ANNOTATOR_MIN_BOXES_PER_CLASS = 1
    detection_data(personas.project, personas.owner, images=2)
    empty = upload(personas.project, personas.owner, [("empty.png", (0, 0, 0))])[0]
    annotate(empty, personas.owner, negative=True)
    check = run_preflight(personas.project, "detection")
    assert check.ok and empty.pk in {r.id for r in check.images}


def test_a_classifier_can_train_on_box_crops(personas):
    detection_data(personas.project, personas.owner, images=5)
    check = run_preflight(personas.project, "classification")
    assert check.ok and check.from_boxes
    assert check.examples_per_label == {"red": 5, "blue": 5}


def test_classification_projects_cannot_train_detectors(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    assert codes(run_preflight(classification_project, "detection").errors) == ["kind_mismatch"]


def test_an_empty_project_says_what_to_do(personas):
    check = run_preflight(personas.project, "detection")
    assert codes(check.errors) == ["too_few_classes"]
    assert "label more images" in check.errors[0].message
