"""Evaluation during training: the validation curve, the best weights restored and exported,
and early stopping that really stops (and keeps the progress bar's total exact)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from training.ml import train_detector as detector_recipe
from training.ml.config import DetectorConfig
from training.ml.loop import Checkpoint, Evaluate, Monitor, Phase, Tracker
from training.ml.train import train


def _tiny_model() -> keras.Model:
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _fit_with_scripted_scores(scores: list[float], patience: int, steps: int = 10):
    """Fit a tiny model one step per epoch, scoring it from ``scores`` after every step; returns
    the model, the weights it had at each evaluation, the checkpoint and the reports."""
    keras.utils.set_random_seed(0)
    model = _tiny_model()
    x, y = np.random.rand(8, 3).astype("float32"), np.random.rand(8, 1).astype("float32")
    reports, seen = [], []
    tracker = Tracker([Phase("train", steps)], reports.append, None)
    checkpoint = Checkpoint("accuracy", patience)

    def score():
        seen.append([w.copy() for w in model.get_weights()])
        return scores[len(seen) - 1], 0.0

    callbacks = [Monitor(tracker, "train", steps, 8), Evaluate(tracker, checkpoint, score, 1, 1, "train")]
    model.fit(x, y, batch_size=8, epochs=steps, callbacks=callbacks, verbose=0)
    return model, seen, checkpoint, tracker, reports


def test_the_best_weights_are_restored_and_patience_stops_the_phase():
    model, seen, checkpoint, tracker, reports = _fit_with_scripted_scores([0.2, 0.5, 0.4, 0.3, 0.9, 1.0], patience=2)
    assert len(seen) == 4  # two evaluations without improvement after the best, then stop
    assert checkpoint.stopped_early and checkpoint.best == {
        "step": 2, "epoch": 2, "value": 0.5, "metric": "accuracy", "phase": "train"
    }  # fmt: skip
    for restored, best in zip(model.get_weights(), seen[1], strict=True):
        np.testing.assert_array_equal(restored, best)
    assert not np.array_equal(seen[1][0], seen[3][0])  # training did move on after the best
    assert tracker.eval_curve == [[1, 0.2], [2, 0.5], [3, 0.4], [4, 0.3]]
    # The unrun steps left the total: the bar ends full and never passes it.
    assert tracker.total_steps == 4 and all(r.step <= r.total_steps for r in reports)
    assert [r.eval_point for r in reports if r.eval_point] == [(1, 0.2), (2, 0.5), (3, 0.4), (4, 0.3)]


def test_without_patience_every_step_runs_and_a_tie_keeps_the_earlier_best():
    model, seen, checkpoint, tracker, _ = _fit_with_scripted_scores([0.1, 0.3, 0.3, 0.2], patience=0, steps=4)
    assert len(seen) == 4 and not checkpoint.stopped_early and tracker.total_steps == 4
    assert checkpoint.best["step"] == 2
    for restored, best in zip(model.get_weights(), seen[1], strict=True):
        np.testing.assert_array_equal(restored, best)


def test_a_detector_stops_early_and_reports_it(tiny_detection, weights, monkeypatch):
    """The recipe wires the scorer, the patience and the steps-budget interval (one pass over
    the 8 training images in batches of 4 = every 2 steps)."""
    calls = []

    def scripted(model, samples, labels, config):
        values = [0.3, 0.2, 0.1, 0.1]
        return lambda: (values[min(len(calls), 3)], calls.append(1) or 0.0)

    monkeypatch.setattr(detector_recipe, "detector_scorer", scripted)
    reports = []
    config = DetectorConfig(input_size=64, weights=weights, steps=40, batch_size=4, eval_every=1, early_stop_patience=2)
    result = train(tiny_detection, config, on_progress=reports.append)
    assert result.stopped_early and len(calls) == 3
    assert result.eval_curve == [[2, 0.3], [4, 0.2], [6, 0.1]]
    assert result.best == {"step": 2, "epoch": 1, "value": 0.3, "metric": "map50", "phase": "train"}
    steps = [r.step for r in reports if r.eval_point is None]
    assert steps == [1, 2, 3, 4, 5, 6] and reports[-1].total_steps == 6
    assert all(r.step <= r.total_steps for r in reports)


@pytest.mark.parametrize("run_name", ["detector_run", "classifier_run"])
def test_the_exported_model_is_the_best_evaluated_one(request, run_name):
    """The final evaluation of the exported SavedModel's serving function scores what the
    best checkpoint scored during training."""
    run = request.getfixturevalue(run_name)
    metric = {"detector_run": "map50", "classifier_run": "accuracy"}[run_name]
    assert run.best is not None and run.best["value"] == max(value for _, value in run.eval_curve)
    # One name everywhere: the final evaluation reports its figure under the run's metric name.
    assert run.metric_name == run.best["metric"] == metric
    assert run.evaluation[metric] == pytest.approx(run.best["value"], abs=1e-3)
    assert run.eval_curve and all(0.0 <= value <= 1.0 for _, value in run.eval_curve)
    assert run.stopped_early is False and run.eval_seconds > 0
