"""Warm start: labels carry over by id then name, and a warm-started model answers exactly
like its base for every reused label before it trains a single step."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from training.ml import data as pipelines
from training.ml.config import ClassifierConfig, DetectorConfig
from training.ml.dataset import TrainingSet
from training.ml.models import classifier as classifier_model
from training.ml.models.backbone import untrained
from training.ml.train_classifier import train_classifier, warm_start_classifier
from training.ml.train_detector import detector_model, train_detector
from training.ml.warmstart import (
    WarmStart,
    WarmStartFailed,
    apply_warm_start,
    label_mapping,
    save_checkpoint,
    summary,
)

SIZE = 64


def test_labels_match_by_id_then_by_name():
    base = [(1, "ace"), (2, "king"), (3, "queen"), (4, "jack")]
    # king renamed (id 2 kept), queen deleted and re-created (new id, same name), jack deleted, ten new.
    new = [(2, "K"), (9, "Queen "), (1, "ace"), (10, "ten")]
    mapping = label_mapping(base, new)
    assert mapping == (1, 2, 0, None)
    record = summary(7, [n for _, n in base], [n for _, n in new], mapping)
    assert record == {
        "base_run": 7,
        "reused_labels": ["K", "Queen ", "ace"],
        "new_labels": ["ten"],
        "dropped_labels": ["jack"],
        "mapping": [1, 2, 0, None],
    }


def test_an_id_match_wins_over_a_name_match_and_no_row_is_used_twice():
    base = [(1, "cat"), (2, "dog")]
    # "dog" now names label 1's successor while label 2 is gone: id 1 keeps row 0, and the name
    # "cat" on a new label cannot take row 0 a second time.
    assert label_mapping(base, [(1, "dog"), (5, "cat")]) == (0, None)
    assert label_mapping([(None, "cat"), (None, "dog")], [(7, "dog")]) == (1,)


def test_a_mapping_onto_missing_or_repeated_rows_is_refused(tmp_path):
    with pytest.raises(ValueError):
        WarmStart(tmp_path / "w.h5", ("a", "b"), (0, 2))
    with pytest.raises(ValueError):
        WarmStart(tmp_path / "w.h5", ("a", "b"), (1, 1))


def _perturb(model: keras.Model, seed: int) -> None:
    """Weights no fresh model could have, so a copy that did not happen shows."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = variable.numpy()
        variable.assign(value + rng.normal(0, 0.05, value.shape).astype(value.dtype))


def _images(samples, count: int = 2) -> np.ndarray:
    return np.stack([image.numpy() for image, *_ in pipelines.detection_images(samples[:count], SIZE, cache=False)])


def _cards(tiny_detection: TrainingSet, labels: tuple[str, ...]) -> TrainingSet:
    return dataclasses.replace(tiny_detection, labels=labels, train=(), validation=())


def test_a_warm_started_detector_answers_like_its_base_for_reused_labels(tiny_detection, tmp_path):
    base_labels = tiny_detection.labels[:4]
    config = DetectorConfig(input_size=SIZE, alpha=0.35, weights=None, allow_scratch=True, head_channels=16)
    base, _ = detector_model(_cards(tiny_detection, base_labels), config)
    _perturb(base, seed=1)
    checkpoint = save_checkpoint(base, tmp_path)

    # base row 2 -> new 0, row 0 -> new 1, a new label, row 3 -> new 3; row 1 dropped.
    mapping = (2, 0, None, 3)
    new_labels = (base_labels[2], base_labels[0], "joker", base_labels[3])
    warm = dataclasses.replace(config, weights="imagenet", warm_start=WarmStart(checkpoint, base_labels, mapping))
    model, scratch = detector_model(_cards(tiny_detection, new_labels), warm)
    assert not scratch

    images = _images(tiny_detection.train)
    before, after = base.predict(images, verbose=0), model.predict(images, verbose=0)
    np.testing.assert_allclose(after["box"], before["box"], rtol=1e-5, atol=1e-6)
    for new, row in enumerate(mapping):
        if row is not None:
            np.testing.assert_allclose(after["heatmap"][..., new], before["heatmap"][..., row], rtol=1e-5, atol=1e-6)
    # The new label starts from the heatmap prior (about 0.1 everywhere), not from a dropped row.
    bias = model.get_layer("heatmap").get_weights()[1]
    assert bias[2] == pytest.approx(-2.19)
    assert not np.allclose(after["heatmap"][..., 2], before["heatmap"][..., 1])


def _classifier(labels: int, dropout: float = 0.2) -> tuple[keras.Model, keras.Model, keras.Model]:
    extractor = classifier_model.feature_extractor(untrained(SIZE, 0.35), SIZE)
    head = classifier_model.head(extractor.output_shape[-1], labels, dropout)
    return classifier_model.assemble(extractor, head), extractor, head


