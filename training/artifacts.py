"""A run's files in the bucket: each model folder as one zip, all four together as
``models.zip``, the report, sample predictions.

Keys live under the run's prefix, `_annotator/runs/<id>/`. Uploading returns unsaved
Artifact rows; the caller saves them together with the run's final status. Every zip holds
its folders' README.md (written by the export), so a zip explains itself once unpacked.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from annotator.models import Project
from annotator.storage import Bucket
from training.ml.readme import all_models_readme
from training.models import BOX_CLASSIFIER_ARTIFACT, CHECKPOINT_ARTIFACT, Artifact, Run, RunStatus

MODEL_NAMES = ("model", "model_web", "model_android", "model_ios")
ALL_MODELS = "models"
# What apps and scripts can ask for by name: one format, or all four in one zip.
DOWNLOADABLE_MODELS = (*MODEL_NAMES, ALL_MODELS)
REPORT = "report"
CHECKPOINT = CHECKPOINT_ARTIFACT
BOX_CLASSIFIER = BOX_CLASSIFIER_ARTIFACT
CHUNK = 1 << 20


def zip_folder(folder: Path, out: BinaryIO) -> None:
    """The folder as a zip whose entries start with the folder's name (model_web/model.json ...)."""
    zip_folders([folder], out)


def zip_folders(folders: list[Path], out: BinaryIO, readme: str | None = None) -> None:
    """Several folders side by side in one zip, with an optional top-level README.md."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if readme is not None:
            archive.writestr("README.md", readme)
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, Path(folder.name) / path.relative_to(folder))


def _digest(stream: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def _upload(run: Run, bucket: Bucket, name: str, filename: str, stream: BinaryIO, content_type: str) -> Artifact:
    sha256, size = _digest(stream)
    key = f"{run.prefix}/{filename}"
    bucket.put(key, stream, content_type=content_type)
    return Artifact(run=run, name=name, key=key, size_bytes=size, sha256=sha256, content_type=content_type)


@contextmanager
def _zipped(folders: list[Path], readme: str | None = None) -> Iterator[BinaryIO]:
    with tempfile.TemporaryFile() as out:
        zip_folders(folders, out, readme)
        out.seek(0)
        yield out


def upload_outcome(
    run: Run,
    bucket: Bucket,
    exports: dict[str, Path],
    predictions: list[Path],
    report: str,
    verification: dict[str, dict] | None = None,
    failures: dict[str, str] | None = None,
) -> list[Artifact]:
    """Upload every file of a finished run; returns the Artifact rows to save.

    ``exports`` holds the model folders that were built (a format that could not be built is
    absent, with its reason in ``failures``); a format whose check failed
    (``verification[name]["ok"]`` false) is uploaded with ``verified=False`` and the reason,
    and so is ``models.zip`` when it holds one. ``models.zip``'s README lists exactly the
    folders it holds, marks the unverified ones and names the missing ones with the reason."""
    verification = verification or {}
    artifacts = []
    built = [name for name in MODEL_NAMES if name in exports]
    unverified = {
        name: verification[name]["error"] or "check failed"
        for name in built
        if not verification.get(name, {}).get("ok", True)
    }
    for name in built:
        with _zipped([exports[name]]) as stream:
            artifact = _upload(run, bucket, name, f"{name}.zip", stream, "application/zip")
        if name in unverified:
            artifact.verified, artifact.verification_error = False, unverified[name]
        artifacts.append(artifact)
    metadata = json.loads((exports[MODEL_NAMES[0]] / "metadata.json").read_text())
    missing = {name: (failures or {}).get(name, "") for name in MODEL_NAMES if name not in exports}
    readme = all_models_readme(metadata, built, unverified, missing)
    with _zipped([exports[name] for name in built], readme) as stream:
        bundle = _upload(run, bucket, ALL_MODELS, f"{ALL_MODELS}.zip", stream, "application/zip")
    if unverified:
        bundle.verified = False
        bundle.verification_error = "holds unverified " + ", ".join(unverified)
    artifacts.append(bundle)
    with tempfile.TemporaryFile() as stream:
        stream.write(report.encode())
        stream.seek(0)
        artifacts.append(_upload(run, bucket, REPORT, "report.json", stream, "application/json"))
    for path in predictions:
        with path.open("rb") as stream:
            artifacts.append(_upload(run, bucket, path.stem, f"predictions/{path.name}", stream, "image/png"))
    return artifacts


def upload_checkpoint(run: Run, bucket: Bucket, path: Path) -> Artifact:
    """The trained weights as `checkpoint.weights.h5`, for runs that warm-start from this one."""
    with path.open("rb") as stream:
        return _upload(run, bucket, CHECKPOINT, path.name, stream, "application/x-hdf5")


def upload_box_classifier(run: Run, bucket: Bucket, folder: Path) -> Artifact:
    """The detector's box classifier (training/ml/box_classifier.py) as `box_classifier.zip`, for
    prediction workers; like the checkpoint, never offered for download."""
    with _zipped([folder]) as stream:
        return _upload(run, bucket, BOX_CLASSIFIER, f"{BOX_CLASSIFIER}.zip", stream, "application/zip")


def latest_model(project: Project, name: str) -> Artifact | None:
    """The newest succeeded run's `name` zip, skipping runs where that export failed its check.

    "Newest" is the run started last (it trained on the latest data), not the one that happened
    to finish last. `models` (all four) counts only when none of the run's exports is unverified.
    """
    runs = Run.objects.filter(project=project, status=RunStatus.SUCCEEDED)
    if name == ALL_MODELS:
        unverified = Artifact.objects.filter(name__in=MODEL_NAMES, verified=False).values("run_id")
        runs = runs.filter(artifacts__name=name).exclude(pk__in=unverified)
    else:
        runs = runs.filter(artifacts__name=name, artifacts__verified=True)
    run = runs.order_by("-id").first()
    return None if run is None else run.artifacts.select_related("run").get(name=name)


def extract_models(run: Run, bucket: Bucket, out_dir: Path, names: tuple[str, ...] = MODEL_NAMES) -> list[Path]:
    """Download model zips (the four by default), check their sha256, unpack them as folders under `out_dir`."""
    folders = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for artifact in run.artifacts.filter(name__in=names).order_by("name"):
        with tempfile.TemporaryFile() as local, bucket.open(artifact.key) as remote:
            while chunk := remote.read(CHUNK):
                local.write(chunk)
            local.seek(0)
            if _digest(local)[0] != artifact.sha256:
                raise ValueError(f"{artifact.name}.zip does not match its recorded checksum.")
            with zipfile.ZipFile(local) as archive:
                safe_extract(archive, out_dir)
        folders.append(out_dir / artifact.name)
    return folders


def safe_extract(archive: zipfile.ZipFile, out_dir: Path) -> None:
    root = out_dir.resolve()
    for member in archive.namelist():
        target = (out_dir / member).resolve()
        if os.path.commonpath([root, target]) != str(root):
            raise ValueError(f"Refusing to extract {member!r} outside {out_dir}.")
    archive.extractall(out_dir)
