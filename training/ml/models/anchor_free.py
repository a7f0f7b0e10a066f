"""Targets, losses and decoding for the anchor-free detector head.

The head predicts, on one stride-8 grid, a per-class centre heatmap (CenterNet-style
Gaussian peaks, penalty-reduced focal loss) and the distances from each cell centre to the
four box sides (FCOS/TTFNet-style, GIoU loss on cells near a box centre). Every cell near a
centre contributes a box sample, which trains much faster on small datasets than one
regression target per object.
"""

from __future__ import annotations

import tensorflow as tf

GAUSSIAN_ALPHA = 0.54  # Gaussian sigma = alpha * box side / 6 (TTFNet)
MIN_SIGMA = 0.5  # in cells; keeps tiny boxes from getting a single-cell target
BOX_SCALE_CELLS = 4.0  # distance predicted for a raw output of 0, in cells
HEATMAP_PRIOR_BIAS = -2.19  # sigmoid(-2.19) = 0.1, the CenterNet initialisation


def cell_centres(grid: int) -> tf.Tensor:
    """Normalised ``(x, y)`` of every cell centre, shape ``[grid, grid, 2]``."""
    steps = (tf.range(grid, dtype=tf.float32) + 0.5) / grid
    ys, xs = tf.meshgrid(steps, steps, indexing="ij")
    return tf.stack([xs, ys], axis=-1)


def encode_targets(boxes: tf.Tensor, labels: tf.Tensor, num_classes: int, grid: int) -> dict[str, tf.Tensor]:
    """Boxes ``[N, 4]`` (normalised x, y, x2, y2) to ``heatmap [G, G, C]`` and
    ``box [G, G, 5]`` (target x, y, x2, y2 and a regression weight)."""
    # A zero-weight dummy box makes every reduction below safe for images without boxes.
    boxes = tf.concat([tf.reshape(tf.cast(boxes, tf.float32), [-1, 4]), tf.zeros([1, 4])], 0)
    onehot = tf.concat([tf.one_hot(labels, num_classes), tf.zeros([1, num_classes])], 0)
    real = tf.concat([tf.ones([tf.shape(labels)[0]]), tf.zeros([1])], 0)

    g = tf.cast(grid, tf.float32)
    x, y, x2, y2 = tf.unstack(boxes * g, 4, axis=-1)
    peak_x = tf.clip_by_value(tf.floor((x + x2) / 2), 0.0, g - 1)
    peak_y = tf.clip_by_value(tf.floor((y + y2) / 2), 0.0, g - 1)
    sigma_x = tf.maximum(GAUSSIAN_ALPHA * (x2 - x) / 6, MIN_SIGMA)
    sigma_y = tf.maximum(GAUSSIAN_ALPHA * (y2 - y) / 6, MIN_SIGMA)
    cells = tf.range(grid, dtype=tf.float32)
    gx = tf.exp(-tf.square(cells[None] - peak_x[:, None]) / (2 * tf.square(sigma_x[:, None])))
    gy = tf.exp(-tf.square(cells[None] - peak_y[:, None]) / (2 * tf.square(sigma_y[:, None])))
    gauss = gy[:, :, None] * gx[:, None, :] * real[:, None, None]  # [N+1, G, G]

    heatmap = tf.reduce_max(gauss[..., None] * onehot[:, None, None, :], axis=0)

    centres = cell_centres(grid) * g
    inside = (
        (centres[None, ..., 0] > x[:, None, None])
        & (centres[None, ..., 0] < x2[:, None, None])
        & (centres[None, ..., 1] > y[:, None, None])
        & (centres[None, ..., 1] < y2[:, None, None])
    )
    weights = gauss * tf.cast(inside, tf.float32)
    owner = tf.argmax(weights, axis=0, output_type=tf.int32)
    target = tf.gather(boxes, owner)
    box = tf.concat([target, tf.reduce_max(weights, axis=0)[..., None]], axis=-1)
    return {"heatmap": heatmap, "box": box}


