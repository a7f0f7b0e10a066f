"""Fixtures for the ML tests: tiny data from the shared datasets, local backbone weights.

These tests need neither Django settings nor a database; they run with or without
pytest-django (``-p no:django``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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


T = TypeVar("T")


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]) -> T:
    """``build(folder)``'s result, built once per test run, not once per xdist worker.

    Workers share their base temp's parent; the first to take the lock builds into
    ``name/`` and pickles the result beside it, the others wait and read it. Without
    xdist the folder is this session's own (the parent would outlive it).
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, saved = root / name, root / f"{name}.pickle"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if build raises
        if saved.is_file():
            return pickle.loads(saved.read_bytes())
        result = build(folder)
        partial = saved.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(result))
        partial.rename(saved)
        return result


# Trained and exported once per test run (every worker reads the same files): test_export,
# test_web_helper, test_model_docs and others read these tiny models and never change them
# (a test that needs a changed model changes a copy).
@pytest.fixture(scope="session")
def detector_run(tiny_detection, weights, node_root, tmp_path_factory) -> RunResult:
    """With a tiny box classifier, as a detection run trains one; ``progress`` keeps every report."""

    def build(folder: Path) -> RunResult:
        config = DetectorConfig(input_size=96, weights=weights, steps=12, batch_size=4, learning_rate=5e-3)
        box_classifier = dataclasses.replace(
            box_classifier_config(config, 0.05), input_size=96, batch_size=8, feature_augment_copies=1
        )
        progress: list = []
        result = run_training(
            tiny_detection, config, folder, node_root, progress.append, box_classifier=box_classifier
        )  # fmt: skip
        result.progress = progress  # type: ignore[attr-defined]
        return result

    return built_once(tmp_path_factory, "detector_run", build)


@pytest.fixture(scope="session")
def classifier_run(tiny_classification, weights, node_root, tmp_path_factory) -> RunResult:
    # With flip averaging, so every export check also covers the averaged graph.
    config = ClassifierConfig(
        input_size=96, weights=weights, head_epochs=3, batch_size=8, fine_tune_epochs=1, test_time_flip=True
    )
    return built_once(
        tmp_path_factory, "classifier_run", lambda folder: run_training(tiny_classification, config, folder, node_root)
    )
