import numpy as np
import tensorflow as tf

from training.ml.models.anchor_free import box_loss, cell_centres, decode, encode_targets, heatmap_loss

GRID, CLASSES = 16, 3
BOXES = np.array([[0.1, 0.1, 0.4, 0.5], [0.55, 0.3, 0.95, 0.9]], np.float32)
LABELS = np.array([2, 0], np.int32)


def _perfect_predictions(targets):
    """Head outputs a perfect model would give: the target heatmap and exact distances."""
    centres = cell_centres(GRID).numpy()
    box = targets["box"].numpy()[..., :4]
    distances = np.concatenate([centres - box[..., :2], box[..., 2:] - centres], axis=-1)
    return targets["heatmap"][None], tf.constant(np.clip(distances, 1e-4, None)[None], tf.float32)


def test_heatmap_peaks_at_each_box_centre_with_its_class():
    heatmap = encode_targets(BOXES, LABELS, CLASSES, GRID)["heatmap"].numpy()
    peaks = np.argwhere(heatmap == 1.0)
    expected = [
        [int((y + y2) / 2 * GRID), int((x + x2) / 2 * GRID), c] for (x, y, x2, y2), c in zip(BOXES, LABELS, strict=True)
    ]
    assert sorted(peaks.tolist()) == sorted(expected)
    assert heatmap[..., 1].max() == 0.0  # no box of class 1


def test_box_targets_only_inside_boxes():
    box = encode_targets(BOXES, LABELS, CLASSES, GRID)["box"].numpy()
    weight = box[..., 4]
    centres = cell_centres(GRID).numpy()
    for i, j in np.argwhere(weight > 0):
        x, y, x2, y2 = box[i, j, :4]
        assert x < centres[i, j, 0] < x2 and y < centres[i, j, 1] < y2
        assert any(np.allclose(box[i, j, :4], b) for b in BOXES)


def test_image_without_boxes_has_empty_targets():
    targets = encode_targets(tf.zeros([0, 4]), tf.zeros([0], tf.int32), CLASSES, GRID)
    assert targets["heatmap"].shape == (GRID, GRID, CLASSES)
    assert float(tf.reduce_max(targets["heatmap"])) == 0.0
    assert float(tf.reduce_max(targets["box"][..., 4])) == 0.0


def test_decode_recovers_the_encoded_boxes():
    targets = encode_targets(BOXES, LABELS, CLASSES, GRID)
    heatmap, distances = _perfect_predictions(targets)
    out = decode(heatmap, distances, max_detections=10, pre_nms_top_k=50, score_threshold=0.5, iou_threshold=0.5)
    count = int(out["num_detections"][0])
    assert count == 2
    found = sorted(
        zip(out["classes"][0, :count].numpy().tolist(), out["boxes"][0, :count].numpy().tolist(), strict=True)
    )
    expected = sorted((float(c), [y, x, y2, x2]) for (x, y, x2, y2), c in zip(BOXES, LABELS, strict=True))
    for (c, box), (ec, ebox) in zip(found, expected, strict=True):
        assert c == ec
        np.testing.assert_allclose(box, ebox, atol=1e-5)
    assert out["boxes"].shape == (1, 10, 4)
    np.testing.assert_array_equal(out["scores"][0, count:], 0.0)


def test_losses_are_lower_for_perfect_predictions():
    targets = encode_targets(BOXES, LABELS, CLASSES, GRID)
    heatmap, distances = _perfect_predictions(targets)
    y_heat, y_box = targets["heatmap"][None], targets["box"][None]
    noisy_heat = tf.clip_by_value(heatmap + 0.3, 0, 1)
    assert float(heatmap_loss(y_heat, tf.clip_by_value(heatmap, 1e-4, 1 - 1e-4))[0]) < float(
        heatmap_loss(y_heat, noisy_heat)[0]
    )
    assert float(box_loss(y_box, distances)[0]) < 1e-4
    assert float(box_loss(y_box, distances * 1.5)[0]) > 0.05
