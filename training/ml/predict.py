"""Batch prediction with a finished run's exported model, for model-assisted labelling.

``Predictor.load(directory)`` opens an unpacked ``model_android/`` (``model.tflite``, run by
LiteRT's signature runner) or ``model/`` (SavedModel, its ``serving_default`` signature);
``metadata.json`` says the kind, the labels and the input size. ``predict(images, ...)`` gives
one entry per image, in order: an ``ImagePrediction``, or an ``UnreadableImage`` for an image
that cannot be decoded (returned, never raised, so a job records it and goes on with the rest).

Invariants:

- The model sees what training and the run page's "Try it" feed it: the image as displayed
  (EXIF orientation applied, RGB), stretched whole to ``S x S`` with the bilinear sampling of
  ``tf.image.crop_and_resize`` (``data.load_resized``), float32 in 0..255. ``resize_like_training``
  reproduces that sampling in NumPy, so decoding needs no TensorFlow.
- Boxes are ``x, y, x2, y2`` normalised to the displayed image, clipped to 0..1, with
  ``x < x2`` and ``y < y2`` (a box that clipping leaves empty is dropped). No two detections
  overlap at IoU >= 0.5: where the model gives one object several labels, the best-scored
  label is the suggestion (``boxes.one_label_per_object``; the threshold is chosen the same way).
- With a **box classifier** (a detection run's ``box_classifier/``), each kept box is cut out of
  the displayed image as training cut its crops (``dataset.crop_window``, resized with the same
  sampling) and named by it (``boxes.name_boxes``: its most probable label, score = detector
  score x that probability); boxes whose named score falls below ``min_score`` are dropped.
  The run's suggestion threshold was chosen over exactly these (``box_classifier.py``).
- ``uncertainty`` is in 0..1, higher = more worth a person's look (active learning orders
  images by it, most uncertain first):

  * classifier, margin sampling: ``1 - (p1 - p2)`` over the two highest probabilities
    (0 for a one-label model);
  * detector: each detection's closeness to the decision threshold ``t``,
    ``u_i = 1 - |s_i - t| / max(t, 1 - t)``, and the image's is the largest over its
    detections scored >= ``min_score``; an image without any gets 1.0 (the model sees nothing
    there, so it most likely missed something).

Speed: images are decoded in a small thread pool while the model runs on the previous ones,
with one interpreter (or one loaded signature) for every image. LiteRT is the faster runtime
on a CPU, so ``choose_model_dir`` picks it when both exist: on an idle 2-core machine the 320 px
detector (MobileNetV2 0.5) takes 2.5 ms a call on 2 threads in LiteRT, and a whole ``predict``
of 378x504 JPEGs, decoding and resizing included, runs 166-174 images/s on LiteRT against 52-62 on
the SavedModel (bench/active_learning.py, part 3). Decoding and resizing cost more than the
model there, hence the thread pool. A box classifier adds one call per kept box (288 px, no flip
averaging: 8.7 ms on 2 threads under a load of 5, so roughly the detector's whole cost again at
~2.4 boxes an image); crops are cut while the model lock is held, from the decoded image.
LiteRT is imported only when used, TensorFlow only for a SavedModel.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .boxes import name_boxes, one_label_per_object
from .dataset import crop_window
from .errors import ModelUnusable

LITERT, SAVED_MODEL_RUNTIME = "litert", "saved_model"
TFLITE_FILE = "model.tflite"  # export.TFLITE_FILE, named here so LiteRT runs without TensorFlow
SIGNATURE = "serving_default"
CLASSIFICATION = "classification"  # dataset.CLASSIFICATION

Outputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class Detection:
    label: int  # output index into the run's labels
    score: float
    box: tuple[float, float, float, float]  # x, y, x2, y2 normalised to the displayed image


@dataclass(frozen=True)
class ImagePrediction:
    detections: tuple[Detection, ...]  # detectors; () for classifiers
    probabilities: tuple[float, ...] | None  # classifiers, in label order; None for detectors
    uncertainty: float  # 0..1, see the module docstring
    width: int  # displayed size (after EXIF orientation)
    height: int


class UnreadableImage(ValueError):
    """Image ``index`` of a ``predict`` call could not be decoded; ``reason`` says why."""

    def __init__(self, index: int, reason: str):
        super().__init__(f"image {index}: {reason}")
        self.index = index
        self.reason = reason


def classifier_uncertainty(probabilities: Sequence[float]) -> float:
    """Margin sampling: ``1 - (p1 - p2)``; 0 for a single probability."""
    top = np.sort(np.asarray(probabilities, float).reshape(-1))[::-1]
    if len(top) < 2:
        return 0.0
    return float(np.clip(1.0 - (top[0] - top[1]), 0.0, 1.0))


def detector_uncertainty(scores: Sequence[float], threshold: float) -> float:
    """Largest closeness of a score to ``threshold`` (1 on it, 0 at 0 or 1 for t = 0.5);
    1.0 when there are no scores. ``scores`` are those already kept (>= min_score)."""
    values = np.asarray(scores, float).reshape(-1)
    if not len(values):
        return 1.0
    closeness = 1.0 - np.abs(values - threshold) / max(threshold, 1.0 - threshold)
    return float(np.clip(closeness.max(), 0.0, 1.0))


def choose_model_dir(android_dir: Path | None, saved_model_dir: Path | None) -> Path:
    """The folder to predict with: ``model_android/`` (LiteRT, faster on a CPU) when it has a
    model, else ``model/``. Raises ModelUnusable when neither has one."""
    if android_dir is not None and (Path(android_dir) / TFLITE_FILE).is_file():
        return Path(android_dir)
    if saved_model_dir is not None and (Path(saved_model_dir) / "saved_model.pb").is_file():
        return Path(saved_model_dir)
    raise ModelUnusable(f"no model to predict with in {android_dir} or {saved_model_dir}")


def resize_like_training(
    pixels: np.ndarray, size: int, window: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
) -> np.ndarray:
    """``tf.image.crop_and_resize(pixels[None], [[y, x, y2, x2]], [0], [size, size])[0]`` in
    NumPy for ``window = (x, y, x2, y2)`` (default: the whole image): bilinear, corners
    aligned, no antialiasing; float32 ``[size, size, C]``.

    Computed in float32 exactly as TensorFlow does, quirk included: where the last sample
    point rounds past the image's edge (e.g. 504 px to 224), that row or column is 0, as it
    was in training."""
    height, width, channels = pixels.shape
    x, y, x2, y2 = window
    ys, top, bottom, rows_inside = _sample_points(height, size, y, y2)
    xs, left, right, columns_inside = _sample_points(width, size, x, x2)
    # Gathered as uint8 from (rows, width * channels), converted only once picked: a few
    # milliseconds where indexing the 3-D float image took several times longer.
    flat = pixels.reshape(height, width * channels)
    offsets = np.arange(channels)
    left_columns = (left[:, None] * channels + offsets).ravel()
    right_columns = (right[:, None] * channels + offsets).ravel()
    x_lerp = np.repeat(xs, channels)[None, :]
    # TensorFlow's order of operations, so the result is the same to the last bit (a + b is
    # b + a in IEEE arithmetic), computed in place: each fresh 1 MB array costs page faults,
    # and this way the resize takes about half the time it took with a new array per step.
    upper = _lerp_columns(flat[top], left_columns, right_columns, x_lerp)
    lower = _lerp_columns(flat[bottom], left_columns, right_columns, x_lerp)
    lower -= upper
    lower *= ys[:, None]
    lower += upper  # upper + (lower - upper) * y_lerp
    resized = lower.reshape(size, size, channels)
    resized[~rows_inside] = 0.0
    resized[:, ~columns_inside] = 0.0
    return resized


def _lerp_columns(rows: np.ndarray, left: np.ndarray, right: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``left + (right - left) * weights`` of the picked uint8 columns, as a new float32 array
    computed in place (see ``resize_like_training``)."""
    result = rows.take(right, axis=1).astype(np.float32)
    left_values = rows.take(left, axis=1).astype(np.float32)
    result -= left_values
    result *= weights
    result += left_values
    return result


