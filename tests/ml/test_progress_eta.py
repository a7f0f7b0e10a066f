"""Progress that never lies: the step never passes the total, and the ETA follows the
current phase's measured rate (plus the later phases at their relative cost)."""

from __future__ import annotations

import pytest

from training.ml.config import ClassifierConfig
from training.ml.loop import Phase, Tracker
from training.ml.train import train


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_eta_comes_from_the_current_phase_rate():
    clock, reports = FakeClock(), []
    tracker = Tracker([Phase("features", 4, 1.0), Phase("fine_tune", 10, 3.0)], reports.append, None, clock)
    clock.now = 30.0  # the first step traces graphs: it must not count in the rate
    tracker.advance("features", 1, 1, {})
    assert reports[-1].phase_rate is None and reports[-1].eta_seconds == pytest.approx(30.0 / 1 * 13)
    for _ in range(3):
        clock.now += 2.0
        tracker.advance("features", 1, 1, {})
    # 0.5 step/s measured; 10 fine-tuning steps cost 3x a feature step: 10 * 3 * 2 s.
    assert reports[-1].phase_rate == pytest.approx(0.5)
    assert reports[-1].eta_seconds == pytest.approx(60.0)

    clock.now += 50.0  # tracing the fine-tuning step
    tracker.advance("fine_tune", 1, 5, {})
    for step in range(2, 6):
        clock.now += 0.1  # far faster than estimated: the ETA follows at once
        tracker.advance("fine_tune", 1, 5, {})
        assert reports[-1].eta_seconds == pytest.approx((10 - step) * 0.1)
    assert reports[-1].phase_rate == pytest.approx(10.0)


def test_an_early_stop_shrinks_the_total_and_an_overrun_raises_it():
    reports = []
    tracker = Tracker([Phase("head", 10), Phase("fine_tune", 5)], reports.append, None)
    for _ in range(3):
        tracker.advance("head", 1, 1, {})
    tracker.skip_rest_of_phase()
    assert tracker.total_steps == 8
    for _ in range(7):  # two more than planned
        tracker.advance("fine_tune", 1, 1, {})
    assert [(r.step, r.total_steps) for r in reports[-3:]] == [(8, 8), (9, 9), (10, 10)]
    assert all(r.step <= r.total_steps for r in reports)


def test_a_classifier_never_reports_more_steps_than_its_total(tiny_classification, weights):
    """16 crops in batches of 5 with one augmented copy: the copy is 4 whole batches (20 rows),
    so the head trains on 36 rows, 8 steps an epoch (counting 32 rows said 7: 1281/1241)."""
    reports = []
    config = ClassifierConfig(
        input_size=64, weights=weights, head_epochs=3, batch_size=5, feature_augment_copies=1, fine_tune_epochs=1
    )
    train(tiny_classification, config, on_progress=reports.append)
    totals = {r.total_steps for r in reports}
    assert totals == {4 * 2 + 1 + 3 * 8 + 4}  # features (+1 validation batch), head, fine-tune
    assert all(r.step <= r.total_steps for r in reports) and reports[-1].step == reports[-1].total_steps
    assert [r.eta_seconds for r in reports][-1] == 0
    rates = [r.phase_rate for r in reports if r.phase == "fine_tune" and r.phase_rate is not None]
    assert rates and all(rate > 0 for rate in rates)
