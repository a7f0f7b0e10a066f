"""docs/models.md's snippets work on real exports.

The web snippets run in Chromium and the Python one under this interpreter, each in a folder
laid out as the docs say (model folders next to the page or script, a photo.png). Kotlin and
Swift cannot run here: their tensor and feature names are checked against metadata.json.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.ml.browser import add_tfjs, chromium, serve
from tests.ml.conftest import REPO_ROOT
from training.ml.config import DetectorConfig

DOC = REPO_ROOT / "docs" / "models.md"


def snippet(name: str) -> str:
    match = re.search(rf"<!-- snippet: {name} -->\s*```\w+\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert match, f"docs/models.md has no snippet {name!r}"
    return match.group(1)


def photo(run, data, folder: Path) -> None:
    sample = data.validation[0]
    image = Image.open(sample.image_path).convert("RGB")
    if sample.crop is not None:
        x, y, x2, y2 = sample.crop
        w, h = image.size
        image = image.crop((round(x * w), round(y * h), round(x2 * w), round(y2 * h)))
    image.save(folder / "photo.png")


@pytest.fixture(params=["detector", "classifier"])
def model(request, tiny_detection, tiny_classification):
    run = request.getfixturevalue(f"{request.param}_run")
    return run, tiny_detection if request.param == "detector" else tiny_classification


@pytest.mark.parametrize("name", ["web-helper", "web-plain"])
def test_web_snippets_run_in_chromium(model, name, node_root, tmp_path):
    run, data = model
    add_tfjs(tmp_path, node_root)
    shutil.copytree(run.exports.web, tmp_path / "model_web")
    photo(run, data, tmp_path)
    (tmp_path / "index.html").write_text(snippet(name))
    with serve(tmp_path) as url, chromium() as browser:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # The snippets log one JSON line; Chromium may log GL driver notes of its own.
        answered = lambda m: m.type == "log" and m.text.startswith(("[", "{"))  # noqa: E731
        with page.expect_console_message(answered, timeout=60_000) as message:
            page.goto(f"{url}/index.html")
        answer = json.loads(message.value.text)
    assert errors == []
    labels = list(run.labels)
    if name == "web-plain":
        detector = {"boxes", "classes", "num_detections", "scores"}
        assert set(answer) == ({"probabilities"} if run.kind == "classification" else detector)
    elif run.kind == "classification":
        assert sorted(c["label"] for c in answer) == sorted(labels)
    else:
        assert all(d["label"] in labels and d["score"] >= 0.3 and set(d["box"]) == {"x", "y", "width", "height"}
                   for d in answer)  # fmt: skip


def test_python_snippet_runs(model, tmp_path):
    run, data = model
    shutil.copytree(run.exports.android, tmp_path / "model_android")
    photo(run, data, tmp_path)
    (tmp_path / "snippet.py").write_text(snippet("python"))
    done = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [line.split()[0] for line in done.stdout.splitlines()]
    if run.kind == "classification":
        assert sorted(printed) == sorted(run.labels)
    else:
        assert set(printed) <= set(run.labels)


def _strings(code: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, code))


def test_android_snippet_uses_the_tflite_names(detector_run, classifier_run):
    code = snippet("android")
    meta = json.loads((detector_run.exports.android / "metadata.json").read_text())
    assert _strings(code, r'"(\w+)" to ') == {meta["input"]["name"], *meta["outputs"]}
    assert f'"{meta["signature"]}"' in code
    assert f"Array(1) {{ Array({meta['outputs']['boxes']['shape'][1]}) {{ FloatArray(4) }} }}" in code
    assert f"size: Int = {DetectorConfig().input_size}" in code
    classifier = json.loads((classifier_run.exports.android / "metadata.json").read_text())
    assert _strings(DOC.read_text(), r'mapOf\("(\w+)" to Array\(1\)') == set(classifier["outputs"])


def test_ios_snippet_uses_the_core_ml_names(detector_run, classifier_run):
    code = snippet("ios")
    meta = json.loads((detector_run.exports.ios / "metadata.json").read_text())
    assert _strings(code, r'out\["(\w+)"\]') == set(meta["outputs"])
    assert meta["file"] == "model.mlpackage" and "model(configuration:" in code
    classifier = json.loads((classifier_run.exports.ios / "metadata.json").read_text())
    # Vision answers VNClassificationObservation only for a model that declares itself a classifier.
    assert "VNClassificationObservation" in code and "label" in classifier["outputs"]
    assert ".scaleFill" in code and "stretch" in meta["input"]["resize"]