def _sample_points(
    extent: int, size: int, start: float = 0.0, end: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """crop_and_resize's source coordinates for the span ``start..end`` (normalised) of an
    axis: lerp weights, lower and upper index (clamped to the image) and whether the point
    lies inside it."""
    start32, end32, last = np.float32(start), np.float32(end), np.float32(extent - 1)
    if size > 1:
        scale = (end32 - start32) * last / np.float32(size - 1)
        points = start32 * last + np.arange(size, dtype=np.float32) * scale
    else:
        points = np.full(1, np.float32(0.5) * (start32 + end32) * last, np.float32)
    inside = (points >= 0) & (points <= extent - 1)
    points = np.clip(points, 0, None)
    lower = np.floor(points)
    upper = np.minimum(np.ceil(points), extent - 1)
    return (
        (points - lower).astype(np.float32),
        np.minimum(lower, extent - 1).astype(np.intp),
        upper.astype(np.intp),
        inside,
    )


def decode(source: bytes | Path | str) -> np.ndarray:
    """uint8 RGB pixels as displayed: EXIF orientation applied (what serving._pixels does)."""
    with Image.open(io.BytesIO(source) if isinstance(source, bytes | bytearray) else source) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


class Predictor:
    """One exported model, loaded once; ``predict`` is safe to call from several threads
    (calls take turns on the model)."""

    kind: str
    labels: tuple[str, ...]

    def __init__(
        self,
        kind: str,
        labels: tuple[str, ...],
        input_size: int,
        runtime: str,
        run_model: Callable[[np.ndarray], Outputs],
        decode_threads: int = 2,
        box_classifier: Predictor | None = None,
    ):
        if box_classifier is not None and (kind == CLASSIFICATION or box_classifier.kind != CLASSIFICATION):
            raise ModelUnusable("a box classifier is a classifier, and only a detector has one")
        if box_classifier is not None and box_classifier.labels != labels:
            raise ModelUnusable(f"the box classifier's labels {box_classifier.labels} are not the detector's {labels}")
        self.kind = kind
        self.labels = labels
        self.input_size = input_size
        self.runtime = runtime
        self.decode_threads = max(1, decode_threads)
        self.box_classifier = box_classifier
        self._run_model = run_model
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        directory: Path | str,
        num_threads: int | None = None,
        decode_threads: int = 2,
        box_classifier: Path | str | None = None,
    ) -> Predictor:
        """Open ``model_android/`` or ``model/``; ``num_threads`` is LiteRT's (default: every
        core this process may use); a SavedModel uses TensorFlow's process-wide thread pools.
        ``box_classifier`` is a detector's ``box_classifier/`` folder, loaded the same way."""
        directory = Path(directory)
        namer = None if box_classifier is None else cls.load(box_classifier, num_threads)
        try:
            meta = json.loads((directory / "metadata.json").read_text())
            kind, labels, model_input = meta["kind"], tuple(meta["labels"]), meta["input"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ModelUnusable(f"{directory}: no usable metadata.json ({error})") from error
        input_name, input_size = model_input.get("name", "image"), int(model_input["shape"][1])
        tflite = directory / meta.get("file", TFLITE_FILE)
        if tflite.is_file():
            runtime, run_model = LITERT, _litert(tflite, input_name, num_threads or _usable_cores())
        elif (directory / "saved_model.pb").is_file():
            runtime, run_model = SAVED_MODEL_RUNTIME, _saved_model(directory, input_name)
        else:
            raise ModelUnusable(f"{directory} has neither {TFLITE_FILE} nor saved_model.pb")
        return cls(kind, labels, input_size, runtime, run_model, decode_threads, namer)

    def predict(
        self, images: Sequence[bytes | Path], *, min_score: float, threshold: float
    ) -> list[ImagePrediction | UnreadableImage]:
        """One entry per image, in order (see ``predict_iter``)."""
        return list(self.predict_iter(images, min_score=min_score, threshold=threshold))

    def predict_iter(
        self, images: Iterable[bytes | Path], *, min_score: float, threshold: float
    ) -> Iterator[ImagePrediction | UnreadableImage]:
        """Yield each image's entry as soon as it is ready, for a job that reports progress
        or stops between images. Detections scored below ``min_score`` are dropped;
        ``threshold`` is the decision threshold the detector uncertainty is measured from."""
        if not (0.0 <= min_score <= 1.0 and 0.0 <= threshold <= 1.0):
            raise ValueError(f"min_score {min_score} and threshold {threshold} must lie in 0..1")
        for decoded in self._decoded(images):
            if isinstance(decoded, UnreadableImage):
                yield decoded
                continue
            resized, original = decoded
            with self._lock:
                outputs = self._run_model(resized[None])
                prediction = self._prediction(outputs, original, min_score, threshold)
            yield prediction

    def _decoded(self, images: Iterable[bytes | Path]) -> Iterator[tuple[np.ndarray, np.ndarray] | UnreadableImage]:
        """Decoded, resized images in order, a few decoded ahead while the model runs."""
        ahead = 2 * self.decode_threads
        with ThreadPoolExecutor(self.decode_threads, thread_name_prefix="decode") as pool:
            pending: deque = deque()
            for index, source in enumerate(images):
                pending.append(pool.submit(self._prepare, index, source))
                if len(pending) > ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _prepare(self, index: int, source: bytes | Path) -> tuple[np.ndarray, np.ndarray] | UnreadableImage:
        """``(the model's input, the displayed image)``, or why the image cannot be read."""
        try:
            pixels = decode(source)
        except Exception as error:  # Pillow raises many types (OSError, SyntaxError, DecompressionBombError, ...)
            return UnreadableImage(index, f"{type(error).__name__}: {error}")
        return resize_like_training(pixels, self.input_size), pixels

    def _prediction(self, outputs: Outputs, pixels: np.ndarray, min_score: float, threshold: float) -> ImagePrediction:
        height, width = pixels.shape[:2]
        if self.kind == CLASSIFICATION:
            probabilities = _probabilities(outputs)
            return ImagePrediction((), probabilities, classifier_uncertainty(probabilities), width, height)
        found = _detections(outputs, min_score)
        if self.box_classifier is not None:
            found = self._named(found, pixels, min_score)
        uncertainty = detector_uncertainty([d.score for d in found], threshold)
        return ImagePrediction(found, None, uncertainty, width, height)

    def _named(self, found: tuple[Detection, ...], pixels: np.ndarray, min_score: float) -> tuple[Detection, ...]:
        """The detections named by the box classifier, best first, those still >= ``min_score``."""
        namer = self.box_classifier
        assert namer is not None
        probabilities = [
            _probabilities(namer._run_model(resize_like_training(pixels, namer.input_size, crop_window(d.box))[None]))
            for d in found
        ]
        labels, scores = name_boxes(np.array([d.score for d in found]), np.array(probabilities))
        named = [
            Detection(int(label), float(score), d.box)
            for d, label, score in zip(found, labels, scores, strict=True)
            if score >= min_score
        ]
        return tuple(sorted(named, key=lambda d: -d.score))


def _probabilities(outputs: Outputs) -> tuple[float, ...]:
    return tuple(float(p) for p in np.asarray(outputs["probabilities"]).reshape(-1))


def _detections(outputs: Outputs, min_score: float) -> tuple[Detection, ...]:
    """Valid rows of the serving outputs (batch 1, ymin/xmin/ymax/xmax) kept and clipped, one
    label per object (``boxes.one_label_per_object``), best score first."""
    count = int(np.asarray(outputs["num_detections"]).reshape(-1)[0])
    boxes = np.clip(np.asarray(outputs["boxes"], float)[0, :count], 0.0, 1.0)
    classes = np.asarray(outputs["classes"])[0, :count].round().astype(int)
    scores = np.asarray(outputs["scores"], float)[0, :count]
    valid = (scores >= min_score) & (boxes[:, 1] < boxes[:, 3]) & (boxes[:, 0] < boxes[:, 2])
    xyxy, classes, scores = boxes[valid][:, [1, 0, 3, 2]], classes[valid], scores[valid]
    keep = one_label_per_object(xyxy, scores)
    return tuple(Detection(int(classes[i]), float(scores[i]), tuple(xyxy[i].tolist())) for i in keep.tolist())


def _usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _litert(path: Path, input_name: str, num_threads: int) -> Callable[[np.ndarray], Outputs]:
    from ai_edge_litert.interpreter import Interpreter

    try:
        runner = Interpreter(model_path=str(path), num_threads=num_threads).get_signature_runner(SIGNATURE)
    except (RuntimeError, ValueError) as error:
        raise ModelUnusable(f"{path}: LiteRT cannot load it ({error})") from error
    return lambda pixels: runner(**{input_name: pixels})


def _saved_model(directory: Path, input_name: str) -> Callable[[np.ndarray], Outputs]:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(directory))
        serve = loaded.signatures[SIGNATURE]
    except (OSError, ValueError, KeyError) as error:
        raise ModelUnusable(f"{directory}: TensorFlow cannot load it ({error})") from error

    # The default argument keeps ``loaded`` alive: the signature alone does not hold its variables.
    def run(pixels: np.ndarray, _loaded: object = loaded) -> Outputs:
        return {name: tensor.numpy() for name, tensor in serve(**{input_name: tf.constant(pixels)}).items()}

    return run
