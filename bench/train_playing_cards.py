"""Benchmark: detector and card-crop classifier on the playing-cards dataset (CPU).

Prints mAP@0.5 and accuracy on test/, exported TFLite speed, and training throughput of
``training.ml`` against a bare ``model.fit`` of the same model on the same data.

    .venv/bin/python bench/train_playing_cards.py [--only detector|classifier] [--epochs 80]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from training.ml.config import AugmentConfig, ClassifierConfig, DetectorConfig  # noqa: E402
from training.ml.dataset import TrainingSet, crops_as_classification, voc_samples  # noqa: E402
from training.ml.evaluate import evaluate_classifier, evaluate_detector  # noqa: E402
from training.ml.export import export_all  # noqa: E402
from training.ml.inference import InferenceModule  # noqa: E402
from training.ml.models.backbone import freeze_batch_norm, mobilenet_v2  # noqa: E402
from training.ml.models.detector import build_detector  # noqa: E402
from training.ml.pipeline import sample_images  # noqa: E402
from training.ml.train import (  # noqa: E402
    compile_detector,
    detector_training_dataset,
    train_classifier,
    train_detector,
)
from training.ml.verify import verify_exports  # noqa: E402

DATA = Path("/work/shared/data/playing-cards")
WEIGHTS = "/work/shared/data/keras-weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
OUT = ROOT / "bench" / "out" / "playing_cards"


class _StepTimer(keras.callbacks.Callback):
    """Images/s after the first two (tracing) steps, measured the same way for both runs."""

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size, self.steps, self.start = batch_size, 0, None

    def on_train_batch_end(self, batch, logs=None):
        if self.start is None and batch >= 1:
            self.start = time.perf_counter()
        elif self.start is not None:
            self.steps += 1

    def images_per_second(self) -> float:
        return self.steps * self.batch_size / (time.perf_counter() - self.start)


def bare_fit_throughput(data: TrainingSet, config: DetectorConfig, steps: int) -> float:
    """The peer: the same model, data pipeline and optimiser, driven by model.fit alone."""
    keras.utils.set_random_seed(config.seed)
    backbone, _ = mobilenet_v2(config.input_size, config.alpha, config.weights, False)
    freeze_batch_norm(backbone)
    model = build_detector(backbone, config.input_size, len(data.labels), config.head_channels)
    compile_detector(model, config, steps)
    timer = _StepTimer(config.batch_size)
    model.fit(
        detector_training_dataset(data, config),
        epochs=1,
        steps_per_epoch=steps,
        shuffle=False,
        callbacks=[timer],
        verbose=0,
    )
    return timer.images_per_second()


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


def throughput(data: TrainingSet, config: DetectorConfig, steps: int, rounds: int = 2) -> tuple[float, float]:
    """Interleave the two runs so load from other processes hits both alike; report means."""
    ours, bare = [], []
    for _ in range(rounds):
        bare.append(bare_fit_throughput(data, config, steps))
        ours.append(train_detector(data, dataclasses.replace(config, steps=steps)).images_per_second)
    return float(np.mean(ours)), float(np.mean(bare))


def detector(labels, train, test, args, figures: dict) -> None:
    data = TrainingSet("detection", labels, tuple(train), tuple(test))
    config = DetectorConfig(
        input_size=args.size,
        weights=WEIGHTS,
        epochs=args.epochs,
        batch_size=16,
        learning_rate=args.lr,
        head_channels=args.head_channels,
    )
    if args.throughput_steps:
        ours, bare = throughput(data, config, args.throughput_steps)
        figures["train img/s: training.ml"] = f"{ours:.2f}"
        figures["train img/s: bare model.fit"] = f"{bare:.2f}"
        figures["throughput ratio (ours / bare)"] = f"{ours / bare:.3f}"
    last = [0.0]

    def progress(p):
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"  detector step {p.step}/{p.total_steps} loss {p.loss:.3f} eta {p.eta_seconds:.0f}s", flush=True)

    result = train_detector(data, config, on_progress=progress)
    figures["detector train minutes"] = f"{result.seconds / 60:.1f}"
    report = evaluate_detector(InferenceModule(result).serve, test, labels, args.size)
    figures["detector mAP@0.5 (test)"] = f"{report.map:.3f}"
    figures["detector AP per class"] = ", ".join(f"{k} {v:.2f}" for k, v in report.ap_per_class.items())
    export_and_time(result, test, "detector", figures)


def classifier(labels, train, test, args, figures: dict) -> None:
    train_crops, test_crops = crops_as_classification(train), crops_as_classification(test)
    data = TrainingSet("classification", labels, tuple(train_crops), tuple(test_crops))
    config = ClassifierConfig(
        input_size=args.cls_size,
        weights=WEIGHTS,
        batch_size=32,
        head_epochs=40,
        feature_augment_copies=2,
        fine_tune_epochs=args.cls_fine_tune,
        fine_tune_from="block_6_expand",
        fine_tune_learning_rate=3e-4,
        augment=AugmentConfig(min_crop_fraction=0.85),
    )
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
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--head-channels", type=int, default=96)
    parser.add_argument("--cls-size", type=int, default=224)
    parser.add_argument("--cls-fine-tune", type=int, default=60)
    parser.add_argument("--throughput-steps", type=int, default=25)
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
