"""Scoring the validation split during training: a light inference path on the in-memory model.

The images are decoded and resized once; each evaluation is one batched forward pass (plus,
for detectors, the exported model's own decoding and NMS per image, and the AP code of
``evaluate``), so measuring every few epochs costs a few per cent of training. The scores
are what the final evaluation reports: mAP@0.5 for detectors, accuracy for classifiers, with
minus the mean cross-entropy as the tie-break between equal accuracies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from . import data as pipelines
from .config import DetectorConfig
from .dataset import Sample
from .evaluate import detection_report, detections, ground_truth
from .loop import Score
from .models.anchor_free import decode

MAP50, ACCURACY = "map50", "accuracy"
BATCH = 16


def accuracy_score(probabilities: np.ndarray, labels: np.ndarray) -> Score:
    """(accuracy, minus the mean cross-entropy)."""
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, int)
    accuracy = float(np.mean(probabilities.argmax(-1) == labels)) if len(labels) else 0.0
    picked = probabilities[np.arange(len(labels)), labels]
    return accuracy, -float(np.mean(-np.log(np.clip(picked, 1e-7, 1.0)))) if len(labels) else 0.0


def feature_scorer(head: keras.Model, features: np.ndarray, labels: np.ndarray) -> Callable[[], Score]:
    """The classifier head on precomputed validation features (the frozen phase)."""
    predict = tf.function(lambda x: head(x, training=False))
    return lambda: accuracy_score(predict(tf.constant(features)).numpy(), labels)


def classifier_scorer(model: keras.Model, samples: Sequence[Sample], size: int) -> Callable[[], Score]:
    """The end-to-end classifier on the validation images (fine-tuning)."""
    images, labels = [], []
    for batch, batch_labels in pipelines.classification_dataset(samples, size, BATCH, 0, None, cache=False):
        images.append(batch)
        labels.append(batch_labels.numpy())
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    truth = np.concatenate(labels) if labels else np.zeros(0, int)

    def score() -> Score:
        probabilities = np.concatenate([predict(batch).numpy() for batch in images])
        return accuracy_score(probabilities, truth)

    return score


def detector_scorer(
    model: keras.Model, samples: Sequence[Sample], labels: Sequence[str], config: DetectorConfig
) -> Callable[[], Score]:
    """mAP@0.5 of the model's decoded detections (the exported post-processing) on ``samples``."""
    pictures = [image for image, _, _ in pipelines.detection_images(samples, config.input_size, cache=False)]
    batches = [tf.stack(pictures[i : i + BATCH]) for i in range(0, len(pictures), BATCH)]
    truth = ground_truth(samples)
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    @tf.function(reduce_retracing=True)
    def post(heatmap: tf.Tensor, box: tf.Tensor) -> dict[str, tf.Tensor]:
        return decode(
            heatmap,
            box,
            max_detections=config.max_detections,
            pre_nms_top_k=config.pre_nms_top_k,
            score_threshold=config.score_threshold,
            iou_threshold=config.iou_threshold,
        )

    def score() -> Score:
        found = []
        for batch in batches:
            outputs = forward(batch)
            for i in range(int(batch.shape[0])):
                found.append(detections(post(outputs["heatmap"][i : i + 1], outputs["box"][i : i + 1])))
        return detection_report(truth, found, labels).map50, 0.0

    return score
