import keras
import pytest

from training.ml.config import ClassifierConfig, DetectorConfig
from training.ml.errors import TrainingCancelled, WeightsUnavailable
from training.ml.train import train


def _detector(weights, **overrides) -> DetectorConfig:
    return DetectorConfig(**{"input_size": 64, "weights": weights, "steps": 4, "batch_size": 4, **overrides})


@pytest.mark.parametrize("weights", ["/nonexistent/weights.h5", None])
def test_missing_weights_raise_unless_scratch_is_allowed(tiny_classification, weights):
    config = ClassifierConfig(input_size=64, weights=weights, head_epochs=1)
    with pytest.raises(WeightsUnavailable, match="allow training from scratch"):
        train(tiny_classification, config)


def test_scratch_training_is_recorded_and_fine_tunes_every_block(tiny_classification):
    config = ClassifierConfig(
        input_size=64,
        weights="/nonexistent/weights.h5",
        allow_scratch=True,
        head_epochs=1,
        feature_augment_copies=0,
        fine_tune_epochs=1,
    )
    result = train(tiny_classification, config)
    assert result.trained_from_scratch is True
    backbone = next(layer for layer in result.model.get_layer("features").layers if isinstance(layer, keras.Model))
    assert backbone.get_layer("Conv1").trainable and backbone.get_layer("block_1_expand").trainable


@pytest.fixture(scope="module")
def detector_run(tiny_detection, weights):
    reports = []
    result = train(tiny_detection, _detector(weights), on_progress=reports.append)
    return result, reports


def test_progress_reports_every_step(detector_run):
    result, reports = detector_run
    assert result.trained_from_scratch is False
    steps = [r for r in reports if r.eval_point is None]
    assert [r.step for r in steps] == [1, 2, 3, 4]
    assert all(r.total_steps == 4 and r.phase == "train" for r in reports)
    assert all(r.loss is not None and r.loss > 0 and "heatmap_loss" in r.metrics for r in reports)
    assert reports[-1].eta_seconds == 0 and reports[0].eta_seconds > 0
    # The last step is always measured: its point is reported, and the curve holds it.
    assert reports[-1].eval_point == (4, result.eval_curve[-1][1]) and result.metric_name == "map50"


def test_cancellation_stops_between_steps(tiny_detection, weights):
    reports = []
    with pytest.raises(TrainingCancelled):
        train(
            tiny_detection,
            _detector(weights, steps=50),
            on_progress=reports.append,
            should_cancel=lambda: len(reports) >= 2,
        )
    assert len(reports) == 2


def test_cancellation_before_the_first_step(tiny_classification, weights):
    with pytest.raises(TrainingCancelled):
        train(tiny_classification, ClassifierConfig(input_size=64, weights=weights), should_cancel=lambda: True)


def test_classifier_progress_covers_every_phase(tiny_classification, weights):
    reports = []
    config = ClassifierConfig(
        input_size=64, weights=weights, head_epochs=2, batch_size=8, feature_augment_copies=1, fine_tune_epochs=1
    )
    train(tiny_classification, config, on_progress=reports.append)
    steps = [r for r in reports if r.eval_point is None]
    phases = [r.phase for r in steps]
    assert list(dict.fromkeys(phases)) == ["features", "head", "fine_tune"]
    assert phases.count("fine_tune") == 2  # 16 crops in batches of 8
    assert [r.step for r in steps] == list(range(1, reports[-1].total_steps + 1))


def test_same_seed_gives_the_same_run(tiny_detection, weights, detector_run):
    _, reports = detector_run
    first = [r.loss for r in reports]
    assert _losses(tiny_detection, _detector(weights)) == first
    assert _losses(tiny_detection, _detector(weights, seed=1)) != first


def _losses(data, config):
    reports = []
    train(data, config, on_progress=reports.append)
    return [r.loss for r in reports]
