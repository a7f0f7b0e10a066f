"""A prediction job on a worker: the run's exported model over the job's images, writing suggestions.

annotator.jobs claims the job and calls `run_prediction` (PredictionJob.runner). Invariants:

- The model is the run's own download, checked against its sha256 and unpacked once per checksum
  (training.serving.unpacked_model): model_android/ through LiteRT when its export was verified
  (the faster runtime on a CPU), else the SavedModel in model/. A detection run that trained a
  box classifier has it unpacked the same way, and it names every suggested box
  (training/ml/box_classifier.py). TensorFlow and LiteRT load here, in the worker, never in a
  web process.
- Images go in batches of ANNOTATOR_PREDICT_BATCH. Each batch is written in one transaction
  together with the job's progress write: a job cancelled (or reaped) meanwhile rolls its batch
  back and stops, so nothing is written after a cancel.
- A new prediction of (image, run) replaces that run's pending suggestions on the image and keeps
  the decided ones (their history is the run page's statistics). Suggestions score at least
  ANNOTATOR_SUGGESTION_MIN_SCORE, at most ANNOTATOR_SUGGESTIONS_PER_IMAGE per image, best first;
  a classifier proposes its top classes (at most CLASSES_PER_IMAGE).
- Outputs map to project labels by id, else by name (a renamed label follows its id); outputs
  whose label was deleted since are dropped and named in `dropped_labels`.
- An image that cannot be read or decoded counts in `images_failed`; the job goes on.
- A box proposal that repeats a box already on the image, or a proposal of the same run that people
  rejected there (same label, IoU >= DRAWN_IOU), is not stored: predicting again proposes only
  what is missing, and never asks twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from annotator import jobs
from annotator.events import broadcast
from annotator.models import Box, Image, Label
from annotator.storage import Bucket, BucketError, project_bucket
from assist import services
from assist.errors import ModelMissing, ModelUnusable
from assist.models import SUGGESTIONS_CHANGED, Prediction, PredictionJob, Suggestion, SuggestionStatus
from training.base_runs import run_labels
from training.models import BOX_CLASSIFIER_ARTIFACT, Run
from training.serving import unpacked_model

if TYPE_CHECKING:
    from training.ml.predict import Predictor

log = logging.getLogger(__name__)

ANDROID, SAVED_MODEL = "model_android", "model"
CLASSES_PER_IMAGE = 3
READ_THREADS = 4  # bucket reads overlap: an S3 GET waits on the network, not the CPU


@dataclass(frozen=True)
class LabelMap:
    """The run's output index -> project label (None: dropped), and the dropped labels' names."""

    labels: tuple[Label | None, ...]
    dropped: tuple[str, ...]


def label_map(run: Run, outputs: Sequence[str]) -> LabelMap:
    """Map the run's outputs to the project's labels by id, else by name; `outputs` are the
    model's own label names, used when the run's snapshot cannot say."""
    rows = run_labels(run) or [(None, name) for name in outputs]
    project_labels = list(Label.objects.filter(project_id=run.project_id))
    by_id = {label.pk: label for label in project_labels}
    by_name = {label.name: label for label in project_labels}
    mapped = tuple((by_id.get(label_id) if label_id else None) or by_name.get(name) for label_id, name in rows)
    dropped = tuple(name for (_, name), label in zip(rows, mapped, strict=True) if label is None)
    return LabelMap(mapped, dropped)


def model_directory(run: Run, bucket: Bucket) -> Path:
    """model_android/ when verified, else model/, else an unverified model_android/."""
    offered = {a.name: a.verified for a in run.artifacts.filter(name__in=(ANDROID, SAVED_MODEL))}
    if not offered:
        raise ModelMissing(f"Run {run.pk} offers no model/ or model_android/ to predict with; train a new run.")
    if offered.get(ANDROID) or SAVED_MODEL not in offered:
        return unpacked_model(run, bucket, ANDROID)
    return unpacked_model(run, bucket, SAVED_MODEL)


def box_classifier_directory(run: Run, bucket: Bucket) -> Path | None:
    """The run's box classifier unpacked, or None when it has none (classifiers, older runs)."""
    if not run.artifacts.filter(name=BOX_CLASSIFIER_ARTIFACT).exists():
        return None
    return unpacked_model(run, bucket, BOX_CLASSIFIER_ARTIFACT)


def load_predictor(directory: Path, box_classifier: Path | None = None) -> Predictor:
    """training.ml.predict.Predictor on the folder (and the detector's box classifier); the ML
    runtime loads here, in the worker only."""
    from training.ml.errors import ModelUnusable as Unloadable
    from training.ml.predict import Predictor

    try:
        return Predictor.load(directory, box_classifier=box_classifier)
    except Unloadable as error:
        raise ModelUnusable(f"The run's model cannot be loaded on this worker: {error}") from error


def run_prediction(job: PredictionJob) -> None:
    """Predict the job's images with its run; the kernel marks it succeeded when this returns."""
    run = job.run
    services.follow_assist_run(job.project)  # a newer assist run than last time: uncertainty becomes its
    bucket = project_bucket(job.project)
    predictor = load_predictor(model_directory(run, bucket), box_classifier_directory(run, bucket))
    mapping = label_map(run, predictor.labels)
    ids = list(services.scope_images(job).values_list("pk", flat=True))
    job.runtime, job.dropped_labels, job.images_total = predictor.runtime, list(mapping.dropped), len(ids)
    jobs.progress(job, "runtime", "dropped_labels", "images_total")
    threshold = services.suggestion_threshold(run)
    started = time.perf_counter()
    with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="predict-read") as pool:
        for batch in _batches(ids, settings.ANNOTATOR_PREDICT_BATCH):
            images = list(Image.objects.present().filter(pk__in=batch).order_by("key"))
            contents = list(pool.map(lambda image: _read(bucket, image), images))
            readable = [(image, data) for image, data in zip(images, contents, strict=True) if data is not None]
            results = predictor.predict([data for _, data in readable], min_score=_floor(), threshold=threshold)
            answered = [(image, r) for (image, _), r in zip(readable, results, strict=True) if _is_answer(r)]
            # An image deleted since the listing is done, but neither answered nor failed.
            job.images_failed += len(images) - len(answered)
            job.images_done += len(batch)
            job.images_per_second = round(job.images_done / max(time.perf_counter() - started, 1e-6), 2)
            _write_batch(job, run, mapping, answered)


