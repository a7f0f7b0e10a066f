"""Train tiny models, export all four formats, and load each back in its own runtime."""

import json

import numpy as np
import pytest

from training.ml.config import ClassifierConfig, DetectorConfig
from training.ml.errors import ExportVerificationFailed
from training.ml.export import export_saved_model, export_tflite
from training.ml.pipeline import run_training, sample_images
from training.ml.train import train
from training.ml.verify import (
    check_coreml,
    compare_classifier,
    compare_detector,
    run_saved_model,
    run_tfjs,
    run_tflite,
    verify_exports,
)


@pytest.fixture(scope="module")
def detector_run(tiny_detection, weights, node_root, tmp_path_factory):
    config = DetectorConfig(input_size=96, weights=weights, steps=12, batch_size=4, learning_rate=5e-3)
    return run_training(tiny_detection, config, tmp_path_factory.mktemp("detector"), node_root)


@pytest.fixture(scope="module")
def classifier_run(tiny_classification, weights, node_root, tmp_path_factory):
    config = ClassifierConfig(input_size=96, weights=weights, head_epochs=3, batch_size=8, fine_tune_epochs=1)
    return run_training(tiny_classification, config, tmp_path_factory.mktemp("classifier"), node_root)


@pytest.mark.parametrize("run_name", ["detector_run", "classifier_run"])
def test_every_format_is_written_with_labels_and_metadata(request, run_name):
    run = request.getfixturevalue(run_name)
    assert set(run.verification) == {"model_android", "model_web", "model_ios"}
    assert all(check["ok"] for check in run.verification.values())
    for directory in run.exports.all().values():
        assert json.loads((directory / "labels.json").read_text()) == list(run.labels)
        metadata = json.loads((directory / "metadata.json").read_text())
        assert metadata["kind"] == run.kind
        assert metadata["input"]["shape"] == [1, 96, 96, 3] and metadata["input"]["pixel_range"] == [0, 255]
        assert metadata["trained_from_scratch"] is False
    assert (run.exports.saved_model / "saved_model.pb").is_file()
    assert (run.exports.android / "model.tflite").is_file()
    assert (run.exports.web / "model.json").is_file()
    assert (run.exports.ios / "model.mlpackage").is_dir()
    assert run.sample_images and all(p.suffix == ".png" and p.stat().st_size for p in run.sample_images)


def test_detector_outputs_agree_across_runtimes(detector_run, tiny_detection, node_root):
    paths = detector_run.exports
    images = sample_images_for(detector_run, tiny_detection)
    reference = run_saved_model(paths.saved_model, images)
    assert reference[0]["boxes"].shape == (1, 50, 4) and reference[0]["num_detections"].shape == (1,)
    assert max(float(r["num_detections"][0]) for r in reference) > 0
    for other in (run_tflite(paths.android / "model.tflite", images), run_tfjs(paths.web, images, node_root)):
        for ref, out in zip(reference, other, strict=True):
            assert compare_detector(ref, out, atol=2e-3) == []
    assert check_coreml(paths.ios, "detection", 96) == []
    assert 0.0 <= detector_run.evaluation["map"] <= 1.0


def test_classifier_outputs_agree_across_runtimes(classifier_run, tiny_classification, node_root):
    paths = classifier_run.exports
    images = sample_images_for(classifier_run, tiny_classification)
    reference = run_saved_model(paths.saved_model, images)
    np.testing.assert_allclose(reference[0]["probabilities"].sum(), 1.0, atol=1e-5)
    for other in (run_tflite(paths.android / "model.tflite", images), run_tfjs(paths.web, images, node_root)):
        for ref, out in zip(reference, other, strict=True):
            np.testing.assert_allclose(out["probabilities"], ref["probabilities"], atol=1e-4)
    assert check_coreml(paths.ios, "classification", 96) == []
    assert len(classifier_run.evaluation["confusion_matrix"]) == len(classifier_run.labels)


def test_comparisons_catch_differences(detector_run, tiny_detection):
    images = sample_images_for(detector_run, tiny_detection)
    ref = max(run_saved_model(detector_run.exports.saved_model, images), key=lambda r: r["scores"].max())
    rescored = {**ref, "scores": ref["scores"] * 0.8}
    moved = {**ref, "boxes": ref["boxes"] + np.array([0.2, 0.2, 0.2, 0.2], np.float32)}
    assert compare_detector(ref, rescored, atol=2e-3)
    assert compare_detector(ref, moved, atol=2e-3)
    probabilities = {"probabilities": np.array([[0.7, 0.3]], np.float32)}
    assert compare_classifier(probabilities, {"probabilities": np.array([[0.6, 0.4]], np.float32)}, 1e-3)


def test_a_wrong_tflite_model_fails_verification(classifier_run, tiny_classification, weights, node_root, tmp_path):
    other = train(
        tiny_classification, ClassifierConfig(input_size=96, weights=weights, head_epochs=1, fine_tune_epochs=0, seed=5)
    )
    export_saved_model(other, tmp_path / "other")
    export_tflite(tmp_path / "other", classifier_run.exports.android)  # swap in the other model
    images = sample_images_for(classifier_run, tiny_classification)
    try:
        with pytest.raises(ExportVerificationFailed, match="model_android"):
            verify_exports(classifier_run.exports, "classification", 96, images, node_root)
    finally:
        export_tflite(classifier_run.exports.saved_model, classifier_run.exports.android)


def sample_images_for(run, data):
    size = json.loads((run.exports.saved_model / "metadata.json").read_text())["input"]["shape"][1]
    return sample_images(run.kind, data.validation, size)
