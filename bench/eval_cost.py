"""Benchmark: what evaluating the validation split during training costs, at the defaults.

Times one evaluation (``training.ml.validation``'s scorers, after a warm-up call that traces
the graphs) against the training steps between two evaluations (``eval_every`` epochs, median
step time after warm-up) on playing-cards/train split as a run splits it (80/20):

- detector: mAP@0.5 on the validation photos vs ``eval_every`` epochs of detector steps;
- classifier, fine-tuning: accuracy on the validation crops vs ``eval_every`` fine-tuning epochs
  (the head phase scores precomputed features: a dense layer, under a millisecond).

    .venv/bin/python bench/eval_cost.py [--only detector|classifier] [--steps N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from training.ml import data as pipelines  # noqa: E402
from training.ml.config import ClassifierConfig, DetectorConfig  # noqa: E402
from training.ml.dataset import TrainingSet, crops_as_classification, split_samples, voc_samples  # noqa: E402
from training.ml.loop import epoch_steps  # noqa: E402
from training.ml.models import classifier as classifier_model  # noqa: E402
from training.ml.models.backbone import mobilenet_v2, train_from  # noqa: E402
from training.ml.train_detector import compile_detector, detector_model, detector_training_dataset  # noqa: E402
from training.ml.validation import classifier_scorer, detector_scorer  # noqa: E402

DATA = Path(os.environ.get("ANNOTATOR_SHARED_DATA", "/work/shared/data")) / "playing-cards"
WEIGHTS = str(DATA.parent / "keras-weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5")


class StepClock(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def step_seconds(model: keras.Model, dataset, steps: int) -> float:
    clock = StepClock()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=[clock], verbose=0)
    return float(np.median(np.diff(clock.ends[2:])))


def eval_seconds(score, repeats: int = 3) -> float:
    score()  # traces the graphs
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        score()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def report(name: str, evaluation: float, step: float, steps_between: int) -> None:
    between = step * steps_between
    print(
        f"{name}: one evaluation {evaluation:.2f} s; {steps_between} steps between two take {between:.1f} s "
        f"({step:.3f} s/step); evaluation adds {100 * evaluation / between:.1f} % to training"
    )


def detector(data: TrainingSet, steps: int) -> None:
    config = DetectorConfig(weights=WEIGHTS)
    model, _ = detector_model(data, config)
    compile_detector(model, config, 1000)
    step = step_seconds(model, detector_training_dataset(data, config), steps)
    evaluation = eval_seconds(detector_scorer(model, data.validation, data.labels, config))
    report("detector", evaluation, step, config.eval_every * epoch_steps(len(data.train), config.batch_size))


def classifier(data: TrainingSet, steps: int) -> None:
    config = ClassifierConfig(weights=WEIGHTS)
    backbone, _ = mobilenet_v2(config.input_size, config.alpha, config.weights, False)
    extractor = classifier_model.feature_extractor(backbone, config.input_size)
    model = classifier_model.assemble(
        extractor, classifier_model.head(extractor.output_shape[-1], len(data.labels), config.dropout)
    )
    train_from(backbone, config.fine_tune_from)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    dataset = pipelines.classification_dataset(
        data.train, config.input_size, config.batch_size, config.seed, config.augment, True
    )
    step = step_seconds(model, dataset, steps)
    evaluation = eval_seconds(classifier_scorer(model, data.validation, config.input_size))
    report(
        "classifier fine-tuning", evaluation, step, config.eval_every * epoch_steps(len(data.train), config.batch_size)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["detector", "classifier"])
    parser.add_argument("--steps", type=int, default=12, help="training steps timed (the first two are warm-up)")
    args = parser.parse_args()
    labels, samples = voc_samples(DATA / "train")
    train, validation = split_samples(samples, 0.2, 0)
    if args.only != "classifier":
        detector(TrainingSet("detection", labels, train, validation), args.steps)
    if args.only != "detector":
        crops = TrainingSet(
            "classification", labels, tuple(crops_as_classification(train)), tuple(crops_as_classification(validation))
        )
        classifier(crops, args.steps)


if __name__ == "__main__":
    main()
