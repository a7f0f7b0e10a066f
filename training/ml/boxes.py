"""Box geometry shared by evaluation and prediction, free of TensorFlow (LiteRT workers load it).

Boxes are ``x, y, x2, y2`` rows. Suggestions follow one rule here, ``one_label_per_object``:
the exported models keep a box per label (their non-maximum suppression is per class, so an
app sees every label's guess), but a person can give an object only one label, so suggestions
keep the best-scored label where boxes of several labels overlap at IoU >= ``SAME_OBJECT_IOU``.
The default threshold (``evaluate``) is chosen over exactly the detections a ``Predictor``
suggests.

A detection run may also train a **box classifier** (``box_classifier.py``): the classifier recipe
on the run's box crops. Where it exists, ``name_boxes`` lets it name each kept box: the label is
its most probable class, the score the detector's score times that probability, so a box needs
both a confident detector (there is an object) and a confident classifier (it is this one). On
playing-cards the detector finds the cards but confuses ranks; the crop classifier does not.
"""

from __future__ import annotations

import numpy as np

# Boxes overlapping this much are one object, as for the models' own per-class suppression
# (DetectorConfig.iou_threshold) and for a match in evaluation.
SAME_OBJECT_IOU = 0.5


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of ``a [N, 4]`` and ``b [M, 4]`` (x, y, x2, y2)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=-1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def one_label_per_object(boxes: np.ndarray, scores: np.ndarray, iou: float = SAME_OBJECT_IOU) -> np.ndarray:
    """Indices of the boxes to keep, best score first: greedy, each box dropped when it overlaps
    an already kept one at IoU >= ``iou``, whatever the two labels (equal scores keep input order)."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, float).reshape(-1), kind="mergesort")
    overlaps = iou_matrix(boxes, boxes) >= iou
    kept: list[int] = []
    for i in order.tolist():
        if not any(overlaps[i, k] for k in kept):
            kept.append(i)
    return np.array(kept, dtype=np.int64)


def name_boxes(scores: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, scores)`` of boxes named by the box classifier: for box ``i`` with detector
    score ``scores[i]`` and class probabilities ``probabilities[i]``, the most probable class
    (the first on a tie) and ``scores[i] * max(probabilities[i])``."""
    scores = np.asarray(scores, float).reshape(-1)
    if not len(scores):
        return np.zeros(0, np.int64), np.zeros(0)
    probabilities = np.asarray(probabilities, float).reshape(len(scores), -1)
    return probabilities.argmax(-1).astype(np.int64), scores * probabilities.max(-1)
