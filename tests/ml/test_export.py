"""Train tiny models, export all four formats, and load each back in its own runtime."""

import dataclasses
import json
import shutil

import numpy as np
import pytest

from training.ml.config import ClassifierConfig
from training.ml.export import export_saved_model, export_tflite
from training.ml.pipeline import sample_images
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
    assert 0.0 <= detector_run.evaluation["map50"] <= 1.0


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
    # The tiny model's scores are low: compare every detection, not only what a client shows.
    assert compare_detector(ref, rescored, atol=2e-3, score_threshold=0.0)
    assert compare_detector(ref, moved, atol=2e-3, score_threshold=0.0)
    probabilities = {"probabilities": np.array([[0.7, 0.3]], np.float32)}
    assert compare_classifier(probabilities, {"probabilities": np.array([[0.6, 0.4]], np.float32)}, 1e-3)


def test_a_wrong_tflite_model_fails_verification(classifier_run, tiny_classification, weights, node_root, tmp_path):
    other = train(
        tiny_classification, ClassifierConfig(input_size=96, weights=weights, head_epochs=1, fine_tune_epochs=0, seed=5)
    )
    export_saved_model(other, tmp_path / "other")
    android = tmp_path / "android"  # a copy: every test of the run reads its folders
    shutil.copytree(classifier_run.exports.android, android)
    export_tflite(tmp_path / "other", android)  # swap in the other model
    shutil.copyfile(classifier_run.exports.android / "metadata.json", android / "metadata.json")
    images = sample_images_for(classifier_run, tiny_classification)
    swapped = dataclasses.replace(classifier_run.exports, android=android)
    report = verify_exports(swapped, "classification", 96, images, node_root)
    assert report["model_android"]["ok"] is False and "probabilities differ" in report["model_android"]["error"]
    assert report["model_web"]["ok"] and report["model_ios"]["ok"]


def sample_images_for(run, data):
    size = json.loads((run.exports.saved_model / "metadata.json").read_text())["input"]["shape"][1]
    return sample_images(run.kind, data.validation, size)


@pytest.mark.parametrize("run_name", ["detector_run", "classifier_run"])
def test_every_format_answers_under_the_names_its_metadata_lists(request, run_name):
    """SavedModel and TFLite signatures, the TF.js model.json signature and the Core ML features
    all carry the semantic names, and metadata.json names the tensor behind each one."""
    import coremltools as ct
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from training.ml.verify import coreml_class_labels

    run = request.getfixturevalue(run_name)
    paths = run.exports
    names = {"detection": {"boxes", "classes", "scores", "num_detections"}, "classification": {"probabilities"}}[
        run.kind
    ]
    meta = {name: json.loads((folder / "metadata.json").read_text()) for name, folder in paths.all().items()}
    for name, data in meta.items():
        expected = names | ({"label"} if name == "model_ios" and run.kind == "classification" else set())
        assert set(data["outputs"]) == expected, name
        assert all(output["name"] == key for key, output in data["outputs"].items())
        assert data["input"]["name"] == "image"
        readme = (paths.all()[name] / "README.md").read_text()
        assert all(label in readme for label in run.labels) and "96x96" in readme and name in readme

    signature = tf.saved_model.load(str(paths.saved_model)).signatures["serving_default"]
    assert set(signature.structured_outputs) == names
    tensors = {t.name for t in signature.outputs}
    assert {o["tensor"] for o in meta["model"]["outputs"].values()} == tensors

    model_json = json.loads((paths.web / "model.json").read_text())["signature"]
    assert set(model_json["outputs"]) == names and set(model_json["inputs"]) == {"image"}
    for name, output in meta["model_web"]["outputs"].items():
        assert model_json["outputs"][name]["name"] == output["tensor"]
    assert (paths.web / "annotator.js").is_file() and (paths.web / "annotator.d.ts").is_file()

    runner = Interpreter(model_path=str(paths.android / "model.tflite")).get_signature_runner("serving_default")
    details = runner.get_output_details()
    assert set(details) == names and set(runner.get_input_details()) == {"image"}
    for name, output in meta["model_android"]["outputs"].items():
        assert details[name]["name"] == output["tensor"]
        assert list(details[name]["shape"]) == output["shape"]

    spec = ct.models.MLModel(str(paths.ios / "model.mlpackage"), skip_model_load=True).get_spec()
    assert {o.name for o in spec.description.output} == set(meta["model_ios"]["outputs"])
    assert json.loads(spec.description.metadata.userDefined["labels"]) == list(run.labels)
    if run.kind == "classification":
        assert coreml_class_labels(spec) == list(run.labels)
        assert spec.description.predictedFeatureName == "label"
        assert spec.description.predictedProbabilitiesName == "probabilities"
