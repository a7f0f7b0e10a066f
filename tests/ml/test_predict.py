"""Batch prediction (training/ml/predict.py) on real exports of two tiny models, both runtimes.

The models are a few TensorFlow ops (built and converted in seconds) exported through the
real SavedModel -> TFLite path, with the real metadata.json: the detector boxes the red region
of the image it sees, so a box in the wrong coordinates (a missing EXIF rotation) shows; the
classifier answers softmax(mean R, G, B).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.ml.conftest import REPO_ROOT
from training.ml import data as pipelines
from training.ml import export
from training.ml.config import ClassifierConfig, DetectorConfig
from training.ml.errors import ModelUnusable
from training.ml.loop import TrainResult
from training.ml.predict import (
    LITERT,
    SAVED_MODEL_RUNTIME,
    TFLITE_FILE,
    Detection,
    ImagePrediction,
    Predictor,
    UnreadableImage,
    choose_model_dir,
    classifier_uncertainty,
    decode,
    detector_uncertainty,
    resize_like_training,
)

SIZE = 64
DETECTOR_LABELS = ["red", "whole"]
CLASSIFIER_LABELS = ["red", "green", "blue"]


class TinyDetector(tf.Module):
    """Three rows: the red region (0.9, or 0 when there is none), a box overhanging the
    image (0.35, clipped by the Predictor) and a padding row past num_detections."""

    def __init__(self):
        super().__init__()
        spec = tf.TensorSpec([1, SIZE, SIZE, 3], tf.float32, name="image")
        self.serve = tf.function(self._serve, input_signature=[spec])

    def _serve(self, image):
        mask = tf.cast(image[0, :, :, 0] - image[0, :, :, 2] > 128.0, tf.float32)
        rows, columns = tf.reduce_max(mask, axis=1), tf.reduce_max(mask, axis=0)
        first = lambda v: tf.cast(tf.argmax(v), tf.float32)  # noqa: E731
        last = lambda v: SIZE - 1 - tf.cast(tf.argmax(tf.reverse(v, [0])), tf.float32)  # noqa: E731
        red = tf.stack([first(rows), first(columns), last(rows), last(columns)]) / (SIZE - 1)
        zero = 0.0 * tf.reduce_mean(image)  # every output depends on the input
        boxes = tf.stack([red, tf.constant([-0.2, 0.5, 0.5, 1.3]) + zero, tf.constant([0.1, 0.1, 0.2, 0.2]) + zero])
        return {
            "boxes": boxes[None],
            "classes": tf.constant([[0.0, 1.0, 0.0]]) + zero,
            "scores": tf.stack([0.9 * tf.reduce_max(mask), 0.35 + zero, 0.8 + zero])[None],
            "num_detections": tf.constant([2.0]) + zero,
        }


class TinyClassifier(tf.Module):
    def __init__(self):
        super().__init__()
        spec = tf.TensorSpec([1, SIZE, SIZE, 3], tf.float32, name="image")
        self.serve = tf.function(self._serve, input_signature=[spec])

    def _serve(self, image):
        return {"probabilities": tf.nn.softmax(tf.reduce_mean(image, axis=[1, 2]) / 255.0 * 10.0)}


def _export(module: tf.Module, kind: str, labels: list[str], out: Path) -> dict[str, Path]:
    """model/ and model_android/ as export_all writes them, metadata.json included."""
    config = ClassifierConfig(input_size=SIZE) if kind == "classification" else DetectorConfig(input_size=SIZE)
    result = TrainResult(kind, tuple(labels), config, model=None, trained_from_scratch=False)
    saved, android = out / export.SAVED_MODEL, out / export.ANDROID
    tf.saved_model.save(module, str(saved), signatures={"serving_default": module.serve})
    extras = {
        saved: {"signature": "serving_default", "output_tensors": export.signature_tensor_names(saved)},
        android: export.export_tflite(saved, android),
    }
    for directory, extra in extras.items():
        meta = export.metadata(result, directory.name, extra) | {k: v for k, v in extra.items() if k != "input_tensor"}
        (directory / "metadata.json").write_text(json.dumps(meta))
    return {"saved_model": saved, "android": android}


@pytest.fixture(scope="module")
def detector(tmp_path_factory) -> dict[str, Path]:
    return _export(TinyDetector(), "detection", DETECTOR_LABELS, tmp_path_factory.mktemp("detector"))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> dict[str, Path]:
    return _export(TinyClassifier(), "classification", CLASSIFIER_LABELS, tmp_path_factory.mktemp("classifier"))


def _picture(width: int, height: int, red: tuple[int, int, int, int] | None, fmt: str = "PNG", **save) -> bytes:
    """Black, with a red rectangle at pixel ``(x, y, x2, y2)`` inclusive."""
    pixels = np.zeros((height, width, 3), np.uint8)
    if red is not None:
        x, y, x2, y2 = red
        pixels[y : y2 + 1, x : x2 + 1, 0] = 255
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, fmt, **save)
    return out.getvalue()


def test_resize_matches_tensorflow_bit_for_bit():
    rng = np.random.default_rng(0)
    # 504 high to 224 is where crop_and_resize's last sample point rounds past the edge.
    for (height, width), size in [((504, 378), 224), ((504, 378), 320), ((37, 1000), 64), ((5, 3), 7), ((80, 40), 1)]:
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        expected = tf.image.crop_and_resize(pixels[None].astype(np.float32), [[0, 0, 1, 1]], [0], [size, size])
        np.testing.assert_array_equal(resize_like_training(pixels, size), expected[0].numpy())


def test_a_crop_matches_tensorflow_as_training_cuts_it():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (504, 378, 3), dtype=np.uint8)
    for window, size in [((0.1, 0.2, 0.5, 0.9), 288), ((0.0, 0.0, 0.3, 0.3), 64), ((0.7, 0.6, 1.0, 1.0), 96)]:
        x, y, x2, y2 = window
        expected = tf.image.crop_and_resize(pixels[None].astype(np.float32), [[y, x, y2, x2]], [0], [size, size])
        # Equal up to float rounding (TensorFlow's compiled kernel may fuse a multiply-add).
        np.testing.assert_allclose(resize_like_training(pixels, size, window), expected[0].numpy(), atol=0.05)


def test_pixels_are_what_training_feeds(tmp_path, cards):
    """Lossless images give training's pixels exactly; JPEGs differ only by the decoder:
    Pillow's accurate IDCT (as the run page's "Try it") against tf.io's fast one."""
    png = tmp_path / "picture.png"
    png.write_bytes(_picture(50, 70, (3, 4, 20, 60)))
    full = tf.constant([0.0, 0.0, 1.0, 1.0])
    for path, size, mean_tolerance in [(png, 64, 0.0), (Path(cards[1][0].image_path), 320, 2.5)]:
        training = pipelines.load_resized(tf.constant(str(path)), full, size).numpy()
        ours = resize_like_training(decode(path), size)
        assert ours.shape == training.shape and ours.dtype == np.float32
        assert np.abs(ours - training).mean() <= mean_tolerance


