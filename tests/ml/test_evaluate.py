import contextlib
import io

import numpy as np
import pytest

from training.ml.evaluate import (
    ALL_POINTS,
    COCO_101,
    best_f1_threshold,
    classification_report,
    detection_report,
)

LABELS = ("cat", "dog", "bird", "fish")  # fish never appears in the ground truth


def _synthetic(seed: int, images: int = 60):
    """Ground truth plus noisy detections: jittered hits, misses, duplicates, false alarms."""
    rng = np.random.default_rng(seed)
    ground_truth, detections = [], []
    for _ in range(images):
        n = rng.integers(0, 5)
        xy = rng.uniform(0, 0.7, (n, 2))
        gt = np.concatenate([xy, xy + rng.uniform(0.05, 0.3, (n, 2))], axis=1)
        gt_cls = rng.integers(0, 3, n)
        boxes, cls, scores = [], [], []
        for box, c in zip(gt, gt_cls, strict=True):
            for _ in range(rng.integers(0, 3)):  # 0: missed, 2: a duplicate
                boxes.append(box + rng.normal(0, 0.012, 4))
                cls.append(c if rng.uniform() > 0.1 else rng.integers(0, 4))
                scores.append(rng.uniform(0.2, 1.0))
        for _ in range(rng.integers(0, 3)):  # false alarms
            xy = rng.uniform(0, 0.8, 2)
            boxes.append(np.concatenate([xy, xy + rng.uniform(0.05, 0.2, 2)]))
            cls.append(rng.integers(0, 4))
            scores.append(rng.uniform(0.0, 0.8))
        boxes = np.clip(np.array(boxes).reshape(-1, 4), 0, 1)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1e-3)
        ground_truth.append((gt, gt_cls))
        detections.append((boxes, np.array(cls, int), np.array(scores)))
    return ground_truth, detections


