"""Progress that reaches the row and the websocket while a step blocks, and evaluation points
that are stored and sent as they happen."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from annotator import jobs
from annotator.events import project_group
from tests.training.conftest import classification_data
from training.models import Run
from training.progress import Reporter
from training.services import create_run

pytestmark = pytest.mark.django_db(transaction=True)
# A training tick's `job.progress` payload: only what changes while a run trains.
TICK = {"kind", "id", "status", "progress", "point", "eval_point"}


class Report:
    """What training/ml's loop.Progress carries (imported here without TensorFlow)."""

    def __init__(self, step: int, eta: float, eval_point: tuple[int, float] | None = None) -> None:
        self.phase, self.step, self.total_steps, self.epoch, self.total_epochs = "train", step, 100, 1, 10
        self.loss, self.metrics, self.eta_seconds = 1.0, {}, eta
        self.phase_rate, self.val_metric, self.eval_point = 0.5, eval_point and eval_point[1], eval_point


class Listener:
    """A channel in the project's group: what the websocket consumers would forward."""

    def __init__(self, project_id: int) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(project_group(project_id), self.channel)

    def progress(self) -> list[dict]:
        payloads = []
        while True:
            try:
                message = async_to_sync(self._receive)()
            except TimeoutError:
                return payloads
            if message["event"] == "job.progress" and "point" in message["payload"]:  # the training ticks
                payloads.append(message["payload"])

    async def _receive(self) -> dict:
        return await asyncio.wait_for(self.layer.receive(self.channel), 0.5)


@pytest.fixture
def running(classification_project, personas) -> Run:
    classification_data(classification_project, personas.owner, per_class=5)
    run = create_run(classification_project, personas.owner, "classification", {})
    return jobs.claim(Run, run.pk)


def test_progress_is_rebroadcast_with_a_fresh_eta_while_a_long_step_blocks(running, settings):
    settings.ANNOTATOR_RUN_HEARTBEAT_INTERVAL = 0.25
    listener = Listener(running.project_id)
    with Reporter(running) as reporter:
        reported = time.monotonic()
        reporter.progress(Report(step=7, eta=100.0))
        written = Run.objects.get(pk=running.pk).updated_at
        # The training thread is stuck in one long step (tracing, an evaluation). Polled rather than
        # slept: on a loaded machine the refresher's ticks come late, never wrong.
        deadline = reported + 15
        while (row := Run.objects.get(pk=running.pk)).progress["eta_seconds"] >= 99.0:
            assert time.monotonic() < deadline, "no refreshed ETA within 15 s"
            time.sleep(0.1)
        elapsed = time.monotonic() - reported
    assert row.updated_at > written and row.progress["step"] == 7
    # The refreshed ETA counts down from the report by the time since it (to the refresh's tick).
    assert 100.0 - elapsed - 0.5 < row.progress["eta_seconds"] < 99.0 and row.progress["phase_rate"] == 0.5
    payloads = listener.progress()
    assert len(payloads) >= 2  # the report itself, then at least one refresh
    etas = [p["progress"]["eta_seconds"] for p in payloads]
    assert etas[0] == 100.0 and etas == sorted(etas, reverse=True) and etas[-1] < 99.0
    assert all(p["progress"]["step"] == 7 and p["status"] == "running" for p in payloads)
    assert all(p["kind"] == "run" and p["id"] == running.pk and set(p) == TICK for p in payloads)


def test_an_evaluation_point_is_stored_and_sent_once_unthrottled(running, settings):
    settings.ANNOTATOR_RUN_HEARTBEAT_INTERVAL = 30
    listener = Listener(running.project_id)
    with Reporter(running) as reporter:
        reporter.progress(Report(step=10, eta=50.0))
        reporter.progress(Report(step=10, eta=49.0, eval_point=(10, 0.625)))  # within the 1 s throttle
        reporter.write(force=True)
    row = Run.objects.get(pk=running.pk)
    assert row.eval_curve == [[10, 0.625]] and row.progress["val_metric"] == 0.625
    assert [p["eval_point"] for p in listener.progress()] == [None, [10, 0.625], None]
