"""Held-out evaluation: accuracy and confusion matrix, per-class AP@0.5 and mAP, the score
threshold that suggests best (best F1), and sample pictures of predictions for the run page.

``suggestion_threshold`` is what model-assisted labelling shows by default:
``{"score": t, "f1", "precision", "recall"}`` at the cut-off that maximises F1 over the
validation split (ties go to the higher score, which shows fewer suggestions), or ``{}``
without validation images or positives. A detector pools the detections a ``Predictor`` would
suggest (``boxes.one_label_per_object``: one label per object) over all classes, matched as for
AP (same class, IoU >= 0.5, greedy by score); a classifier suggests its top-1 class when
that probability is >= t, so precision is correct / shown and recall correct / all images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw

from . import data as pipelines
from .boxes import iou_matrix, one_label_per_object
from .dataset import Sample

ServeFn = Callable[[tf.Tensor], dict[str, tf.Tensor]]
ALL_POINTS = "all_points"  # VOC 2010+ area under the monotone precision envelope
COCO_101 = "coco_101"  # COCO's mean precision at 101 recall thresholds


CURVE_POINTS = 101  # at most this many points per precision-recall curve

# {label: {"precision": [...], "recall": [...]}}; a label without examples here has none.
PRCurves = dict[str, dict[str, list[float]]]
# {"score", "f1", "precision", "recall"} (see the module docstring); {} when there is none.
SuggestionThreshold = dict[str, float]


@dataclass(frozen=True)
class ClassificationReport:
    accuracy: float
    confusion_matrix: list[list[int]]  # rows: true label, columns: predicted label
    per_class_accuracy: dict[str, float | None]
    # One-vs-rest from the probabilities (absent when only the predicted labels were given).
    ap_per_class: dict[str, float | None] = field(default_factory=dict)
    pr_curves: PRCurves = field(default_factory=dict)
    suggestion_threshold: SuggestionThreshold = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DetectionReport:
    # mAP at IoU 0.5, under the name the loop, the run's metrics and every page use (validation.MAP50).
    map50: float
    ap_per_class: dict[str, float | None]  # None: the class has no ground truth here
    iou_threshold: float
    images: int
    pr_curves: PRCurves = field(default_factory=dict)
    suggestion_threshold: SuggestionThreshold = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def classification_report(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str], probabilities: np.ndarray | None = None
) -> ClassificationReport:
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    totals = matrix.sum(axis=1)
    per_class: dict[str, float | None] = {
        name: (float(matrix[i, i] / totals[i]) if totals[i] else None) for i, name in enumerate(labels)
    }
    accuracy = float(np.trace(matrix) / max(matrix.sum(), 1))
    ap: dict[str, float | None] = {}
    curves: PRCurves = {}
    suggestion: SuggestionThreshold = {}
    if probabilities is not None:
        truth = np.asarray(y_true, int)
        suggestion = classifier_suggestion_threshold(truth, probabilities)
        for c, name in enumerate(labels):
            positives = int((truth == c).sum())
            if not positives:
                ap[name] = None
                continue
            order = np.argsort(-np.asarray(probabilities)[:, c], kind="mergesort")
            hits = (truth[order] == c).astype(float)
            recall, precision = _recall_precision(hits, positives)
            ap[name] = average_precision(recall, precision)
            curves[name] = pr_curve(recall, precision)
    return ClassificationReport(accuracy, matrix.tolist(), per_class, ap, curves, suggestion)


def best_f1_threshold(scores: np.ndarray, correct: np.ndarray, positives: int) -> SuggestionThreshold:
    """The score cut-off (keep every suggestion scored >= it) with the highest F1.

    ``correct[i]`` says whether suggestion ``i`` is right and ``positives`` is how many right
    answers exist; F1 = 2TP / (shown + positives). Every distinct score is a candidate, and on
    equal F1 the higher score wins. ``{}`` without suggestions or positives.
    """
    scores, correct = np.asarray(scores, float).reshape(-1), np.asarray(correct, bool).reshape(-1)
    if not len(scores) or positives <= 0:
        return {}
    order = np.argsort(-scores, kind="mergesort")
    scores, tp = scores[order], np.cumsum(correct[order])
    shown = np.arange(1, len(scores) + 1)
    # A cut-off keeps all suggestions of equal score, so only the last of each run of ties counts.
    last_of_score = np.append(scores[1:] != scores[:-1], True)
    f1 = np.where(last_of_score, 2 * tp / (shown + positives), -1.0)
    best = int(np.argmax(f1))  # the first maximum in descending score order: the higher score
    return {
        "score": float(scores[best]),
        "f1": float(f1[best]),
        "precision": float(tp[best] / shown[best]),
        "recall": float(tp[best] / positives),
    }


def classifier_suggestion_threshold(
    y_true: Sequence[int] | np.ndarray, probabilities: np.ndarray
) -> SuggestionThreshold:
    """Best-F1 threshold for suggesting the top-1 class (every image has one right answer)."""
    probabilities = np.asarray(probabilities, float)
    if not probabilities.size:
        return {}
    top = probabilities.argmax(-1)
    correct = top == np.asarray(y_true, int)
    return best_f1_threshold(probabilities.max(-1), correct, len(top))


def _recall_precision(hits: np.ndarray, positives: int) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision after each of ``hits`` (1 = true positive), best score first."""
    cum_tp, cum_fp = np.cumsum(hits), np.cumsum(1.0 - hits)
    return cum_tp / positives, cum_tp / np.maximum(cum_tp + cum_fp, np.finfo(float).eps)


