"""Training-time augmentation that moves boxes together with the pixels.

Images are float32 ``[H, W, 3]`` in 0..255, boxes ``[N, 4]`` normalised ``(x, y, x2, y2)``,
labels ``[N]`` int32. Randomness is stateless: every function takes a ``seed`` of shape ``[2]``,
so a tf.data pipeline seeded once gives the same augmentations on every run.
"""

from __future__ import annotations

import tensorflow as tf

from .config import AugmentConfig


def flip_horizontal(image: tf.Tensor, boxes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Mirror the image left-right; x becomes 1 - x2 and x2 becomes 1 - x."""
    x, y, x2, y2 = tf.unstack(boxes, 4, axis=-1)
    return tf.image.flip_left_right(image), tf.stack([1.0 - x2, y, 1.0 - x, y2], axis=-1)


def crop(
    image: tf.Tensor,
    boxes: tf.Tensor,
    labels: tf.Tensor,
    window: tf.Tensor,
    min_visible: float = 0.4,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Cut ``window`` (normalised x, y, x2, y2) out of the image and re-express boxes in it.

    Boxes are clipped to the window; a box is dropped when less than ``min_visible`` of its
    area remains, since a sliver of an object teaches the detector the wrong thing.
    """
    window = tf.cast(window, tf.float32)
    wx, wy, wx2, wy2 = tf.unstack(window)
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    top, left = tf.cast(wy * shape[0], tf.int32), tf.cast(wx * shape[1], tf.int32)
    height = tf.maximum(tf.cast((wy2 - wy) * shape[0], tf.int32), 1)
    width = tf.maximum(tf.cast((wx2 - wx) * shape[1], tf.int32), 1)
    cropped = tf.image.crop_to_bounding_box(image, top, left, height, width)

    clipped = tf.clip_by_value(boxes, tf.stack([wx, wy, wx, wy]), tf.stack([wx2, wy2, wx2, wy2]))
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept_area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = kept_area >= min_visible * tf.maximum(area, 1e-12)
    scale = tf.stack([wx2 - wx, wy2 - wy, wx2 - wx, wy2 - wy])
    moved = (clipped - tf.stack([wx, wy, wx, wy])) / scale
    return cropped, tf.boolean_mask(moved, keep), tf.boolean_mask(labels, keep)


def random_window(seed: tf.Tensor, min_fraction: float) -> tf.Tensor:
    """A random window whose sides are each between ``min_fraction`` and 1 of the image."""
    u = tf.random.stateless_uniform([4], seed=seed)
    w = min_fraction + (1.0 - min_fraction) * u[0]
    h = min_fraction + (1.0 - min_fraction) * u[1]
    x = (1.0 - w) * u[2]
    y = (1.0 - h) * u[3]
    return tf.stack([x, y, x + w, y + h])


def color_jitter(image: tf.Tensor, seed: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Brightness, contrast and saturation changes; boxes are unaffected."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    x = image / 255.0
    x = tf.image.stateless_random_brightness(x, config.brightness, seed=seeds[0])
    x = tf.image.stateless_random_contrast(x, 1 - config.contrast, 1 + config.contrast, seed=seeds[1])
    x = tf.image.stateless_random_saturation(x, 1 - config.saturation, 1 + config.saturation, seed=seeds[2])
    return tf.clip_by_value(x, 0.0, 1.0) * 255.0


def augment_detection(
    image: tf.Tensor,
    boxes: tf.Tensor,
    labels: tf.Tensor,
    seed: tf.Tensor,
    config: AugmentConfig,
    output_size: int,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Random flip, scale/crop and colour jitter, then resize to ``output_size`` square."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    if config.horizontal_flip:
        flip = tf.random.stateless_uniform([], seed=seeds[0]) < 0.5
        image, boxes = tf.cond(flip, lambda: flip_horizontal(image, boxes), lambda: (image, boxes))
    if config.scale_crop:
        window = random_window(seeds[1], config.min_crop_fraction)
        image, boxes, labels = crop(image, boxes, labels, window)
    image = tf.image.resize(image, [output_size, output_size])
    if config.color_jitter:
        image = color_jitter(image, seeds[2], config)
    return image, boxes, labels


def rotate(image: tf.Tensor, seed: tf.Tensor, max_degrees: float) -> tf.Tensor:
    """Rotate about the centre by a uniform angle in ``±max_degrees`` (positive: counter-
    clockwise on screen); the corners that come into view mirror the image's edge (a black
    wedge would be a cue the real data lacks)."""
    angle = tf.random.stateless_uniform([], seed, minval=-max_degrees, maxval=max_degrees) * (3.141592653589793 / 180.0)
    height, width = tf.cast(tf.shape(image)[0], tf.float32), tf.cast(tf.shape(image)[1], tf.float32)
    cos, sin = tf.cos(angle), tf.sin(angle)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # Output pixel (x, y) samples the input at R(-angle) about the centre.
    transform = tf.stack([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0])
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform[None],
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    return rotated[0]


def augment_classification(image: tf.Tensor, seed: tf.Tensor, config: AugmentConfig, output_size: int) -> tf.Tensor:
    """Detection augmentation without boxes (the same flips, crops and colours), then an
    optional small rotation: a class label, unlike a box, stays true of a rotated image."""
    empty = tf.zeros([0, 4], tf.float32)
    image, _, _ = augment_detection(image, empty, tf.zeros([0], tf.int32), seed, config, output_size)
    if config.rotation:
        # A seed of its own, so that switching rotation on leaves the other draws unchanged.
        image = rotate(image, tf.random.experimental.stateless_fold_in(seed, 1), config.rotation)
    return image
