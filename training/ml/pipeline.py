"""One call for the worker: train, evaluate, draw samples, export, verify.

A run counts as succeeded when this returns: training, the SavedModel and the evaluation
worked (a failure there raises an ``MLError`` subclass, or the underlying error, for the
worker to record). The other formats never throw the run away: one that could not be built
is named in ``exports.failures``, one whose check failed has ``verification[name]["ok"]``
false with the reason, and both are the caller's to report.

A detector given a ``box_classifier`` config also trains the box classifier of its suggestions
(``box_classifier.py``) after the detector, and the suggestion threshold in the evaluation is
then the pair's. When the box classifier cannot be trained (e.g. an offline warm start has no
ImageNet weights for it) or exported, the run goes on without it (``box_classifier_error`` says
why) and the threshold is the detector's own, so the threshold always fits what will suggest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data as pipelines
from .box_classifier import FOLDER as BOX_CLASSIFIER
from .box_classifier import export_box_classifier, suggestion_threshold, train_box_classifier
from .config import ClassifierConfig, DetectorConfig
from .dataset import CLASSIFICATION, DETECTION, Sample, TrainingSet
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
    # The box classifier's folder (box_classifier.py), for the product's suggestions; None without one.
    box_classifier: Path | None = None
    box_classifier_error: str | None = None  # why a box classifier that trained was not exported


def run_training(
    data: TrainingSet,
    config: ClassifierConfig | DetectorConfig,
    workdir: str | Path,
    node_root: str | Path,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    verify_images: int = 3,
    on_phase: Callable[[str], None] | None = None,
    box_classifier: ClassifierConfig | None = None,
) -> RunResult:
    """Artifacts go to ``workdir/model*``, prediction pictures to ``workdir/samples``;
    ``node_root`` is the directory whose ``node_modules`` holds @tensorflow/tfjs.
    ``on_phase`` hears when each phase after training starts; a cancel is honoured between phases.
    ``box_classifier`` (detectors only) trains the box classifier with that config."""
    workdir = Path(workdir)
    steps_done = [0]

    def tracked(progress) -> None:
        steps_done[0] = max(steps_done[0], progress.step)
        if on_progress is not None:
            on_progress(progress)

    def phase(name: str) -> None:
        if should_cancel is not None and should_cancel():
            raise TrainingCancelled(f"cancelled before {name}")
        if on_phase is not None:
            on_phase(name)

    result = train(data, config, tracked, should_cancel)
    checkpoint = save_checkpoint(result.model, workdir / "checkpoint")
    namer, namer_error = None, None
    if box_classifier is not None and data.kind == DETECTION and len(data.labels) > 1:
        phase("training the box classifier")
        try:
            namer = train_box_classifier(data, box_classifier, on_progress, should_cancel, steps_done[0])
        except TrainingCancelled:
            raise
        except Exception as error:  # e.g. no ImageNet weights on an offline warm start: the detector stands
            namer_error = f"{type(error).__name__}: {error}"[:2000]
    serve = InferenceModule(result).serve
    evaluation, pictures, own_threshold = None, [], None
    if data.validation:
        phase("evaluating")
        evaluate = evaluate_classifier if data.kind == CLASSIFICATION else evaluate_detector
        evaluation = evaluate(serve, data.validation, data.labels, config.input_size).to_dict()
        if namer is not None:
            own_threshold = evaluation["suggestion_threshold"]
            evaluation["suggestion_threshold"] = suggestion_threshold(
                serve, InferenceModule(namer).serve, data.validation, config.input_size, namer.config.input_size
            )
            evaluation["box_classifier"] = {"accuracy": (namer.best or {}).get("value")}
        pictures = draw_predictions(
            serve, data.kind, data.validation, data.labels, config.input_size, workdir / "samples"
        )
    phase("exporting")
    exports = export_all(result, workdir)
    namer_dir = None
    if namer is not None:
        try:
            namer_dir = export_box_classifier(namer, workdir / BOX_CLASSIFIER)
        except Exception as error:  # the detector's models stand without it
            namer_error = f"{type(error).__name__}: {error}"[:2000]
            if evaluation is not None:
                evaluation["suggestion_threshold"] = own_threshold
                evaluation.pop("box_classifier", None)
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
        box_classifier=namer_dir,
        box_classifier_error=namer_error,
    )


def sample_images(kind: str, samples: Sequence[Sample], size: int) -> list[np.ndarray]:
    """Model-sized float32 pixels of ``samples``, as a client would send them."""
    if kind == CLASSIFICATION:
        return [image.numpy() for image, _ in pipelines.classification_images(samples, size, cache=False)]
    return [image.numpy() for image, _, _ in pipelines.detection_images(samples, size, cache=False)]
