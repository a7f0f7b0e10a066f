"""Benchmark: k-fold cross-validation of the product's classifier recipe on unseen data (CPU).

Two classification sets are built from ``/work/shared/data``:

- ``cards``: the card crops of playing-cards (train/ and test/ together, 376 crops, 6 ranks);
- ``raccoon``: the raccoon boxes (217 crops) against background crops, one per photo where a
  random window overlaps no raccoon box much (max IoU < 0.05, < 15 % of the window covered).

Folds are stratified by label and grouped by source photo: crops of one photo (same table,
light and camera) never sit on both sides of a split, which would flatter the score. In every
fold the training part is split again, the same way, into train and validation (20 %, as a run
does), ``train_classifier`` trains with ``ClassifierConfig``'s defaults (the product's, the
ones a run with no settings uses) and the model is scored on its validation split (what the
run page reports) and on the held-out fold (data it never saw). The gap is the difference.

Every fold is scored with and without test-time flip averaging (the mean of the probabilities
for the image and its mirror), from the same trained model, whatever the config says.

    .venv/bin/python bench/classifier_cv.py [--dataset cards|raccoon|both] [--quick]
        [--folds 5] [--set NAME=VALUE ...] [--json PATH]

``--quick`` shortens fine-tuning to 12 epochs (the phase that costs ~90 % of the time);
``--set`` overrides a ClassifierConfig field (``augment.rotation=10`` for AugmentConfig).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from training.ml import data as pipelines  # noqa: E402
from training.ml.boxes import iou_matrix  # noqa: E402
from training.ml.config import ClassifierConfig  # noqa: E402
from training.ml.dataset import (  # noqa: E402
    CLASSIFICATION,
    Sample,
    TrainingSet,
    crops_as_classification,
    voc_samples,
)
from training.ml.train_classifier import train_classifier  # noqa: E402

DATA = Path("/work/shared/data")
WEIGHTS = DATA / "keras-weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
QUICK_FINE_TUNE_EPOCHS = 12
VALIDATION_PARTS = 5  # one part of five is the fold's validation split: 20 %, a run's default


@dataclasses.dataclass(frozen=True)
class Fold:
    index: int
    val_accuracy: float
    val_accuracy_tta: float
    accuracy: float
    accuracy_tta: float
    train: int
    validation: int
    test: int
    minutes: float

    @property
    def gap(self) -> float:
        return self.val_accuracy - self.accuracy


def card_crops() -> tuple[tuple[str, ...], list[Sample]]:
    labels, train = voc_samples(DATA / "playing-cards" / "train")
    _, test = voc_samples(DATA / "playing-cards" / "test", labels)
    return labels, crops_as_classification(train + test)


def raccoon_crops(seed: int = 0, tries: int = 500) -> tuple[tuple[str, ...], list[Sample]]:
    """Raccoon boxes (label 0) and at most one background window per photo (label 1)."""
    folder = DATA / "raccoon"
    _, samples = voc_samples(folder)
    rng = random.Random(seed)
    backgrounds = []
    for sample in samples:
        boxes = np.array([[b.x, b.y, b.x2, b.y2] for b in sample.boxes])
        for _ in range(tries):
            w, h = rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.5)
            x, y = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
            window = np.array([[x, y, x + w, y + h]])
            inter = np.prod(
                np.clip(np.minimum(window[:, 2:], boxes[:, 2:]) - np.maximum(window[:, :2], boxes[:, :2]), 0, None),
                axis=-1,
            )
            if iou_matrix(window, boxes).max() < 0.05 and inter.max() < 0.15 * w * h:
                backgrounds.append(dataclasses.replace(sample, label=1, boxes=(), crop=(x, y, x + w, y + h)))
                break
    return ("raccoon", "background"), crops_as_classification(samples) + backgrounds


def group_folds(samples: Sequence[Sample], k: int, seed: int) -> list[list[int]]:
    """Indices of ``k`` folds, stratified by label and grouped by image path.

    Greedy: groups in random order, largest first, each to the fold whose per-label counts
    stay closest to ``1/k`` of the total (ties to the smaller fold)."""
    groups: dict[str, list[int]] = {}
    for i, sample in enumerate(samples):
        groups.setdefault(sample.image_path, []).append(i)
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    order.sort(key=len, reverse=True)
    target = {c: n / k for c, n in Counter(s.label for s in samples).items()}
    counts = [Counter() for _ in range(k)]
    folds: list[list[int]] = [[] for _ in range(k)]

    def cost(fold: int, members: list[int]) -> tuple[float, int]:
        added = Counter(samples[i].label for i in members)
        before = counts[fold]
        change = sum((before[c] + n - target[c]) ** 2 - (before[c] - target[c]) ** 2 for c, n in added.items())
        return change, len(folds[fold])

    for members in order:
        best = min(range(k), key=lambda f: cost(f, members))
        folds[best].extend(members)
        counts[best].update(samples[i].label for i in members)
    return folds


def probabilities(model: tf.keras.Model, samples: Sequence[Sample], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax outputs for the images and for their mirrors, in order."""
    plain, mirrored = [], []
    for images, _ in pipelines.classification_dataset(samples, size, 32, 0, None, cache=False):
        plain.append(model(images, training=False).numpy())
        mirrored.append(model(tf.reverse(images, axis=[2]), training=False).numpy())
    return np.concatenate(plain), np.concatenate(mirrored)


