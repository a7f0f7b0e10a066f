"""The detector recipe: the anchor-free detector trained end to end on augmented images
(backbone from ``config.trainable_from`` on, batch norm frozen), AdamW with warm-up and
cosine decay."""

from __future__ import annotations

import functools
import time

import keras
import tensorflow as tf

from . import data as pipelines
from .config import DetectorConfig
from .dataset import DETECTION, TrainingSet
from .loop import (
    CancelFn,
    Checkpoint,
    Evaluate,
    Monitor,
    Phase,
    ProgressFn,
    Tracker,
    TrainResult,
    epoch_steps,
    evaluation_fields,
)
from .models.anchor_free import box_loss, encode_targets, heatmap_loss
from .models.backbone import freeze_batch_norm, mobilenet_v2, train_from, untrained
from .models.detector import STRIDE, build_detector
from .validation import MAP50, detector_scorer
from .warmstart import apply_warm_start

# The heatmap head's last conv has one output channel per label; a warm start remaps it.
DETECTOR_CLASS_VARIABLES = ("heatmap/kernel", "heatmap/bias")


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
    or entirely when there are no pretrained weights (frozen random filters learn nothing).
    A warm start loads the base run's weights instead of ImageNet's (warmstart.py), with every
    batch norm layer frozen."""
    if config.warm_start is not None:
        backbone, scratch = untrained(config.input_size, config.alpha), False
    else:
        backbone, scratch = mobilenet_v2(config.input_size, config.alpha, config.weights, config.allow_scratch)
    train_from(backbone, None if scratch else config.trainable_from)
    model = build_detector(backbone, config.input_size, len(data.labels), config.head_channels)
    if config.warm_start is not None:

        def build_base(classes: int) -> keras.Model:
            base_backbone = untrained(config.input_size, config.alpha)
            return build_detector(base_backbone, config.input_size, classes, config.head_channels)

        apply_warm_start(model, config.warm_start, build_base, DETECTOR_CLASS_VARIABLES)
        # The neck's and towers' batch norm learnt its statistics with the base run: keep them
        # (inference mode), as the backbone's. Trained on again, they wrecked a converged detector
        # within a few dozen steps (playing-cards: mAP@0.5 0.71 at the start, 0.16 after 36 steps,
        # even at a tenth of the learning rate); frozen, the same run kept learning (0.84 by step 144).
        freeze_batch_norm(model)
    return model, scratch


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
    return config.epochs, epoch_steps(len(data.train), config.batch_size)


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
    tracker = Tracker([Phase("train", epochs * steps_per_epoch)], on_progress, should_cancel)
    tracker.check_cancelled()
    compile_detector(model, config, epochs * steps_per_epoch)
    monitor = Monitor(tracker, "train", epochs, config.batch_size)
    callbacks: list[keras.callbacks.Callback] = [monitor]
    checkpoint = None
    if data.validation:
        # Counted in steps, so a fixed ``steps`` budget (one long epoch) is measured every
        # ``eval_every`` passes over the training images too.
        data_epoch = epoch_steps(len(data.train), config.batch_size)
        checkpoint = Checkpoint(MAP50, config.early_stop_patience)
        score = detector_scorer(model, data.validation, data.labels, config)
        evaluate = Evaluate(tracker, checkpoint, score, config.eval_every * data_epoch, data_epoch, "train")
        callbacks.append(evaluate)
        if config.warm_start is not None:
            # The base run's weights are the first candidate, so a warm start whose training only
            # makes the model worse on the validation split ends with the weights it began from.
            evaluate.set_model(model)
            evaluate.evaluate(epochs * steps_per_epoch)
    model.fit(
        detector_training_dataset(data, config),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,
        callbacks=callbacks,
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
        **evaluation_fields(tracker, checkpoint),
    )
