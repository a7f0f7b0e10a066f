"""The box classifier a detection run trains for its suggestions (training/ml/box_classifier.py):
trained on the run's own box crops after the detector, its progress continuing the run's,
exported for LiteRT with its SavedModel beside it, and naming what a Predictor suggests."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from training.ml.box_classifier import INPUT_SIZE, box_classifier_config, box_crops, train_box_classifier
from training.ml.config import ClassifierConfig, DetectorConfig
from training.ml.pipeline import run_training
from training.ml.predict import LITERT, Predictor


def test_it_takes_the_detector_runs_backbone_and_settings_and_scales_its_epochs():
    detector = DetectorConfig(alpha=0.35, weights="/w.h5", seed=7, eval_every=3, early_stop_patience=2)
    config = box_classifier_config(detector)
    defaults = ClassifierConfig()
    assert (config.alpha, config.weights, config.seed, config.eval_every, config.early_stop_patience) == (
        0.35, "/w.h5", 7, 3, 2,
    )  # fmt: skip
    assert (config.input_size, config.head_epochs, config.fine_tune_epochs) == (
        INPUT_SIZE, defaults.head_epochs, defaults.fine_tune_epochs,
    )  # fmt: skip
    small = dataclasses.replace(detector, input_size=160)  # a run set small for speed
    assert box_classifier_config(small).input_size == 160
    assert config.test_time_flip is False  # it runs once per box
    half = box_classifier_config(detector, 0.5)
    assert (half.head_epochs, half.fine_tune_epochs) == (defaults.head_epochs // 2, defaults.fine_tune_epochs // 2)
    assert (box_classifier_config(detector, 0.0).head_epochs, box_classifier_config(detector, 5).head_epochs) == (
        1, defaults.head_epochs,
    )  # fmt: skip


def test_it_trains_on_the_runs_own_split(tiny_detection):
    crops = box_crops(tiny_detection)
    assert len(crops.train) == sum(len(s.boxes) for s in tiny_detection.train)
    assert len(crops.validation) == sum(len(s.boxes) for s in tiny_detection.validation)
    assert {c.image_path for c in crops.train}.isdisjoint({c.image_path for c in crops.validation})


def test_with_one_label_there_is_nothing_to_name(tiny_detection):
    one = dataclasses.replace(tiny_detection, labels=tiny_detection.labels[:1])
    assert train_box_classifier(one, ClassifierConfig()) is None


def test_a_detection_run_exports_it_for_litert_beside_its_saved_model(detector_run):
    folder = detector_run.box_classifier
    assert folder is not None and folder.name == "box_classifier" and detector_run.box_classifier_error is None
    assert {"model.tflite", "saved_model.pb", "metadata.json", "labels.json"} <= {p.name for p in folder.iterdir()}
    meta = json.loads((folder / "metadata.json").read_text())
    assert (meta["kind"], meta["labels"], meta["input"]["shape"]) == (
        "classification", list(detector_run.labels), [1, 96, 96, 3],
    )  # fmt: skip
    # Only for the product's own suggestions: the downloaded formats are the detector's.
    assert "box_classifier" not in detector_run.exports.all()
    assert detector_run.evaluation["box_classifier"].keys() == {"accuracy"}


def test_its_progress_continues_the_runs(detector_run):
    reports = detector_run.progress
    detector = [r for r in reports if r.phase == "train"]
    named = [r for r in reports if r.phase.startswith("box classifier ")]
    assert detector and named and reports.index(named[0]) > reports.index(detector[-1])
    assert named[0].step > detector[-1].step and named[-1].step == named[-1].total_steps
    assert [r.step for r in reports] == sorted(r.step for r in reports)
    assert all(r.step <= r.total_steps for r in reports)
    assert all(r.loss is None and r.eval_point is None for r in named)  # the run's curves stay the detector's
    assert all(r.epoch is None and r.total_epochs is None for r in named)  # its epochs are not the run's


def test_a_predictor_suggests_with_it(detector_run, cards):
    predictor = Predictor.load(detector_run.exports.android, box_classifier=detector_run.box_classifier)
    assert predictor.box_classifier is not None and predictor.box_classifier.runtime == LITERT
    (answer,) = predictor.predict([Path(cards[1][0].image_path)], min_score=0.0, threshold=0.5)
    assert all(0 <= d.label < len(detector_run.labels) for d in answer.detections)
    assert [d.score for d in answer.detections] == sorted((d.score for d in answer.detections), reverse=True)
    alone = Predictor.load(detector_run.exports.android).predict(
        [Path(cards[1][0].image_path)], min_score=0.0, threshold=0.5
    )[0]
    # Named scores are the detector's times a probability: never higher, box for box.
    by_box = {d.box: d.score for d in alone.detections}
    assert all(d.score <= by_box[d.box] + 1e-6 for d in answer.detections)


def test_the_suggestion_threshold_is_the_pairs(detector_run):
    threshold = detector_run.evaluation["suggestion_threshold"]
    # The pair's threshold is marked; a tiny detector may find nothing right, then there is none.
    assert threshold == {} or threshold.get("box_classifier") is True


def test_a_box_classifier_that_cannot_train_leaves_the_detector_run_whole(tiny_detection, node_root, tmp_path):
    """No ImageNet weights for it (an offline warm start needs none for the detector): the run
    finishes with the detector alone, says why, and keeps the detector's own threshold."""
    config = DetectorConfig(input_size=64, alpha=0.35, weights=None, allow_scratch=True, steps=2, batch_size=4)
    namer = dataclasses.replace(box_classifier_config(config, 0.01), weights=None, allow_scratch=False)
    result = run_training(tiny_detection, config, tmp_path, node_root, box_classifier=namer)
    assert result.box_classifier is None and "WeightsUnavailable" in (result.box_classifier_error or "")
    assert "box_classifier" not in result.evaluation
    assert result.evaluation["suggestion_threshold"].get("box_classifier") is None
    assert set(result.exports.all()) >= {"model", "model_android"}
