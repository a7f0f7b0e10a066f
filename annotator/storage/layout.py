"""Where Annotator keeps its own files in a project's bucket: the one place the layout is spelled.

Everything Annotator writes for itself lives under ``_annotator/`` (thumbnails, dataset import
uploads and exports, training runs, connection probes); the Cloud Annotations interchange file
sits at the bucket's root, where other tools look for it. Neither is ever an image: uploads may
not use these names and a bucket sync never lists them as images (``is_reserved``).
"""

from __future__ import annotations

from annotator.formats.cloud_annotations import FILENAME as ANNOTATIONS_FILE

ROOT = "_annotator/"
THUMBNAILS = f"{ROOT}thumbnails/"
IMPORTS = f"{ROOT}imports/"
EXPORTS = f"{ROOT}exports/"
RUNS = f"{ROOT}runs"
CONNECTION_PROBE = f"{ROOT}connection-test"
READINESS_PREFIX = f"{ROOT}readyz/"

__all__ = ["ANNOTATIONS_FILE", "export_key", "import_key", "is_reserved", "run_prefix", "thumbnail_key"]


def is_reserved(key: str) -> bool:
    """Annotator's own files, and names that would read as the interchange file (``_annotations.json*``)."""
    return key.startswith((ROOT, ANNOTATIONS_FILE))


def thumbnail_key(sha256: str) -> str:
    """Thumbnails are named by content, so identical images share one."""
    return f"{THUMBNAILS}{sha256}.jpg"


def import_key(job_id: int) -> str:
    return f"{IMPORTS}{job_id}.zip"


def export_key(job_id: int, filename: str) -> str:
    return f"{EXPORTS}{job_id}/{filename}"


def run_prefix(run_id: int) -> str:
    """A training run's files: snapshot, models, report and sample predictions (no trailing slash)."""
    return f"{RUNS}/{run_id}"
