"""What a worker tells the world while it trains: heartbeat, progress, log, cancellation.

TensorFlow calls `Reporter.progress` from inside training/ml with a plain progress object;
only this module writes the run's progress, through the job kernel (`annotator.jobs.heartbeat`,
`publish`). Writes are throttled so a fast loop of tiny steps
does not hammer the database, and every write doubles as a heartbeat; an evaluation point is
never throttled away. A separate thread keeps the row and the websocket current through
long stretches without steps (graph tracing and filling the image cache at a phase's first
step, evaluation, export): at least every `REFRESH_SECONDS` it re-writes and re-broadcasts
the latest state with the ETA counted down since it was measured. Both notice when the row
stops saying "running" (cancelled, or failed by the reaper). Each write is one partial
`job.progress` event: `progress`, and the newest `point` / `eval_point` of the two curves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, overload

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from annotator import jobs
from training.models import Run

log = logging.getLogger(__name__)

WRITE_EVERY_SECONDS = 1.0
# The row and the websocket hear from a running worker at least this often.
REFRESH_SECONDS = 4.0
MAX_CURVE_POINTS = 400
MAX_LOG_LINES = 400


class Reporter:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.cancelled = threading.Event()  # the row stopped saying running
        self._finished = threading.Event()
        self.curve: list[list[float]] = []
        self.eval_curve: list[list[float]] = []
        self._eval_point: list[float] | None = None  # sent with the next broadcast only
        self._eta: tuple[float, float] | None = None  # (eta_seconds, monotonic time it was measured)
        self.lines: deque[str] = deque(maxlen=MAX_LOG_LINES)
        self.state: dict[str, Any] = {"phase": "preparing"}
        self._written = 0.0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run.pk}", daemon=True)

    def __enter__(self) -> Reporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finished.set()
        self._thread.join(timeout=5)

    def should_cancel(self) -> bool:
        """training/ml's cancellation callback: cheap, it reads a flag the writes maintain."""
        return self.cancelled.is_set()

    def log(self, line: str) -> None:
        self.lines.append(f"{timezone.now():%H:%M:%S} {line}")
        self.write(force=True)

    def phase(self, name: str) -> None:
        self.state = {**self.state, "phase": name}
        self.log(name)

    def progress(self, report: Any) -> None:
        """The progress callback given to training/ml (a training.ml.loop.Progress)."""
        # A diverging loss is NaN: the row (jsonb) and the chart take null, never NaN.
        self.state = finite(
            {
                "phase": report.phase,
                "step": report.step,
                "total_steps": report.total_steps,
                "epoch": report.epoch,
                "total_epochs": report.total_epochs,
                "loss": report.loss,
                "eta_seconds": None if report.eta_seconds is None else round(report.eta_seconds, 1),
                "metrics": report.metrics,
                "phase_rate": None if report.phase_rate is None else round(report.phase_rate, 3),
                "val_metric": report.val_metric,
            }
        )
        self._eta = None if report.eta_seconds is None else (report.eta_seconds, time.monotonic())
        if report.eval_point is not None:
            self._eval_point = [report.eval_point[0], report.eval_point[1]]
            self.eval_curve = append_point(self.eval_curve, *report.eval_point)
            self.write(force=True)
            return
        if self.state["loss"] is not None:
            self.curve = append_point(self.curve, report.step, report.loss)
        self.write()

    def write(self, force: bool = False) -> None:
        """Store progress, curve, log and heartbeat; notice a run that is no longer ours."""
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY_SECONDS:
            return
        with self._lock:
            self._written = now
            state, eval_point, self._eval_point = self.state, self._eval_point, None
            run = self.run
            run.progress, run.loss_curve, run.eval_curve = state, self.curve, self.eval_curve
            run.log = "\n".join(self.lines)
            if not jobs.heartbeat(run, "progress", "loss_curve", "eval_curve", "log"):
                self.cancelled.set()
                return
            point = self.curve[-1] if self.curve else None
        jobs.publish(run, payload={"progress": state, "point": point, "eval_point": eval_point})

    def refresh(self) -> None:
        """Re-write and re-broadcast the latest state, its ETA counted down to now."""
        if self._eta is not None and self.state.get("eta_seconds") is not None:
            eta, measured = self._eta
            self.state = {**self.state, "eta_seconds": round(max(eta - (time.monotonic() - measured), 0.0), 1)}
        self.write(force=True)

    def _beat(self) -> None:
        tick = min(settings.ANNOTATOR_RUN_HEARTBEAT_INTERVAL, REFRESH_SECONDS)
        try:
            while not self._finished.wait(tick):
                close_old_connections()
                if time.monotonic() - self._written >= tick:  # the training thread has gone quiet
                    try:
                        self.refresh()
                    except Exception:  # a missed beat is retried next tick; the reaper judges the rest
                        log.exception("Heartbeat of run %s failed", self.run.pk)
        finally:
            connection.close()


@overload
def finite(value: dict[str, Any]) -> dict[str, Any]: ...
@overload
def finite(value: list[Any]) -> list[Any]: ...
@overload
def finite(value: object) -> object: ...
def finite(value: object) -> object:
    """JSON-safe figures: NaN and infinities become null (PostgreSQL's jsonb refuses them)."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def append_point(curve: list[list[float]], step: int, loss: float) -> list[list[float]]:
    """Add a point; past MAX_CURVE_POINTS keep every other one, so the chart keeps its shape
    and the row its size, whatever the number of steps."""
    curve = [*curve, [step, round(loss, 5)]]
    if len(curve) > MAX_CURVE_POINTS:
        curve = curve[::2] + ([curve[-1]] if len(curve) % 2 == 0 else [])
    return curve