def test_detector_answers_alike_in_both_runtimes(detector):
    images = [_picture(80, 60, (8, 6, 47, 29)), _picture(80, 60, None)]
    answers = {}
    for directory in detector.values():
        predictor = Predictor.load(directory, num_threads=1)
        assert (predictor.kind, predictor.labels, predictor.input_size) == ("detection", tuple(DETECTOR_LABELS), SIZE)
        answers[predictor.runtime] = predictor.predict(images, min_score=0.3, threshold=0.5)
    assert set(answers) == {LITERT, SAVED_MODEL_RUNTIME}
    red, empty = answers[LITERT]
    assert (red.width, red.height, red.probabilities) == (80, 60, None)
    found, overhanging = red.detections
    assert found.label == 0 and found.score == pytest.approx(0.9)
    assert found.box == pytest.approx((8 / 79, 6 / 59, 47 / 79, 29 / 59), abs=1.5 / SIZE)
    assert overhanging == Detection(1, pytest.approx(0.35), pytest.approx((0.5, 0.0, 1.0, 0.5)))
    assert red.uncertainty == pytest.approx(0.7)  # the 0.35 detection: 1 - 0.15 / 0.5
    assert [d.label for d in empty.detections] == [1]  # the red one scored 0; the padding row never counts
    for ours, theirs in zip(answers[LITERT], answers[SAVED_MODEL_RUNTIME], strict=True):
        assert len(ours.detections) == len(theirs.detections)
        for a, b in zip(ours.detections, theirs.detections, strict=True):
            assert a.label == b.label and a.score == pytest.approx(b.score, abs=1e-5)
            assert a.box == pytest.approx(b.box, abs=1e-5)
        assert ours.uncertainty == pytest.approx(theirs.uncertainty, abs=1e-5)


def test_min_score_drops_detections_and_nothing_seen_is_most_uncertain(detector):
    predictor = Predictor.load(detector["android"])
    red, empty = predictor.predict(
        [_picture(80, 60, (8, 6, 47, 29)), _picture(80, 60, None)], min_score=0.5, threshold=0.5
    )
    assert [d.label for d in red.detections] == [0] and red.uncertainty == pytest.approx(0.2)
    assert empty.detections == () and empty.uncertainty == 1.0