def test_a_warm_started_classifier_answers_like_its_base_for_reused_labels(tiny_classification, tmp_path):
    base, _, _ = _classifier(4)
    _perturb(base, seed=2)
    checkpoint = save_checkpoint(base, tmp_path)
    config = ClassifierConfig(input_size=SIZE, alpha=0.35)
    images = np.stack(
        [
            image.numpy()
            for image, _ in pipelines.classification_images(tiny_classification.train[:3], SIZE, cache=False)
        ]
    )
    before = base.predict(images, verbose=0)

    # The same labels in another order: the same probabilities, permuted.
    permuted, extractor, head = _classifier(4)
    warm_start_classifier(
        extractor,
        head,
        dataclasses.replace(config, warm_start=WarmStart(checkpoint, ("a", "b", "c", "d"), (3, 1, 0, 2))),
    )
    np.testing.assert_allclose(permuted.predict(images, verbose=0), before[:, [3, 1, 0, 2]], rtol=1e-4, atol=1e-6)

    # One label dropped, one new: the reused labels keep their odds against each other.
    changed, extractor, head = _classifier(3)
    warm_start_classifier(
        extractor,
        head,
        dataclasses.replace(config, warm_start=WarmStart(checkpoint, ("a", "b", "c", "d"), (0, None, 2))),
    )
    after = changed.predict(images, verbose=0)
    np.testing.assert_allclose(after[:, 0] / after[:, 2], before[:, 0] / before[:, 2], rtol=1e-4)


def test_a_checkpoint_of_another_architecture_fails_clearly(tiny_detection, tmp_path):
    config = DetectorConfig(input_size=SIZE, alpha=0.35, weights=None, allow_scratch=True, head_channels=16)
    base, _ = detector_model(_cards(tiny_detection, tiny_detection.labels[:2]), config)
    checkpoint = save_checkpoint(base, tmp_path)
    other = dataclasses.replace(config, alpha=0.5, warm_start=WarmStart(checkpoint, tiny_detection.labels[:2], (0, 1)))
    with pytest.raises(WarmStartFailed, match="does not fit"):
        detector_model(_cards(tiny_detection, tiny_detection.labels[:2]), other)


def test_the_mapping_must_cover_every_output(tiny_detection, tmp_path):
    model, _ = detector_model(
        _cards(tiny_detection, tiny_detection.labels[:2]),
        DetectorConfig(input_size=SIZE, alpha=0.35, weights=None, allow_scratch=True, head_channels=16),
    )
    with pytest.raises(ValueError, match="mapping"):
        apply_warm_start(model, WarmStart(tmp_path / "x.h5", ("a",), (0,)), lambda n: model, ("heatmap/kernel",))


def test_a_warm_started_classifier_trains_from_its_base(tiny_classification, weights, tmp_path):
    """The whole recipe: a base run, then a warm start on the same data that begins better."""
    config = ClassifierConfig(
        input_size=SIZE, alpha=0.5, weights=weights, head_epochs=8, batch_size=8, fine_tune_epochs=0,
        feature_augment_copies=0, eval_every=100, early_stop_patience=0,
    )  # fmt: skip
    base = train_classifier(tiny_classification, config)
    checkpoint = save_checkpoint(base.model, tmp_path)
    losses: list[float] = []
    warm = dataclasses.replace(
        config,
        head_epochs=1,
        warm_start=WarmStart(checkpoint, tiny_classification.labels, tuple(range(len(tiny_classification.labels)))),
    )
    result = train_classifier(tiny_classification, warm, on_progress=lambda p: losses.append(p.loss))
    assert not result.trained_from_scratch
    first_base_loss = base.history[0]["loss"]
    assert next(loss for loss in losses if loss is not None) < first_base_loss


def test_a_warm_started_detector_never_ends_below_its_base_on_the_validation_split(tiny_detection, tmp_path):
    """The base's weights are scored before the first step: training that does not beat them
    (here a learning rate that wrecks the model) ends with them restored."""
    config = DetectorConfig(input_size=SIZE, alpha=0.35, weights=None, allow_scratch=True, head_channels=16)
    base, _ = detector_model(tiny_detection, config)
    _perturb(base, seed=3)
    checkpoint = save_checkpoint(base, tmp_path)
    identity = tuple(range(len(tiny_detection.labels)))
    warm = dataclasses.replace(
        config, warm_start=WarmStart(checkpoint, tiny_detection.labels, identity), steps=3, batch_size=4,
        learning_rate=10.0, eval_every=1, augment=dataclasses.replace(config.augment, scale_crop=False),
    )  # fmt: skip
    result = train_detector(tiny_detection, warm)
    assert [point[0] for point in result.eval_curve] == [0, 2, 3]  # the base, each epoch of 2 steps, the end
    assert result.best is not None and result.best["step"] == 0
    for ours, theirs in zip(result.model.get_weights(), base.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_a_warm_started_detector_keeps_every_batch_norm_frozen(tiny_detection, tmp_path):
    """Its statistics were learnt with the base run; trained again they wrecked a converged detector."""
    config = DetectorConfig(input_size=SIZE, alpha=0.35, weights=None, allow_scratch=True, head_channels=16)
    fresh, _ = detector_model(tiny_detection, config)
    norms = [layer for layer in fresh.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.trainable for layer in norms)  # a new neck learns its statistics
    identity = tuple(range(len(tiny_detection.labels)))
    warm = dataclasses.replace(
        config, warm_start=WarmStart(save_checkpoint(fresh, tmp_path), tiny_detection.labels, identity)
    )
    model, _ = detector_model(tiny_detection, warm)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable for layer in norms)
    assert model.get_layer("heatmap").trainable  # the rest still learns
