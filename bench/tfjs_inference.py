"""Benchmark: TF.js inference of the exported detector and classifier in headless Chromium,
per backend, beside LiteRT on the same images.

Models are the product's defaults in size (detector 320 px, classifier 288 px; inference time
does not depend on how long they trained, so they train for a few steps), exported with
``export_all`` exactly as a run exports them, or taken from ``--models DIR`` (a folder holding
``detector/`` and ``classifier/``, each with ``model_web/`` and ``model_android/``).

Per image, TF.js is timed twice: ``model``, the graph alone (``executeAsync`` on an input
already at model size, until the outputs are read back), and ``helper``, what a page pays for
``annotator.js``'s ``detect(img)`` / ``classify(img)`` (pixels from the <img>, resize, run,
read back). LiteRT runs the same resized pixels with 2 threads. Figures are medians after
warm-up. WASM runs single-threaded, as on the run page: its threaded build needs a
cross-origin-isolated page, which the app does not serve. WebGL is SwiftShader's software
rendering where the machine has no GPU.

    .venv/bin/python bench/tfjs_inference.py [--images 20] [--models DIR]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

DATA = Path("/work/shared/data/playing-cards")
WEIGHTS = "/work/shared/data/keras-weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
OUT = ROOT / "bench" / "out" / "tfjs_inference"
CHROMIUM = os.environ.get("ANNOTATOR_CHROMIUM", "/usr/bin/chromium")
# No --disable-gpu: Chromium may then offer WebGL through SwiftShader (software) where it can.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--no-first-run", "--use-angle=swiftshader",
                 "--enable-unsafe-swiftshader"]  # fmt: skip
TFJS = {
    "tf.min.js": "@tensorflow/tfjs/dist/tf.min.js",
    "tf-backend-wasm.min.js": "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
    **{
        name: f"@tensorflow/tfjs-backend-wasm/dist/{name}"
        for name in ("tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm")
    },
}
PAGE = """<!doctype html><meta charset="utf-8">
<script src="/tf.min.js"></script><script src="/tf-backend-wasm.min.js"></script>
<script>tf.wasm.setWasmPaths("/");</script>"""
TIME_IN_PAGE = """async ({folder, images, backend, warmup}) => {
  if (!(await tf.setBackend(backend))) return { error: `${backend} is not available` };
  await tf.ready();
  const { load } = await import(`/${folder}/annotator.js`);
  const model = await load(`/${folder}/`);
  const size = model.inputSize;
  const pictures = [];
  for (const src of images) {
    const img = new Image();
    img.src = src;
    await img.decode();
    pictures.push(img);
  }
  const inputs = pictures.map((img) => tf.tidy(() => tf.image.cropAndResize(
    tf.browser.fromPixels(img).toFloat().expandDims(0), [[0, 0, 1, 1]], [0], [size, size])));
  const graphOnly = async (input) => {
    let outputs = await model.graph.executeAsync({ image: input }, model.outputNames);
    if (!Array.isArray(outputs)) outputs = [outputs];
    await Promise.all(outputs.map((t) => t.data()));
    tf.dispose(outputs);
  };
  const ask = (img) => model.kind === "detection" ? model.detect(img) : model.classify(img);
  for (let i = 0; i < warmup; i++) { await graphOnly(inputs[i % inputs.length]); await ask(pictures[0]); }
  const timed = async (fn, items) => {
    const ms = [];
    for (const item of items) { const t = performance.now(); await fn(item); ms.push(performance.now() - t); }
    return ms;
  };
  const result = {
    backend: tf.getBackend(),
    model: await timed(graphOnly, inputs),
    helper: await timed(ask, pictures),
  };
  tf.dispose(inputs);
  model.dispose();
  return result;
}"""


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm"}

    def log_message(self, *args: object) -> None:
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def export_models(out: Path) -> Path:
    """Default-sized detector and classifier, trained for a few steps, exported like a run."""
    from training.ml.config import ClassifierConfig, DetectorConfig
    from training.ml.dataset import TrainingSet, crops_as_classification, voc_samples
    from training.ml.export import export_all
    from training.ml.train import train

    labels, samples = voc_samples(DATA / "train")
    crops = crops_as_classification(samples[:40])
    jobs = {
        "detector": (TrainingSet("detection", labels, tuple(samples[:16]), ()),
                     DetectorConfig(weights=WEIGHTS, steps=2, batch_size=8)),
        "classifier": (TrainingSet("classification", labels, tuple(crops), ()),
                       ClassifierConfig(weights=WEIGHTS, head_epochs=1, fine_tune_epochs=0, batch_size=16)),
    }  # fmt: skip
    for name, (data, config) in jobs.items():
        if not (out / name / "model_android" / "model.tflite").is_file():
            print(f"training and exporting the {name} ({config.input_size} px) ...", flush=True)
            export_all(train(data, config), out / name)
    return out


def test_images(count: int, root: Path) -> dict[str, list[Path]]:
    """Test photos for the detector, card crops for the classifier, as PNGs (lossless)."""
    from training.ml.dataset import crops_as_classification, voc_samples

    _, samples = voc_samples(DATA / "test")
    crops = crops_as_classification(samples)
    found: dict[str, list[Path]] = {"detector": [], "classifier": []}
    for name, items in (("detector", samples[:count]), ("classifier", crops[:count])):
        for i, sample in enumerate(items):
            image = Image.open(sample.image_path).convert("RGB")
            if sample.crop is not None:
                x, y, x2, y2 = sample.crop
                w, h = image.size
                image = image.crop((round(x * w), round(y * h), round(x2 * w), round(y2 * h)))
            path = root / f"{name}-{i:03d}.png"
            image.save(path)
            found[name].append(path)
    return found


def litert_ms(tflite: Path, images: list[Path], size: int, warmup: int) -> list[float]:
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(tflite), num_threads=2).get_signature_runner()
    inputs = [
        tf.image.crop_and_resize(np.asarray(Image.open(p), np.float32)[None], [[0, 0, 1, 1]], [0], [size, size]).numpy()
        for p in images
    ]
    for i in range(warmup):
        runner(image=inputs[i % len(inputs)])
    times = []
    for x in inputs:
        started = time.perf_counter()
        runner(image=x)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--models", type=Path, default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    models = args.models or export_models(OUT / "models")
    site = OUT / "site"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    for name, source in TFJS.items():
        shutil.copyfile(ROOT / "node_modules" / source, site / name)
    (site / "index.html").write_text(PAGE)
    images = test_images(args.images, site)
    for name in images:
        shutil.copytree(models / name / "model_web", site / name)

    results: dict[str, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        server, url = serve(site)
        try:
            for backend in ("webgl", "wasm", "cpu"):
                for name, paths in images.items():
                    page = browser.new_page()
                    page.goto(f"{url}/index.html")
                    items = [f"/{p.name}" for p in paths]
                    # The pure-JS CPU backend takes seconds an image: a few images are enough to time it.
                    if backend == "cpu":
                        items = items[:3]
                    warmup = 1 if backend == "cpu" else args.warmup
                    try:
                        request = {"folder": name, "images": items, "backend": backend, "warmup": warmup}
                        found = page.evaluate(TIME_IN_PAGE, request)
                    except Exception as error:  # a backend that fails to start is a figure too
                        found = {"error": str(error).splitlines()[0]}
                    page.close()
                    results.setdefault(name, {})[backend] = found
                    print(name, backend, _summary(found), flush=True)
        finally:
            server.shutdown()
        browser.close()

    for name, paths in images.items():
        meta = json.loads((models / name / "model_android" / "metadata.json").read_text())
        size = meta["input"]["shape"][1]
        results[name]["litert"] = {"model": litert_ms(models / name / "model_android" / "model.tflite", paths, size,
                                                      args.warmup), "size": size}  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print_table(results)


def _summary(found: dict) -> str:
    if "error" in found:
        return f"unavailable: {found['error']}"
    return f"model {statistics.median(found['model']):.1f} ms, helper {statistics.median(found['helper']):.1f} ms"


def print_table(results: dict) -> None:
    print(f"\n{'model':<11}{'backend':<10}{'graph ms':>10}{'helper ms':>11}{'LiteRT ms':>11}{'ratio':>8}")
    for name, by_backend in results.items():
        litert = statistics.median(by_backend["litert"]["model"])
        for backend, found in by_backend.items():
            if backend == "litert":
                continue
            if "error" in found:
                print(f"{name:<11}{backend:<10}{'unavailable':>10}  ({found['error'][:60]})")
                continue
            graph, helper = statistics.median(found["model"]), statistics.median(found["helper"])
            print(f"{name:<11}{backend:<10}{graph:>10.1f}{helper:>11.1f}{litert:>11.1f}{graph / litert:>8.1f}")
        print(f"{name:<11}{'litert':<10}{litert:>10.1f}  (2 threads, {by_backend['litert']['size']} px)")
    target = results.get("detector", {}).get("wasm", {})
    if "helper" in target:
        ms = statistics.median(target["helper"])
        print(f"\ndetector on WASM, per image through the helper: {ms:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
