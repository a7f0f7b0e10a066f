"""What a worker tells the world while it trains: heartbeat, progress, log, cancellation.

TensorFlow calls `Reporter.progress` from inside training/ml with a plain progress object;
only this module touches the run's row. Writes are throttled so a fast loop of tiny steps
does not hammer the database, and every write doubles as a heartbeat. A separate thread
keeps the heartbeat going through long steps without progress (loading weights, export),
and both notice when the row stops saying "running" (cancelled, or failed by the reaper).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from annotator.events import broadcast
from training.models import Run, RunStatus

WRITE_EVERY_SECONDS = 1.0
MAX_CURVE_POINTS = 400
MAX_LOG_LINES = 400


class Reporter:
    def __init__(self, run: Run) -> None:
        self.run_id = run.pk
        self.project_id = run.project_id
        self.cancelled = threading.Event()  # the row stopped saying running
        self._finished = threading.Event()
        self.curve: list[list[float]] = []
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
        self.state = {
            "phase": report.phase,
            "step": report.step,
            "total_steps": report.total_steps,
            "epoch": report.epoch,
            "total_epochs": report.total_epochs,
            "loss": report.loss,
            "eta_seconds": None if report.eta_seconds is None else round(report.eta_seconds, 1),
            "metrics": report.metrics,
        }
        if report.loss is not None:
            self.curve = append_point(self.curve, report.step, report.loss)
        self.write()

    def write(self, force: bool = False) -> None:
        """Store progress, curve, log and heartbeat; notice a run that is no longer ours."""
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY_SECONDS:
            return
        with self._lock:
            self._written = now
            fields = {"progress": self.state, "loss_curve": self.curve, "log": "\n".join(self.lines)}
            if not self._touch(**fields):
                return
        broadcast(self.project_id, "run.progress", {"id": self.run_id, "status": "running", "progress": self.state,
                                                    "point": self.curve[-1] if self.curve else None})  # fmt: skip

    def _touch(self, **fields: Any) -> bool:
        now = timezone.now()
        changed = Run.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
            heartbeat_at=now, updated_at=now, **fields
        )
        if not changed:
            self.cancelled.set()
        return bool(changed)

    def _beat(self) -> None:
        interval = settings.ANNOTATOR_RUN_HEARTBEAT_INTERVAL
        try:
            while not self._finished.wait(interval):
                close_old_connections()
                with self._lock:
                    self._touch()
        finally:
            connection.close()


def append_point(curve: list[list[float]], step: int, loss: float) -> list[list[float]]:
    """Add a point; past MAX_CURVE_POINTS keep every other one, so the chart keeps its shape
    and the row its size, whatever the number of steps."""
    curve = [*curve, [step, round(loss, 5)]]
    if len(curve) > MAX_CURVE_POINTS:
        curve = curve[::2] + ([curve[-1]] if len(curve) % 2 == 0 else [])
    return curve
