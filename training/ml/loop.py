"""The training loop every recipe shares: step counting over phases, progress, ETA,
cancellation, and evaluation during training with the best checkpoint and early stopping.

A recipe plans its phases up front (``Phase``: name, optimiser steps, relative cost of a step)
and creates one ``Tracker`` for the whole run, so a progress bar never restarts. Invariants:
``step <= total_steps`` in every report (a phase that stops early takes its unrun steps out of
the total; a phase that runs over raises the total), and the ETA is the current phase's
measured rate applied to its remaining steps plus the later phases' steps at that rate scaled
by their relative cost. Cancellation is checked after every step, so a cancelled run stops
between two steps.

``Evaluate`` (a Keras callback next to ``Monitor``) scores the validation split every
``every_steps`` steps of a phase and at its end, offers the score to a ``Checkpoint`` that keeps
the best weights in memory, stops the phase after ``patience`` evaluations without improvement,
and restores the best weights when the phase ends, so what is exported is the best model seen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from .config import ClassifierConfig, DetectorConfig
from .errors import TrainingCancelled


@dataclass(frozen=True)
class Progress:
    phase: str  # "features", "head", "fine_tune" or "train"
    step: int  # steps done, over all phases; never more than total_steps
    total_steps: int
    epoch: int | None  # None after the run's own epochs (its box classifier's phases)
    total_epochs: int | None
    loss: float | None
    metrics: dict[str, float]
    eta_seconds: float | None
    phase_rate: float | None = None  # steps per second of the current phase, once measured
    val_metric: float | None = None  # the latest validation score
    eval_point: tuple[int, float] | None = None  # set on the report of an evaluation just made


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Phase:
    """A planned phase: its steps, and the cost of one of its steps relative to the others
    (used for the ETA of phases that have not started yet)."""

    name: str
    steps: int
    cost: float = 1.0


@dataclass
class TrainResult:
    kind: str
    labels: tuple[str, ...]
    config: ClassifierConfig | DetectorConfig
    model: keras.Model
    trained_from_scratch: bool
    history: list[dict[str, str | float]] = field(default_factory=list)  # phase, epoch and the epoch's metrics
    seconds: float = 0.0
    images_per_second: float | None = None  # optimiser throughput of the main phase
    eval_curve: list[list[float]] = field(default_factory=list)  # [[step, value], ...]
    best: dict | None = None  # {"step", "epoch", "value", "metric", "phase"} of the exported weights
    stopped_early: bool = False
    metric_name: str | None = None  # "map50" or "accuracy"; None without a validation split
    eval_seconds: float = 0.0  # time spent evaluating during training


class Tracker:
    """Step counting, ETA and evaluation points over all phases of one run."""

    def __init__(
        self,
        plan: Sequence[Phase],
        on_progress: ProgressFn | None,
        should_cancel: CancelFn | None,
        clock: Clock = time.perf_counter,
    ):
        self.plan = {p.name: p for p in plan if p.steps > 0}
        self.total_steps = sum(p.steps for p in self.plan.values())
        self.on_progress, self.should_cancel, self.clock = on_progress, should_cancel, clock
        self.step, self.step_in_phase = 0, 0
        self.phase: str | None = None
        self.started = clock()
        self._first_step_at: float | None = None  # end of the phase's first step (tracing excluded)
        self._last: Progress | None = None
        self.history: list[dict[str, str | float]] = []
        self.eval_curve: list[list[float]] = []
        self.val_metric: float | None = None

    def check_cancelled(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise TrainingCancelled(f"cancelled after {self.step} of {self.total_steps} steps")

    def start_phase(self, name: str) -> None:
        self.phase, self.step_in_phase, self._first_step_at = name, 0, None

    def skip_rest_of_phase(self) -> None:
        """The phase stops early: its unrun steps leave the total, so the bar still ends full."""
        planned = self.plan[self.phase].steps if self.phase in self.plan else self.step_in_phase
        self.total_steps -= max(planned - self.step_in_phase, 0)
        if self.phase in self.plan:
            self.plan[self.phase] = Phase(self.phase, self.step_in_phase, self.plan[self.phase].cost)

    def phase_rate(self) -> float | None:
        """Steps per second of the current phase since its first step (which traces graphs)."""
        if self._first_step_at is None or self.step_in_phase < 2:
            return None
        elapsed = self.clock() - self._first_step_at
        return (self.step_in_phase - 1) / elapsed if elapsed > 0 else None

    def eta_seconds(self) -> float | None:
        rate = self.phase_rate()
        if rate is None:
            elapsed = self.clock() - self.started
            return elapsed / self.step * (self.total_steps - self.step) if self.step else None
        current = self.plan.get(self.phase) if self.phase is not None else None
        cost = current.cost if current else 1.0
        remaining_here = max((current.steps if current else 0) - self.step_in_phase, 0)
        later = list(self.plan.values())[list(self.plan).index(current.name) + 1 :] if current else []
        return (remaining_here + sum(p.steps * p.cost for p in later) / cost) / rate

    def advance(self, phase: str, epoch: int, epochs: int, logs: dict, steps: int = 1) -> None:
        if phase != self.phase:
            self.start_phase(phase)
        self.step += steps
        self.step_in_phase += steps
        if self._first_step_at is None:
            self._first_step_at = self.clock()
        if self.step > self.total_steps:  # a miscounted plan must not show 1281/1241
            self.total_steps = self.step
        metrics = floats(logs)
        self._report(
            Progress(
                phase=phase,
                step=self.step,
                total_steps=self.total_steps,
                epoch=epoch,
                total_epochs=epochs,
                loss=metrics.pop("loss", None),
                metrics=metrics,
                eta_seconds=self.eta_seconds(),
                phase_rate=self.phase_rate(),
                val_metric=self.val_metric,
            )
        )
        self.check_cancelled()

    def evaluated(self, value: float) -> None:
        """Record a validation score at the current step and report it."""
        value = float(value)
        self.val_metric = value
        self.eval_curve.append([self.step, round(value, 5)])
        if self._last is not None:
            last = self._last
            self._report(
                Progress(
                    **{
                        **last.__dict__,
                        "total_steps": self.total_steps,
                        "eta_seconds": self.eta_seconds(),
                        "val_metric": value,
                        "eval_point": (self.step, round(value, 5)),
                    }
                )
            )

    def _report(self, progress: Progress) -> None:
        self._last = progress
        if self.on_progress is not None:
            self.on_progress(progress)


class Monitor(keras.callbacks.Callback):
    """Reports progress after every step and raises TrainingCancelled when asked to stop."""

    def __init__(self, tracker: Tracker, phase: str, epochs: int, batch_size: int):
        super().__init__()
        self.tracker, self.phase, self.epochs, self.batch_size = tracker, phase, epochs, batch_size
        self.epoch = 0
        self.timed_steps = 0
        self.timed_since: float | None = None

    def on_train_begin(self, logs=None):
        self.tracker.start_phase(self.phase)

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
        if not self.timed_steps or self.timed_since is None:
            return None
        return self.timed_steps * self.batch_size / (time.perf_counter() - self.timed_since)


# A validation score: (value, tie-break). Higher is better for both; the tie-break (e.g. minus
# the validation loss) decides between equal values, so a classifier at 100 % validation
# accuracy still keeps improving weights instead of freezing on its first perfect epoch.
Score = tuple[float, float]


class Checkpoint:
    """The best validation score so far and the weights that scored it, kept in memory."""

    def __init__(self, metric: str, patience: int):
        self.metric, self.patience = metric, patience
        self.best: dict | None = None
        self.stale = 0  # evaluations since the best one
        self.stopped_early = False
        self.seconds = 0.0  # spent evaluating
        self._key: Score | None = None
        self._weights: list[np.ndarray] | None = None
        self._is_current = False  # the model's weights are the best ones

    def offer(self, model: keras.Model, score: Score, step: int, epoch: int, phase: str) -> bool:
        """Keep ``model``'s weights if ``score`` beats the best; True when it did."""
        if self._key is not None and score <= self._key:
            self.stale += 1
            self._is_current = False
            return False
        self._key, self.stale, self._is_current = score, 0, True
        self._weights = [np.array(w, copy=True) for w in model.get_weights()]
        self.best = {"step": step, "epoch": epoch, "value": float(score[0]), "metric": self.metric, "phase": phase}
        return True

    def rebase(self, model: keras.Model) -> None:
        """Carry the best score over to a new model holding the best weights (the classifier's
        head becomes part of the full model): fine-tuning must beat it to be kept."""
        if self._key is None:
            return
        self._weights = [np.array(w, copy=True) for w in model.get_weights()]
        self._is_current, self.stale = True, 0

    def restore(self, model: keras.Model) -> None:
        if self._weights is not None and not self._is_current:
            model.set_weights(self._weights)
            self._is_current = True

    @property
    def exhausted(self) -> bool:
        return bool(self.patience) and self.stale >= self.patience


