"""Training entry points: plain data and a config in, a trained Keras model out.

Progress and cancellation go through two callables so the worker can forward progress to
the database and websockets, and stop a run between two optimiser steps.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from . import data as pipelines
from .config import ClassifierConfig, DetectorConfig
from .dataset import CLASSIFICATION, DETECTION, TrainingSet
from .errors import TrainingCancelled
from .models import classifier as classifier_model
from .models.anchor_free import box_loss, encode_targets, heatmap_loss
from .models.backbone import mobilenet_v2, train_from
from .models.detector import STRIDE, build_detector


@dataclass(frozen=True)
class Progress:
    phase: str  # "features", "head", "fine_tune" or "train"
    step: int  # optimiser steps done, over all phases
    total_steps: int
    epoch: int
    total_epochs: int
    loss: float | None
    metrics: dict[str, float]
    eta_seconds: float | None


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


@dataclass
class TrainResult:
    kind: str
    labels: tuple[str, ...]
    config: ClassifierConfig | DetectorConfig
    model: keras.Model
    trained_from_scratch: bool
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    images_per_second: float | None = None  # optimiser throughput of the main phase


class _Monitor(keras.callbacks.Callback):
    """Reports progress after every step and raises TrainingCancelled when asked to stop."""

    def __init__(self, tracker: _Tracker, phase: str, epochs: int, batch_size: int):
        super().__init__()
        self.tracker, self.phase, self.epochs, self.batch_size = tracker, phase, epochs, batch_size
        self.epoch = 0
        self.timed_steps, self.timed_since = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # Skip the first steps (graph tracing) when measuring throughput.
        if self.timed_since is None and self.tracker.step_in_phase >= 2:
            self.timed_since = time.perf_counter()
        elif self.timed_since is not None:
            self.timed_steps += 1
        self.tracker.advance(self.phase, self.epoch + 1, self.epochs, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.tracker.history.append({"phase": self.phase, "epoch": epoch + 1, **_floats(logs)})

    def images_per_second(self) -> float | None:
        if not self.timed_steps:
            return None
        return self.timed_steps * self.batch_size / (time.perf_counter() - self.timed_since)


class _Tracker:
    """Step counting and ETA over all phases of one run."""

    def __init__(self, total_steps: int, on_progress: ProgressFn | None, should_cancel: CancelFn | None):
        self.total_steps, self.on_progress, self.should_cancel = total_steps, on_progress, should_cancel
        self.step, self.step_in_phase = 0, 0
        self.started = time.perf_counter()
        self.history: list[dict[str, float]] = []

    def check_cancelled(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise TrainingCancelled(f"cancelled after {self.step} of {self.total_steps} steps")

    def start_phase(self) -> None:
        self.step_in_phase = 0

    def advance(self, phase: str, epoch: int, epochs: int, logs: dict, steps: int = 1) -> None:
        self.step += steps
        self.step_in_phase += steps
        if self.on_progress is not None:
            elapsed = time.perf_counter() - self.started
            remaining = max(self.total_steps - self.step, 0)
            metrics = _floats(logs)
            self.on_progress(
                Progress(
                    phase=phase,
                    step=self.step,
                    total_steps=self.total_steps,
                    epoch=epoch,
                    total_epochs=epochs,
                    loss=metrics.pop("loss", None),
                    metrics=metrics,
                    eta_seconds=elapsed / self.step * remaining if self.step else None,
                )
            )
        self.check_cancelled()


def _floats(logs: dict | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def train(
    data: TrainingSet,
    config: ClassifierConfig | DetectorConfig,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> TrainResult:
    """Train the model ``data.kind`` asks for. Validates the data first."""
    data.validate()
    if data.kind == CLASSIFICATION:
        return train_classifier(data, config, on_progress, should_cancel)
    if data.kind == DETECTION:
        return train_detector(data, config, on_progress, should_cancel)
    raise ValueError(f"unknown kind {data.kind!r}")


def _steps_per_epoch(samples: int, batch_size: int) -> int:
    return max(math.ceil(samples / batch_size), 1)


def train_classifier(
    data: TrainingSet,
    config: ClassifierConfig,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> TrainResult:
    """Frozen-backbone head on cached features, then optional fine-tuning of the top blocks."""
    keras.utils.set_random_seed(config.seed)
    started = time.perf_counter()
    backbone, scratch = mobilenet_v2(config.input_size, config.alpha, config.weights, config.allow_scratch)
    backbone.trainable = False
    extractor = classifier_model.feature_extractor(backbone, config.input_size)
    per_pass = _steps_per_epoch(len(data.train), config.batch_size)
    passes = 1 + config.feature_augment_copies
    head_steps = _steps_per_epoch(len(data.train) * passes, config.batch_size)
    total = per_pass * passes + config.head_epochs * head_steps + config.fine_tune_epochs * per_pass
    tracker = _Tracker(total, on_progress, should_cancel)
    tracker.check_cancelled()

    features, labels = _train_features(extractor, data, config, tracker, passes)
    head = classifier_model.head(features.shape[-1], len(data.labels), config.dropout)
    head.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    tracker.start_phase()
    monitor = _Monitor(tracker, "head", config.head_epochs, config.batch_size)
    head.fit(
        features,
        labels,
        batch_size=config.batch_size,
        epochs=config.head_epochs,
        shuffle=True,
        callbacks=[monitor],
        verbose=0,
    )
    model = classifier_model.assemble(extractor, head)
    throughput = None
    if config.fine_tune_epochs:
        # Random filters are worth training all the way down; pretrained early ones are not.
        first_layer = None if scratch else config.fine_tune_from
        throughput = _fine_tune(model, backbone, first_layer, data, config, tracker)
    return TrainResult(
        kind=CLASSIFICATION,
        labels=data.labels,
        config=config,
        model=model,
        trained_from_scratch=scratch,
        history=tracker.history,
        seconds=time.perf_counter() - started,
        images_per_second=throughput,
    )


def _train_features(
    extractor: keras.Model, data: TrainingSet, config: ClassifierConfig, tracker: _Tracker, passes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Backbone features of the training images: one clean pass plus augmented copies."""
    size, bs = config.input_size, config.batch_size
    predict = tf.function(lambda images: extractor(images, training=False))
    clean = pipelines.classification_dataset(data.train, size, bs, config.seed, None, config.cache_images)
    augmented = pipelines.classification_dataset(data.train, size, bs, config.seed, config.augment, config.cache_images)
    per_pass = _steps_per_epoch(len(data.train), bs)
    batches = clean.concatenate(augmented.take(per_pass * (passes - 1)))
    features, labels = [], []
    tracker.start_phase()
    for images, batch_labels in batches:
        features.append(predict(images).numpy())
        labels.append(batch_labels.numpy())
        tracker.advance("features", 1, 1, {})
    return np.concatenate(features), np.concatenate(labels)


