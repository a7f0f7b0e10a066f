"""model_web/annotator.js in Chromium agrees with the TFLite model on the same images.

Images are PNGs (lossless, so the browser and PIL decode the same pixels); the helper's
answers in pixels are turned back into the model's normalised outputs and compared with
the verification's own rules (detections as sets, scores within 2e-3).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.ml.browser import add_tfjs, chromium, serve
from training.ml.verify import compare_detector, run_tflite

IMAGES = 3
HELPER_CALLS = """async ({folder, images, backend, minScore}) => {
  await tf.setBackend(backend);
  await tf.ready();
  const { load } = await import(`/${folder}/annotator.js`);
  const model = await load(`/${folder}/`);
  const answers = [];
  let tensors = null;
  for (const src of images) {
    const img = new Image();
    img.src = src;
    await img.decode();
    answers.push(model.kind === "detection" ? await model.detect(img, { minScore }) : await model.classify(img));
    tensors ??= tf.memory().numTensors;  // after the first call: nothing may pile up after it
  }
  return { answers, backend: tf.getBackend(), leaked: tf.memory().numTensors - tensors };
}"""


@pytest.fixture(scope="module")
def site(detector_run, classifier_run, tiny_detection, tiny_classification, node_root, tmp_path_factory):
    """A web root with both models, TF.js and a few PNGs from each run's validation images."""
    root = tmp_path_factory.mktemp("site")
    add_tfjs(root, node_root)
    for name, run in (("detector", detector_run), ("classifier", classifier_run)):
        shutil.copytree(run.exports.web, root / name)
    data = {"detector": tiny_detection.validation, "classifier": tiny_classification.validation}
    for name, samples in data.items():
        for i, sample in enumerate(samples[:IMAGES]):
            image = Image.open(sample.image_path).convert("RGB")
            if sample.crop is not None:  # classifier samples are card crops of the photos
                x, y, x2, y2 = sample.crop
                w, h = image.size
                image = image.crop((round(x * w), round(y * h), round(x2 * w), round(y2 * h)))
            image.thumbnail((400, 400))
            image.save(root / f"{name}-{i}.png")
    with serve(root) as url:
        yield root, url


def tflite_answers(run, images: list[Path]) -> list[dict]:
    """TFLite on the same pixels, stretched as training stretched them (crop_and_resize)."""
    import tensorflow as tf

    size = json.loads((run.exports.android / "metadata.json").read_text())["input"]["shape"][1]
    pixels = []
    for path in images:
        array = np.asarray(Image.open(path).convert("RGB"), np.float32)[None]
        pixels.append(tf.image.crop_and_resize(array, [[0.0, 0.0, 1.0, 1.0]], [0], [size, size])[0].numpy())
    return run_tflite(run.exports.android / "model.tflite", pixels)


def as_outputs(found: list[dict], labels: list[str], width: int, height: int) -> dict:
    """The helper's pixel answers back in the model's own normalised output arrays."""
    boxes = [[d["box"]["y"] / height, d["box"]["x"] / width, (d["box"]["y"] + d["box"]["height"]) / height,
              (d["box"]["x"] + d["box"]["width"]) / width] for d in found]  # fmt: skip
    return {
        "boxes": np.asarray(boxes, np.float32).reshape(1, -1, 4),
        "classes": np.asarray([[labels.index(d["label"]) for d in found]], np.float32),
        "scores": np.asarray([[d["score"] for d in found]], np.float32),
        "num_detections": np.asarray([len(found)], np.float32),
    }


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_helper_detects_what_tflite_detects(site, detector_run, backend):
    root, url = site
    images = sorted(root.glob("detector-*.png"))
    threshold = json.loads((detector_run.exports.web / "metadata.json").read_text())["postprocessing"]
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{url}/blank.html")
        args = {"folder": "detector", "images": [f"/{p.name}" for p in images], "backend": backend, "minScore": 0}
        result = page.evaluate(HELPER_CALLS, args)
    assert result["backend"] == backend and result["leaked"] == 0
    reference = tflite_answers(detector_run, images)
    assert sum(int(r["num_detections"][0]) for r in reference) > 0
    labels = list(detector_run.labels)
    for path, found, ref in zip(images, result["answers"], reference, strict=True):
        assert all(set(d) == {"label", "score", "box"} for d in found)
        width, height = Image.open(path).size
        other = as_outputs(found, labels, width, height)
        assert compare_detector(ref, other, atol=2e-3, score_threshold=threshold["score_threshold"]) == []


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_helper_classifies_as_tflite_does(site, classifier_run, backend):
    root, url = site
    images = sorted(root.glob("classifier-*.png"))
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{url}/blank.html")
        args = {"folder": "classifier", "images": [f"/{p.name}" for p in images], "backend": backend, "minScore": 0}
        result = page.evaluate(HELPER_CALLS, args)
    assert result["backend"] == backend and result["leaked"] == 0
    labels = list(classifier_run.labels)
    for answer, ref in zip(result["answers"], tflite_answers(classifier_run, images), strict=True):
        probabilities = [p["probability"] for p in answer]
        assert probabilities == sorted(probabilities, reverse=True)
        by_label = {p["label"]: p["probability"] for p in answer}
        np.testing.assert_allclose([by_label[label] for label in labels], ref["probabilities"][0], atol=1e-3)


def test_helper_refuses_the_wrong_question(site):
    _, url = site
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{url}/blank.html")
        message = page.evaluate("""async () => {
          const { load } = await import("/classifier/annotator.js");
          const model = await load("/classifier/");
          try { await model.detect(new ImageData(8, 8)); } catch (error) { return error.message; }
        }""")
    assert "use classify()" in message