class Evaluate(keras.callbacks.Callback):
    """Scores the validation split every ``every_steps`` steps of a phase and after its last
    step, keeps the best weights, stops the phase early, restores the best at its end."""

    def __init__(
        self,
        tracker: Tracker,
        checkpoint: Checkpoint,
        score: Callable[[], Score],
        every_steps: int,
        steps_per_epoch: int,
        phase: str,
    ):
        super().__init__()
        self.tracker, self.checkpoint, self.score = tracker, checkpoint, score
        self.every_steps, self.steps_per_epoch, self.phase = max(every_steps, 1), max(steps_per_epoch, 1), phase
        self.phase_step = 0
        self.last_evaluated = 0

    def on_train_batch_end(self, batch, logs=None):
        self.phase_step += 1
        planned = self.tracker.plan[self.phase].steps if self.phase in self.tracker.plan else 0
        if self.phase_step % self.every_steps == 0 or self.phase_step >= planned:
            self.evaluate(planned)

    def on_train_end(self, logs=None):
        if self.phase_step and self.last_evaluated != self.phase_step:
            self.evaluate(self.phase_step)
        self.checkpoint.restore(self.model)

    def evaluate(self, planned: int) -> None:
        started = time.perf_counter()
        score = self.score()
        self.checkpoint.seconds += time.perf_counter() - started
        self.last_evaluated = self.phase_step
        epoch = math.ceil(self.phase_step / self.steps_per_epoch)
        self.checkpoint.offer(self.model, score, self.tracker.step, epoch, self.phase)
        if self.checkpoint.exhausted and self.phase_step < planned:
            self.checkpoint.stopped_early = True
            self.tracker.skip_rest_of_phase()  # before the report, which then shows the new total
            self.model.stop_training = True
        self.tracker.evaluated(score[0])


def floats(logs: dict | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def epoch_steps(samples: int, batch_size: int) -> int:
    return max(math.ceil(samples / batch_size), 1)


def evaluation_fields(tracker: Tracker, checkpoint: Checkpoint | None) -> dict[str, Any]:
    """TrainResult's evaluation fields, the same for every recipe (no checkpoint: no validation split)."""
    return {
        "eval_curve": tracker.eval_curve,
        "best": checkpoint.best if checkpoint else None,
        "stopped_early": bool(checkpoint and checkpoint.stopped_early),
        "metric_name": checkpoint.metric if checkpoint else None,
        "eval_seconds": checkpoint.seconds if checkpoint else 0.0,
    }
