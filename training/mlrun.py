"""The worker's one conversation with training/ml: plain data in, files and figures out.

Turns a snapshot manifest plus local image paths into training/ml's `TrainingSet` and
config, then trains, evaluates on the validation split, exports the four formats, loads
each back in its own runtime, and draws sample predictions. Imports TensorFlow, so only
the worker imports this module, and only when it trains.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

# tensorflowjs imports TensorFlow Decision Forests, whose welcome banner imports IPython (not
# installed) whenever stdout is not a terminal or file, as under a Celery worker's log proxy.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

from training.ml.box_classifier import box_classifier_config
from training.ml.config import AugmentConfig, ClassifierConfig, DetectorConfig
from training.ml.dataset import CLASSIFICATION, Box, Sample, TrainingSet, crops_as_classification
from training.ml.loop import ProgressFn
from training.ml.pipeline import run_training
from training.ml.warmstart import WarmStart

NO_AUGMENTATION = AugmentConfig(horizontal_flip=False, scale_crop=False, color_jitter=False)


@dataclass
class Outcome:
    exports: dict[str, Path]
    predictions: list[Path]
    metrics: dict
    history: list[dict] = field(default_factory=list)
    checkpoint: Path | None = None
    box_classifier: Path | None = None  # the folder of the detector's box classifier, if it trained one


def training_set(manifest: dict, paths: dict[int, Path]) -> TrainingSet:
    """The snapshot as training/ml's plain description, images pointing at the local cache."""
    splits: dict[str, list[Sample]] = {"train": [], "validation": []}
    for image in manifest["images"]:
        path = str(paths[image["id"]])
        if "boxes" in image:
            boxes = tuple(Box(x, y, x2, y2, int(label)) for x, y, x2, y2, label in image["boxes"])
            splits[image["split"]].append(Sample(path, boxes=boxes))
        else:
            splits[image["split"]].append(Sample(path, label=int(image["label"])))
    if manifest["kind"] == CLASSIFICATION and manifest["source"] == "boxes":
        splits = {name: crops_as_classification(samples) for name, samples in splits.items()}
    return TrainingSet(manifest["kind"], tuple(manifest["labels"]), tuple(splits["train"]), tuple(splits["validation"]))


def make_config(
    kind: str, params: dict, train_size: int, weights: str | None, warm_start: WarmStart | None = None
) -> ClassifierConfig | DetectorConfig:
    """training/ml's config from the run's stored hyper-parameters."""
    common = {
        "warm_start": warm_start,
        "input_size": params["input_size"],
        "alpha": params["alpha"],
        "weights": weights,
        "allow_scratch": params["allow_scratch"],
        "batch_size": params["batch_size"],
        "learning_rate": params["learning_rate"],
        "seed": params["seed"],
        # Runs stored before these settings existed re-run with training/ml's defaults.
        "eval_every": params.get("eval_every", DetectorConfig.eval_every),
        "early_stop_patience": params.get("early_stop_patience", DetectorConfig.early_stop_patience),
    }
    if not params["augment"]:
        common["augment"] = NO_AUGMENTATION
    if kind == CLASSIFICATION:
        copies = ClassifierConfig.feature_augment_copies if params["augment"] else 0
        epochs = params["epochs"] or _classifier_epochs(params["steps"], train_size, params["batch_size"], copies)
        # Runs stored before a setting existed re-run with its default.
        defaults = ClassifierConfig()
        if params["augment"]:
            common["augment"] = replace(defaults.augment, rotation=params.get("rotation", defaults.augment.rotation))
        return ClassifierConfig(
            **common,
            head_epochs=epochs,
            fine_tune_epochs=params["fine_tune_epochs"],
            feature_augment_copies=copies,
            label_smoothing=params.get("label_smoothing", defaults.label_smoothing),
            test_time_flip=params.get("test_time_flip", defaults.test_time_flip),
        )
    return DetectorConfig(**common, epochs=params["epochs"] or DetectorConfig.epochs, steps=params["steps"])


def make_box_classifier_config(
    params: dict, config: ClassifierConfig | DetectorConfig, train_size: int
) -> ClassifierConfig | None:
    """The box classifier a detection run trains for its suggestions, or None (classifiers, runs
    that turned it off, runs stored before it existed). A run given fewer epochs (or steps) than
    the default trains it proportionally shorter too."""
    if not isinstance(config, DetectorConfig) or not params.get("box_classifier", False):
        return None
    if params["steps"]:
        epochs = params["steps"] / max(math.ceil(train_size / params["batch_size"]), 1)
    else:
        epochs = params["epochs"] or DetectorConfig.epochs
    return box_classifier_config(config, epochs / DetectorConfig.epochs)


def _classifier_epochs(steps: int, train_size: int, batch_size: int, copies: int) -> int:
    """A step budget as head epochs: the classifier's head trains on one clean feature set and
    ``copies`` augmented ones, each of whole batches (as train_classifier counts its steps)."""
    rows = train_size + math.ceil(train_size / batch_size) * batch_size * copies
    per_epoch = max(math.ceil(rows / batch_size), 1)
    return max(round(steps / per_epoch), 1)


def run(
    data: TrainingSet,
    config: ClassifierConfig | DetectorConfig,
    work_dir: Path,
    node_root: Path,
    on_progress: ProgressFn,
    should_cancel: Callable[[], bool],
    on_phase: Callable[[str], None],
    box_classifier: ClassifierConfig | None = None,
) -> Outcome:
    """Train, evaluate, export, verify and draw; raises training/ml's errors unchanged."""
    result = run_training(
        data, config, work_dir, node_root, on_progress, should_cancel, on_phase=on_phase, box_classifier=box_classifier
    )
    metrics = {
        **(result.evaluation or {}),
        "labels": list(result.labels),
        "train_samples": len(data.train),
        "validation_samples": len(data.validation),
        "training_seconds": round(result.train_seconds, 2),
        "images_per_second": result.images_per_second,
        "trained_from_scratch": result.trained_from_scratch,
        "verification": result.verification,
        "export_failures": dict(result.exports.failures),
        "metric_name": result.metric_name,
        "best": result.best,
        "stopped_early": result.stopped_early,
        "eval_seconds": round(result.eval_seconds, 2),
    }
    if result.box_classifier_error:
        metrics["box_classifier_error"] = result.box_classifier_error
    return Outcome(
        exports=result.exports.all(),
        predictions=result.sample_images,
        metrics=metrics,
        history=result.history,
        checkpoint=result.checkpoint,
        box_classifier=result.box_classifier,
    )
