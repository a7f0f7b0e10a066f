"""Fixtures for the ML tests: tiny data from the shared datasets, local backbone weights.

These tests need neither Django settings nor a database; they run with or without
pytest-django (``-p no:django``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
pytest.importorskip("tensorflow")

from training.ml.box_classifier import box_classifier_config
from training.ml.config import ClassifierConfig, DetectorConfig
from training.ml.dataset import TrainingSet, crops_as_classification, voc_samples
from training.ml.pipeline import RunResult, run_training

REPO_ROOT = Path(__file__).resolve().parents[2]
from tests.conftest import SHARED_DATA  # noqa: E402

CARDS = SHARED_DATA / "playing-cards"
RACCOON = SHARED_DATA / "raccoon"
WEIGHTS = SHARED_DATA / "keras-weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.ml)


@pytest.fixture(scope="session")
def weights() -> str:
    if not WEIGHTS.is_file():
        pytest.skip(f"backbone weights not found at {WEIGHTS}")
    return str(WEIGHTS)


@pytest.fixture(scope="session")
def cards() -> tuple[tuple[str, ...], list]:
    if not CARDS.is_dir():
        pytest.skip(f"playing-cards data not found at {CARDS}")
    return voc_samples(CARDS / "train")


@pytest.fixture(scope="session")
def tiny_detection(cards) -> TrainingSet:
    labels, samples = cards
    return TrainingSet("detection", labels, tuple(samples[:8]), tuple(samples[8:11]))


@pytest.fixture(scope="session")
def tiny_classification(cards) -> TrainingSet:
    labels, samples = cards
    crops = crops_as_classification(samples[:30])
    return TrainingSet("classification", labels, tuple(crops[:16]), tuple(crops[16:20]))


@pytest.fixture(scope="session")
def node_root() -> Path:
    if not (REPO_ROOT / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        pytest.skip("@tensorflow/tfjs is not installed: run `npm install` at the repository root")
    return REPO_ROOT


# Trained and exported once per session: test_export, test_web_helper and test_model_docs
# all read the same tiny models (a test that changes a file puts it back).
@pytest.fixture(scope="session")
def detector_run(tiny_detection, weights, node_root, tmp_path_factory) -> RunResult:
    """With a tiny box classifier, as a detection run trains one; ``progress`` keeps every report."""
    config = DetectorConfig(input_size=96, weights=weights, steps=12, batch_size=4, learning_rate=5e-3)
    box_classifier = dataclasses.replace(
        box_classifier_config(config, 0.05), input_size=96, batch_size=8, feature_augment_copies=1
    )
    progress: list = []
    result = run_training(
        tiny_detection, config, tmp_path_factory.mktemp("detector"), node_root, progress.append,
        box_classifier=box_classifier,
    )  # fmt: skip
    result.progress = progress  # type: ignore[attr-defined]
    return result


@pytest.fixture(scope="session")
def classifier_run(tiny_classification, weights, node_root, tmp_path_factory) -> RunResult:
    # With flip averaging, so every export check also covers the averaged graph.
    config = ClassifierConfig(
        input_size=96, weights=weights, head_epochs=3, batch_size=8, fine_tune_epochs=1, test_time_flip=True
    )
    return run_training(tiny_classification, config, tmp_path_factory.mktemp("classifier"), node_root)
