"""Write one trained model as SavedModel, TF.js graph model, TFLite and Core ML.

Every format is converted from the same SavedModel, whose serving function already holds
preprocessing and (for detectors) box decoding and NMS; each folder gets ``labels.json``,
``metadata.json`` and a ``README.md``.

Invariant: every format answers under the same semantic names (``boxes``, ``classes``,
``scores``, ``num_detections`` or ``probabilities``): the SavedModel and TFLite signatures,
the TF.js ``model.json`` signature (renamed here: the converter matches names by shape and
gives up on ``classes``/``scores``, which share one) and the Core ML features. Each folder's
``metadata.json`` lists, per output, the name to ask that runtime for and the graph tensor
behind it, so a client never guesses ``Identity_1``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

from .config import DetectorConfig
from .dataset import CLASSIFICATION
from .errors import ExportError
from .inference import INPUT_NAME, InferenceModule, output_names
from .loop import TrainResult
from .readme import readme

SAVED_MODEL, WEB, ANDROID, IOS = "model", "model_web", "model_android", "model_ios"
TFLITE_FILE = "model.tflite"
COREML_FILE = "model.mlpackage"
WEB_HELPER = Path(__file__).with_name("web") / "annotator.js"
# Core ML classifiers answer a label string next to the per-label probability dictionary.
COREML_LABEL = "label"

OUTPUT_MEANING = {
    "probabilities": "[1, C] softmax probability per label, in labels.json order",
    "boxes": "[1, D, 4] normalised ymin, xmin, ymax, xmax; rows past num_detections are zero",
    "classes": "[1, D] label index (float) into labels.json",
    "scores": "[1, D] confidence, descending",
    "num_detections": "[1] number of valid rows in boxes/classes/scores",
    COREML_LABEL: "the most probable label (Core ML classifiers only)",
}


@dataclass(frozen=True)
class ExportPaths:
    saved_model: Path
    web: Path
    android: Path
    ios: Path
    # Formats that could not be built, with the reason; their folders do not exist.
    failures: dict[str, str] = field(default_factory=dict)

    def all(self) -> dict[str, Path]:
        """The folders that were built, by format name."""
        paths = {SAVED_MODEL: self.saved_model, WEB: self.web, ANDROID: self.android, IOS: self.ios}
        return {name: path for name, path in paths.items() if name not in self.failures}


def export_all(result: TrainResult, out_dir: str | Path) -> ExportPaths:
    """Export every format under ``out_dir``. The SavedModel is the source of every other
    format, so its failure raises ExportError; another format's failure is recorded in
    ``failures`` (its folder removed) and the others are still built."""
    out_dir = Path(out_dir)
    paths = ExportPaths(out_dir / SAVED_MODEL, out_dir / WEB, out_dir / ANDROID, out_dir / IOS)
    steps = (
        (SAVED_MODEL, lambda: export_saved_model(result, paths.saved_model)),
        (WEB, lambda: export_tfjs(paths.saved_model, paths.web)),
        (ANDROID, lambda: export_tflite(paths.saved_model, paths.android)),
        (IOS, lambda: export_coreml(paths.saved_model, paths.ios, result)),
    )
    for name, step in steps:
        directory = paths.all()[name]
        try:
            extra = step() or {}
        except Exception as error:
            message = str(error) if isinstance(error, ExportError) else f"{name}: {type(error).__name__}: {error}"
            if name == SAVED_MODEL:
                raise ExportError(message) from error
            paths.failures[name] = message[:2000]
            shutil.rmtree(directory, ignore_errors=True)
            continue
        _write_sidecars(result, directory, name, extra)
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
    signature = _signature(directory)
    return {
        "signature": "serving_default",
        "input_tensor": signature.inputs[0].name,
        "output_tensors": signature_tensor_names(directory),
    }


def _signature(saved_model_dir: Path):
    return tf.saved_model.load(str(saved_model_dir)).signatures["serving_default"]


def signature_tensor_names(saved_model_dir: Path) -> dict[str, str]:
    """Output name -> graph tensor name (what TF.js and Core ML see), e.g. boxes -> Identity:0."""
    signature = _signature(saved_model_dir)
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
    tensors = name_tfjs_signature(directory / "model.json", signature_tensor_names(saved_model_dir))
    for helper in (WEB_HELPER, WEB_HELPER.with_suffix(".d.ts")):
        shutil.copyfile(helper, directory / helper.name)
    signature = json.loads((directory / "model.json").read_text())["signature"]
    return {
        "input_tensor": signature["inputs"][INPUT_NAME]["name"],
        "output_tensors": tensors,
        "helper": WEB_HELPER.name,
        "runtime_notes": "Run with await model.executeAsync(input, outputNames) (names from outputs "
        "below): a detector's graph contains NonMaxSuppressionV5, which TF.js only runs asynchronously.",
    }


def name_tfjs_signature(model_json: Path, tensors: dict[str, str]) -> dict[str, str]:
    """Key the model.json signature's outputs by their semantic names; returns name -> tensor.

    TF.js resolves the names given to ``execute``/``executeAsync`` through these keys, and
    ``model.outputs`` lists them.
    """
    model = json.loads(model_json.read_text())
    outputs = model["signature"]["outputs"]
    by_tensor = {entry["name"]: entry for entry in outputs.values()}
    missing = sorted(set(tensors.values()) - set(by_tensor))
    if missing:
        raise ExportError(f"{WEB}: model.json has no outputs {missing}")
    model["signature"]["outputs"] = {name: by_tensor[tensor] for name, tensor in tensors.items()}
    model_json.write_text(json.dumps(model))
    return tensors


def export_tflite(saved_model_dir: Path, directory: Path) -> dict:
    _fresh(directory)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    (directory / TFLITE_FILE).write_bytes(converter.convert())
    return {"file": TFLITE_FILE, "signature": "serving_default", **tflite_tensor_names(directory / TFLITE_FILE)}


def tflite_tensor_names(path: Path) -> dict:
    """The interpreter's tensor names behind the signature (what get_output_details() shows)."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    return {
        "input_tensor": runner.get_input_details()[INPUT_NAME]["name"],
        "output_tensors": {name: d["name"] for name, d in sorted(runner.get_output_details().items())},
    }


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
    tensors = signature_tensor_names(saved_model_dir)
    renames = {tensor.split(":")[0]: name for name, tensor in tensors.items()}
    classifier = None
    if result.kind == CLASSIFICATION:
        # A classifier model makes Vision answer VNClassificationObservation with our labels.
        probabilities = tensors["probabilities"].split(":")[0]
        classifier = ct.ClassifierConfig(
            list(result.labels), predicted_feature_name=COREML_LABEL, predicted_probabilities_output=probabilities
        )
        renames = {f"{COREML_LABEL}_probs": "probabilities"}
    model = ct.convert(
        str(saved_model_dir),
        source="tensorflow",
        inputs=[image],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS15,
        compute_precision=ct.precision.FLOAT32,
        classifier_config=classifier,
    )
    spec = model.get_spec()
    for old, new in renames.items():
        ct.utils.rename_feature(spec, old, new)
    model = ct.models.MLModel(spec, weights_dir=model.weights_dir)
    model.short_description = f"Annotator {result.kind} model ({', '.join(result.labels)})"
    model.user_defined_metadata["labels"] = json.dumps(list(result.labels))
    model.save(str(directory / COREML_FILE))
    return {
        "file": COREML_FILE,
        "input_type": "image (RGB, CVPixelBuffer), pixel values 0..255 passed through unscaled",
        "compute_precision": "float32",
        "output_tensors": {name: name for name in coreml_output_names(result.kind)},
    }


