"""Benchmark: does a warm start reach the from-ImageNet quality in at most half the steps?

The situation it measures is a project that labelled 60 % of playing-cards' train/, trained, then
labelled the rest. The second run either starts again from ImageNet (the default number of
epochs) or warm-starts from the first run's weights with a fraction of those steps; each
fraction is its own run, because the learning-rate schedule spans the whole budget, as it
would for a user who asks for fewer epochs. Every model is scored on test/ (mAP@0.5 for the
detector, accuracy on the card crops for the classifier), which no run trains or selects on.

    .venv/bin/python bench/warm_start.py [--quick] [--only detector|classifier] [--fractions 0.25,0.5]

`--quick` shrinks images and epochs to run in minutes on 2 CPU cores; the figures it prints are
for that smaller setting, not the product's defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.ml.config import ClassifierConfig, DetectorConfig  # noqa: E402
from training.ml.dataset import Sample, TrainingSet, crops_as_classification, voc_samples  # noqa: E402
from training.ml.evaluate import evaluate_classifier, evaluate_detector  # noqa: E402
from training.ml.inference import InferenceModule  # noqa: E402
from training.ml.loop import TrainResult  # noqa: E402
from training.ml.train_classifier import train_classifier  # noqa: E402
from training.ml.train_detector import train_detector  # noqa: E402
from training.ml.warmstart import WarmStart, save_checkpoint  # noqa: E402

DATA = Path("/work/shared/data/playing-cards")
WEIGHTS = "/work/shared/data/keras-weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
FIRST_SHARE = 0.6
TOLERANCE = 0.02


@dataclasses.dataclass
class Row:
    name: str
    images: int
    steps: int
    score: float
    minutes: float


def steps_counter() -> tuple[list[int], Callable]:
    seen = [0]

    def on_progress(progress) -> None:
        seen[0] = progress.step

    return seen, on_progress


def no_selection(config):
    """Fixed budgets: no early stop and no best-of selection, so steps mean the same for all."""
    names = {f.name for f in dataclasses.fields(config)}
    changes = {"eval_every": 10_000, "early_stop_patience": 0}
    return dataclasses.replace(config, **{k: v for k, v in changes.items() if k in names})


def first_share(samples: list[Sample], seed: int = 0) -> list[Sample]:
    order = list(samples)
    random.Random(seed).shuffle(order)
    return order[: round(len(order) * FIRST_SHARE)]


def run_detector(labels, samples, test, config, name) -> tuple[Row, TrainResult]:
    seen, progress = steps_counter()
    data = TrainingSet("detection", labels, tuple(samples), ())
    started = time.perf_counter()
    result = train_detector(data, no_selection(config), on_progress=progress)
    score = evaluate_detector(InferenceModule(result).serve, test, labels, config.input_size).map50
    row = Row(name, len(samples), seen[0], score, (time.perf_counter() - started) / 60)
    print(f"  {row}", flush=True)
    return row, result


def detector(labels, train, test, args, work: Path) -> list[Row]:
    config = DetectorConfig(weights=WEIGHTS, input_size=args.size, epochs=args.epochs)
    first = first_share(train)
    rows = []
    base_row, base = run_detector(labels, first, test, config, f"first {FIRST_SHARE:.0%}, from ImageNet")
    rows.append(base_row)
    checkpoint = save_checkpoint(base.model, work / "detector")
    imagenet_row, _ = run_detector(labels, train, test, config, "all, from ImageNet")
    rows.append(imagenet_row)
    warm = WarmStart(checkpoint, labels, tuple(range(len(labels))))
    for fraction in args.fractions:
        steps = max(round(imagenet_row.steps * fraction), 1)
        budget = dataclasses.replace(config, steps=steps, warm_start=warm)
        rows.append(run_detector(labels, train, test, budget, f"all, warm start, {fraction:.0%} of the steps")[0])
    return rows


def run_classifier(labels, crops, test_crops, config, name) -> tuple[Row, TrainResult]:
    seen, progress = steps_counter()
    data = TrainingSet("classification", labels, tuple(crops), ())
    started = time.perf_counter()
    result = train_classifier(data, no_selection(config), on_progress=progress)
    score = evaluate_classifier(InferenceModule(result).serve, test_crops, labels, config.input_size).accuracy
    row = Row(name, len(crops), seen[0], score, (time.perf_counter() - started) / 60)
    print(f"  {row}", flush=True)
    return row, result


def classifier(labels, train, test, args, work: Path) -> list[Row]:
    config = ClassifierConfig(
        weights=WEIGHTS, input_size=args.cls_size, head_epochs=args.cls_head, fine_tune_epochs=args.cls_fine_tune
    )
    crops, test_crops = crops_as_classification(train), crops_as_classification(test)
    first = crops_as_classification(first_share(train))
    rows = []
    base_row, base = run_classifier(labels, first, test_crops, config, f"first {FIRST_SHARE:.0%}, from ImageNet")
    rows.append(base_row)
    checkpoint = save_checkpoint(base.model, work / "classifier")
    rows.append(run_classifier(labels, crops, test_crops, config, "all, from ImageNet")[0])
    warm = WarmStart(checkpoint, labels, tuple(range(len(labels))))
    for fraction in args.fractions:
        budget = dataclasses.replace(
            config,
            head_epochs=max(round(config.head_epochs * fraction), 1),
            fine_tune_epochs=round(config.fine_tune_epochs * fraction),
            warm_start=warm,
        )
        rows.append(
            run_classifier(labels, crops, test_crops, budget, f"all, warm start, {fraction:.0%} of the epochs")[0]
        )
    return rows


def report(title: str, metric: str, rows: list[Row]) -> None:
    target = rows[1]
    print(f"\n{title}")
    print(f"  {'run':<36} {'images':>6} {'steps':>6} {metric:>9} {'minutes':>7} {'steps vs ImageNet':>17}")
    for row in rows:
        ratio = f"{row.steps / target.steps:.2f}" if row is not rows[0] else ""
        print(f"  {row.name:<36} {row.images:>6} {row.steps:>6} {row.score:>9.3f} {row.minutes:>7.1f} {ratio:>17}")
    reached = [row for row in rows[2:] if row.score >= target.score - TOLERANCE]
    if reached:
        best = min(reached, key=lambda r: r.steps)
        print(
            f"  the warm start reaches {target.score:.3f} ± {TOLERANCE} in {best.steps} steps, "
            f"{best.steps / target.steps:.0%} of the from-ImageNet run's {target.steps}"
        )
    else:
        print(f"  no warm-start budget tried reaches {target.score:.3f} ± {TOLERANCE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small images and few epochs: minutes, not hours")
    parser.add_argument("--only", choices=["detector", "classifier"])
    parser.add_argument("--fractions", default="0.25,0.5", help="warm-start budgets, as fractions of the steps")
    parser.add_argument("--epochs", type=int, help=f"detector epochs (default {DetectorConfig.epochs})")
    parser.add_argument("--size", type=int, help=f"detector input size (default {DetectorConfig.input_size})")
    parser.add_argument("--cls-size", type=int, help=f"classifier input size (default {ClassifierConfig.input_size})")
    parser.add_argument("--cls-head", type=int, help=f"classifier head epochs (default {ClassifierConfig.head_epochs})")
    parser.add_argument(
        "--cls-fine-tune", type=int, help=f"fine-tune epochs (default {ClassifierConfig.fine_tune_epochs})"
    )
    args = parser.parse_args()
    quick = {"epochs": 20, "size": 160, "cls_size": 128, "cls_head": 10, "cls_fine_tune": 6}
    full = {"epochs": DetectorConfig.epochs, "size": DetectorConfig.input_size, "cls_size": ClassifierConfig.input_size,
            "cls_head": ClassifierConfig.head_epochs, "cls_fine_tune": ClassifierConfig.fine_tune_epochs}  # fmt: skip
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.fractions = [float(f) for f in args.fractions.split(",")]
    labels, train = voc_samples(DATA / "train")
    _, test = voc_samples(DATA / "test", labels)
    started = time.perf_counter()
    setting = "quick" if args.quick else "product defaults"
    with tempfile.TemporaryDirectory(prefix="warm-start-") as tmp:
        if args.only != "classifier":
            print(f"detector ({args.size} px, {args.epochs} epochs)", flush=True)
            rows = detector(labels, train, test, args, Path(tmp))
            report(f"detector, mAP@0.5 on test/ ({setting}: {args.size} px, {args.epochs} epochs)", "mAP@0.5", rows)
        if args.only != "detector":
            print(f"classifier ({args.cls_size} px, {args.cls_head}+{args.cls_fine_tune} epochs)", flush=True)
            rows = classifier(labels, train, test, args, Path(tmp))
            report(
                f"classifier, accuracy on test/ crops ({setting}: {args.cls_size} px, "
                f"{args.cls_head} head + {args.cls_fine_tune} fine-tune epochs)",
                "accuracy",
                rows,
            )
    print(f"\ntotal {(time.perf_counter() - started) / 60:.1f} minutes (2 CPU cores)")


if __name__ == "__main__":
    main()