def _batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), max(1, size)):
        yield ids[start : start + size]


def _floor() -> float:
    return float(settings.ANNOTATOR_SUGGESTION_MIN_SCORE)


def _read(bucket: Bucket, image: Image) -> bytes | None:
    try:
        return bucket.read(image.key)
    except BucketError as error:
        log.warning("Prediction could not read image %s (%s): %s", image.pk, image.key, error)
        return None


def _is_answer(result: object) -> bool:
    from training.ml.predict import ImagePrediction

    if not isinstance(result, ImagePrediction):
        log.warning("Prediction could not decode an image: %s", result)
        return False
    return True


def _write_batch(job: PredictionJob, run: Run, mapping: LabelMap, answered: list) -> None:
    """One transaction: the batch's suggestions and predictions, and the job's progress (which
    raises JobAbandoned, rolling the batch back, when the job was cancelled meanwhile)."""
    current = services.assist_run(job.project)
    image_ids = [image.pk for image, _ in answered]
    drawn = _drawn_boxes(image_ids, run)
    proposals = []
    for image, result in answered:
        for suggestion in _proposals(mapping, result):
            if suggestion.is_box and _already_drawn(suggestion, drawn.get(image.pk, ())):
                continue
            suggestion.image, suggestion.run = image, run
            proposals.append(suggestion)
    with transaction.atomic():
        Suggestion.objects.filter(image_id__in=image_ids, run=run, status=SuggestionStatus.PENDING).delete()
        Suggestion.objects.bulk_create(proposals)
        Prediction.objects.bulk_create(
            [Prediction(image=image, run=run, uncertainty=result.uncertainty) for image, result in answered],
            update_conflicts=True, unique_fields=["image", "run"], update_fields=["uncertainty", "created_at"],
        )  # fmt: skip
        if current is not None and current.pk == run.pk:
            for image, result in answered:
                Image.objects.filter(pk=image.pk).update(uncertainty=result.uncertainty)
        job.suggestions_created += len(proposals)
        jobs.progress(job, *job.result_fields)
        if image_ids:
            broadcast(job.project_id, SUGGESTIONS_CHANGED, {"run": run.pk, "images": sorted(image_ids)})


# A proposal overlapping a box people drew with the same label by this much proposes nothing new.
DRAWN_IOU = 0.5
BoxTuple = tuple[int, float, float, float, float]


def _drawn_boxes(image_ids: list[int], run: Run) -> dict[int, list[BoxTuple]]:
    """Per image: its boxes, and the boxes of this run's suggestions people rejected there."""
    drawn: dict[int, list[BoxTuple]] = {}
    fields = ("image_id", "label_id", "x", "y", "x2", "y2")
    rows = list(Box.objects.filter(image_id__in=image_ids).values_list(*fields))
    rejected = Suggestion.objects.filter(image_id__in=image_ids, run=run, status=SuggestionStatus.REJECTED)
    rows += rejected.filter(x__isnull=False).values_list(*fields)
    for image_id, *box in rows:
        drawn.setdefault(image_id, []).append(tuple(box))
    return drawn


def _already_drawn(suggestion: Suggestion, boxes: Sequence[BoxTuple]) -> bool:
    """True when a box of the image (a person's, or an accepted suggestion) already says the same, or
    people rejected the same proposal before."""
    x, y, x2, y2 = suggestion.x or 0.0, suggestion.y or 0.0, suggestion.x2 or 0.0, suggestion.y2 or 0.0
    for label_id, bx, by, bx2, by2 in boxes:
        if label_id != suggestion.label_id:
            continue
        inter = max(0.0, min(x2, bx2) - max(x, bx)) * max(0.0, min(y2, by2) - max(y, by))
        union = (x2 - x) * (y2 - y) + (bx2 - bx) * (by2 - by) - inter
        if union > 0 and inter / union >= DRAWN_IOU:
            return True
    return False


def _proposals(mapping: LabelMap, result) -> list[Suggestion]:
    """Unsaved suggestions from one image's answer, best first, within the floor and the cap."""
    floor = _floor()
    if result.probabilities is not None:
        ranked = sorted(enumerate(result.probabilities), key=lambda pair: -pair[1])
        found = [
            Suggestion(label=mapping.labels[index], score=min(1.0, float(p)))
            for index, p in ranked
            if p >= floor and index < len(mapping.labels) and mapping.labels[index] is not None
        ]
        return found[:CLASSES_PER_IMAGE]
    found = []
    for detection in sorted(result.detections, key=lambda d: -d.score):
        label = mapping.labels[detection.label] if 0 <= detection.label < len(mapping.labels) else None
        if detection.score >= floor and label is not None:
            x, y, x2, y2 = detection.box
            found.append(Suggestion(label=label, score=min(1.0, float(detection.score)), x=x, y=y, x2=x2, y2=y2))
    return found[: settings.ANNOTATOR_SUGGESTIONS_PER_IMAGE]
