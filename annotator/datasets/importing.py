"""Importing a dataset (folder or zip, any known format) into a project: all or nothing.

Three phases: the codec reads and checks every annotation; every image is checked
like an upload and its bytes stored; then one transaction writes labels, image rows,
boxes and classes in bulk. A refusal in any phase removes the bytes already stored,
so a failed import leaves the project exactly as it was. With `skip_invalid`, bad
records are left out instead and each one is listed in the report. Merge rules for
projects that already have images are in docs/datasets.md.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path

from accounts.models import User
from annotator.archives import ArchiveError, safe_extract
from annotator.datasets.db_writes import write_rows
from annotator.datasets.errors import DatasetError
from annotator.datasets.image_store import ImageStore, Progress
from annotator.datasets.report import ImportReport
from annotator.formats import READERS, Dataset, FormatError, detect_format, read_dataset
from annotator.formats.files import dataset_root
from annotator.models import Label, Project
from annotator.permissions import Action, can
from annotator.storage import BucketError, project_bucket

IMPORT_FORMATS = ("auto", *READERS)
_LABEL_MAX = Label.NAME_MAX_LENGTH


def _no_progress(phase: str, done: int, total: int) -> None:
    """The default progress callback: nobody is watching."""


def import_dataset(
    project: Project,
    path: Path,
    format: str = "auto",
    skip_invalid: bool = False,
    *,
    user: User | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the dataset at `path` (a folder or a .zip) into `project`, or raise DatasetError."""
    progress = progress or _no_progress
    if format not in IMPORT_FORMATS:
        raise DatasetError("unknown_format", f"Unknown format {format!r}; use one of {', '.join(IMPORT_FORMATS)}.")
    with tempfile.TemporaryDirectory(prefix="annotator-import-") as tmp:
        root = _unpacked(Path(path), Path(tmp))
        started = time.perf_counter()
        progress("reading", 0, 0)
        report, dataset = _read(root, format, skip_invalid)
        report.seconds["read"] = time.perf_counter() - started
        _check_fits(project, dataset, user)
        _import(project, dataset, report, skip_invalid, user, progress)
    return report


def _unpacked(path: Path, tmp: Path) -> Path:
    if path.is_dir():
        return path
    if not path.is_file():
        raise DatasetError("not_found", f"{path} is neither a folder nor a file.")
    if not zipfile.is_zipfile(path):
        raise DatasetError("not_a_zip", f"{path.name} is not a zip archive; give a .zip or a folder.")
    try:
        safe_extract(path, tmp)
    except ArchiveError as exc:
        raise DatasetError(exc.code, exc.message) from None
    return tmp


def _read(root: Path, format: str, skip_invalid: bool) -> tuple[ImportReport, Dataset]:
    try:
        root = dataset_root(root)
        format_id = detect_format(root) if format == "auto" else format
        result = read_dataset(root, format_id, skip_invalid)
    except FormatError as error:
        raise DatasetError.from_format_error(error) from None
    report = ImportReport(format=format_id, skipped=[error.as_dict() for error in result.skipped])
    return report, result.dataset


def _check_fits(project: Project, dataset: Dataset, user: User | None) -> None:
    """Refuse datasets the project cannot hold before a single byte is stored."""
    if not dataset.images:
        raise DatasetError("empty_dataset", "The dataset contains no images.")
    if dataset.type != project.type and any(image.class_names() for image in dataset.images):
        raise DatasetError(
            "type_mismatch",
            f"This is a {dataset.type} dataset and the project is a {project.type} project; "
            "import it into a project of the same type.",
        )
    if too_long := [name for name in dataset.labels if len(name) > _LABEL_MAX]:
        raise DatasetError("label_too_long", f"Label names are at most {_LABEL_MAX} characters: {too_long[0][:60]!r}…")
    if user is not None and not can(user, Action.CREATE_LABEL, project):
        known = {name.lower() for name in project.labels.values_list("name", flat=True)}
        if new := sorted({name for name in dataset.labels if name.lower() not in known}):
            raise DatasetError(
                "labels_not_allowed",
                f"The dataset uses labels this project does not have ({', '.join(new[:5])}) "
                "and your role may not create labels here.",
            )


def _import(
    project: Project,
    dataset: Dataset,
    report: ImportReport,
    skip_invalid: bool,
    user: User | None,
    progress: Progress,
) -> None:
    store = ImageStore(project, project_bucket(project), skip_invalid, report.skipped)
    try:
        started = time.perf_counter()
        stored = store.store_all(dataset.images, progress)
        report.seconds["images"] = time.perf_counter() - started
        if not stored:
            raise DatasetError("empty_dataset", "No image of the dataset could be imported.", report.skipped)
        started = time.perf_counter()
        progress("database", 0, len(stored))
        write_rows(project, dataset.labels, stored, report, user)
        progress("database", len(stored), len(stored))
        report.seconds["database"] = time.perf_counter() - started
    except BucketError as exc:
        store.remove_written()
        raise DatasetError(exc.code, f"Storing the images failed: {exc}") from None
    except BaseException:
        store.remove_written()
        raise
