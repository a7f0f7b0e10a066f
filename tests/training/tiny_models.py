"""Stand-in model folders for the API and page tests: real SavedModel and TF.js files, in
seconds, from a few TensorFlow ops instead of a trained network.

The classifier's answer depends on the pixels (red vs blue), so a test can tell a real
computation from a constant; the detector answers one fixed box.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

from annotator.storage import project_bucket
from training.artifacts import zip_folder
from training.models import Artifact, Run, RunStatus

SIZE = 32


def _module(kind: str):
    import tensorflow as tf

    class Tiny(tf.Module):
        def __init__(self):
            super().__init__()
            spec = tf.TensorSpec([1, SIZE, SIZE, 3], tf.float32, name="image")
            self.serve = tf.function(self._serve, input_signature=[spec])

        def _serve(self, image):
            mean = tf.reduce_mean(image, axis=[1, 2]) / 255.0  # [1, 3] RGB
            if kind == "classification":
                return {"probabilities": tf.nn.softmax(mean[:, :3:2] * 10.0)}  # red, blue
            score = tf.reshape(mean[0, 0], [1, 1]) * 0 + 0.9
            return {
                "boxes": tf.constant([[[0.25, 0.1, 0.75, 0.5]]]) + score[..., None] * 0,
                "classes": tf.zeros([1, 1]),
                "scores": score,
                "num_detections": tf.ones([1]),
            }

    return Tiny()


def build(kind: str, labels: list[str], out: Path) -> dict[str, Path]:
    """model/ and model_web/ under ``out``, each with labels.json and metadata.json."""
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    import tensorflow as tf
    import tensorflowjs

    from training.ml.export import WEB_HELPER, name_tfjs_signature, signature_tensor_names

    folders = {"model": out / "model", "model_web": out / "model_web"}
    module = _module(kind)
    tf.saved_model.save(module, str(folders["model"]), signatures={"serving_default": module.serve})
    tensorflowjs.converters.convert_tf_saved_model(str(folders["model"]), str(folders["model_web"]))
    name_tfjs_signature(folders["model_web"] / "model.json", signature_tensor_names(folders["model"]))
    (folders["model_web"] / WEB_HELPER.name).write_text(WEB_HELPER.read_text())
    names = ["probabilities"] if kind == "classification" else ["boxes", "classes", "num_detections", "scores"]
    for name, folder in folders.items():
        meta = {
            "format": name,
            "kind": kind,
            "labels": labels,
            "input": {"name": "image", "shape": [1, SIZE, SIZE, 3]},
            "outputs": {n: {"name": n} for n in names},
        }
        (folder / "metadata.json").write_text(json.dumps(meta))
        (folder / "labels.json").write_text(json.dumps(labels))
    return folders


def succeeded_run(project, user, kind: str, folders: dict[str, Path]) -> Run:
    """A succeeded run whose model zips (as the worker uploads them) are in the project's bucket."""
    run = Run.objects.create(project=project, kind=kind, status=RunStatus.SUCCEEDED, created_by=user)
    bucket = project_bucket(project)
    for name, folder in folders.items():
        out = io.BytesIO()
        zip_folder(folder, out)
        data = out.getvalue()
        key = f"{run.prefix}/{name}.zip"
        bucket.put(key, io.BytesIO(data), content_type="application/zip")
        Artifact.objects.create(run=run, name=name, key=key, size_bytes=len(data),
                                sha256=hashlib.sha256(data).hexdigest(), content_type="application/zip")  # fmt: skip
    return run


def zip_names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()
