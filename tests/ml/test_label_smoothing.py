"""Label smoothing reaches both classifier phases: soft targets keep the model from driving
its training probabilities to 1."""

import dataclasses

import keras
import numpy as np
import pytest

from training.ml import data as pipelines
from training.ml.config import ClassifierConfig
from training.ml.train_classifier import classification_loss, train_classifier


def test_the_loss_smooths_one_hot_targets():
    targets = np.eye(3, dtype=np.float32)
    hard = classification_loss(ClassifierConfig())
    soft = classification_loss(ClassifierConfig(label_smoothing=0.3))
    # Keras' rule: the true label aims at 1 - e + e / C, every other label at e / C.
    smoothed = targets * 0.7 + 0.1
    assert float(soft(targets, smoothed)) < float(soft(targets, targets * 0.98 + 0.01))
    assert float(hard(targets, targets * 0.98 + 0.01)) < float(hard(targets, smoothed))


@pytest.fixture(scope="module")
def confidence(tiny_classification, weights):
    """Mean top probability on the training images after training with smoothing e."""

    def train(smoothing: float) -> float:
        config = ClassifierConfig(
            input_size=96, weights=weights, head_epochs=60, batch_size=8, learning_rate=1e-2,
            fine_tune_epochs=1, fine_tune_learning_rate=1e-5, label_smoothing=smoothing,
        )  # fmt: skip
        result = train_classifier(tiny_classification, config)
        assert {entry["phase"] for entry in result.history} == {"head", "fine_tune"}
        images = pipelines.classification_dataset(tiny_classification.train, 96, 16, 0, None)
        return float(np.mean([result.model.predict(batch, verbose=0).max(axis=1).mean() for batch, _ in images]))

    return train


def test_smoothing_keeps_training_probabilities_off_one(confidence):
    hard, soft = confidence(0.0), confidence(0.4)
    # With e = 0.4 and 6 labels the true label's target is 0.67; hard labels push towards 1.
    assert soft < 0.8 < hard


def test_label_smoothing_is_part_of_the_stored_config():
    config = ClassifierConfig(label_smoothing=0.1, test_time_flip=True)
    assert config.to_dict()["label_smoothing"] == 0.1 and config.to_dict()["test_time_flip"] is True
    assert dataclasses.replace(config, label_smoothing=0.0).label_smoothing == 0.0
    assert isinstance(classification_loss(config), keras.losses.CategoricalCrossentropy)
