"""The box classifier a detection run trains for its suggestions: the classifier recipe on the
run's box crops, which names each box the detector suggests (``boxes.name_boxes``).

Why: on playing-cards the detector finds 98 % of the cards but often gives a card the rank
beside the right one, while the classifier recipe tells the ranks apart on the same crops
(docs/assist.md). The exported detector (what apps download) is not changed; the box classifier
only serves the product's own suggestions, through ``predict.Predictor``.

Invariants:

- It trains on the detection run's own split: the crops (``dataset.crop_window``) of the
  training images' boxes, validated on the crops of the validation images, so the suggestion
  threshold picked on the validation split (``suggestion_threshold``) is picked on images
  neither model trained on.
- It needs two labels or more (with one label there is nothing to name) and at least one box
  in the training split; ``train_box_classifier`` answers None otherwise.
- Its folder holds ``model.tflite`` (LiteRT, what a ``Predictor`` runs) and the SavedModel it was
  converted from (the fallback when the conversion fails), with ``metadata.json``.
- Its progress continues the run's: steps after the detector's, phases named
  ``box classifier <phase>``, no epochs (its epochs are not the run's), no loss or evaluation
  points (the run's curves are the detector's).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from . import data as pipelines
from .boxes import name_boxes, one_label_per_object
from .config import ClassifierConfig, DetectorConfig
from .dataset import CLASSIFICATION, Sample, TrainingSet, crop_window, crops_as_classification
from .evaluate import ServeFn, SuggestionThreshold, detections, detector_suggestion_threshold, ground_truth
from .export import ANDROID, SAVED_MODEL, _write_sidecars, export_saved_model, export_tflite
from .loop import CancelFn, Progress, ProgressFn, TrainResult
from .train_classifier import train_classifier

FOLDER = "box_classifier"
# A card's box is 120-230 px wide in the photos; 224 px (the backbone's ImageNet size) keeps
# what it shows, and on playing-cards named boxes as well as 288 px did (0.919 against 0.912 of
# the test detections) at 0.6 of the pixels per crop; 192 px lost (0.875). docs/assist.md.
INPUT_SIZE = 224


def box_classifier_config(detector: DetectorConfig, scale: float = 1.0) -> ClassifierConfig:
    """The classifier recipe's defaults with the detector run's backbone, weights, seed and
    evaluation settings, at ``INPUT_SIZE`` (or the detector's, where a run chose it smaller for
    speed), without flip averaging; ``scale`` (0..1] shortens both phases, as a run with fewer
    epochs asks."""
    defaults = ClassifierConfig()
    scale = min(max(scale, 0.0), 1.0)
    return dataclasses.replace(
        defaults,
        input_size=min(INPUT_SIZE, detector.input_size),
        alpha=detector.alpha,
        weights=detector.weights,
        allow_scratch=detector.allow_scratch,
        seed=detector.seed,
        eval_every=detector.eval_every,
        early_stop_patience=detector.early_stop_patience,
        cache_images=detector.cache_images,
        head_epochs=max(1, round(defaults.head_epochs * scale)),
        fine_tune_epochs=max(1, round(defaults.fine_tune_epochs * scale)),
        # It runs once per suggested box: flip averaging would double that for a crop or two
        # of 75 (docs/training.md), and the crops already cost more than the detector.
        test_time_flip=False,
    )


def box_crops(data: TrainingSet) -> TrainingSet:
    """The detection set as a classification set of its box crops, split as the images are."""
    train, validation = crops_as_classification(data.train), crops_as_classification(data.validation)
    return TrainingSet(CLASSIFICATION, data.labels, tuple(train), tuple(validation))


def continued(on_progress: ProgressFn | None, offset: int) -> ProgressFn | None:
    """The box classifier's progress as the run's: after ``offset`` steps, without curves."""
    if on_progress is None:
        return None

    def report(progress: Progress) -> None:
        on_progress(
            dataclasses.replace(
                progress,
                phase=f"box classifier {progress.phase}",
                step=offset + progress.step,
                total_steps=offset + progress.total_steps,
                # Its epochs are not the run's: "epoch 4 of 4" after a 6-epoch run misleads.
                epoch=None,
                total_epochs=None,
                loss=None,
                metrics={},
                val_metric=None,
                eval_point=None,
            )
        )

    return report


def train_box_classifier(
    data: TrainingSet,
    config: ClassifierConfig,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    step_offset: int = 0,
) -> TrainResult | None:
    """The classifier on ``data``'s box crops; None when there is nothing to name (see above)."""
    crops = box_crops(data)
    if len(data.labels) < 2 or not crops.train:
        return None
    return train_classifier(crops, config, continued(on_progress, step_offset), should_cancel)


def named(
    found: tuple[np.ndarray, np.ndarray, np.ndarray],
    image_path: str,
    classify: ServeFn,
    input_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's detections (x, y, x2, y2 boxes, classes, scores) as suggestions: one label
    per object, each kept box named by the box classifier (``classify``: a serving function)."""
    boxes, _, scores = found
    boxes = np.clip(np.asarray(boxes, float).reshape(-1, 4), 0.0, 1.0)
    keep = one_label_per_object(boxes, scores)
    boxes, scores = boxes[keep], np.asarray(scores, float)[keep]
    probabilities = []
    for box in boxes.tolist():
        window = tf.constant(crop_window(tuple(box)), tf.float32)
        crop = pipelines.load_resized(tf.constant(image_path), window, input_size)
        probabilities.append(np.asarray(classify(crop[None])["probabilities"])[0])
    classes, scores = name_boxes(scores, np.array(probabilities).reshape(len(boxes), -1))
    return boxes, classes, scores


def suggestion_threshold(
    detect: ServeFn, classify: ServeFn, samples: Sequence[Sample], detector_size: int, classifier_size: int
) -> SuggestionThreshold:
    """The best-F1 suggestion threshold of the detector and box classifier together, on
    ``samples`` (the validation split), chosen as ``evaluate`` chooses the detector's own."""
    images = pipelines.detection_images(samples, detector_size, cache=False)
    found = [
        named(detections(detect(image[None])), sample.image_path, classify, classifier_size)
        for sample, (image, _, _) in zip(samples, images, strict=True)
    ]
    threshold = detector_suggestion_threshold(ground_truth(samples), found, 0.5)
    return {**threshold, "box_classifier": True} if threshold else {}


def export_box_classifier(result: TrainResult, out: Path) -> Path:
    """``out`` with the LiteRT model and, beside it, the SavedModel it came from (see above)."""
    saved_model = out.with_name(f"{out.name}.saved_model")
    extra = export_saved_model(result, saved_model)
    try:
        extra = export_tflite(saved_model, out)
    except Exception:  # the converter raises many types; the SavedModel still serves
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(saved_model, out)
        _write_sidecars(result, out, SAVED_MODEL, extra)
    else:
        for item in saved_model.iterdir():
            shutil.move(str(item), out / item.name)
        _write_sidecars(result, out, ANDROID, extra)
    shutil.rmtree(saved_model, ignore_errors=True)
    return out
