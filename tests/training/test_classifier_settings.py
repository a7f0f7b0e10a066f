"""The classifier's generalisation settings (label smoothing, rotation, test-time flip):
validated, stored with their defaults, refused for detectors, and handed to training/ml."""

import pytest
from rest_framework.exceptions import ValidationError

from training.hyperparameters import CLASSIFIER_ONLY, validated
from training.ml.config import ClassifierConfig
from training.mlrun import NO_AUGMENTATION, make_config

SETTINGS = ("label_smoothing", "rotation", "test_time_flip")


def test_classifier_runs_store_the_training_defaults():
    stored = validated("classification", {})
    defaults = ClassifierConfig()
    assert set(SETTINGS) <= set(stored) and set(CLASSIFIER_ONLY) == set(SETTINGS)
    assert stored["label_smoothing"] == defaults.label_smoothing
    assert stored["rotation"] == defaults.augment.rotation
    assert stored["test_time_flip"] == defaults.test_time_flip


def test_detector_runs_neither_store_nor_accept_them():
    assert not set(SETTINGS) & set(validated("detection", {}))
    with pytest.raises(ValidationError) as error:
        validated("detection", {"label_smoothing": 0.1, "test_time_flip": True})
    assert set(error.value.detail["hyperparameters"]) == {"label_smoothing", "test_time_flip"}


@pytest.mark.parametrize(
    ("given", "field"),
    [({"label_smoothing": 0.6}, "label_smoothing"), ({"label_smoothing": -0.1}, "label_smoothing"),
     ({"rotation": 90}, "rotation"), ({"test_time_flip": "sometimes"}, "test_time_flip")],
)  # fmt: skip
def test_out_of_range_values_are_refused(given, field):
    with pytest.raises(ValidationError) as error:
        validated("classification", given)
    assert field in error.value.detail["hyperparameters"]


def test_the_settings_reach_the_training_config():
    params = validated("classification", {"label_smoothing": 0.2, "rotation": 12, "test_time_flip": False})
    config = make_config("classification", params, train_size=100, weights="w.h5")
    assert config.label_smoothing == 0.2 and config.test_time_flip is False
    assert config.augment.rotation == 12
    # The rest of the classifier's augmentation is untouched (its gentler crops included).
    assert config.augment.min_crop_fraction == ClassifierConfig().augment.min_crop_fraction


def test_no_augmentation_means_no_rotation_either():
    params = validated("classification", {"augment": False, "rotation": 12})
    assert make_config("classification", params, train_size=100, weights="w.h5").augment == NO_AUGMENTATION


def test_runs_stored_before_the_settings_existed_rerun_with_the_defaults():
    params = {key: value for key, value in validated("classification", {}).items() if key not in SETTINGS}
    config = make_config("classification", params, train_size=100, weights="w.h5")
    defaults = ClassifierConfig()
    assert (config.label_smoothing, config.test_time_flip) == (defaults.label_smoothing, defaults.test_time_flip)
    assert config.augment == defaults.augment
