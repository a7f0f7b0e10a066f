"""The short README.md written into every model folder (and so into its zip).

Built from the folder's own metadata.json, so it can never name a label, size or output the
model does not have. The long form, with snippets per platform, is docs/models.md.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

FORMATS = {
    "model": ("TensorFlow SavedModel", "Python / TensorFlow Serving: signature `serving_default`."),
    "model_web": (
        "TensorFlow.js graph model",
        "Browsers: the ES module `annotator.js` in this folder loads the model and answers in the "
        "image's pixels (below); `model.json` also loads with plain `tf.loadGraphModel`.",
    ),
    "model_android": ("TFLite (LiteRT)", "Android: `model.tflite`, signature `serving_default`."),
    "model_ios": ("Core ML (ML Program, iOS 15+)", "iOS / macOS: `model.mlpackage`, usable with Vision."),
}
DOCS = "docs/models.md in the Annotator repository"


def readme(meta: dict) -> str:
    title, usage = FORMATS[meta["format"]]
    size = meta["input"]["shape"][1]
    lines = [
        f"# {meta['format']}/ — {title}",
        "",
        f"An Annotator {meta['kind']} model (MobileNetV2 backbone).",
        "",
        f"- **Labels** ({len(meta['labels'])}, index order, also in `labels.json`): "
        + ", ".join(f"{i} `{label}`" for i, label in enumerate(meta["labels"])),
        f"- **Input** `{meta['input']['name']}`: {size}x{size} RGB, pixel values 0-255 as float32 "
        f"(shape {meta['input']['shape']}); stretch the whole image to {size}x{size}. "
        "Normalisation happens inside the model.",
        "- **Outputs**:",
    ]
    for output in meta["outputs"].values():
        tensor = f" (graph tensor `{output['tensor']}`)" if output["tensor"] != output["name"] else ""
        lines.append(f"  - `{output['name']}`{tensor}: {output['meaning']}")
    lines += ["", f"**Use**: {usage}"]
    if meta["format"] == "model_web":
        lines += ["", "```js", *web_snippet(meta["kind"]), "```"]
    if meta.get("trained_from_scratch"):
        lines += ["", "**Note**: no pretrained weights were available; this model trained from scratch."]
    lines += ["", f"`metadata.json` lists every name exactly. More, with snippets per platform: {DOCS}.", ""]
    return "\n".join(lines)


def web_snippet(kind: str) -> list[str]:
    if kind == "classification":
        call = "await model.classify(img);  // [{label, probability}], most probable first"
    else:
        call = "await model.detect(img);  // [{label, score, box: {x, y, width, height}}] in img's pixels"
    return [
        '// <script src="tf.min.js"></script> (@tensorflow/tfjs 4.x) before this module',
        "import { load } from './model_web/annotator.js';",
        "const model = await load('model_web/');",
        f"const answer = {call}",
    ]


def all_models_readme(
    meta: dict,
    included: Collection[str],
    unverified: Mapping[str, str] | None = None,
    missing: Mapping[str, str] | None = None,
) -> str:
    """The top-level README.md of the zip holding every model folder that was built.

    It lists exactly the folders in ``included`` (a format that could not be built is not in
    the zip, so the README must not promise it), marks those whose check failed
    (``unverified``: folder -> why), and names each format left out with the reason
    (``missing``: folder -> why; a format absent from both is named as not built)."""
    unverified, missing = unverified or {}, missing or {}
    size = meta["input"]["shape"][1]
    lines = [
        f"# Annotator {meta['kind']} model — {'every format' if len(included) == len(FORMATS) else 'its formats'}",
        "",
        f"- **Labels**: {', '.join(f'`{label}`' for label in meta['labels'])} (`labels.json` in each folder)",
        f"- **Input**: {size}x{size} RGB, pixel values 0-255; stretch the whole image to that size.",
        "",
        "| folder | format | for | check |",
        "|---|---|---|---|",
    ]
    for folder, (title, usage) in FORMATS.items():
        if folder in included:
            check = f"**unverified**: {_one_line(unverified[folder])}" if folder in unverified else "verified"
            lines.append(f"| `{folder}/` | {title} | {usage.split(':')[0]} | {check} |")
    if unverified:
        lines += [
            "",
            "An **unverified** folder did not answer like the SavedModel when loaded back in its own runtime; "
            "it is included so you can decide, but check its answers before you ship it.",
        ]
    left_out = [folder for folder in FORMATS if folder not in included]
    if left_out:
        lines += ["", "**Not in this zip** (the export could not be built; the rest of the run is unaffected):", ""]
        for folder in left_out:
            why = _one_line(missing.get(folder) or "this run did not build it")
            lines.append(f"- `{folder}/` ({FORMATS[folder][0]}): {why}")
    lines += ["", f"Each folder has its own README.md and metadata.json (exact tensor names). More: {DOCS}.", ""]
    return "\n".join(lines)


def _one_line(text: str, limit: int = 300) -> str:
    """A reason fit for a table cell or a list item: one line, no pipes, not a whole traceback."""
    line = " ".join(text.split()).replace("|", "/")
    return line if len(line) <= limit else line[: limit - 1] + "…"