def heatmap_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Penalty-reduced focal loss, normalised by the batch's number of object centres."""
    p = tf.clip_by_value(y_pred, 1e-4, 1.0 - 1e-4)
    positive = tf.cast(tf.equal(y_true, 1.0), tf.float32)
    pos_loss = -tf.math.log(p) * tf.square(1.0 - p) * positive
    neg_loss = -tf.math.log(1.0 - p) * tf.square(p) * tf.pow(1.0 - y_true, 4.0) * (1.0 - positive)
    per_image = tf.reduce_sum(pos_loss + neg_loss, axis=[1, 2, 3])
    centres_per_image = tf.reduce_mean(tf.reduce_sum(positive, axis=[1, 2, 3]))
    return per_image / tf.maximum(centres_per_image, 1.0)


def distances_to_boxes(distances: tf.Tensor) -> tf.Tensor:
    """Per-cell ``(left, top, right, bottom)`` distances ``[..., G, G, 4]`` to x, y, x2, y2."""
    grid = distances.shape[-2]
    centres = cell_centres(grid)
    return tf.concat([centres - distances[..., :2], centres + distances[..., 2:]], axis=-1)


def giou(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Generalised IoU of boxes in x, y, x2, y2 (last axis)."""
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    inter_wh = tf.maximum(tf.minimum(a[..., 2:], b[..., 2:]) - tf.maximum(a[..., :2], b[..., :2]), 0.0)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    union = area_a + area_b - inter
    iou = inter / tf.maximum(union, 1e-9)
    hull_wh = tf.maximum(a[..., 2:], b[..., 2:]) - tf.minimum(a[..., :2], b[..., :2])
    hull = tf.maximum(hull_wh[..., 0] * hull_wh[..., 1], 1e-9)
    return iou - (hull - union) / hull


def box_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """GIoU loss weighted by the target Gaussian, normalised by the batch's total weight."""
    weight = y_true[..., 4]
    loss = (1.0 - giou(distances_to_boxes(y_pred), y_true[..., :4])) * weight
    per_image = tf.reduce_sum(loss, axis=[1, 2])
    weight_per_image = tf.reduce_mean(tf.reduce_sum(weight, axis=[1, 2]))
    return per_image / tf.maximum(weight_per_image, 1e-6)


def decode(
    heatmap: tf.Tensor,
    distances: tf.Tensor,
    max_detections: int,
    pre_nms_top_k: int,
    score_threshold: float,
    iou_threshold: float,
) -> dict[str, tf.Tensor]:
    """Batch-1 head outputs to fixed-size detections with per-class NMS.

    Uses only ops that TFLite, TF.js and Core ML all convert: NonMaxSuppressionV5 without
    padding (TF.js drops its count output, Core ML has no V4), padded here by concat+slice.
    """
    num_classes = heatmap.shape[-1]
    peaks = heatmap * tf.cast(tf.equal(tf.nn.max_pool2d(heatmap, 3, 1, "SAME"), heatmap), heatmap.dtype)
    flat = tf.reshape(peaks, [-1])
    scores, index = tf.math.top_k(flat, k=min(pre_nms_top_k, flat.shape[0]))
    cell = index // num_classes
    classes = tf.cast(index % num_classes, tf.float32)
    xyxy = tf.gather(tf.reshape(distances_to_boxes(distances), [-1, 4]), cell)
    xyxy = tf.clip_by_value(xyxy, 0.0, 1.0)
    yxyx = tf.stack([xyxy[:, 1], xyxy[:, 0], xyxy[:, 3], xyxy[:, 2]], axis=-1)
    # Shifting each class to its own region of the plane makes one NMS act per class.
    shifted = yxyx + classes[:, None] * 2.0
    selected, selected_scores, _ = tf.raw_ops.NonMaxSuppressionV5(
        boxes=shifted,
        scores=scores,
        max_output_size=max_detections,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        soft_nms_sigma=0.0,
        pad_to_max_output_size=False,
    )
    count = tf.shape(selected)[0]
    selected = tf.concat([selected, tf.zeros([max_detections], tf.int32)], 0)[:max_detections]
    selected_scores = tf.concat([selected_scores, tf.zeros([max_detections])], 0)[:max_detections]
    valid = tf.cast(tf.range(max_detections) < count, tf.float32)
    return {
        "boxes": (tf.gather(yxyx, selected) * valid[:, None])[None],
        "classes": (tf.gather(classes, selected) * valid)[None],
        "scores": (selected_scores * valid)[None],
        "num_detections": tf.cast(count, tf.float32)[None],
    }
