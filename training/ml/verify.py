"""Load every export back in its own runtime and compare it with the SavedModel.

TFLite and TF.js must reproduce the SavedModel's outputs on sample images; Core ML cannot
predict on Linux, so its spec is checked against the documented inputs and outputs.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from .dataset import CLASSIFICATION
from .errors import ExportVerificationFailed
from .evaluate import iou_matrix
from .export import ANDROID, IOS, TFLITE_FILE, WEB, ExportPaths, coreml_output_names
from .inference import INPUT_NAME

Outputs = dict[str, np.ndarray]
NODE_SCRIPT = Path(__file__).with_name("tfjs_predict.mjs")


def run_saved_model(directory: Path, images: Sequence[np.ndarray]) -> list[Outputs]:
    serve = tf.saved_model.load(str(directory)).signatures["serving_default"]
    return [{k: v.numpy() for k, v in serve(**{INPUT_NAME: tf.constant(image[None])}).items()} for image in images]


def run_tflite(path: Path, images: Sequence[np.ndarray], num_threads: int = 2) -> list[Outputs]:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path), num_threads=num_threads).get_signature_runner()
    return [runner(**{INPUT_NAME: image[None].astype(np.float32)}) for image in images]


def run_tfjs(directory: Path, images: Sequence[np.ndarray], node_root: Path, timeout: float = 300) -> list[Outputs]:
    """Run the graph model with @tensorflow/tfjs in Node; ``node_root`` holds node_modules.

    Outputs are asked for by the names in metadata.json, so this also checks that the
    model.json signature answers to them."""
    names = [o["name"] for o in json.loads((directory / "metadata.json").read_text())["outputs"].values()]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, image in enumerate(images):
            image[None].astype("<f4").tofile(Path(tmp) / f"{i}.f32")
            files.append(f"{i}.f32")
        request = {"shape": [1, *images[0].shape], "files": files, "outputs": names}
        (Path(tmp) / "request.json").write_text(json.dumps(request))
        env = {**os.environ, "NODE_PATH": str(Path(node_root) / "node_modules")}
        completed = subprocess.run(
            ["node", str(NODE_SCRIPT), str(directory), f"{tmp}/request.json", f"{tmp}/result.json"],
            cwd=node_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if completed.returncode != 0:
            raise ExportVerificationFailed(f"{WEB}: TF.js could not run the model: {completed.stderr[-2000:]}")
        results = json.loads((Path(tmp) / "result.json").read_text())
    return [
        {name: np.asarray(r[name]["data"], np.float32).reshape(r[name]["shape"]) for name in names} for r in results
    ]


def compare_classifier(reference: Outputs, other: Outputs, atol: float) -> list[str]:
    diff = float(np.abs(reference["probabilities"] - other["probabilities"]).max())
    return [f"probabilities differ by {diff:.4g} > {atol}"] if diff > atol else []


def compare_detector(
    reference: Outputs, other: Outputs, atol: float, score_threshold: float = 0.0, min_iou: float = 0.7
) -> list[str]:
    """Compare detections as sets, so near-equal scores may swap order but nothing may be
    missing, moved or rescored. Detections within ``atol`` of a cut-off (the NMS score
    threshold, or the lowest score of a full output) may come or go."""
    problems = []
    ref, oth = _valid(reference), _valid(other)
    threshold = max(score_threshold, _cut_off(reference), _cut_off(other)) + atol
    ref_sorted = np.sort(ref[2])[::-1]
    oth_sorted = np.sort(oth[2])[::-1]
    n = int((ref_sorted > threshold).sum())
    if len(oth_sorted) < n or np.abs(ref_sorted[:n] - oth_sorted[:n]).max(initial=0) > atol:
        problems.append(f"scores differ: {ref_sorted[:5]} vs {oth_sorted[:5]}")
    ious = iou_matrix(ref[0], oth[0])
    for i in np.flatnonzero(ref[2] > threshold):
        same = (oth[1] == ref[1][i]) & (np.abs(oth[2] - ref[2][i]) <= atol) & (ious[i] >= min_iou)
        if not same.any():
            problems.append(f"no match for detection {i} (class {ref[1][i]}, score {ref[2][i]:.3f})")
    return problems


def _cut_off(outputs: Outputs) -> float:
    """The lowest kept score when every output row is used (lower ones were dropped), else 0."""
    scores = _valid(outputs)[2]
    return float(scores.min()) if len(scores) == np.asarray(outputs["scores"]).shape[-1] else 0.0


def _valid(outputs: Outputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = int(np.asarray(outputs["num_detections"]).reshape(-1)[0])
    return (
        np.asarray(outputs["boxes"])[0, :count],
        np.asarray(outputs["classes"])[0, :count].round().astype(int),
        np.asarray(outputs["scores"])[0, :count],
    )


def check_coreml(directory: Path, kind: str, input_size: int) -> list[str]:
    """The spec loads and declares the documented image input and named outputs; a
    classifier also declares its labels, so Vision answers with them."""
    import coremltools as ct

    metadata = json.loads((directory / "metadata.json").read_text())
    spec = ct.models.MLModel(str(directory / metadata["file"]), skip_model_load=True).get_spec()
    problems = []
    inputs = {i.name: i for i in spec.description.input}
    image = inputs.get(INPUT_NAME)
    if image is None or image.type.WhichOneof("Type") != "imageType":
        problems.append(f"input {INPUT_NAME!r} is not an image: {list(inputs)}")
    elif (image.type.imageType.width, image.type.imageType.height) != (input_size, input_size):
        problems.append(f"image input is not {input_size}x{input_size}")
    outputs = sorted(o.name for o in spec.description.output)
    if outputs != sorted(coreml_output_names(kind)):
        problems.append(f"outputs {outputs} != {sorted(coreml_output_names(kind))}")
    if kind == CLASSIFICATION:
        declared = coreml_class_labels(spec)
        if declared != metadata["labels"]:
            problems.append(f"class labels {declared} != {metadata['labels']}")
    return problems


def coreml_class_labels(spec) -> list[str] | None:
    """The labels of an ML Program classifier: the constant list its ``classify`` op reads."""
    main = spec.mlProgram.functions["main"]
    for op in main.block_specializations[main.opset].operations:
        if op.type == "classify":
            classes = op.inputs["classes"].arguments[0].value.immediateValue.list.values
            return [value.immediateValue.tensor.strings.values[0] for value in classes]
    return None


def verify_exports(
    paths: ExportPaths,
    kind: str,
    input_size: int,
    images: Sequence[np.ndarray],
    node_root: str | Path,
    atol: float = 2e-3,
) -> dict[str, dict]:
    """Check every export; return per-format figures or raise ExportVerificationFailed."""
    if not images:
        raise ValueError("verification needs at least one sample image")
    images = [np.asarray(i, np.float32) for i in images]
    reference = run_saved_model(paths.saved_model, images)
    if kind == CLASSIFICATION:
        compare = compare_classifier
    else:
        threshold = json.loads((paths.saved_model / "metadata.json").read_text())["postprocessing"]["score_threshold"]
        compare = functools.partial(compare_detector, score_threshold=threshold)
    report, problems = {}, []
    runs = {
        ANDROID: lambda: run_tflite(paths.android / TFLITE_FILE, images),
        WEB: lambda: run_tfjs(paths.web, images, Path(node_root)),
    }
    for name, run in runs.items():
        try:
            outputs = run()
        except ExportVerificationFailed:
            raise
        except Exception as error:
            raise ExportVerificationFailed(f"{name}: could not run the model: {error}") from error
        found = [
            f"{name} image {i}: {p}"
            for i, (r, o) in enumerate(zip(reference, outputs, strict=True))
            for p in compare(r, o, atol)
        ]
        problems.extend(found)
        report[name] = {"ok": not found, "images": len(images), "max_abs_diff": _max_diff(reference, outputs, kind)}
    coreml = check_coreml(paths.ios, kind, input_size)
    problems.extend(f"{IOS}: {p}" for p in coreml)
    report[IOS] = {"ok": not coreml, "checked": "spec (prediction needs macOS)"}
    if problems:
        raise ExportVerificationFailed("; ".join(problems[:10]))
    return report


def _max_diff(reference: list[Outputs], other: list[Outputs], kind: str) -> float:
    """Largest output difference, on sorted scores for detectors (order may swap on ties)."""
    key = "probabilities" if kind == CLASSIFICATION else "scores"
    return float(
        max(
            np.abs(np.sort(np.ravel(r[key])) - np.sort(np.ravel(o[key]))).max()
            for r, o in zip(reference, other, strict=True)
        )
    )