def test_an_object_the_model_names_twice_is_suggested_under_its_best_label(detector):
    # The red region covers the overhanging box: "red" at 0.9 and "whole" at 0.35 name one object.
    for directory in detector.values():
        (answer,) = Predictor.load(directory).predict([_picture(80, 60, (40, 0, 79, 29))], min_score=0.3, threshold=0.5)
        assert [(d.label, round(d.score, 2)) for d in answer.detections] == [(0, 0.9)]


def test_boxes_are_in_displayed_coordinates_of_an_exif_rotated_image(detector, tmp_path):
    # Displayed 40 wide, 80 high; stored rotated, with EXIF orientation 6 ("rotate 90 CW to show").
    displayed = Image.open(io.BytesIO(_picture(40, 80, (5, 40, 14, 74))))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    displayed.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=95, exif=exif)
    assert Image.open(path).size == (80, 40)
    for directory in detector.values():
        (answer,) = Predictor.load(directory).predict([path], min_score=0.5, threshold=0.5)
        assert (answer.width, answer.height) == (40, 80)
        assert answer.detections[0].box == pytest.approx((5 / 39, 40 / 79, 14 / 39, 74 / 79), abs=2 / SIZE)


class TinyBoxClassifier(tf.Module):
    """Names a crop by colour against the detector: "whole" when it is red, "red" otherwise."""

    def __init__(self):
        super().__init__()
        spec = tf.TensorSpec([1, SIZE, SIZE, 3], tf.float32, name="image")
        self.serve = tf.function(self._serve, input_signature=[spec])

    def _serve(self, image):
        mean = tf.reduce_mean(image, axis=[1, 2]) / 255.0
        return {"probabilities": tf.nn.softmax(tf.stack([mean[:, 2], mean[:, 0]], axis=-1) * 10.0)}


@pytest.fixture(scope="module")
def box_classifier(tmp_path_factory) -> dict[str, Path]:
    return _export(TinyBoxClassifier(), "classification", DETECTOR_LABELS, tmp_path_factory.mktemp("box_classifier"))


def test_a_box_classifier_names_each_box(detector, box_classifier):
    image = _picture(80, 60, (8, 30, 30, 55))  # clear of the overhanging box
    for namer in box_classifier.values():
        predictor = Predictor.load(detector["android"], box_classifier=namer)
        (answer,) = predictor.predict([image], min_score=0.1, threshold=0.5)
        red, overhanging = answer.detections
        # The red region: "whole" at 0.9 x ~1; the black overhanging box: a tie, the first label at 0.35 x 0.5.
        assert red.label == 1 and red.score == pytest.approx(0.9, abs=1e-3)
        assert red.box == pytest.approx((8 / 79, 30 / 59, 30 / 79, 55 / 59), abs=1.5 / SIZE)
        assert overhanging.label == 0 and overhanging.score == pytest.approx(0.175, abs=1e-3)
        assert answer.uncertainty == pytest.approx(1 - abs(0.175 - 0.5) / 0.5, abs=1e-3)
        # Named below min_score, a box is no suggestion.
        (answer,) = predictor.predict([image], min_score=0.2, threshold=0.5)
        assert [d.label for d in answer.detections] == [1]


def test_the_threshold_is_chosen_over_what_the_predictor_suggests(detector, box_classifier, tmp_path):
    from training.ml.box_classifier import named
    from training.ml.evaluate import detections

    path = tmp_path / "red.png"
    path.write_bytes(_picture(80, 60, (8, 6, 47, 29)))
    detect = tf.saved_model.load(str(detector["saved_model"])).signatures["serving_default"]
    classify = tf.saved_model.load(str(box_classifier["saved_model"])).signatures["serving_default"]
    image = pipelines.load_resized(tf.constant(str(path)), tf.constant([0.0, 0.0, 1.0, 1.0]), SIZE)
    boxes, classes, scores = named(
        detections(detect(image=image[None])), str(path), lambda crop: classify(image=crop), SIZE
    )
    (answer,) = Predictor.load(detector["android"], box_classifier=box_classifier["android"]).predict(
        [path], min_score=0.0, threshold=0.5
    )
    assert [d.label for d in answer.detections] == classes.tolist()
    assert [d.score for d in answer.detections] == pytest.approx(scores.tolist(), abs=1e-4)
    assert [d.box for d in answer.detections] == [pytest.approx(b, abs=1e-5) for b in boxes.tolist()]


def test_a_box_classifier_must_be_a_classifier_of_the_detectors_labels(detector, classifier):
    with pytest.raises(ModelUnusable, match="labels"):
        Predictor.load(detector["android"], box_classifier=classifier["android"])
    with pytest.raises(ModelUnusable, match="only a detector"):
        Predictor.load(classifier["android"], box_classifier=classifier["android"])
    with pytest.raises(ModelUnusable, match="only a detector"):
        Predictor.load(detector["android"], box_classifier=detector["android"])


