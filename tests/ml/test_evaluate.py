import contextlib
import io

import numpy as np
import pytest

from training.ml.evaluate import ALL_POINTS, COCO_101, classification_report, detection_report, iou_matrix

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


def test_iou_matrix():
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]])
    np.testing.assert_allclose(iou_matrix(a, b), [[1 / 7, 1.0, 0.0]])


def test_classification_report_confusion_matrix():
    report = classification_report([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ("a", "b", "c"))
    assert report.confusion_matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.per_class_accuracy == {"a": 0.5, "b": 1.0, "c": 0.0}