def accuracies(model: tf.keras.Model, samples: Sequence[Sample], size: int) -> tuple[float, float]:
    """(plain, flip-averaged) accuracy."""
    truth = np.array([s.label for s in samples])
    plain, mirrored = probabilities(model, samples, size)
    return float(np.mean(plain.argmax(1) == truth)), float(np.mean((plain + mirrored).argmax(1) == truth))


def run_fold(index: int, labels, samples, folds, config: ClassifierConfig, seed: int) -> Fold:
    started = time.perf_counter()
    test = [samples[i] for i in folds[index]]
    rest = [samples[i] for f, fold in enumerate(folds) if f != index for i in fold]
    inner = group_folds(rest, VALIDATION_PARTS, seed + 1 + index)
    validation = [rest[i] for i in inner[0]]
    train = [rest[i] for part in inner[1:] for i in part]
    data = TrainingSet(CLASSIFICATION, labels, tuple(train), tuple(validation))
    data.validate()
    result = train_classifier(data, config)
    val, val_tta = accuracies(result.model, validation, config.input_size)
    acc, acc_tta = accuracies(result.model, test, config.input_size)
    minutes = (time.perf_counter() - started) / 60
    return Fold(index, val, val_tta, acc, acc_tta, len(train), len(validation), len(test), minutes)


def parse_overrides(pairs: Sequence[str]) -> dict:
    """``name=value`` pairs as ClassifierConfig (and ``augment.*``) field values."""
    overrides: dict = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        value = json.loads(raw) if raw not in ("None", "") else None
        if name.startswith("augment."):
            overrides.setdefault("augment", {})[name.removeprefix("augment.")] = value
        else:
            overrides[name] = value
    return overrides


def make_config(quick: bool, overrides: dict) -> ClassifierConfig:
    config = ClassifierConfig(weights=str(WEIGHTS))
    augment = overrides.pop("augment", {})
    if quick:
        config = dataclasses.replace(config, fine_tune_epochs=QUICK_FINE_TUNE_EPOCHS)
    return dataclasses.replace(config, augment=dataclasses.replace(config.augment, **augment), **overrides)


def summary(name: str, folds: list[Fold]) -> dict:
    def stats(values):
        return {"mean": float(np.mean(values)), "std": float(np.std(values))}

    return {
        "dataset": name,
        "folds": [dataclasses.asdict(f) | {"gap": f.gap} for f in folds],
        "accuracy": stats([f.accuracy for f in folds]),
        "accuracy_tta": stats([f.accuracy_tta for f in folds]),
        "val_accuracy": stats([f.val_accuracy for f in folds]),
        "gap": stats([f.gap for f in folds]),
        "minutes": sum(f.minutes for f in folds),
    }


def print_summary(result: dict) -> None:
    print(f"\n{result['dataset']}: {len(result['folds'])}-fold CV ({result['minutes']:.1f} min)")
    print("  fold  train  val  test  val acc  test acc  test acc (flip TTA)  gap   minutes")
    for f in result["folds"]:
        print(
            f"  {f['index']:>4}  {f['train']:>5}  {f['validation']:>3}  {f['test']:>4}  {f['val_accuracy']:.3f}"
            f"    {f['accuracy']:.3f}     {f['accuracy_tta']:.3f}                {f['gap']:+.3f}  {f['minutes']:.1f}"
        )
    for key in ("accuracy", "accuracy_tta", "val_accuracy", "gap"):
        print(f"  {key:<13} {result[key]['mean']:.3f} ± {result[key]['std']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", choices=["cards", "raccoon", "both"], default="both")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="fold assignment seed")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_FINE_TUNE_EPOCHS} fine-tuning epochs")
    parser.add_argument("--only-fold", type=int, action="append", help="run only these folds (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow intra-op threads (0: all cores)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    config = make_config(args.quick, parse_overrides(args.set))
    print("config:", json.dumps(config.to_dict(), default=str), flush=True)
    datasets = {"cards": card_crops, "raccoon": raccoon_crops}
    names = list(datasets) if args.dataset == "both" else [args.dataset]
    results = []
    for name in names:
        labels, samples = datasets[name]()
        folds = group_folds(samples, args.folds, args.seed)
        print(f"{name}: {len(samples)} crops, {Counter(labels[s.label] for s in samples)}", flush=True)
        done = []
        for index in args.only_fold or range(args.folds):
            fold = run_fold(index, labels, samples, folds, config, args.seed)
            print(f"  fold {index}: val {fold.val_accuracy:.3f} test {fold.accuracy:.3f} "
                  f"(flip TTA {fold.accuracy_tta:.3f}) {fold.minutes:.1f} min", flush=True)  # fmt: skip
            done.append(fold)
        results.append(summary(name, done))
        print_summary(results[-1])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"config": config.to_dict(), "args": vars(args) | {"json": str(args.json)}, "results": results},
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
