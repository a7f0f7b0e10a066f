import numpy as np
import pytest
import tensorflow as tf

from training.ml.augment import augment_classification, augment_detection, crop, flip_horizontal, random_window, rotate
from training.ml.config import AugmentConfig


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0, 0.7, (n, 2))
    wh = rng.uniform(0.05, 0.3, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def _painted(boxes: np.ndarray, size: int = 200) -> np.ndarray:
    """A black image with each box filled white, to check pixels move with the boxes."""
    image = np.zeros((size, size, 3), np.float32)
    for x, y, x2, y2 in (boxes * size).round().astype(int):
        image[y:y2, x:x2] = 255.0
    return image


def test_flip_twice_is_identity():
    boxes = _random_boxes(np.random.default_rng(0), 5)
    image = tf.random.uniform([32, 48, 3]) * 255
    once_image, once_boxes = flip_horizontal(image, boxes)
    twice_image, twice_boxes = flip_horizontal(once_image, once_boxes)
    assert not np.allclose(once_boxes, boxes)
    np.testing.assert_allclose(twice_boxes, boxes, atol=1e-6)
    np.testing.assert_array_equal(twice_image, image)


def test_flip_moves_pixels_with_boxes():
    boxes = np.array([[0.1, 0.2, 0.3, 0.6]], np.float32)
    image, flipped = flip_horizontal(tf.constant(_painted(boxes)), boxes)
    np.testing.assert_allclose(flipped, [[0.7, 0.2, 0.9, 0.6]], atol=1e-6)
    np.testing.assert_array_equal(image.numpy(), _painted(flipped.numpy()))


def test_crop_reexpresses_clips_and_drops_boxes():
    boxes = np.array(
        [
            [0.3, 0.3, 0.5, 0.5],  # inside the window
            [0.1, 0.4, 0.3, 0.6],  # half outside on the left: clipped
            [0.0, 0.0, 0.22, 0.22],  # mostly outside: dropped
        ],
        np.float32,
    )
    labels = tf.constant([0, 1, 2])
    window = tf.constant([0.2, 0.2, 0.7, 0.7])
    image, kept, kept_labels = crop(tf.zeros([100, 100, 3]), boxes, labels, window)
    assert image.shape == (50, 50, 3)
    np.testing.assert_allclose(kept, [[0.2, 0.2, 0.6, 0.6], [0.0, 0.4, 0.2, 0.8]], atol=1e-6)
    np.testing.assert_array_equal(kept_labels, [0, 1])


@pytest.mark.parametrize("seed", range(20))
def test_random_augmentation_keeps_boxes_valid_and_on_their_pixels(seed):
    rng = np.random.default_rng(seed)
    boxes = _random_boxes(rng, 3)
    config = AugmentConfig(color_jitter=False)
    image, out_boxes, out_labels = augment_detection(
        tf.constant(_painted(boxes)), boxes, tf.constant([0, 1, 2]), tf.constant([seed, 7]), config, 200
    )
    out_boxes = out_boxes.numpy()
    assert out_boxes.shape[0] == out_labels.shape[0] <= 3
    assert ((out_boxes >= 0) & (out_boxes <= 1)).all()
    assert (out_boxes[:, 2] > out_boxes[:, 0]).all() and (out_boxes[:, 3] > out_boxes[:, 1]).all()
    # Every kept box still covers white pixels: its centre region is white in the output.
    for x, y, x2, y2 in (out_boxes * 200).astype(int):
        cx, cy = (x + x2) // 2, (y + y2) // 2
        assert image.numpy()[cy, cx].mean() > 128


def test_augmentation_is_deterministic_for_a_seed():
    boxes = _random_boxes(np.random.default_rng(1), 2)
    image = tf.random.stateless_uniform([64, 64, 3], seed=[1, 2]) * 255
    run = lambda s: augment_detection(image, boxes, tf.constant([0, 1]), tf.constant(s), AugmentConfig(), 64)  # noqa: E731
    first, again, other = run([3, 4]), run([3, 4]), run([5, 6])
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_random_window_stays_inside_the_image():
    for seed in range(50):
        x, y, x2, y2 = random_window(tf.constant([seed, 0]), 0.6).numpy()
        assert 0 <= x < x2 <= 1 + 1e-6 and 0 <= y < y2 <= 1 + 1e-6
        assert x2 - x >= 0.6 - 1e-6 and y2 - y >= 0.6 - 1e-6


def test_rotation_turns_pixels_about_the_centre():
    """A bright dot right of the centre lands where the drawn angle says: a positive angle
    turns the picture counter-clockwise on screen (y grows downwards)."""
    image = np.zeros((101, 101, 3), np.float32)
    image[49:52, 79:82] = 255.0  # 30 px right of the centre (50, 50)
    seed = tf.constant([7, 8])
    angle = np.deg2rad(tf.random.stateless_uniform([], seed, minval=-40.0, maxval=40.0).numpy())
    rotated = rotate(tf.constant(image), seed, 40.0).numpy()
    y, x = np.unravel_index(rotated[..., 0].argmax(), rotated.shape[:2])
    assert abs(angle) > np.deg2rad(5)
    assert abs(x - (50 + 30 * np.cos(angle))) <= 1.5 and abs(y - (50 - 30 * np.sin(angle))) <= 1.5


def test_rotation_stays_within_its_range_and_fills_corners_from_the_image():
    image = tf.fill([64, 64, 3], 200.0)
    for seed in range(20):
        rotated = rotate(image, tf.constant([seed, 1]), 15.0).numpy()
        # Reflected edges, not black wedges, fill the corners that turn into view.
        np.testing.assert_allclose(rotated, 200.0, atol=1e-3)
        angle = tf.random.stateless_uniform([], tf.constant([seed, 1]), minval=-15.0, maxval=15.0).numpy()
        assert -15.0 <= angle <= 15.0


def test_classification_rotation_only_adds_to_the_other_draws():
    """Switching rotation off gives exactly the augmentation of before (own seed stream)."""
    image = tf.random.stateless_uniform([80, 80, 3], seed=[1, 2]) * 255
    seed = tf.constant([3, 4])
    plain = augment_classification(image, seed, AugmentConfig(), 64)
    no_rotation = augment_classification(image, seed, AugmentConfig(rotation=0.0), 64)
    rotated = augment_classification(image, seed, AugmentConfig(rotation=20.0), 64)
    np.testing.assert_array_equal(plain, no_rotation)
    assert rotated.shape == plain.shape and not np.allclose(rotated, plain)
