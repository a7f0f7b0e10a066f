"""One call for the worker: train, evaluate, draw samples, export, verify.

A run counts as succeeded when this returns: training, the SavedModel and the evaluation
worked (a failure there raises an ``MLError`` subclass, or the underlying error, for the
worker to record). The other formats never throw the run away: one that could not be built
is named in ``exports.failures``, one whose check failed has ``verification[name]["ok"]``
false with the reason, and both are the caller's to report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data as pipelines
from .config import ClassifierConfig, DetectorConfig
from .dataset import CLASSIFICATION, Sample, TrainingSet
from .errors import TrainingCancelled
from .evaluate import draw_predictions, evaluate_classifier, evaluate_detector
from .export import ExportPaths, export_all
from .inference import InferenceModule
from .loop import CancelFn, ProgressFn
from .train import train
from .verify import verify_exports
from .warmstart import save_checkpoint


@dataclass
class RunResult:
    kind: str
    labels: tuple[str, ...]
    trained_from_scratch: bool
    evaluation: dict | None  # None when the training set has no validation split
    exports: ExportPaths
    verification: dict[str, dict]
    sample_images: list[Path] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    images_per_second: float | None = None  # None: too few steps were timed
    # The trained weights, for later runs to warm-start from (warmstart.py).
    checkpoint: Path | None = None
    # Validation during training (loop.Evaluate): [[step, value], ...], the exported weights'
    # score, whether a phase stopped early, the metric's name and the seconds it cost.
    eval_curve: list[list[float]] = field(default_factory=list)
    best: dict | None = None
    stopped_early: bool = False
    metric_name: str | None = None
    eval_seconds: float = 0.0


def run_training(
    data: TrainingSet,
    config: ClassifierConfig | DetectorConfig,
    workdir: str | Path,
    node_root: str | Path,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    verify_images: int = 3,
    on_phase: Callable[[str], None] | None = None,
) -> RunResult:
    """Artifacts go to ``workdir/model*``, prediction pictures to ``workdir/samples``;
    ``node_root`` is the directory whose ``node_modules`` holds @tensorflow/tfjs.
    ``on_phase`` hears when each phase after training starts; a cancel is honoured between phases."""
    workdir = Path(workdir)

    def phase(name: str) -> None:
        if should_cancel is not None and should_cancel():
            raise TrainingCancelled(f"cancelled before {name}")
        if on_phase is not None:
            on_phase(name)

    result = train(data, config, on_progress, should_cancel)
    checkpoint = save_checkpoint(result.model, workdir / "checkpoint")
    serve = InferenceModule(result).serve
    evaluation, pictures = None, []
    if data.validation:
        phase("evaluating")
        evaluate = evaluate_classifier if data.kind == CLASSIFICATION else evaluate_detector
        evaluation = evaluate(serve, data.validation, data.labels, config.input_size).to_dict()
        pictures = draw_predictions(
            serve, data.kind, data.validation, data.labels, config.input_size, workdir / "samples"
        )
    phase("exporting")
    exports = export_all(result, workdir)
    phase("verifying exports")
    images = sample_images(data.kind, (data.validation or data.train)[:verify_images], config.input_size)
    verification = verify_exports(exports, data.kind, config.input_size, images, node_root)
    return RunResult(
        kind=data.kind,
        labels=data.labels,
        trained_from_scratch=result.trained_from_scratch,
        evaluation=evaluation,
        exports=exports,
        verification=verification,
        sample_images=pictures,
        history=result.history,
        train_seconds=result.seconds,
        images_per_second=result.images_per_second,
        checkpoint=checkpoint,
        eval_curve=result.eval_curve,
        best=result.best,
        stopped_early=result.stopped_early,
        metric_name=result.metric_name,
        eval_seconds=result.eval_seconds,
    )


def sample_images(kind: str, samples: Sequence[Sample], size: int) -> list[np.ndarray]:
    """Model-sized float32 pixels of ``samples``, as a client would send them."""
    if kind == CLASSIFICATION:
        return [image.numpy() for image, _ in pipelines.classification_images(samples, size, cache=False)]
    return [image.numpy() for image, _, _ in pipelines.detection_images(samples, size, cache=False)]
