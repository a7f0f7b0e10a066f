"""Benchmark for model-assisted labelling (issue #12) on playing-cards, on the CPU.

Three parts, each scored on test/, which no model trains or picks a threshold on:

1. Suggestion quality. A detector trained as a run with default settings trains: on train/
   less the product's validation split (a seeded 20 % per class, as ``training/snapshot.py``
   draws it), keeping its best weights on that split, which also gives the best-F1 suggestion
   threshold; then, as a run does by default, its box classifier on the same split's box crops
   (``training/ml/box_classifier.py``), with the pair's own threshold. The exported models
   predict test/ through ``Predictor``, the runtime the product serves suggestions with, twice
   in the same run: the detector alone (its threshold) and with its box classifier (theirs).
   Recall is the share of ground-truth boxes a suggestion at the threshold matches (IoU >= 0.5,
   same label, each box matched once in score order), precision the share of suggestions that
   match one.
2. The labelling loop. 30 labelled train/ images (drawn by the seed), then three rounds of +30:
   either the 30 the previous round's model is most uncertain about (``ImagePrediction
   .uncertainty`` at that model's suggestion threshold) or 30 at random. Every round trains
   from ImageNet on the labelled images as a run would (its validation split held out, which
   gives the threshold), for a fixed budget: the default epochs, no early stop and no best-of
   selection, so both arms train the same steps on the same number of images.
3. Throughput. ``Predictor`` on 2 threads over 1,000 images (the 200 JPEGs as bytes, cycled):
   LiteRT with the box classifier (what suggests), LiteRT alone and the SavedModel alone.

    .venv/bin/python bench/active_learning.py [--quick] [--part 1|2|3 ...] [--seeds N] [--json OUT]
        [--keep DIR]

`--quick` shrinks images and epochs so that everything runs in about ten minutes; its figures
are for that setting, not the product's defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from warm_start import no_selection  # noqa: E402

from training.ml.box_classifier import (  # noqa: E402
    box_classifier_config,
    export_box_classifier,
    train_box_classifier,
)
from training.ml.box_classifier import suggestion_threshold as pair_threshold  # noqa: E402
from training.ml.boxes import iou_matrix  # noqa: E402
from training.ml.config import DetectorConfig  # noqa: E402
from training.ml.dataset import Sample, TrainingSet, voc_samples  # noqa: E402
from training.ml.evaluate import evaluate_detector  # noqa: E402
from training.ml.export import ANDROID, SAVED_MODEL, _write_sidecars, export_saved_model, export_tflite  # noqa: E402
from training.ml.inference import InferenceModule  # noqa: E402
from training.ml.loop import TrainResult  # noqa: E402
from training.ml.predict import ImagePrediction, Predictor  # noqa: E402
from training.ml.train_detector import train_detector  # noqa: E402

DATA = Path("/work/shared/data/playing-cards")
WEIGHTS = "/work/shared/data/keras-weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
# training/hyperparameters.py's default; importing it would import Django.
VALIDATION_FRACTION = 0.2
IOU = 0.5
START, BATCH, ROUNDS = 30, 30, 3
THROUGHPUT_IMAGES, THREADS = 1000, 2
QUICK = {"size": 160, "epochs": 20}
BOX_CLASSIFIER = "box_classifier"
MIN_SCORE = 0.1  # ANNOTATOR_SUGGESTION_MIN_SCORE's default: what a prediction job keeps


@dataclasses.dataclass
class Trained:
    result: TrainResult
    threshold: dict  # the best-F1 suggestion threshold on the validation split; {} if none
    minutes: float
    box_classifier: TrainResult | None = None
    pair_threshold: dict = dataclasses.field(default_factory=dict)  # the detector's with its box classifier
    box_minutes: float = 0.0

    @property
    def score(self) -> float:
        """The suggestion threshold; 0.5 where the validation split gave none (no correct
        detection), which only a model too weak to suggest anything gets."""
        return self.threshold.get("score", 0.5)


def product_split(samples: Sequence[Sample], seed: int) -> tuple[list[Sample], list[Sample]]:
    """``(train, validation)`` as ``snapshot._validation_ids`` draws them: per image's most
    common label, a seeded shuffle whose first fifth (at least one) validates."""
    strata: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        labels = [box.label for box in sample.boxes]
        strata[max(sorted(set(labels)), key=labels.count) if labels else -1].append(sample)
    validation: set[str] = set()
    for stratum in sorted(strata):
        paths = sorted(s.image_path for s in strata[stratum])
        random.Random(f"{seed}:{stratum}").shuffle(paths)
        count = max(1, round(len(paths) * VALIDATION_FRACTION)) if len(paths) > 1 else 0
        validation.update(paths[:count])
    return [s for s in samples if s.image_path not in validation], [s for s in samples if s.image_path in validation]


def train(
    labels: tuple[str, ...], samples: Sequence[Sample], config: DetectorConfig, box_classifier: bool = False
) -> Trained:
    """The detector as a run trains it and, with ``box_classifier``, its box classifier after it
    (as long as a run's default: the detector's epochs against the default's)."""
    started = time.perf_counter()
    fit, validation = product_split(samples, config.seed)
    data = TrainingSet("detection", labels, tuple(fit), tuple(validation))
    result = train_detector(data, config)
    serve = InferenceModule(result).serve
    report = evaluate_detector(serve, validation, labels, config.input_size)
    trained = Trained(result, report.suggestion_threshold, (time.perf_counter() - started) / 60)
    if box_classifier:
        started = time.perf_counter()
        namer = train_box_classifier(data, box_classifier_config(config, config.epochs / DetectorConfig.epochs))
        if namer is not None:
            trained.box_classifier = namer
            trained.pair_threshold = pair_threshold(
                serve, InferenceModule(namer).serve, validation, config.input_size, namer.config.input_size
            )
        trained.box_minutes = (time.perf_counter() - started) / 60
    return trained


def export(trained: Trained, out: Path) -> dict[str, Path]:
    """The SavedModel and LiteRT folders, the two a ``Predictor`` loads, with their sidecars.
    Not ``export_all``: its web and iOS conversions would add a minute to every loop round."""
    paths = {SAVED_MODEL: out / SAVED_MODEL, ANDROID: out / ANDROID}
    _write_sidecars(
        trained.result, paths[SAVED_MODEL], SAVED_MODEL, export_saved_model(trained.result, paths[SAVED_MODEL])
    )
    _write_sidecars(trained.result, paths[ANDROID], ANDROID, export_tflite(paths[SAVED_MODEL], paths[ANDROID]))
    if trained.box_classifier is not None:
        paths[BOX_CLASSIFIER] = export_box_classifier(trained.box_classifier, out / BOX_CLASSIFIER)
    return paths


def match_counts(truth: Sample, prediction: ImagePrediction, threshold: float) -> tuple[int, int]:
    """``(suggestions, matches)`` at ``threshold``: greedy in score order, each ground-truth box
    taken by at most one suggestion of its label with IoU >= 0.5."""
    suggestions = sorted((d for d in prediction.detections if d.score >= threshold), key=lambda d: -d.score)
    boxes = np.array([[b.x, b.y, b.x2, b.y2] for b in truth.boxes]).reshape(-1, 4)
    classes = np.array([b.label for b in truth.boxes])
    taken = np.zeros(len(boxes), bool)
    for detection in suggestions:
        ious = np.where(taken | (classes != detection.label), -1.0, iou_matrix(np.array([detection.box]), boxes)[0])
        if len(ious) and ious.max() >= IOU:
            taken[ious.argmax()] = True
    return len(suggestions), int(taken.sum())


def suggestion_quality(model: dict[str, Path], trained: Trained, test: list[Sample], named: bool) -> dict:
    """Recall and precision of the suggestions on test/: the detector alone, or ``named`` by its
    box classifier (each at its own best-F1 threshold on the validation split)."""
    chosen = trained.pair_threshold if named else trained.threshold
    threshold = chosen.get("score", 0.5)
    namer = model[BOX_CLASSIFIER] if named else None
    predictor = Predictor.load(model[ANDROID], num_threads=THREADS, box_classifier=namer)
    predictions = predictor.predict(
        [Path(s.image_path) for s in test], min_score=trained.result.config.score_threshold, threshold=threshold
    )
    counts = [match_counts(s, p, threshold) for s, p in zip(test, predictions, strict=True)]
    suggested, matched = (sum(c) for c in zip(*counts, strict=True))
    boxes = sum(len(s.boxes) for s in test)
    return {
        "threshold": threshold,
        "validation": chosen,
        "recall": matched / boxes,
        "precision": matched / max(suggested, 1),
        "boxes": boxes,
        "suggestions": suggested,
        "matched": matched,
        "train_minutes": trained.minutes + (trained.box_minutes if named else 0.0),
        "best": trained.result.best,
        "box_classifier_best": trained.box_classifier.best if named and trained.box_classifier else None,
    }


def most_uncertain(trained: Trained, pool: list[Sample], count: int, work: Path) -> list[Sample]:
    """The ``count`` images of ``pool`` the model is least sure about. Uncertainty is taken over
    every detection the model emits (its own score floor), not only over the suggestions."""
    predictor = Predictor.load(export(trained, work)[ANDROID], num_threads=THREADS)
    predictions = predictor.predict(
        [Path(s.image_path) for s in pool],
        min_score=trained.result.config.score_threshold,
        threshold=trained.score,
    )
    ranked = sorted(zip(pool, predictions, strict=True), key=lambda pair: -pair[1].uncertainty)
    return [sample for sample, _ in ranked[:count]]


def test_map(trained: Trained, labels, test: list[Sample]) -> float:
    config = trained.result.config
    return evaluate_detector(InferenceModule(trained.result).serve, test, labels, config.input_size).map50


def labelling_loop(labels, train_samples, test, config: DetectorConfig, seed: int, work: Path) -> dict[str, list]:
    """mAP@0.5 on test/ after the first 30 images and after each round, per arm."""
    config = no_selection(dataclasses.replace(config, seed=seed))
    order = sorted(train_samples, key=lambda s: s.image_path)
    random.Random(seed).shuffle(order)
    first = train(labels, order[:START], config)
    first_map = test_map(first, labels, test)
    print(f"  seed {seed}: {START} images, mAP {first_map:.3f} ({first.minutes:.1f} min)", flush=True)
    scores = {}
    for arm in ("uncertainty", "random"):
        labelled, pool, trained, maps = order[:START], order[START:], first, [first_map]
        for round_ in range(1, ROUNDS + 1):
            if arm == "uncertainty":
                chosen = most_uncertain(trained, pool, BATCH, work / f"seed{seed}-round{round_}")
            else:
                chosen = random.Random(f"{seed}:{round_}").sample(pool, BATCH)
            labelled = labelled + chosen
            pool = [s for s in pool if s not in chosen]
            trained = train(labels, labelled, config)
            maps.append(test_map(trained, labels, test))
            message = f"  seed {seed} {arm}: {len(labelled)} images, mAP {maps[-1]:.3f} ({trained.minutes:.1f} min)"
            print(message, flush=True)
        scores[arm] = maps
    return scores


def images_per_second(predictor: Predictor, images: list[bytes], threshold: float, min_score: float) -> float:
    predictor.predict(images[:5], min_score=min_score, threshold=threshold)
    started = time.perf_counter()
    for offset in range(0, len(images), 100):
        predictor.predict(images[offset : offset + 100], min_score=min_score, threshold=threshold)
    return len(images) / (time.perf_counter() - started)


def throughput(model: dict[str, Path], threshold: float) -> dict[str, float]:
    """images/s of what suggests (LiteRT with the box classifier, named at the default floor of
    0.1 so the crops a worker classifies are classified), then of each runtime alone."""
    jpegs = sorted(p for split in ("train", "test") for p in (DATA / split).iterdir() if p.suffix.lower() == ".jpg")
    images = [jpegs[i % len(jpegs)].read_bytes() for i in range(THROUGHPUT_IMAGES)]
    rates = {}
    if BOX_CLASSIFIER in model:
        named = Predictor.load(model[ANDROID], num_threads=THREADS, box_classifier=model[BOX_CLASSIFIER])
        rates[f"{ANDROID}+{BOX_CLASSIFIER}"] = images_per_second(named, images, threshold, MIN_SCORE)
    for name in (ANDROID, SAVED_MODEL):
        rates[name] = images_per_second(Predictor.load(model[name], num_threads=THREADS), images, threshold, MIN_SCORE)
    return rates


def loop_table(seeds: list[dict[str, list]]) -> list[str]:
    """Mean (± sd over seeds, from two seeds on) per round; the difference is uncertainty - random."""
    lines = [f"  {'labelled':>8} {'uncertainty':>17} {'random':>17} {'difference':>17}"]
    for round_ in range(ROUNDS + 1):
        columns = (
            ("", [s["uncertainty"][round_] for s in seeds]),
            ("", [s["random"][round_] for s in seeds]),
            ("+", [s["uncertainty"][round_] - s["random"][round_] for s in seeds]),
        )
        cells = []
        for sign, values in columns:
            spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):{sign}.3f}{spread}")
        lines.append(f"  {START + BATCH * round_:>8} " + " ".join(f"{c:>17}" for c in cells))
    return lines


