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
from .loop import CancelFn, Monitor, ProgressFn, Tracker, TrainResult, epoch_steps
from .models import classifier as classifier_model
from .models.backbone import mobilenet_v2, train_from


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
    per_pass = epoch_steps(len(data.train), config.batch_size)
    passes = 1 + config.feature_augment_copies
    head_steps = epoch_steps(len(data.train) * passes, config.batch_size)
    total = per_pass * passes + config.head_epochs * head_steps + config.fine_tune_epochs * per_pass
    tracker = Tracker(total, on_progress, should_cancel)
    tracker.check_cancelled()

    features, labels = _train_features(extractor, data, config, tracker, passes)
    head = classifier_model.head(features.shape[-1], len(data.labels), config.dropout)
    head.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    tracker.start_phase()
    monitor = Monitor(tracker, "head", config.head_epochs, config.batch_size)
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
    extractor: keras.Model, data: TrainingSet, config: ClassifierConfig, tracker: Tracker, passes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Backbone features of the training images: one clean pass plus augmented copies."""
    size, bs = config.input_size, config.batch_size
    predict = tf.function(lambda images: extractor(images, training=False))
    clean = pipelines.classification_dataset(data.train, size, bs, config.seed, None, config.cache_images)
    augmented = pipelines.classification_dataset(data.train, size, bs, config.seed, config.augment, config.cache_images)
    per_pass = epoch_steps(len(data.train), bs)
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
    tracker: Tracker,
) -> float | None:
    train_from(backbone, first_layer)
    steps_per_epoch = epoch_steps(len(data.train), config.batch_size)
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
    monitor = Monitor(tracker, "fine_tune", config.fine_tune_epochs, config.batch_size)
    model.fit(
        dataset,
        epochs=config.fine_tune_epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,
        callbacks=[monitor],
        verbose=0,
    )
    return monitor.images_per_second()
