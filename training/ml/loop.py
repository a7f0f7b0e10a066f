"""The training loop every recipe shares: step counting over phases, progress, ETA and
cancellation.

A recipe creates one ``Tracker`` for the whole run (its ``total_steps`` counts every optimiser
step of every phase, so a progress bar never restarts) and a ``Monitor`` callback per Keras
``fit``. Cancellation is checked after every step, so a cancelled run stops between two steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from .config import ClassifierConfig, DetectorConfig
from .errors import TrainingCancelled


@dataclass(frozen=True)
class Progress:
    phase: str  # "features", "head", "fine_tune" or "train"
    step: int  # optimiser steps done, over all phases
    total_steps: int
    epoch: int
    total_epochs: int
    loss: float | None
    metrics: dict[str, float]
    eta_seconds: float | None


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


@dataclass
class TrainResult:
    kind: str
    labels: tuple[str, ...]
    config: ClassifierConfig | DetectorConfig
    model: keras.Model
    trained_from_scratch: bool
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    images_per_second: float | None = None  # optimiser throughput of the main phase


class Monitor(keras.callbacks.Callback):
    """Reports progress after every step and raises TrainingCancelled when asked to stop."""

    def __init__(self, tracker: Tracker, phase: str, epochs: int, batch_size: int):
        super().__init__()
        self.tracker, self.phase, self.epochs, self.batch_size = tracker, phase, epochs, batch_size
        self.epoch = 0
        self.timed_steps, self.timed_since = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # Skip the first steps (graph tracing) when measuring throughput.
        if self.timed_since is None and self.tracker.step_in_phase >= 2:
            self.timed_since = time.perf_counter()
        elif self.timed_since is not None:
            self.timed_steps += 1
        self.tracker.advance(self.phase, self.epoch + 1, self.epochs, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.tracker.history.append({"phase": self.phase, "epoch": epoch + 1, **floats(logs)})

    def images_per_second(self) -> float | None:
        if not self.timed_steps:
            return None
        return self.timed_steps * self.batch_size / (time.perf_counter() - self.timed_since)


class Tracker:
    """Step counting and ETA over all phases of one run."""

    def __init__(self, total_steps: int, on_progress: ProgressFn | None, should_cancel: CancelFn | None):
        self.total_steps, self.on_progress, self.should_cancel = total_steps, on_progress, should_cancel
        self.step, self.step_in_phase = 0, 0
        self.started = time.perf_counter()
        self.history: list[dict[str, float]] = []

    def check_cancelled(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise TrainingCancelled(f"cancelled after {self.step} of {self.total_steps} steps")

    def start_phase(self) -> None:
        self.step_in_phase = 0

    def advance(self, phase: str, epoch: int, epochs: int, logs: dict, steps: int = 1) -> None:
        self.step += steps
        self.step_in_phase += steps
        if self.on_progress is not None:
            elapsed = time.perf_counter() - self.started
            remaining = max(self.total_steps - self.step, 0)
            metrics = floats(logs)
            self.on_progress(
                Progress(
                    phase=phase,
                    step=self.step,
                    total_steps=self.total_steps,
                    epoch=epoch,
                    total_epochs=epochs,
                    loss=metrics.pop("loss", None),
                    metrics=metrics,
                    eta_seconds=elapsed / self.step * remaining if self.step else None,
                )
            )
        self.check_cancelled()


def floats(logs: dict | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def epoch_steps(samples: int, batch_size: int) -> int:
    return max(math.ceil(samples / batch_size), 1)
