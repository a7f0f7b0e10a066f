"""Benchmark: detector and card-crop classifier on the playing-cards dataset (CPU).

Trains with the product's default hyper-parameters (``ClassifierConfig`` / ``DetectorConfig``,
which a run started with no settings also uses) on train/ and prints mAP@0.5 and accuracy on
test/, exported TFLite speed, and training throughput of ``training.ml`` against a bare
``model.fit`` of the same model on the same data.

    .venv/bin/python bench/train_playing_cards.py [--only detector|classifier] [--epochs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from training.ml.config import ClassifierConfig, DetectorConfig  # noqa: E402
from training.ml.dataset import TrainingSet, crops_as_classification, voc_samples  # noqa: E402
from training.ml.evaluate import evaluate_classifier, evaluate_detector  # noqa: E402
from training.ml.export import export_all  # noqa: E402
from training.ml.inference import InferenceModule  # noqa: E402
from training.ml.pipeline import sample_images  # noqa: E402
from training.ml.train_classifier import train_classifier  # noqa: E402
from training.ml.train_detector import (  # noqa: E402
    compile_detector,
    detector_model,
    detector_training_dataset,
    train_detector,
)
from training.ml.verify import verify_exports  # noqa: E402

DATA = Path("/work/shared/data/playing-cards")
WEIGHTS = "/work/shared/data/keras-weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
OUT = ROOT / "bench" / "out" / "playing_cards"


def images_per_second(step_ends: list[float], batch_size: int, warmup: int) -> float:
    """Throughput from the median step time after ``warmup`` steps: the first ones trace the
    graph and fill the decoded-image cache, and the median ignores the odd stalled step (the
    mean over 40 steps moved by ±10 % between identical runs)."""
    return batch_size / float(np.median(np.diff(step_ends[warmup:])))


class _StepClock(keras.callbacks.Callback):
    """When each step of the bare fit ended (ours is clocked by its progress callback)."""

    def __init__(self) -> None:
        super().__init__()
        self.step_ends: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.step_ends.append(time.perf_counter())


def bare_fit_step_ends(data: TrainingSet, config: DetectorConfig, steps: int) -> list[float]:
    """The peer: the same model, data pipeline and optimiser, driven by model.fit alone."""
    keras.utils.set_random_seed(config.seed)
    model, _ = detector_model(data, config)
    compile_detector(model, config, steps)
    clock = _StepClock()
    model.fit(
        detector_training_dataset(data, config),
        epochs=1,
        steps_per_epoch=steps,
        shuffle=False,
        callbacks=[clock],
        verbose=0,
    )
    return clock.step_ends


def our_step_ends(data: TrainingSet, config: DetectorConfig, steps: int) -> list[float]:
    step_ends: list[float] = []
    train_detector(
        data, dataclasses.replace(config, steps=steps), on_progress=lambda _: step_ends.append(time.perf_counter())
    )
    return step_ends


def tflite_speed(path: Path, size: int, runs: int = 50) -> float:
    """Mean seconds per image with ai_edge_litert on 2 threads."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path), num_threads=2).get_signature_runner()
    image = np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype(np.float32)
    for _ in range(5):
        runner(image=image)
    start = time.perf_counter()
    for _ in range(runs):
        runner(image=image)
    return (time.perf_counter() - start) / runs


def throughput(data: TrainingSet, config: DetectorConfig, steps: int, rounds: int) -> list[tuple[float, float]]:
    """``(ours, bare)`` images/s per round, both clocked at the end of each step and over the
    same steps. The runs alternate, and so does which goes first in a round, so that neither
    always has the warmer process."""
    warmup = 2 * math.ceil(len(data.train) / config.batch_size)
    if steps < warmup + 10:
        raise SystemExit(f"--throughput-steps must be at least {warmup + 10} (two epochs of warm-up, then 10)")
    results = []
    clocks = {"ours": our_step_ends, "bare": bare_fit_step_ends}
    for round_ in range(rounds):
        rates = {}
        for name in ("ours", "bare") if round_ % 2 else ("bare", "ours"):
            rates[name] = images_per_second(clocks[name](data, config, steps), config.batch_size, warmup)
        results.append((rates["ours"], rates["bare"]))
    return results


