"""Assist fixtures: succeeded runs (with or without real model zips) and suggestions to decide on.

The real models are tests/training/tiny_models.py's few-op networks, exported as the worker's
exports are (model/ a SavedModel, model_android/ a LiteRT flatbuffer), built once per session.
The detector finds one box (x 0.1..0.5, y 0.25..0.75) of its first label with score 0.9; the
classifier answers red vs blue from the pixels.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from annotator.models import Image, Label, Project
from annotator.storage import project_bucket
from assist.models import Suggestion
from tests.training.conftest import classification_project  # noqa: F401 (a shared fixture)
from tests.training.tiny_models import succeeded_run
from training import snapshot
from training.models import Artifact, Run, RunStatus

DETECTOR_BOX = (0.1, 0.25, 0.5, 0.75)


@pytest.fixture
def project(personas) -> Project:
    return personas.project  # a detection ("localization") project


@pytest.fixture
def labels(project: Project) -> dict[str, Label]:
    from annotator.services.projects import create_label

    return {name: create_label(project, name) for name in ("red", "blue")}


@pytest.fixture
def images(project: Project, personas) -> list[Image]:
    from tests.training.conftest import COLOURS, upload

    return upload(project, personas.owner, [(f"img-{i}.png", COLOURS["red"]) for i in range(3)])


def make_run(project: Project, kind: str = "detection", status: str = RunStatus.SUCCEEDED, **fields) -> Run:
    """A run row; `models=True` adds model zip rows (not readable: for code that only asks whether)."""
    models = fields.pop("models", True)
    run = Run.objects.create(project=project, kind=kind, status=status, **fields)
    if models:
        Artifact.objects.create(run=run, name="model", key=f"{run.prefix}/model.zip", size_bytes=1, sha256="0" * 64,
                                content_type="application/zip")  # fmt: skip
    return run


def suggest(image: Image, run: Run, label: Label, score: float = 0.9, box=DETECTOR_BOX, **fields) -> Suggestion:
    coords = dict(zip(("x", "y", "x2", "y2"), box, strict=True)) if box else {}
    return Suggestion.objects.create(image=image, run=run, label=label, score=score, **coords, **fields)


def with_labels(run: Run, labels: list[Label]) -> Run:
    """Give the run a snapshot naming its outputs' label ids, as create_run freezes it."""
    manifest = {"labels": [label.name for label in labels], "label_ids": [label.pk for label in labels], "images": []}
    run.snapshot_key, run.snapshot_sha256 = snapshot.write_snapshot(project_bucket(run.project), run.prefix, manifest)
    run.save(update_fields=["snapshot_key", "snapshot_sha256"])
    return run


def real_run(project: Project, user, kind: str, folders: dict[str, Path], labels: list[Label]) -> Run:
    """A succeeded run whose model zips are in the project's bucket, as the worker uploads them."""
    return with_labels(succeeded_run(project, user, kind, folders), labels)


@pytest.fixture(scope="session")
def model_folders(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """{kind: {"model": SavedModel folder, "model_android": LiteRT folder}} of the tiny models."""
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    pytest.importorskip("tensorflow")
    pytest.importorskip("tensorflowjs")
    pytest.importorskip("ai_edge_litert")
    from tests.training import tiny_models
    from training.ml.export import export_tflite

    folders = {}
    for kind in ("detection", "classification"):
        built = tiny_models.build(kind, ["red", "blue"], tmp_path_factory.mktemp(kind))
        android = built["model"].parent / "model_android"
        export_tflite(built["model"], android)
        meta = json.loads((built["model"] / "metadata.json").read_text())
        (android / "metadata.json").write_text(json.dumps({**meta, "format": "model_android", "file": "model.tflite"}))
        shutil.copy(built["model"] / "labels.json", android / "labels.json")
        folders[kind] = {"model": built["model"], "model_android": android}
    return folders
