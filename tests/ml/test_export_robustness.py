"""Runs never throw away good work: the export check compares what a client would use, a
weak model passes, and a format that disagrees is reported, not raised."""

from __future__ import annotations

import numpy as np

from training.ml import verify
from training.ml.config import DetectorConfig
from training.ml.pipeline import run_training, sample_images
from training.ml.verify import compare_classifier, compare_detector, verify_exports

MAX = 50


def outputs(detections: list[tuple[tuple[float, float, float, float], int, float]]) -> dict[str, np.ndarray]:
    """Padded detector outputs from ``(yxyx box, class, score)`` rows, best score first."""
    rows = sorted(detections, key=lambda d: -d[2])[:MAX]
    boxes, classes, scores = np.zeros((1, MAX, 4), np.float32), np.zeros((1, MAX), np.float32), np.zeros((1, MAX))
    for i, (box, cls, score) in enumerate(rows):
        boxes[0, i], classes[0, i], scores[0, i] = box, cls, score
    count = np.array([len(rows)], np.float32)
    return {"boxes": boxes, "classes": classes, "scores": scores.astype(np.float32), "num_detections": count}


def near_uniform(seed: int, n: int = 40) -> list:
    """A weak model's answer: many boxes anywhere, all scored about 0.1."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        y, x = rng.uniform(0, 0.8, 2)
        rows.append(((y, x, y + 0.2, x + 0.2), int(rng.integers(2)), float(0.1 + rng.uniform(0, 0.01))))
    return rows


CARD = ((0.1, 0.1, 0.5, 0.4), 1, 0.9)


def test_near_uniform_low_scores_are_not_compared_one_by_one():
    assert compare_detector(outputs([*near_uniform(0), CARD]), outputs([*near_uniform(1), CARD])) == []


def test_what_a_client_shows_must_match_within_the_tolerance():
    shifted = ((0.11, 0.1, 0.51, 0.41), 1, 0.895)  # a hair off in box and score: the same answer
    assert compare_detector(outputs([CARD]), outputs([shifted])) == []
    assert compare_detector(outputs([CARD]), outputs([])) == [
        "missing detection (class 1, score 0.900, box [0.1 0.1 0.5 0.4])"
    ]
    assert "extra detection" in compare_detector(outputs([]), outputs([CARD]))[0]
    assert compare_detector(outputs([CARD]), outputs([((0.1, 0.1, 0.5, 0.4), 0, 0.9)]))  # other label
    assert compare_detector(outputs([CARD]), outputs([((0.1, 0.1, 0.5, 0.4), 1, 0.7)]))  # rescored
    assert compare_detector(outputs([CARD]), outputs([((0.5, 0.5, 0.9, 0.8), 1, 0.9)]))  # moved
    # At the client threshold, within the tolerance, a detection may come or go.
    assert compare_detector(outputs([((0.1, 0.1, 0.5, 0.4), 1, 0.305)]), outputs([])) == []


def test_a_near_tie_may_keep_either_twin():
    """Seen in Chromium's CPU backend: of two class-3 boxes overlapping by 0.48 and scored 0.0955
    and 0.0946, TFLite kept both and TF.js only the stronger; a near tie is float noise."""
    strong, weak = ((0.0, 0.2997, 0.6162, 0.9482), 3, 0.0955), ((0.0484, 0.5498, 0.6996, 1.0), 3, 0.0946)
    assert compare_detector(outputs([strong, weak]), outputs([strong]), atol=2e-3, score_threshold=0.05) == []
    assert compare_detector(outputs([strong]), outputs([strong, weak]), atol=2e-3, score_threshold=0.05) == []
    # Not a tie: scored apart by more than the tolerance, of another class, or barely overlapping.
    apart = ((0.0484, 0.5498, 0.6996, 1.0), 3, 0.0900)
    assert compare_detector(outputs([strong, apart]), outputs([strong]), atol=2e-3, score_threshold=0.05)
    other_class = ((0.0484, 0.5498, 0.6996, 1.0), 2, 0.0946)
    assert compare_detector(outputs([strong, other_class]), outputs([strong]), atol=2e-3, score_threshold=0.05)
    beside = ((0.0484, 0.8, 0.6996, 1.0), 3, 0.0946)
    assert compare_detector(outputs([strong, beside]), outputs([strong]), atol=2e-3, score_threshold=0.05)
    # A box that moved is no twin: the one answer on the other side overlaps it by 0.45 only.
    moved = ((0.1, 0.1, 0.5, 0.4), 1, 0.9), ((0.1, 0.214, 0.5, 0.514), 1, 0.9)
    assert compare_detector(outputs([moved[0]]), outputs([moved[1]]))


def test_classifier_probabilities_and_top_label():
    probabilities = lambda *p: {"probabilities": np.array([p], np.float32)}  # noqa: E731
    assert compare_classifier(probabilities(0.7, 0.3), probabilities(0.705, 0.295)) == []
    assert compare_classifier(probabilities(0.7, 0.3), probabilities(0.6, 0.4))
    assert compare_classifier(probabilities(0.504, 0.496), probabilities(0.496, 0.504)) == []  # a tie
    flipped = compare_classifier(probabilities(0.53, 0.47), probabilities(0.49, 0.51), atol=0.05)
    assert flipped == ["top-1 label 1 instead of 0"]


def test_a_mismatching_export_is_reported_unverified_not_raised(detector_run, tiny_detection, node_root, monkeypatch):
    """Fault injection: the TFLite runner answers a confident detection the SavedModel never
    made; TF.js and Core ML still pass, and verification returns instead of raising."""
    real = verify.run_tflite

    def phantom(path, images, num_threads=2):
        answers = real(path, images)
        for o in answers:
            o["boxes"][0, 0], o["classes"][0, 0], o["scores"][0, 0] = (0.1, 0.1, 0.6, 0.6), 0, 0.95
            o["num_detections"][...] = max(float(o["num_detections"].reshape(-1)[0]), 1.0)
        return answers

    monkeypatch.setattr(verify, "run_tflite", phantom)
    images = sample_images("detection", tiny_detection.validation, 96)
    report = verify_exports(detector_run.exports, "detection", 96, images, node_root)
    assert report["model_android"]["ok"] is False, report
    assert "extra detection (class 0, score 0.950" in report["model_android"]["error"]
    assert report["model_web"]["ok"] is True and report["model_web"]["error"] is None, report
    assert report["model_ios"]["ok"] is True


def test_a_scratch_one_epoch_detector_finishes_with_every_model(tiny_detection, node_root, tmp_path):
    """Random filters, one pass over 8 images: a useless model, but a run that ends with four
    exports whose checks say what a client would see."""
    config = DetectorConfig(input_size=64, weights=None, allow_scratch=True, epochs=1, batch_size=4, eval_every=1)
    run = run_training(tiny_detection, config, tmp_path, node_root)
    assert run.trained_from_scratch and run.exports.failures == {}
    assert set(run.exports.all()) == {"model", "model_web", "model_android", "model_ios"}
    assert set(run.verification) == {"model_web", "model_android", "model_ios"}
    assert all(check["ok"] for check in run.verification.values()), run.verification
    assert run.evaluation is not None and run.eval_curve and run.best is not None


def test_a_format_that_cannot_be_built_is_named_and_the_others_are_kept(tiny_detection, weights, tmp_path, monkeypatch):
    from training.ml import export
    from training.ml.train import train

    def broken(saved_model_dir, directory, result):
        raise RuntimeError("coremltools refused the graph")

    monkeypatch.setattr(export, "export_coreml", broken)
    result = train(tiny_detection, DetectorConfig(input_size=64, weights=weights, steps=2, batch_size=4))
    paths = export.export_all(result, tmp_path)
    assert paths.failures == {"model_ios": "model_ios: RuntimeError: coremltools refused the graph"}
    assert set(paths.all()) == {"model", "model_web", "model_android"} and not paths.ios.exists()
    assert (paths.android / "model.tflite").is_file() and (paths.web / "model.json").is_file()
