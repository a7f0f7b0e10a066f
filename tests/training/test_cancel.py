"""Cancelling: a queued run never starts; a running worker notices through its callback.

Claims are the job kernel's (annotator.jobs); these check what a run makes of them."""

from __future__ import annotations

import time

import pytest

from annotator import jobs
from tests.training.conftest import classification_data
from training.models import Run, RunStatus
from training.progress import MAX_CURVE_POINTS, Reporter, append_point
from training.services import RunNotActive, cancel_run, create_run


@pytest.fixture
def run(classification_project, personas) -> Run:
    classification_data(classification_project, personas.owner, per_class=5)
    return create_run(classification_project, personas.owner, "classification", {})


@pytest.mark.django_db
def test_a_cancelled_queued_run_never_starts(run):
    cancel_run(run)
    jobs.execute("run", run.pk)  # what a worker does when the message arrives anyway
    run.refresh_from_db()
    assert run.status == "cancelled" and run.started_at is None and run.attempts == 0
    with pytest.raises(RunNotActive, match="already cancelled"):
        cancel_run(run)


@pytest.mark.django_db
def test_a_run_is_claimed_once(run):
    assert jobs.claim(Run, run.pk).status == "running"
    assert jobs.claim(Run, run.pk) is None  # a redelivered message finds it taken
    run.refresh_from_db()
    assert run.worker and run.started_at


class _Step:
    def __init__(self, step: int) -> None:
        self.phase, self.step, self.total_steps, self.epoch, self.total_epochs = "head", step, 100, 1, 1
        self.loss, self.metrics, self.eta_seconds = 1.0 / step, {}, 3.0
        self.phase_rate, self.val_metric, self.eval_point = None, None, None


@pytest.mark.django_db
def test_progress_writes_and_sees_a_cancel(run):
    running = jobs.claim(Run, run.pk)
    with Reporter(running) as reporter:
        reporter.progress(_Step(1))
        assert not reporter.should_cancel()
        cancel_run(running)
        reporter.write(force=True)
        assert reporter.should_cancel()
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert run.progress["step"] == 1 and run.loss_curve == [[1, 1.0]]


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_keeps_the_run_alive_and_notices_a_cancel(run, settings):
    settings.ANNOTATOR_RUN_HEARTBEAT_INTERVAL = 0.1
    running = jobs.claim(Run, run.pk)
    first = running.heartbeat_at
    with Reporter(running) as reporter:
        time.sleep(0.5)
        assert Run.objects.get(pk=run.pk).heartbeat_at > first
        Run.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
        deadline = time.monotonic() + 5
        while not reporter.should_cancel() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reporter.should_cancel()


def test_the_loss_curve_stays_bounded():
    curve: list = []
    for step in range(1, 2001):
        curve = append_point(curve, step, 1.0)
    assert len(curve) <= MAX_CURVE_POINTS
    assert curve[0][0] == 1 and curve[-1][0] == 2000
