"""A finished run's models, served to its run page: model_web/ file by file, and the
SavedModel's answer on one uploaded image (the "Try it" panel's server side); prediction jobs
(assist/worker.py) unpack their model with the same `unpacked_model`.

Both read the same zips the run offers for download, verified against their recorded
sha256, so the page tries exactly what people download. SavedModels are unpacked once per
checksum under ``ANNOTATOR_TRAINING_CACHE_DIR/models/`` and the loaded ones kept in a small
per-process cache. TensorFlow is imported only when an answer is asked for, and a web
process without it (no requirements-ml.txt) says so instead of failing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import mimetypes
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from annotator.errors import CodedError
from annotator.storage import Bucket
from annotator.uploads import ImageLimits, validate_image
from training.artifacts import CHUNK, safe_extract
from training.models import Run

WEB, SAVED_MODEL = "model_web", "model"
LOADED_MODELS = 2
_loaded: OrderedDict[str, object] = OrderedDict()
_lock = threading.Lock()


class ModelUnavailable(CodedError):
    """The run has no such model or file, or this server cannot run it; ``code`` says which."""

    status = 404


@dataclass(frozen=True)
class ModelFile:
    data: bytes
    content_type: str


def _zip_bytes(run: Run, bucket: Bucket, name: str) -> bytes:
    artifact = run.artifacts.filter(name=name).first()
    if artifact is None:
        raise ModelUnavailable("model_missing", f"Run {run.pk} has no {name}/.")
    with bucket.open(artifact.key) as stream, io.BytesIO() as out:
        while chunk := stream.read(CHUNK):
            out.write(chunk)
        data = out.getvalue()
    if hashlib.sha256(data).hexdigest() != artifact.sha256:
        raise ModelUnavailable("artifact_corrupt", f"{name}.zip does not match its recorded checksum.", 502)
    return data


def web_model_file(run: Run, bucket: Bucket, filename: str) -> ModelFile:
    """One file of the run's model_web/ (model.json, a weight shard, metadata.json, annotator.js)."""
    with zipfile.ZipFile(io.BytesIO(_zip_bytes(run, bucket, WEB))) as archive:
        try:
            data = archive.read(f"{WEB}/{filename}")
        except KeyError:
            raise ModelUnavailable("file_missing", f"{WEB}/ has no file {filename!r}.") from None
    content_type = "text/javascript" if filename.endswith(".js") else mimetypes.guess_type(filename)[0]
    return ModelFile(data, content_type or "application/octet-stream")


def unpacked_model(run: Run, bucket: Bucket, name: str) -> Path:
    """The run's `name` zip (model, model_android, ...) unpacked on local disk, once per checksum:
    the folder `name/` under ``ANNOTATOR_TRAINING_CACHE_DIR/models/<sha256>/``. Raises
    ModelUnavailable when the run has no such zip or its bytes differ from the recorded sha256."""
    artifact = run.artifacts.filter(name=name).first()
    if artifact is None:
        raise ModelUnavailable("model_missing", f"Run {run.pk} has no {name}/.")
    target = Path(settings.ANNOTATOR_TRAINING_CACHE_DIR) / "models" / artifact.sha256
    if not (target / name).is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Unpacked beside the target and renamed into place: a concurrent reader never sees half a model.
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            with zipfile.ZipFile(io.BytesIO(_zip_bytes(run, bucket, name))) as archive:
                safe_extract(archive, Path(tmp))
            with contextlib.suppress(OSError):  # another process got there first
                Path(tmp).rename(target)
    return target / name


def _serving_function(run: Run, bucket: Bucket):
    try:
        import tensorflow as tf
    except ImportError:
        raise ModelUnavailable(
            "predict_unavailable", "This server has no TensorFlow (requirements-ml.txt) to run the SavedModel.", 503
        ) from None
    if not run.artifacts.filter(name=SAVED_MODEL).exists():
        raise ModelUnavailable("model_missing", f"Run {run.pk} has no {SAVED_MODEL}/.")
    directory = unpacked_model(run, bucket, SAVED_MODEL)
    key = str(directory)
    with _lock:
        if key not in _loaded:
            _loaded[key] = tf.saved_model.load(key).signatures["serving_default"]
            while len(_loaded) > LOADED_MODELS:
                _loaded.popitem(last=False)
        _loaded.move_to_end(key)
        return _loaded[key], json.loads((directory / "metadata.json").read_text())


def _pixels(data: bytes):
    """Decoded RGB pixels as the browser shows them (EXIF orientation applied), within the upload limits."""
    import numpy as np
    from PIL import Image as PILImage
    from PIL import ImageOps

    validate_image(data, ImageLimits.from_settings())
    with PILImage.open(io.BytesIO(data)) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.float32)


def predict(run: Run, bucket: Bucket, data: bytes, min_score: float = 0.5) -> dict:
    """The SavedModel's answer on one image, in the shape the web helper returns."""
    serve, metadata = _serving_function(run, bucket)  # first: it says so when TensorFlow is missing
    import tensorflow as tf

    pixels = _pixels(data)
    height, width = pixels.shape[:2]
    size = metadata["input"]["shape"][1]
    # The same stretch as training and the web helper: bilinear crop_and_resize over the whole image.
    image = tf.image.crop_and_resize(pixels[None], [[0.0, 0.0, 1.0, 1.0]], [0], [size, size])
    started = time.perf_counter()
    outputs = {name: tensor.numpy()[0] for name, tensor in serve(**{metadata["input"]["name"]: image}).items()}
    milliseconds = (time.perf_counter() - started) * 1000
    labels = metadata["labels"]
    answer = {"kind": metadata["kind"], "milliseconds": round(milliseconds, 1), "width": width, "height": height}
    if metadata["kind"] == "classification":
        ranked = sorted(zip(labels, outputs["probabilities"].tolist(), strict=True), key=lambda p: -p[1])
        return answer | {"classes": [{"label": label, "probability": p} for label, p in ranked]}
    detections = []
    for i in range(int(outputs["num_detections"])):
        score = float(outputs["scores"][i])
        if score < min_score:
            continue
        ymin, xmin, ymax, xmax = (float(v) for v in outputs["boxes"][i])
        box = {"x": xmin * width, "y": ymin * height, "width": (xmax - xmin) * width, "height": (ymax - ymin) * height}
        detections.append({"label": labels[round(float(outputs["classes"][i]))], "score": score, "box": box})
    return answer | {"detections": detections}
