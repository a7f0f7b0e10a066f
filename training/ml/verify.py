"""Load every export back in its own runtime and compare it with the SavedModel.

TFLite and TF.js must give a client the SavedModel's answers on sample images; Core ML cannot
predict on Linux, so its spec is checked against the documented inputs and outputs.

The comparison is what a client would use, with a tolerance: a classifier's probabilities
(within ``CLASSIFIER_ATOL``) and its top-1 label; a detector's detections at or above a client's
score threshold, matched as sets by class, box overlap and score. A weak model's many
near-uniform low scores reorder freely under NMS and are not compared one by one.

A failing check never raises: each format gets ``{"ok": False, "error": ...}`` and the caller
offers it marked unverified next to the ones that passed.
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

from .boxes import iou_matrix
from .dataset import CLASSIFICATION
from .errors import ExportVerificationFailed
from .export import ANDROID, IOS, TFLITE_FILE, WEB, ExportPaths, coreml_output_names
from .inference import INPUT_NAME

Outputs = dict[str, np.ndarray]
NODE_SCRIPT = Path(__file__).with_name("tfjs_predict.mjs")
# The lowest score a client shows (our examples use 0.3, the helpers default to 0.5).
CLIENT_SCORE_THRESHOLD = 0.3
CLASSIFIER_ATOL = 1e-2  # probabilities
DETECTOR_SCORE_ATOL = 1e-2  # scores of matched detections
DETECTOR_MIN_IOU = 0.5  # box overlap of matched detections (NMS keeps one box per 0.5 overlap)
# Two same-class candidates this close in score and this much overlapped are a near tie: which
# one the 3x3 peak test and NMS keep is float noise (a neighbouring cell wins by 1e-7, then NMS
# drops it under a stronger box), so either runtime may show one where the other shows its twin.
DETECTOR_TIE_IOU = 0.4


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


def compare_classifier(reference: Outputs, other: Outputs, atol: float = CLASSIFIER_ATOL) -> list[str]:
    """Probabilities within ``atol``, and the same top-1 label unless the reference's two best
    are themselves within ``atol`` (a tie either runtime may break)."""
    ref, oth = np.ravel(reference["probabilities"]), np.ravel(other["probabilities"])
    problems = []
    diff = float(np.abs(ref - oth).max())
    if diff > atol:
        problems.append(f"probabilities differ by {diff:.4g} > {atol}")
    top = np.sort(ref)[::-1]
    tie = len(top) > 1 and top[0] - top[1] <= atol
    if int(ref.argmax()) != int(oth.argmax()) and not tie:
        problems.append(f"top-1 label {int(oth.argmax())} instead of {int(ref.argmax())}")
    return problems


def compare_detector(
    reference: Outputs,
    other: Outputs,
    atol: float = DETECTOR_SCORE_ATOL,
    score_threshold: float = CLIENT_SCORE_THRESHOLD,
    min_iou: float = DETECTOR_MIN_IOU,
) -> list[str]:
    """Compare what a client shows: every detection above ``score_threshold`` in either output
    must have a partner in the other of the same class, overlapping by ``min_iou`` and scored
    within ``atol``. Order may differ; detections within ``atol`` of a cut-off (the threshold,
    or the lowest score of a full output) may come or go; lower ones are not compared. A
    detection may also go where it has a near tie, a twin both outputs keep: another detection
    of its class, scored within ``atol``, overlapping it by DETECTOR_TIE_IOU (which of the two
    the peak test and NMS keep is float noise)."""
    ref, oth = _valid(reference), _valid(other)
    threshold = max(score_threshold, _cut_off(reference), _cut_off(other)) + atol
    problems = []
    for (a, b), what in (((ref, oth), "missing"), ((oth, ref), "extra")):
        ious = iou_matrix(a[0], b[0])
        # partners[i, j]: b's detection j answers a's detection i.
        alike = (a[1][:, None] == b[1][None, :]) & (np.abs(a[2][:, None] - b[2][None, :]) <= atol)
        partners = alike & (ious >= min_iou)
        for i in np.flatnonzero(a[2] > threshold):
            if partners[i].any():
                continue
            twin_kept = np.delete(partners, i, axis=0).any(axis=0)  # b's detections another of a's answers
            if (alike[i] & (ious[i] >= DETECTOR_TIE_IOU) & twin_kept).any():
                continue
            problems.append(f"{what} detection (class {a[1][i]}, score {a[2][i]:.3f}, box {np.round(a[0][i], 3)})")
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
    atol: float | None = None,
) -> dict[str, dict]:
    """Check every export that was built; per format ``{"ok": bool, "error": str | None, ...}``.

    The SavedModel is the reference, so it must run (its failure raises); a format that cannot
    run or disagrees is reported, never raised."""
    if not images:
        raise ValueError("verification needs at least one sample image")
    images = [np.asarray(i, np.float32) for i in images]
    reference = run_saved_model(paths.saved_model, images)
    if kind == CLASSIFICATION:
        compare = functools.partial(compare_classifier, atol=atol or CLASSIFIER_ATOL)
    else:
        nms = json.loads((paths.saved_model / "metadata.json").read_text())["postprocessing"]["score_threshold"]
        threshold = max(nms, CLIENT_SCORE_THRESHOLD)
        compare = functools.partial(compare_detector, atol=atol or DETECTOR_SCORE_ATOL, score_threshold=threshold)
    report = {}
    runs = {
        ANDROID: lambda: run_tflite(paths.android / TFLITE_FILE, images),
        WEB: lambda: run_tfjs(paths.web, images, Path(node_root)),
    }
    for name, run in runs.items():
        if name not in paths.all():
            continue
        try:
            outputs = run()
        except Exception as error:  # reported on the export, which is offered unverified
            report[name] = {"ok": False, "error": f"could not run the model: {error}"[:2000], "images": len(images)}
            continue
        found = [
            f"image {i}: {p}" for i, (r, o) in enumerate(zip(reference, outputs, strict=True)) for p in compare(r, o)
        ]
        report[name] = {
            "ok": not found,
            "error": _summary(found),
            "images": len(images),
            "max_abs_diff": _max_diff(reference, outputs, kind),
        }
    if IOS in paths.all():
        try:
            coreml = check_coreml(paths.ios, kind, input_size)
        except Exception as error:
            coreml = [f"could not read the model: {error}"]
        report[IOS] = {"ok": not coreml, "error": _summary(coreml), "checked": "spec (prediction needs macOS)"}
    return report


def _summary(problems: list[str], shown: int = 5) -> str | None:
    if not problems:
        return None
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return "; ".join(problems[:shown]) + more


def _max_diff(reference: list[Outputs], other: list[Outputs], kind: str) -> float:
    """Largest output difference, on sorted scores for detectors (order may swap on ties)."""
    key = "probabilities" if kind == CLASSIFICATION else "scores"
    return float(
        max(
            np.abs(np.sort(np.ravel(r[key])) - np.sort(np.ravel(o[key]))).max()
            for r, o in zip(reference, other, strict=True)
        )
    )