def _coco_ap(ground_truth, detections, width=640, height=480):
    """Per-class AP@0.5 from pycocotools on the same boxes, in pixels."""
    coco_mask = pytest.importorskip("pycocotools.coco")
    from pycocotools.cocoeval import COCOeval

    scale = np.array([width, height, width, height])
    images, annotations, results = [], [], []
    for image_id, ((gt, gt_cls), (boxes, cls, scores)) in enumerate(zip(ground_truth, detections, strict=True)):
        images.append({"id": image_id, "width": width, "height": height})
        for box, c in zip(gt * scale, gt_cls, strict=True):
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(c),
                    "bbox": [box[0], box[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for box, c, s in zip(boxes * scale, cls, scores, strict=True):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(c),
                    "score": float(s),
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                }
            )
    gt_api = coco_mask.COCO()
    gt_api.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n} for i, n in enumerate(LABELS)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt_api.createIndex()
        evaluator = COCOeval(gt_api, gt_api.loadRes(results), "bbox")
        evaluator.params.iouThrs = np.array([0.5])
        evaluator.params.areaRng = [[0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.params.maxDets = [1000]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][0, :, :, 0, 0]  # [recall thresholds, classes]
    return {
        name: (float(precision[:, k].mean()) if (precision[:, k] > -1).all() else None) for k, name in enumerate(LABELS)
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ap_agrees_with_pycocotools(seed):
    ground_truth, detections = _synthetic(seed)
    coco = _coco_ap(ground_truth, detections)
    ours_101 = detection_report(ground_truth, detections, LABELS, 0.5, COCO_101)
    ours = detection_report(ground_truth, detections, LABELS, 0.5, ALL_POINTS)
    assert coco["fish"] is None and ours.ap_per_class["fish"] is None
    for name in LABELS[:3]:
        assert 0.3 < coco[name] < 0.95  # the synthetic data is neither trivial nor hopeless
        assert ours_101.ap_per_class[name] == pytest.approx(coco[name], abs=1e-9)
        assert ours.ap_per_class[name] == pytest.approx(coco[name], abs=0.01)
    coco_map = np.mean([v for v in coco.values() if v is not None])
    assert ours.map50 == pytest.approx(coco_map, abs=0.01)


def test_perfect_and_empty_detections():
    ground_truth, _ = _synthetic(3, images=10)
    perfect = [(gt, cls, np.linspace(1, 0.5, len(cls))) for gt, cls in ground_truth]
    assert detection_report(ground_truth, perfect, LABELS).map50 == pytest.approx(1.0)
    nothing = [(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0)) for _ in ground_truth]
    assert detection_report(ground_truth, nothing, LABELS).map50 == 0.0


def test_a_duplicate_detection_is_a_false_positive():
    gt = [(np.array([[0.1, 0.1, 0.5, 0.5]]), np.array([0]))]
    # The duplicate outranks the true hit, so precision at full recall is 1/2.
    det = [(np.array([[0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.5, 0.5]]), np.array([0, 0]), np.array([0.9, 0.8]))]
    single = [(det[0][0][:1], det[0][1][:1], det[0][2][:1])]
    assert detection_report(gt, det, ("a",)).map50 == pytest.approx(1.0)  # first hit comes first
    assert detection_report(gt, single, ("a",)).map50 == pytest.approx(1.0)
    worse = [(np.array([[0.6, 0.6, 0.9, 0.9], [0.1, 0.1, 0.5, 0.5]]), np.array([0, 0]), np.array([0.9, 0.8]))]
    assert detection_report(gt, worse, ("a",)).map50 == pytest.approx(0.5)


def test_classification_report_confusion_matrix():
    report = classification_report([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ("a", "b", "c"))
    assert report.confusion_matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.per_class_accuracy == {"a": 0.5, "b": 1.0, "c": 0.0}


def _box(x: float, y: float) -> list[float]:
    return [x, y, x + 0.2, y + 0.2]


def test_detection_suggestion_threshold_is_the_best_f1_cut_off_over_all_classes():
    a, b, c = _box(0.1, 0.1), _box(0.6, 0.6), _box(0.3, 0.3)
    ground_truth = [(np.array([a, b]), np.array([0, 1])), (np.array([c]), np.array([0]))]
    detections = [
        # a (hit), b (hit), a false alarm
        (np.array([a, b, _box(0.7, 0.1)]), np.array([0, 1, 0]), np.array([0.9, 0.8, 0.7])),
        # c (hit), c again (a duplicate), c under the wrong class
        (np.array([c, c, c]), np.array([0, 0, 1]), np.array([0.6, 0.5, 0.4])),
    ]
    report = detection_report(ground_truth, detections, ("a", "b"))
    # Cut-offs 0.9 .. 0.4 give F1 = 2TP / (shown + 3): 2/4, 4/5, 4/6, 6/7, 6/8, 6/9.
    assert report.suggestion_threshold == pytest.approx({"score": 0.6, "f1": 6 / 7, "precision": 0.75, "recall": 1.0})
    assert report.to_dict()["suggestion_threshold"] == report.suggestion_threshold


def test_detection_suggestion_threshold_counts_one_label_per_object_but_ap_counts_every_label():
    a, b = _box(0.1, 0.1), _box(0.6, 0.6)
    ground_truth = [(np.array([a]), np.array([0])), (np.array([b]), np.array([1]))]
    detections = [
        (np.array([a, a]), np.array([0, 1]), np.array([0.9, 0.6])),  # a, and a again as "b"
        (np.array([b]), np.array([1]), np.array([0.5])),
    ]
    report = detection_report(ground_truth, detections, ("a", "b"))
    # A person is never offered the 0.6 "b" on top of the 0.9 "a": the cut-off 0.5 shows both hits only.
    assert report.suggestion_threshold == pytest.approx({"score": 0.5, "f1": 1.0, "precision": 1.0, "recall": 1.0})
    assert report.ap_per_class == pytest.approx({"a": 1.0, "b": 0.5})  # the model's own AP keeps the false "b"


def test_detection_suggestion_threshold_is_empty_without_positives_or_detections():
    nothing = [(np.zeros((0, 4)), np.zeros(0, int))]
    alarm = [(np.array([_box(0.1, 0.1)]), np.array([0]), np.array([0.9]))]
    assert detection_report(nothing, alarm, ("a",)).suggestion_threshold == {}
    found_nothing = [(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))]
    one_box = [(np.array([_box(0.1, 0.1)]), np.array([0]))]
    assert detection_report(one_box, found_nothing, ("a",)).suggestion_threshold == {}
    assert detection_report([], [], ("a",)).suggestion_threshold == {}


def test_best_f1_prefers_the_higher_score_on_a_tie_and_keeps_equal_scores_together():
    # F1 at 0.9 and at 0.6 are both 2/3: the higher score shows fewer suggestions.
    tie = best_f1_threshold(np.array([0.9, 0.8, 0.7, 0.6]), np.array([True, False, False, True]), 2)
    assert tie == pytest.approx({"score": 0.9, "f1": 2 / 3, "precision": 1.0, "recall": 0.5})
    # A cut-off at 0.7 keeps both 0.7s: F1 2/3, not the 1.0 of keeping only the right one.
    equal = best_f1_threshold(np.array([0.7, 0.7]), np.array([True, False]), 1)
    assert equal == pytest.approx({"score": 0.7, "f1": 2 / 3, "precision": 0.5, "recall": 1.0})


def test_classification_suggestion_threshold_is_the_best_f1_top_1_cut_off():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    truth = [0, 1, 0, 1]  # the 0.7 guess is wrong
    report = classification_report(truth, probabilities.argmax(-1), ("a", "b"), probabilities)
    # Cut-offs 0.9 .. 0.6 give F1 = 2 correct / (shown + 4): 2/5, 4/6, 4/7, 6/8.
    assert report.suggestion_threshold == pytest.approx({"score": 0.6, "f1": 0.75, "precision": 0.75, "recall": 0.75})
    assert classification_report(truth, probabilities.argmax(-1), ("a", "b")).suggestion_threshold == {}
    assert classification_report([], [], ("a", "b"), np.zeros((0, 2))).suggestion_threshold == {}