def pr_curve(recall: np.ndarray, precision: np.ndarray, points: int = CURVE_POINTS) -> dict[str, list[float]]:
    """The curve at no more than ``points`` evenly spaced ranks (the last one included)."""
    if not len(recall):
        return {"precision": [], "recall": []}
    index = np.unique(np.linspace(0, len(recall) - 1, min(points, len(recall))).round().astype(int))
    return {
        "precision": [round(float(v), 4) for v in np.asarray(precision)[index]],
        "recall": [round(float(v), 4) for v in np.asarray(recall)[index]],
    }


def average_precision(recall: np.ndarray, precision: np.ndarray, interpolation: str = ALL_POINTS) -> float:
    """Area under the precision-recall curve after making precision monotone decreasing."""
    envelope = np.maximum.accumulate(np.asarray(precision, float)[::-1])[::-1]
    if interpolation == COCO_101:
        index = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
        padded = np.concatenate([envelope, [0.0]])
        return float(padded[np.minimum(index, len(envelope))].mean())
    if interpolation != ALL_POINTS:
        raise ValueError(f"unknown interpolation {interpolation!r}")
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))


def _match_image(gt: np.ndarray, det: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy matching in score order to the best still-unmatched ground truth (as COCO does)."""
    order = np.argsort(-scores, kind="mergesort")
    ious = iou_matrix(det[order], gt)
    matched = np.zeros(len(gt), bool)
    true_positive = np.zeros(len(det), bool)
    for rank, i in enumerate(order):
        candidates = np.where(matched, -1.0, ious[rank]) if len(gt) else np.zeros(0)
        if len(candidates) and candidates.max() >= iou_threshold:
            matched[candidates.argmax()] = True
            true_positive[i] = True
    return true_positive


def detection_report(
    ground_truth: Sequence[tuple[np.ndarray, np.ndarray]],
    detections: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    labels: Sequence[str],
    iou_threshold: float = 0.5,
    interpolation: str = ALL_POINTS,
) -> DetectionReport:
    """Per-class AP over images. ``ground_truth[i] = (boxes [N, 4], classes [N])`` and
    ``detections[i] = (boxes [M, 4], classes [M], scores [M])``, boxes as x, y, x2, y2."""
    ap: dict[str, float | None] = {}
    curves: PRCurves = {}
    for c, name in enumerate(labels):
        hits, all_scores, positives = [], [], 0
        for (gt_boxes, gt_cls), (boxes, cls, scores) in zip(ground_truth, detections, strict=True):
            gt = np.asarray(gt_boxes, float).reshape(-1, 4)[np.asarray(gt_cls) == c]
            keep = np.asarray(cls) == c
            det, sc = np.asarray(boxes, float).reshape(-1, 4)[keep], np.asarray(scores, float)[keep]
            positives += len(gt)
            hits.append(_match_image(gt, det, sc, iou_threshold))
            all_scores.append(sc)
        if positives == 0:
            ap[name] = None
            continue
        scores = np.concatenate(all_scores)
        order = np.argsort(-scores, kind="mergesort")
        tp = np.concatenate(hits)[order].astype(float)
        recall, precision = _recall_precision(tp, positives)
        ap[name] = average_precision(recall, precision, interpolation) if len(tp) else 0.0
        curves[name] = pr_curve(recall, precision)
    scored = [v for v in ap.values() if v is not None]
    mean_ap = float(np.mean(scored)) if scored else 0.0
    suggestion = detector_suggestion_threshold(ground_truth, detections, iou_threshold)
    return DetectionReport(mean_ap, ap, iou_threshold, len(ground_truth), curves, suggestion)


def detector_suggestion_threshold(
    ground_truth: Sequence[tuple[np.ndarray, np.ndarray]],
    detections: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    iou_threshold: float,
) -> SuggestionThreshold:
    """Best-F1 cut-off over what would be suggested: one label per object, every class pooled."""
    hits, pooled_scores, positives = [], [], 0
    for (gt_boxes, gt_cls), (boxes, cls, scores) in zip(ground_truth, detections, strict=True):
        gt_boxes, gt_cls = np.asarray(gt_boxes, float).reshape(-1, 4), np.asarray(gt_cls)
        boxes, cls, scores = np.asarray(boxes, float).reshape(-1, 4), np.asarray(cls), np.asarray(scores, float)
        keep = one_label_per_object(boxes, scores)
        boxes, cls, scores = boxes[keep], cls[keep], scores[keep]
        positives += len(gt_boxes)
        for c in np.unique(cls):
            hits.append(_match_image(gt_boxes[gt_cls == c], boxes[cls == c], scores[cls == c], iou_threshold))
            pooled_scores.append(scores[cls == c])
    if not hits:
        return {}
    return best_f1_threshold(np.concatenate(pooled_scores), np.concatenate(hits), positives)


def detections(outputs: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Serving outputs (batch 1, y/x order, padded) to valid x, y, x2, y2 boxes."""
    outputs = {k: np.asarray(v) for k, v in outputs.items()}
    count = int(outputs["num_detections"].reshape(-1)[0])
    yxyx = outputs["boxes"][0, :count]
    return (
        yxyx[:, [1, 0, 3, 2]],
        outputs["classes"][0, :count].round().astype(int),
        outputs["scores"][0, :count],
    )


def ground_truth(samples: Sequence[Sample]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(boxes [N, 4] as x, y, x2, y2, classes [N])`` of every detection sample."""
    return [
        (np.array([[b.x, b.y, b.x2, b.y2] for b in s.boxes]).reshape(-1, 4), np.array([b.label for b in s.boxes]))
        for s in samples
    ]


def evaluate_classifier(
    serve: ServeFn, samples: Sequence[Sample], labels: Sequence[str], input_size: int
) -> ClassificationReport:
    images = pipelines.classification_images(samples, input_size, cache=False)
    probabilities = np.array([serve(image[None])["probabilities"].numpy()[0] for image, _ in images])
    predicted = probabilities.argmax(-1) if len(probabilities) else []
    return classification_report([s.class_index for s in samples], predicted, labels, probabilities)


def evaluate_detector(
    serve: ServeFn,
    samples: Sequence[Sample],
    labels: Sequence[str],
    input_size: int,
    iou_threshold: float = 0.5,
) -> DetectionReport:
    images = pipelines.detection_images(samples, input_size, cache=False)
    found = [detections(serve(image[None])) for image, _, _ in images]
    return detection_report(ground_truth(samples), found, labels, iou_threshold)


def draw_predictions(
    serve: ServeFn,
    kind: str,
    samples: Sequence[Sample],
    labels: Sequence[str],
    input_size: int,
    out_dir: str | Path,
    limit: int = 8,
    min_score: float = 0.3,
) -> list[Path]:
    """PNG files of the first ``limit`` samples with predicted boxes or the top class."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = list(samples)[:limit]
    windows = [s.crop or (0.0, 0.0, 1.0, 1.0) for s in samples]
    written = []
    for i, (sample, window) in enumerate(zip(samples, windows, strict=True)):
        model_input = pipelines.load_resized(tf.constant(sample.image_path), tf.constant(window), input_size)
        outputs = serve(model_input[None])
        picture = Image.fromarray(np.clip(model_input.numpy(), 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(picture)
        if kind == "classification":
            probabilities = outputs["probabilities"].numpy()[0]
            best = int(np.argmax(probabilities))
            draw.text((4, 4), f"{labels[best]} {probabilities[best]:.2f}", fill=(255, 255, 0))
        else:
            for box, cls, score in zip(*detections(outputs), strict=True):
                if score < min_score:
                    continue
                x, y, x2, y2 = (box * input_size).tolist()
                draw.rectangle((x, y, x2, y2), outline=(255, 0, 0), width=2)
                draw.text((x + 2, y + 2), f"{labels[cls]} {score:.2f}", fill=(255, 255, 0))
        path = out_dir / f"prediction_{i:03d}.png"
        picture.save(path)
        written.append(path)
    return written
