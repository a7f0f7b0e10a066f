"""models.zip explains what it holds: its README lists exactly the folders in the zip, marks the
unverified ones with the reason, and names each missing format with why it is missing."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from annotator.storage import project_bucket
from training.artifacts import MODEL_NAMES, upload_outcome
from training.ml.readme import all_models_readme
from training.models import Run

pytestmark = pytest.mark.django_db

META = {"kind": "classification", "labels": ["red", "blue"], "input": {"name": "image", "shape": [1, 64, 64, 3]}}


def folders(root: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Model folders as an export leaves them (their files' contents do not matter here)."""
    out = {}
    for name in names:
        folder = root / name
        folder.mkdir()
        (folder / "metadata.json").write_text(json.dumps({**META, "format": name}))
        (folder / "README.md").write_text(f"# {name}/")
        out[name] = folder
    return out


def bundle(personas, exports: dict[str, Path], **kwargs) -> tuple[list[str], str, dict]:
    run = Run.objects.create(project=personas.project, kind="classification", created_by=personas.owner)
    artifacts = {a.name: a for a in upload_outcome(run, project_bucket(personas.project), exports, [], "{}", **kwargs)}
    archive = zipfile.ZipFile(io.BytesIO(project_bucket(personas.project).read(artifacts["models"].key)))
    return archive.namelist(), archive.read("README.md").decode(), artifacts


def table_folders(readme: str) -> set[str]:
    return {line.split("`")[1].rstrip("/") for line in readme.splitlines() if line.startswith("| `")}


def test_a_complete_zip_lists_all_four_as_verified(personas, tmp_path):
    _, readme, _ = bundle(personas, folders(tmp_path, MODEL_NAMES))
    assert table_folders(readme) == set(MODEL_NAMES)
    assert "every format" in readme and "Not in this zip" not in readme and "unverified" not in readme


def test_the_readme_lists_only_what_the_zip_holds_and_says_why_the_rest_is_missing(personas, tmp_path):
    exports = folders(tmp_path, ("model", "model_web", "model_android"))
    names, readme, artifacts = bundle(
        personas,
        exports,
        verification={"model_android": {"ok": False, "error": "image 0: probabilities differ | by 0.4"}},
        failures={"model_ios": "coremltools failed:\nTraceback ...\nValueError: unsupported op"},
    )
    held = {name.split("/")[0] for name in names if "/" in name}
    assert held == table_folders(readme) == {"model", "model_web", "model_android"}
    unverified = (
        "| `model_android/` | TFLite (LiteRT) | Android | **unverified**: image 0: probabilities differ / by 0.4 |"
    )
    assert unverified in readme  # one line: the pipe in the reason would have split the table cell
    assert "| `model_web/` | TensorFlow.js graph model | Browsers | verified |" in readme
    assert "**Not in this zip**" in readme
    why = "coremltools failed: Traceback ... ValueError: unsupported op"
    assert f"- `model_ios/` (Core ML (ML Program, iOS 15+)): {why}" in readme
    assert "every format" not in readme
    bundled = artifacts["models"]
    assert not bundled.verified and bundled.verification_error == "holds unverified model_android"


def test_a_format_missing_without_a_recorded_reason_is_still_named():
    readme = all_models_readme({**META, "format": "model"}, ["model"], missing={"model_ios": ""})
    assert table_folders(readme) == {"model"}
    for name in ("model_web", "model_android", "model_ios"):
        assert f"- `{name}/` (" in readme and "this run did not build it" in readme
    long = all_models_readme({**META, "format": "model"}, ["model"], missing={"model_web": "x" * 5000})
    assert max(len(line) for line in long.splitlines()) < 400
