"""A detection run through the worker's code path trains its box classifier (docs/assist.md):
stored as a hidden `box_classifier` artifact, its validation accuracy in the metrics, and the
setting on by default for detectors, refused for classifiers, and off for runs stored before it."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from annotator import jobs
from tests.training.conftest import WEIGHTS_FILE, detection_data
from training.hyperparameters import validated
from training.ml.config import DetectorConfig
from training.mlrun import make_box_classifier_config, make_config
from training.models import Run
from training.services import create_run

TINY = {"input_size": 64, "batch_size": 4, "augment": False, "epochs": 2}


def test_the_setting_is_a_detectors_and_on_by_default():
    assert validated("detection", {})["box_classifier"] is True
    assert validated("detection", {"box_classifier": False})["box_classifier"] is False
    assert "box_classifier" not in validated("classification", {})
    with pytest.raises(ValidationError) as error:
        validated("classification", {"box_classifier": True})
    assert "box_classifier" in error.value.detail["hyperparameters"]


def test_its_length_follows_the_detectors():
    params = validated("detection", {"epochs": 40})
    config = make_config("detection", params, 100, None)
    box = make_box_classifier_config(params, config, 100)
    assert box is not None and (box.head_epochs, box.fine_tune_epochs) == (20, 30)
    # A step budget counts in epochs of the training images: 7 batches of 16 make one.
    stepped = validated("detection", {"steps": 70})
    box = make_box_classifier_config(stepped, make_config("detection", stepped, 100, None), 100)
    assert box is not None and (box.head_epochs, box.fine_tune_epochs) == (
        round(40 * 10 / DetectorConfig.epochs), round(60 * 10 / DetectorConfig.epochs),
    )  # fmt: skip
    assert make_box_classifier_config({**params, "box_classifier": False}, config, 100) is None
    older = {k: v for k, v in params.items() if k != "box_classifier"}  # stored before the setting existed
    assert make_box_classifier_config(older, config, 100) is None
    classifier = validated("classification", {})
    assert make_box_classifier_config(classifier, make_config("classification", classifier, 100, None), 100) is None


@pytest.mark.ml
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not WEIGHTS_FILE.is_file(), reason=f"needs the backbone weights at {WEIGHTS_FILE}")
def test_a_detection_run_keeps_its_box_classifier_for_suggestions(personas, settings, tmp_path):
    settings.ANNOTATOR_BACKBONE_WEIGHTS = str(WEIGHTS_FILE)
    settings.ANNOTATOR_TRAINING_CACHE_DIR = tmp_path / "cache"
    settings.ANNOTATOR_MIN_BOXES_PER_CLASS = 4
    detection_data(personas.project, personas.owner, images=6)
    run = create_run(personas.project, personas.owner, "detection", TINY)
    jobs.execute("run", run.pk)

    run = Run.objects.get(pk=run.pk)
    assert run.status == "succeeded", run.error
    assert run.hyperparameters["box_classifier"] is True
    artifact = run.artifacts.get(name="box_classifier")
    assert artifact.filename == "box_classifier.zip" and artifact.size_bytes > 100_000
    assert "box_classifier" not in {a.name for a in run.offered_artifacts}
    assert set(run.metrics["box_classifier"]) == {"accuracy"}
    assert "training the box classifier" in run.log
    threshold = run.metrics["suggestion_threshold"]
    assert threshold == {} or threshold["box_classifier"] is True
