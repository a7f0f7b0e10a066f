"""Write one trained model as SavedModel, TF.js graph model, TFLite and Core ML.

Every format is converted from the same SavedModel, whose serving function already holds
preprocessing and (for detectors) box decoding and NMS; each folder gets ``labels.json``
and ``metadata.json`` describing inputs and outputs.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from .dataset import CLASSIFICATION
from .errors import ExportError
from .inference import INPUT_NAME, InferenceModule, output_names
from .train import TrainResult

SAVED_MODEL, WEB, ANDROID, IOS = "model", "model_web", "model_android", "model_ios"
TFLITE_FILE = "model.tflite"
COREML_FILE = "model.mlpackage"

OUTPUT_MEANING = {
    "probabilities": "[1, C] softmax probability per label, in labels.json order",
    "boxes": "[1, D, 4] normalised ymin, xmin, ymax, xmax; rows past num_detections are zero",
    "classes": "[1, D] label index (float) into labels.json",
    "scores": "[1, D] confidence, descending",
    "num_detections": "[1] number of valid rows in boxes/classes/scores",
}


@dataclass(frozen=True)
class ExportPaths:
    saved_model: Path
    web: Path
    android: Path
    ios: Path

    def all(self) -> dict[str, Path]:
        return {SAVED_MODEL: self.saved_model, WEB: self.web, ANDROID: self.android, IOS: self.ios}


def export_all(result: TrainResult, out_dir: str | Path) -> ExportPaths:
    """Export every format under ``out_dir``; any failure raises ExportError."""
    out_dir = Path(out_dir)
    paths = ExportPaths(*(out_dir / name for name in (SAVED_MODEL, WEB, ANDROID, IOS)))
    steps = (
        (SAVED_MODEL, lambda: export_saved_model(result, paths.saved_model)),
        (WEB, lambda: export_tfjs(paths.saved_model, paths.web)),
        (ANDROID, lambda: export_tflite(paths.saved_model, paths.android)),
        (IOS, lambda: export_coreml(paths.saved_model, paths.ios, result)),
    )
    for name, step in steps:
        try:
            extra = step() or {}
        except ExportError:
            raise
        except Exception as error:
            raise ExportError(f"{name}: {error}") from error
        _write_sidecars(result, paths.all()[name], name, extra)
    return paths


def export_saved_model(result: TrainResult, directory: Path) -> dict:
    _fresh(directory)
    module = InferenceModule(result)
    # ExportArchive saves only the model's variables and the serving endpoint; saving the
    # trained Keras model directly also saves its optimizer and training functions, which
    # makes the TFLite converter keep every weight as a mutable resource variable.
    archive = keras.export.ExportArchive()
    archive.track(result.model)
    archive.add_endpoint("serving_default", module.serve)
    archive.write_out(str(directory), verbose=False)
    return {"signature": "serving_default"}


def signature_tensor_names(saved_model_dir: Path) -> dict[str, str]:
    """Output name -> graph tensor name (what TF.js and Core ML see), e.g. boxes -> Identity:0."""
    signature = tf.saved_model.load(str(saved_model_dir)).signatures["serving_default"]
    # Flattening a dict of outputs sorts its keys; ``outputs`` is in that flattened order.
    names = tf.nest.flatten({k: k for k in signature.structured_outputs})
    return {name: tensor.name for name, tensor in zip(names, signature.outputs, strict=True)}


def export_tfjs(saved_model_dir: Path, directory: Path) -> dict:
    # tensorflowjs imports TF Decision Forests, whose welcome banner imports IPython whenever
    # stdout is not a terminal (a worker, pytest); the variable switches the banner off.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    import tensorflowjs  # heavy import, only needed here

    _fresh(directory)
    tensorflowjs.converters.convert_tf_saved_model(str(saved_model_dir), str(directory))
    return {
        "output_tensors": signature_tensor_names(saved_model_dir),
        "runtime_notes": "Run with model.executeAsync(input, outputTensorNames): the graph "
        "contains NonMaxSuppressionV5 for detectors, which TF.js only runs asynchronously.",
    }


def export_tflite(saved_model_dir: Path, directory: Path) -> dict:
    _fresh(directory)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    (directory / TFLITE_FILE).write_bytes(converter.convert())
    return {"file": TFLITE_FILE, "signature": "serving_default"}


def export_coreml(saved_model_dir: Path, directory: Path, result: TrainResult) -> dict:
    import coremltools as ct  # heavy import, only needed here

    _fresh(directory)
    size = result.config.input_size
    image = ct.ImageType(
        name=INPUT_NAME,
        shape=(1, size, size, 3),
        scale=1.0,
        bias=[0.0, 0.0, 0.0],
        color_layout=ct.colorlayout.RGB,
        channel_first=False,
    )
    model = ct.convert(
        str(saved_model_dir),
        source="tensorflow",
        inputs=[image],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS15,
        compute_precision=ct.precision.FLOAT32,
    )
    spec = model.get_spec()
    for name, tensor in signature_tensor_names(saved_model_dir).items():
        ct.utils.rename_feature(spec, tensor.split(":")[0], name)
    model = ct.models.MLModel(spec, weights_dir=model.weights_dir)
    model.short_description = f"Annotator {result.kind} model ({', '.join(result.labels)})"
    model.save(str(directory / COREML_FILE))
    return {
        "file": COREML_FILE,
        "input_type": "image (RGB, CVPixelBuffer), pixel values 0..255 passed through unscaled",
        "compute_precision": "float32",
    }


def _fresh(directory: Path) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def metadata(result: TrainResult, export_format: str) -> dict:
    config = result.config
    size = config.input_size
    names = output_names(result.kind)
    data = {
        "format": export_format,
        "kind": result.kind,
        "labels": list(result.labels),
        "input": {
            "name": INPUT_NAME,
            "shape": [1, size, size, 3],
            "dtype": "float32",
            "pixel_range": [0, 255],
            "color_order": "RGB",
            "resize": f"stretch the whole image to {size}x{size} (boxes come back normalised to it)",
        },
        "outputs": {name: OUTPUT_MEANING[name] for name in names},
        "backbone": {"name": "MobileNetV2", "alpha": config.alpha},
        "trained_from_scratch": result.trained_from_scratch,
        "preprocessing": "inside the model: x / 127.5 - 1",
    }
    if result.kind != CLASSIFICATION:
        data["postprocessing"] = {
            "inside_model": True,
            "decoder": "anchor-free centre heatmap (3x3 peak) + box distances, stride 8",
            "nms": "per class, NonMaxSuppressionV5",
            "max_detections": config.max_detections,
            "pre_nms_top_k": config.pre_nms_top_k,
            "score_threshold": config.score_threshold,
            "iou_threshold": config.iou_threshold,
        }
    return data


def _write_sidecars(result: TrainResult, directory: Path, export_format: str, extra: dict) -> None:
    (directory / "labels.json").write_text(json.dumps(list(result.labels), indent=2))
    meta = {**metadata(result, export_format), **extra}
    (directory / "metadata.json").write_text(json.dumps(meta, indent=2))