def print_quality(quality: dict, setting: str) -> None:
    print(
        f"\nsuggestions on test/ ({setting})\n"
        f"  threshold {quality['threshold']:.3f}  (best F1 on the validation split)\n"
        f"  recall    {quality['recall']:.3f}  ({quality['matched']} of {quality['boxes']} boxes)\n"
        f"  precision {quality['precision']:.3f}  ({quality['matched']} of {quality['suggestions']})",
        flush=True,
    )


def print_rates(rates: dict[str, float], setting: str) -> None:
    print(f"\nPredictor, {THROUGHPUT_IMAGES} images, {THREADS} threads ({setting})")
    names = {f"{ANDROID}+{BOX_CLASSIFIER}": "LiteRT + box classifier", ANDROID: "LiteRT", SAVED_MODEL: "SavedModel"}
    for name, rate in rates.items():
        print(f"  {names[name]:<24} {rate:6.1f} images/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK['size']} px, {QUICK['epochs']} epochs")
    parser.add_argument("--part", type=int, choices=(1, 2, 3), action="append", help="run only this part (repeatable)")
    parser.add_argument("--seeds", type=int, default=1, help="repetitions of the labelling loop")
    parser.add_argument("--json", type=Path, help="also write the figures here (after each part)")
    parser.add_argument("--keep", type=Path, help="keep part 1's exported models in this folder")
    args = parser.parse_args()
    parts = set(args.part or (1, 2, 3))
    full = (DetectorConfig.input_size, DetectorConfig.epochs)
    size, epochs = (QUICK["size"], QUICK["epochs"]) if args.quick else full
    config = DetectorConfig(weights=WEIGHTS, input_size=size, epochs=epochs)
    setting = f"{'quick' if args.quick else 'product defaults'}: {size} px, {epochs} epochs, {os.cpu_count()} CPUs"
    labels, train_samples = voc_samples(DATA / "train")
    _, test = voc_samples(DATA / "test", labels)
    figures: dict = {"setting": setting}
    started = time.perf_counter()

    def save() -> None:
        figures["minutes"] = (time.perf_counter() - started) / 60
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str))

    with tempfile.TemporaryDirectory(prefix="active-learning-") as tmp:
        work = Path(tmp)
        if parts & {1, 3}:
            print(f"training the suggestion model on train/ ({setting})", flush=True)
            trained = train(labels, train_samples, config, box_classifier=True)
            model = export(trained, (args.keep or work) / "suggestions")
            if args.keep:
                (args.keep / "thresholds.json").write_text(
                    json.dumps({"detector": trained.threshold, "pair": trained.pair_threshold}, indent=2)
                )
            if 1 in parts:
                for key, named, what in (("detector", False, "the detector alone"),
                                         ("suggestions", True, "detector + box classifier")):  # fmt: skip
                    figures[key] = suggestion_quality(model, trained, test, named)
                    print_quality(figures[key], f"{what}; {setting}")
                save()
            if 3 in parts:
                figures["images_per_second"] = throughput(model, trained.pair_threshold.get("score", trained.score))
                print_rates(figures["images_per_second"], setting)
                save()
        if 2 in parts:
            figures["loop"] = []
            for seed in range(args.seeds):
                figures["loop"].append(labelling_loop(labels, train_samples, test, config, seed, work))
                save()
            print(f"\nmAP@0.5 on test/ by labelled images, mean over {args.seeds} seed(s) ({setting})")
            print("\n".join(loop_table(figures["loop"])))
            if args.seeds == 1:
                print("  one seed: no estimate of the spread between seeds (--seeds 3 gives mean ± sd)")
    save()
    print(f"\ntotal {figures['minutes']:.1f} minutes")


if __name__ == "__main__":
    main()