def detector(labels, train, test, args, figures: dict) -> None:
    data = TrainingSet("detection", labels, tuple(train), tuple(test))
    config = DetectorConfig(weights=WEIGHTS, input_size=args.size, epochs=args.epochs)
    if args.throughput_steps:
        rounds = throughput(data, config, args.throughput_steps, args.throughput_rounds)
        ours, bare = (float(np.median(values)) for values in zip(*rounds, strict=True))
        figures["train img/s: training.ml (median)"] = f"{ours:.2f}"
        figures["train img/s: bare model.fit (median)"] = f"{bare:.2f}"
        figures["throughput ratio per round"] = ", ".join(f"{o / b:.3f}" for o, b in rounds)
        figures["throughput ratio (medians)"] = f"{ours / bare:.3f}"
    last = [0.0]

    def progress(p):
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"  detector step {p.step}/{p.total_steps} loss {p.loss:.3f} eta {p.eta_seconds:.0f}s", flush=True)

    result = train_detector(data, config, on_progress=progress)
    figures["detector train minutes"] = f"{result.seconds / 60:.1f}"
    report = evaluate_detector(InferenceModule(result).serve, test, labels, args.size)
    figures["detector mAP@0.5 (test)"] = f"{report.map50:.3f}"
    figures["detector AP per class"] = ", ".join(f"{k} {v:.2f}" for k, v in report.ap_per_class.items())
    export_and_time(result, test, "detector", figures)


def classifier(labels, train, test, args, figures: dict) -> None:
    train_crops, test_crops = crops_as_classification(train), crops_as_classification(test)
    data = TrainingSet("classification", labels, tuple(train_crops), tuple(test_crops))
    config = ClassifierConfig(weights=WEIGHTS, input_size=args.cls_size, fine_tune_epochs=args.cls_fine_tune)
    result = train_classifier(data, config)
    figures["classifier train minutes"] = f"{result.seconds / 60:.1f}"
    report = evaluate_classifier(InferenceModule(result).serve, test_crops, labels, args.cls_size)
    figures["classifier accuracy (test crops)"] = f"{report.accuracy:.3f} ({len(test_crops)} crops)"
    export_and_time(result, test_crops, "classifier", figures)


def export_and_time(result, test, name: str, figures: dict) -> None:
    paths = export_all(result, OUT / name)
    verification = verify_exports(
        paths,
        result.kind,
        result.config.input_size,
        sample_images(result.kind, test[:3], result.config.input_size),
        ROOT,
    )
    figures[f"{name} exports verified"] = ", ".join(
        f"{k}:{'ok' if v['ok'] else 'FAIL'}" for k, v in verification.items()
    )
    seconds = tflite_speed(paths.android / "model.tflite", result.config.input_size)
    figures[f"{name} TFLite (2 threads)"] = f"{seconds * 1000:.1f} ms/image, {1 / seconds:.1f} images/s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=DetectorConfig.epochs)
    parser.add_argument("--size", type=int, default=DetectorConfig.input_size)
    parser.add_argument("--cls-size", type=int, default=ClassifierConfig.input_size)
    parser.add_argument("--cls-fine-tune", type=int, default=ClassifierConfig.fine_tune_epochs)
    parser.add_argument("--throughput-steps", type=int, default=60, help="0 skips the throughput comparison")
    parser.add_argument("--throughput-rounds", type=int, default=4)
    parser.add_argument("--only", choices=["detector", "classifier"])
    args = parser.parse_args()
    labels, train = voc_samples(DATA / "train")
    _, test = voc_samples(DATA / "test", labels)
    figures: dict[str, str] = {}
    started = time.perf_counter()
    if args.only != "detector":
        classifier(labels, train, test, args, figures)
    if args.only != "classifier":
        detector(labels, train, test, args, figures)
    figures["total minutes"] = f"{(time.perf_counter() - started) / 60:.1f}"
    width = max(map(len, figures))
    print("\nplaying-cards benchmark (2 CPU cores)")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