def coreml_output_names(kind: str) -> tuple[str, ...]:
    return (COREML_LABEL, *output_names(kind)) if kind == CLASSIFICATION else output_names(kind)


def _fresh(directory: Path) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def metadata(result: TrainResult, export_format: str, extra: dict | None = None) -> dict:
    """What a client needs: labels, the input, and per output the name to ask this format for.

    ``outputs[name]`` holds ``name`` (what the runtime's signature or feature is called),
    ``tensor`` (the graph tensor behind it), ``shape`` and ``meaning``.
    """
    config = result.config
    size = config.input_size
    extra = extra or {}
    tensors = extra.get("output_tensors") or {}
    names = coreml_output_names(result.kind) if export_format == IOS else output_names(result.kind)
    outputs = {}
    for name in names:
        outputs[name] = {"name": name, "tensor": tensors.get(name, name), "meaning": OUTPUT_MEANING[name]}
        if export_format == IOS and result.kind == CLASSIFICATION:
            dictionary = "[String: Double]: probability of every label, by label"
            outputs[name] |= {"type": "String"} if name == COREML_LABEL else {"type": dictionary, "meaning": dictionary}
        else:
            outputs[name] |= {"shape": _output_shape(name, config, len(result.labels)), "dtype": "float32"}
    data = {
        "format": export_format,
        "kind": result.kind,
        "labels": list(result.labels),
        "input": {
            "name": INPUT_NAME,
            "tensor": extra.get("input_tensor", INPUT_NAME),
            "shape": [1, size, size, 3],
            "dtype": "float32",
            "pixel_range": [0, 255],
            "color_order": "RGB",
            "resize": f"stretch the whole image to {size}x{size} (boxes come back normalised to it)",
        },
        "outputs": outputs,
        "backbone": {"name": "MobileNetV2", "alpha": config.alpha},
        "trained_from_scratch": result.trained_from_scratch,
        "preprocessing": "inside the model: x / 127.5 - 1",
    }
    if isinstance(config, DetectorConfig):  # every detection result, and only those
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


def _output_shape(name: str, config, num_labels: int) -> list[int]:
    if name == "probabilities":
        return [1, num_labels]
    return {"boxes": [1, config.max_detections, 4], "num_detections": [1]}.get(name, [1, config.max_detections])


def _write_sidecars(result: TrainResult, directory: Path, export_format: str, extra: dict) -> None:
    (directory / "labels.json").write_text(json.dumps(list(result.labels), indent=2))
    meta = metadata(result, export_format, extra) | {k: v for k, v in extra.items() if k != "input_tensor"}
    (directory / "metadata.json").write_text(json.dumps(meta, indent=2))
    (directory / "README.md").write_text(readme(meta))
