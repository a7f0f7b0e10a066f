"""Training entry point: plain data and a config in, a trained Keras model out.

The recipes live a module each (``train_classifier``, ``train_detector``) over the shared loop
in ``loop`` (progress, ETA, cancellation through two callables, so the worker can forward
progress to the database and websockets and stop a run between two optimiser steps).
"""

from __future__ import annotations

from .config import ClassifierConfig, DetectorConfig
from .dataset import CLASSIFICATION, DETECTION, TrainingSet
from .loop import CancelFn, ProgressFn, TrainResult
from .train_classifier import train_classifier
from .train_detector import train_detector

__all__ = ["train", "train_classifier", "train_detector"]


def train(
    data: TrainingSet,
    config: ClassifierConfig | DetectorConfig,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> TrainResult:
    """Train the model ``data.kind`` asks for. Validates the data first."""
    data.validate()
    if data.kind == CLASSIFICATION and isinstance(config, ClassifierConfig):
        return train_classifier(data, config, on_progress, should_cancel)
    if data.kind == DETECTION and isinstance(config, DetectorConfig):
        return train_detector(data, config, on_progress, should_cancel)
    raise ValueError(f"a {data.kind} training set needs its own config, not a {type(config).__name__}")