def test_classifier_answers_alike_in_both_runtimes(classifier):
    images = [_picture(30, 20, (0, 0, 29, 19)), _picture(30, 20, (0, 0, 9, 19))]
    answers = {}
    for directory in classifier.values():
        predictor = Predictor.load(directory)
        answers[predictor.runtime] = predictor.predict(images, min_score=0.3, threshold=0.5)
    all_red, third_red = answers[LITERT]
    expected = tf.nn.softmax([10.0, 0.0, 0.0]).numpy()
    assert all_red.probabilities == pytest.approx(tuple(expected), abs=1e-5)
    assert all_red.detections == () and (all_red.width, all_red.height) == (30, 20)
    assert all_red.uncertainty == pytest.approx(1 - (expected[0] - expected[1]), abs=1e-5)
    assert third_red.uncertainty > all_red.uncertainty  # a weaker red mean: less sure
    for ours, theirs in zip(answers[LITERT], answers[SAVED_MODEL_RUNTIME], strict=True):
        assert ours.probabilities == pytest.approx(theirs.probabilities, abs=1e-5)


def test_an_unreadable_image_is_reported_in_its_place_and_the_rest_predicted(classifier, tmp_path):
    good = _picture(30, 20, (0, 0, 29, 19))
    truncated = _picture(300, 200, (0, 0, 9, 9), "JPEG")[:200]
    missing = tmp_path / "gone.png"
    answers = Predictor.load(classifier["android"]).predict(
        [good, b"not an image", truncated, missing, good], min_score=0.3, threshold=0.5
    )
    assert [type(a) for a in answers] == [
        ImagePrediction,
        UnreadableImage,
        UnreadableImage,
        UnreadableImage,
        ImagePrediction,
    ]
    assert [a.index for a in answers[1:4]] == [1, 2, 3]
    assert isinstance(answers[1], ValueError) and "image 1" in str(answers[1]) and answers[1].reason


def test_thresholds_must_lie_in_0_to_1(classifier):
    predictor = Predictor.load(classifier["android"])
    with pytest.raises(ValueError, match=r"must lie in 0\.\.1"):
        predictor.predict([], min_score=1.5, threshold=0.5)


def test_choose_model_dir_prefers_litert(detector, tmp_path):
    android, saved = detector["android"], detector["saved_model"]
    assert choose_model_dir(android, saved) == android
    assert choose_model_dir(tmp_path, saved) == saved
    assert choose_model_dir(None, saved) == saved
    with pytest.raises(ModelUnusable):
        choose_model_dir(tmp_path, None)
    assert TFLITE_FILE == export.TFLITE_FILE


def test_load_refuses_a_folder_without_a_model(detector, tmp_path):
    with pytest.raises(ModelUnusable, match=r"metadata\.json"):
        Predictor.load(tmp_path)
    (tmp_path / "metadata.json").write_text((detector["android"] / "metadata.json").read_text())
    with pytest.raises(ModelUnusable, match="neither"):
        Predictor.load(tmp_path)


def test_classifier_uncertainty_is_the_margin():
    assert classifier_uncertainty([0.7, 0.2, 0.1]) == pytest.approx(0.5)
    assert classifier_uncertainty([0.1, 0.45, 0.45]) == pytest.approx(1.0)
    assert classifier_uncertainty([1.0, 0.0]) == 0.0
    assert classifier_uncertainty([1.0]) == 0.0


def test_detector_uncertainty_is_closeness_to_the_threshold():
    assert detector_uncertainty([], 0.5) == 1.0
    assert detector_uncertainty([0.5], 0.5) == 1.0
    assert detector_uncertainty([1.0], 0.5) == 0.0
    assert detector_uncertainty([0.9, 0.6], 0.5) == pytest.approx(0.8)  # the closer one counts
    # With t = 0.8 the scale is max(t, 1 - t) = 0.8, so even a score of 1.0 stays 0.75 close.
    assert detector_uncertainty([0.4], 0.8) == pytest.approx(0.5)
    assert detector_uncertainty([1.0], 0.8) == pytest.approx(0.75)
    assert detector_uncertainty([0.0], 0.0) == 1.0


def test_litert_prediction_loads_neither_tensorflow_nor_django(detector, tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(_picture(80, 60, (8, 6, 47, 29)))
    script = (
        "import sys\n"
        "from training.ml.predict import Predictor\n"
        f"predictor = Predictor.load({str(detector['android'])!r})\n"
        f"(answer,) = predictor.predict([{str(image)!r}], min_score=0.5, threshold=0.5)\n"
        "assert answer.detections[0].label == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'django', 'keras')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
