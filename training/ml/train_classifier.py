"""The classifier recipe: a head trained on frozen-backbone features (one clean pass and
augmented copies of every image, computed once), then optional end-to-end fine-tuning of the
top blocks with a cosine-decaying rate."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from . import data as pipelines
from .config import ClassifierConfig
from .dataset import CLASSIFICATION, TrainingSet
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
from .models import classifier as classifier_model
from .models.backbone import mobilenet_v2, train_from, untrained
from .validation import ACCURACY, classifier_scorer, feature_scorer
from .warmstart import apply_warm_start

# The softmax Dense has one output column per label; a warm start remaps it.
CLASSIFIER_CLASS_VARIABLES = ("probabilities/kernel", "probabilities/bias")
# Seconds of a step relative to a feature batch (a forward pass), for the ETA of phases not yet
# started: a head step is a dense layer on features; a fine-tuning step also runs backwards.
FEATURES_COST, HEAD_COST, FINE_TUNE_COST = 1.0, 0.01, 3.0


def train_classifier(
    data: TrainingSet,
    config: ClassifierConfig,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> TrainResult:
    """Frozen-backbone head on cached features, then optional fine-tuning of the top blocks."""
    keras.utils.set_random_seed(config.seed)
    started = time.perf_counter()
    if config.warm_start is not None:
        backbone, scratch = untrained(config.input_size, config.alpha), False
    else:
        backbone, scratch = mobilenet_v2(config.input_size, config.alpha, config.weights, config.allow_scratch)
    backbone.trainable = False
    extractor = classifier_model.feature_extractor(backbone, config.input_size)
    head = classifier_model.head(extractor.output_shape[-1], len(data.labels), config.dropout)
    if config.warm_start is not None:
        # Before the features are computed: they come from the base run's backbone, and the
        # head phase continues from the base run's head.
        warm_start_classifier(extractor, head, config)
    bs = config.batch_size
    per_pass = epoch_steps(len(data.train), bs)
    passes = 1 + config.feature_augment_copies
    # The augmented copies are whole batches cut from a repeated stream, so the head trains on
    # this many rows (counting them as passes * len(train) overshot the total: 1281/1241).
    head_steps = epoch_steps(len(data.train) + per_pass * (passes - 1) * bs, bs)
    validation_batches = epoch_steps(len(data.validation), bs) if data.validation else 0
    plan = [
        Phase("features", per_pass * passes + validation_batches, FEATURES_COST),
        Phase("head", config.head_epochs * head_steps, HEAD_COST),
        Phase("fine_tune", config.fine_tune_epochs * per_pass, FINE_TUNE_COST),
    ]
    tracker = Tracker(plan, on_progress, should_cancel)
    tracker.check_cancelled()
    # Without a validation split there is nothing to choose by: the last weights are kept.
    checkpoint = Checkpoint(ACCURACY, config.early_stop_patience) if data.validation else None

    features, labels, val_features, val_labels = _train_features(extractor, data, config, tracker, passes)
    head.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=classification_loss(config),
        metrics=["accuracy"],
    )
    monitor = Monitor(tracker, "head", config.head_epochs, config.batch_size)
    callbacks: list[keras.callbacks.Callback] = [monitor]
    if checkpoint is not None and val_features is not None and val_labels is not None:
        score = feature_scorer(head, val_features, val_labels)
        callbacks.append(Evaluate(tracker, checkpoint, score, config.eval_every * head_steps, head_steps, "head"))
    head.fit(
        features,
        keras.utils.to_categorical(labels, len(data.labels)),
        batch_size=config.batch_size,
        epochs=config.head_epochs,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    model = classifier_model.assemble(extractor, head)
    throughput = None
    if config.fine_tune_epochs:
        # Random filters are worth training all the way down; pretrained early ones are not.
        first_layer = None if scratch else config.fine_tune_from
        throughput = _fine_tune(model, backbone, first_layer, data, config, tracker, checkpoint)
    return TrainResult(
        kind=CLASSIFICATION,
        labels=data.labels,
        config=config,
        model=model,
        trained_from_scratch=scratch,
        history=tracker.history,
        seconds=time.perf_counter() - started,
        images_per_second=throughput,
        **evaluation_fields(tracker, checkpoint),
    )


def warm_start_classifier(extractor: keras.Model, head: keras.Model, config: ClassifierConfig) -> None:
    """Load ``config.warm_start`` into the backbone and the head (shared with ``extractor``)."""
    if config.warm_start is None:
        raise ValueError("warm_start_classifier needs config.warm_start")
    warm_start = config.warm_start

    def build_base(classes: int) -> keras.Model:
        base = classifier_model.feature_extractor(untrained(config.input_size, config.alpha), config.input_size)
        return classifier_model.assemble(base, classifier_model.head(base.output_shape[-1], classes, config.dropout))

    model = classifier_model.assemble(extractor, head)
    apply_warm_start(model, warm_start, build_base, CLASSIFIER_CLASS_VARIABLES)


def _train_features(
    extractor: keras.Model, data: TrainingSet, config: ClassifierConfig, tracker: Tracker, passes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backbone features of the training images (one clean pass plus augmented copies) and of
    the validation images (clean), with their labels."""
    size, bs = config.input_size, config.batch_size
    predict = tf.function(lambda images: extractor(images, training=False))
    clean = pipelines.classification_dataset(data.train, size, bs, config.seed, None, config.cache_images)
    augmented = pipelines.classification_dataset(data.train, size, bs, config.seed, config.augment, config.cache_images)
    per_pass = epoch_steps(len(data.train), bs)
    batches = clean.concatenate(augmented.take(per_pass * (passes - 1)))
    tracker.start_phase("features")

    def extract(dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
        features, labels = [], []
        for images, batch_labels in dataset:
            features.append(predict(images).numpy())
            labels.append(batch_labels.numpy())
            tracker.advance("features", 1, 1, {})
        return np.concatenate(features), np.concatenate(labels)

    validation: tuple[np.ndarray, np.ndarray] | tuple[None, None] = (None, None)
    if data.validation:
        validation = extract(pipelines.classification_dataset(data.validation, size, bs, config.seed, None, False))
    return (*extract(batches), *validation)


def _fine_tune(
    model: keras.Model,
    backbone: keras.Model,
    first_layer: str | None,
    data: TrainingSet,
    config: ClassifierConfig,
    tracker: Tracker,
    checkpoint: Checkpoint | None,
) -> float | None:
    train_from(backbone, first_layer)
    steps_per_epoch = epoch_steps(len(data.train), config.batch_size)
    # Cosine decay: a constant rate keeps the accuracy bouncing between epochs at the end.
    schedule = keras.optimizers.schedules.CosineDecay(
        config.fine_tune_learning_rate, decay_steps=config.fine_tune_epochs * steps_per_epoch, alpha=0.01
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=classification_loss(config),
        metrics=["accuracy"],
    )
    classes = len(data.labels)
    dataset = pipelines.classification_dataset(
        data.train, config.input_size, config.batch_size, config.seed, config.augment, config.cache_images
    ).map(lambda images, labels: (images, tf.one_hot(labels, classes)))
    monitor = Monitor(tracker, "fine_tune", config.fine_tune_epochs, config.batch_size)
    callbacks: list[keras.callbacks.Callback] = [monitor]
    if checkpoint is not None:
        # The model starts as the best head on the frozen backbone: fine-tuning must beat it.
        checkpoint.rebase(model)
        score = classifier_scorer(model, data.validation, config.input_size)
        every = config.eval_every * steps_per_epoch
        callbacks.append(Evaluate(tracker, checkpoint, score, every, steps_per_epoch, "fine_tune"))
    model.fit(
        dataset,
        epochs=config.fine_tune_epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,
        callbacks=callbacks,
        verbose=0,
    )
    return monitor.images_per_second()


def classification_loss(config: ClassifierConfig) -> keras.losses.Loss:
    """Cross-entropy on one-hot targets: the sparse form cannot smooth labels."""
    return keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
