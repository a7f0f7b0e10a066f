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

from annotator.storage import Bucket
from training.ml.readme import all_models_readme
from training.models import Artifact, Run

MODEL_NAMES = ("model", "model_web", "model_android", "model_ios")
ALL_MODELS = "models"
REPORT = "report"
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
    run: Run, bucket: Bucket, exports: dict[str, Path], predictions: list[Path], report: str
) -> list[Artifact]:
    """Upload every file of a finished run; returns the Artifact rows to save."""
    artifacts = []
    for name in MODEL_NAMES:
        with _zipped([exports[name]]) as stream:
            artifacts.append(_upload(run, bucket, name, f"{name}.zip", stream, "application/zip"))
    metadata = json.loads((exports[MODEL_NAMES[0]] / "metadata.json").read_text())
    with _zipped([exports[name] for name in MODEL_NAMES], all_models_readme(metadata)) as stream:
        artifacts.append(_upload(run, bucket, ALL_MODELS, f"{ALL_MODELS}.zip", stream, "application/zip"))
    with tempfile.TemporaryFile() as stream:
        stream.write(report.encode())
        stream.seek(0)
        artifacts.append(_upload(run, bucket, REPORT, "report.json", stream, "application/json"))
    for path in predictions:
        with path.open("rb") as stream:
            artifacts.append(_upload(run, bucket, path.stem, f"predictions/{path.name}", stream, "image/png"))
    return artifacts


def extract_models(run: Run, bucket: Bucket, out_dir: Path) -> list[Path]:
    """Download the four model zips and unpack them as folders under `out_dir`."""
    folders = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for artifact in run.artifacts.filter(name__in=MODEL_NAMES).order_by("name"):
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