def _fine_tune(
    model: keras.Model,
    backbone: keras.Model,
    first_layer: str | None,
    data: TrainingSet,
    config: ClassifierConfig,
    tracker: _Tracker,
) -> float | None:
    train_from(backbone, first_layer)
    steps_per_epoch = _steps_per_epoch(len(data.train), config.batch_size)
    # Cosine decay: a constant rate keeps the accuracy bouncing between epochs at the end.
    schedule = keras.optimizers.schedules.CosineDecay(
        config.fine_tune_learning_rate, decay_steps=config.fine_tune_epochs * steps_per_epoch, alpha=0.01
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    dataset = pipelines.classification_dataset(
        data.train, config.input_size, config.batch_size, config.seed, config.augment, config.cache_images
    )
    tracker.start_phase()
    monitor = _Monitor(tracker, "fine_tune", config.fine_tune_epochs, config.batch_size)
    model.fit(
        dataset,
        epochs=config.fine_tune_epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,
        callbacks=[monitor],
        verbose=0,
    )
    return monitor.images_per_second()


def detector_training_dataset(data: TrainingSet, config: DetectorConfig) -> tf.data.Dataset:
    """The infinite, augmented ``(image, targets)`` stream the detector trains on."""
    grid = config.input_size // STRIDE
    encode = functools.partial(encode_targets, num_classes=len(data.labels), grid=grid)
    return pipelines.detection_dataset(
        data.train,
        config.input_size,
        config.batch_size,
        config.seed,
        encode,
        config.augment,
        config.cache_images,
    )


def detector_model(data: TrainingSet, config: DetectorConfig) -> tuple[keras.Model, bool]:
    """``(model, trained_from_scratch)``: the backbone trains from ``config.trainable_from`` on,
    or entirely when there are no pretrained weights (frozen random filters learn nothing)."""
    backbone, scratch = mobilenet_v2(config.input_size, config.alpha, config.weights, config.allow_scratch)
    train_from(backbone, None if scratch else config.trainable_from)
    return build_detector(backbone, config.input_size, len(data.labels), config.head_channels), scratch


def compile_detector(model: keras.Model, config: DetectorConfig, total_steps: int) -> None:
    """AdamW with linear warm-up and cosine decay; GIoU weighted 5:1 against the heatmap."""
    warmup = min(config.warmup_steps, max(total_steps // 5, 1))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate * 0.01,
        decay_steps=max(total_steps - warmup, 1),
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
        alpha=0.01,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay, clipnorm=10.0),
        loss={"heatmap": heatmap_loss, "box": box_loss},
        loss_weights={"heatmap": 1.0, "box": 5.0},
        jit_compile=False,
    )


def detector_schedule(data: TrainingSet, config: DetectorConfig) -> tuple[int, int]:
    """``(epochs, steps_per_epoch)``; a fixed ``steps`` budget runs as a single epoch."""
    if config.steps:
        return 1, config.steps
    return config.epochs, _steps_per_epoch(len(data.train), config.batch_size)


def train_detector(
    data: TrainingSet,
    config: DetectorConfig,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> TrainResult:
    """Train the head and the backbone from ``config.trainable_from`` on, end to end on
    augmented images (batch norm frozen)."""
    keras.utils.set_random_seed(config.seed)
    started = time.perf_counter()
    model, scratch = detector_model(data, config)
    epochs, steps_per_epoch = detector_schedule(data, config)
    tracker = _Tracker(epochs * steps_per_epoch, on_progress, should_cancel)
    tracker.check_cancelled()
    compile_detector(model, config, epochs * steps_per_epoch)
    monitor = _Monitor(tracker, "train", epochs, config.batch_size)
    model.fit(
        detector_training_dataset(data, config),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,
        callbacks=[monitor],
        verbose=0,
    )
    return TrainResult(
        kind=DETECTION,
        labels=data.labels,
        config=config,
        model=model,
        trained_from_scratch=scratch,
        history=tracker.history,
        seconds=time.perf_counter() - started,
        images_per_second=monitor.images_per_second(),
    )
