"""tf.data pipelines built from a ``TrainingSet``: decode, crop/resize, cache, augment, batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from .augment import augment_classification, augment_detection
from .config import AugmentConfig
from .dataset import Sample

AUTOTUNE = tf.data.AUTOTUNE


def decode_image(path: tf.Tensor) -> tf.Tensor:
    """JPEG/PNG/GIF/BMP bytes to float32 ``[H, W, 3]`` in 0..255."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return tf.cast(image, tf.float32)


def load_resized(path: tf.Tensor, window: tf.Tensor, size: int) -> tf.Tensor:
    """Decode, cut ``window`` (normalised x, y, x2, y2) and resize to ``size`` square."""
    image = decode_image(path)
    x, y, x2, y2 = tf.unstack(window)
    resized = tf.image.crop_and_resize(image[None], [[y, x, y2, x2]], [0], [size, size])
    return resized[0]


def _windows(samples: Sequence[Sample]) -> list[tuple[float, float, float, float]]:
    return [s.crop or (0.0, 0.0, 1.0, 1.0) for s in samples]


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = True
    return options


def _with_seeds(dataset: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """Pair each element with a stateless-random seed of shape [2]; reproducible per run."""
    seeds = tf.data.Dataset.random(seed=seed).batch(2, drop_remainder=True)
    return tf.data.Dataset.zip(dataset, seeds)


def classification_images(samples: Sequence[Sample], size: int, cache: bool = True) -> tf.data.Dataset:
    """Unbatched ``(image, label)`` pairs, decoded and resized once."""
    paths = tf.constant([s.image_path for s in samples], tf.string)
    windows = tf.reshape(tf.constant(_windows(samples), tf.float32), [-1, 4])
    labels = tf.constant([s.class_index for s in samples], tf.int32)
    dataset = tf.data.Dataset.from_tensor_slices((paths, windows, labels))
    dataset = dataset.map(lambda p, w, label: (load_resized(p, w, size), label), num_parallel_calls=AUTOTUNE)
    return dataset.cache() if cache else dataset


def classification_dataset(
    samples: Sequence[Sample],
    size: int,
    batch_size: int,
    seed: int,
    augment: AugmentConfig | None,
    cache: bool = True,
) -> tf.data.Dataset:
    """Batches for training (shuffled, repeated, augmented) or, with ``augment=None``, a
    single ordered pass for evaluation and feature extraction."""
    dataset = classification_images(samples, size, cache)
    if augment is not None:
        dataset = dataset.shuffle(len(samples), seed=seed).repeat()
        dataset = _with_seeds(dataset, seed).map(
            lambda pair, s: (augment_classification(pair[0], s, augment, size), pair[1]),
            num_parallel_calls=AUTOTUNE,
        )
    return dataset.batch(batch_size).prefetch(AUTOTUNE).with_options(_options())


def detection_images(samples: Sequence[Sample], size: int, cache: bool = True) -> tf.data.Dataset:
    """Unbatched ``(image, boxes [N, 4], labels [N])``, decoded and resized once."""
    boxes = tf.ragged.constant(
        [[[b.x, b.y, b.x2, b.y2] for b in s.boxes] for s in samples],
        dtype=tf.float32,
        ragged_rank=1,
        inner_shape=(4,),
    )
    labels = tf.ragged.constant([[b.label for b in s.boxes] for s in samples], dtype=tf.int32)
    paths = tf.constant([s.image_path for s in samples], tf.string)
    dataset = tf.data.Dataset.from_tensor_slices((paths, boxes, labels))
    full = tf.constant([0.0, 0.0, 1.0, 1.0])
    dataset = dataset.map(lambda p, b, c: (load_resized(p, full, size), b, c), num_parallel_calls=AUTOTUNE)
    return dataset.cache() if cache else dataset


Encoder = Callable[[tf.Tensor, tf.Tensor], dict[str, tf.Tensor]]


def detection_dataset(
    samples: Sequence[Sample],
    size: int,
    batch_size: int,
    seed: int,
    encode: Encoder,
    augment: AugmentConfig | None,
    cache: bool = True,
) -> tf.data.Dataset:
    """``(image, targets)`` batches; ``encode(boxes, labels)`` turns boxes into head targets."""
    dataset = detection_images(samples, size, cache)
    if augment is not None:
        dataset = dataset.shuffle(len(samples), seed=seed).repeat()
        dataset = _with_seeds(dataset, seed).map(
            lambda item, s: augment_detection(item[0], item[1], item[2], s, augment, size),
            num_parallel_calls=AUTOTUNE,
        )
    dataset = dataset.map(lambda i, b, c: (i, encode(b, c)), num_parallel_calls=AUTOTUNE)
    drop = augment is not None
    return dataset.batch(batch_size, drop_remainder=drop).prefetch(AUTOTUNE).with_options(_options())
