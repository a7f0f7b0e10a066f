"""Which earlier run a new one may warm-start from, and how its labels carry over.

A compatible base run is a succeeded run of the same project and kind whose trained weights
were kept (its `checkpoint` artifact) and whose architecture (MobileNetV2 width `alpha`, input
size) is the new run's: weights fit no other shape. A run asked to start from a base gets the
base's architecture unless told otherwise; a different one is refused, naming why.

Labels carry over by id, then by name (training.ml.warmstart.label_mapping): a renamed label
keeps what the model learnt, a new label gets a fresh output row, a deleted one is dropped.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from django.db.models import Exists, OuterRef

from annotator.errors import CodedError
from annotator.models import Project
from annotator.storage import BucketError, project_bucket
from training import snapshot
from training.artifacts import CHECKPOINT
from training.ml.warmstart import WarmStart, label_mapping, summary
from training.models import Artifact, Run, RunStatus

log = logging.getLogger(__name__)

# Hyper-parameters that shape the weights: a base run must have the new run's.
ARCHITECTURE = ("alpha", "input_size")
OFFERED = 20  # compatible runs listed for a form to choose from


class BaseRunRefused(CodedError):
    """The run asked for cannot seed this one; `code` is the API's error code."""


def with_checkpoint(project: Project, kind: str):
    """Succeeded runs of `kind` in `project` that kept their weights, newest first."""
    checkpoint = Artifact.objects.filter(run=OuterRef("pk"), name=CHECKPOINT)
    return (
        Run.objects.filter(project=project, kind=kind, status=RunStatus.SUCCEEDED)
        .filter(Exists(checkpoint))
        .order_by("-id")
    )


def offered(project: Project, kind: str) -> list[Run]:
    """What a form offers to start from: the newest compatible runs, the first being the default."""
    return list(with_checkpoint(project, kind)[:OFFERED])


def base_run_for(project: Project, kind: str, base_run_id: int) -> Run:
    """The run `base_run_id` of `project`, if a run of `kind` can start from it."""
    run = Run.objects.filter(project=project, pk=base_run_id).first()
    if run is None:
        raise BaseRunRefused("base_run_not_found", f"This project has no run {base_run_id}.")
    if run.kind != kind:
        raise BaseRunRefused(
            "base_run_incompatible", f"Run {run.pk} trained a {run.kind} model; this run trains a {kind} model."
        )
    if run.status != RunStatus.SUCCEEDED:
        raise BaseRunRefused(
            "base_run_incompatible", f"Run {run.pk} {run.status}; only a succeeded run's weights can be reused."
        )
    if not run.artifacts.filter(name=CHECKPOINT).exists():
        raise BaseRunRefused(
            "base_run_incompatible",
            f"Run {run.pk} kept no weights to start from (it finished before runs saved them); "
            "pick a later run or start from ImageNet.",
        )
    return run


def check_architecture(base: Run, params: dict) -> None:
    """Refuse hyper-parameters whose model the base run's weights do not fit."""
    different = [name for name in ARCHITECTURE if base.hyperparameters.get(name) != params.get(name)]
    if different:
        wanted = ", ".join(f"{n} {params.get(n)} (run {base.pk}: {base.hyperparameters.get(n)})" for n in different)
        raise BaseRunRefused(
            "base_run_incompatible",
            f"Run {base.pk}'s weights only fit its own architecture; this run asks for {wanted}. "
            "Leave them unset to inherit them, or start from ImageNet.",
        )


def warm_start_record(base: Run, labels: list[tuple[int, str]]) -> dict:
    """`Run.metrics["warm_start"]` for a run on `labels` ((id, name), in output order) from `base`."""
    base_labels = run_labels(base)
    mapping = label_mapping(base_labels, labels)
    return summary(base.pk, [name for _, name in base_labels], [name for _, name in labels], mapping)


def run_labels(run: Run) -> list[tuple[int | None, str]]:
    """A run's output rows as (label id, name), in output order: ids from its snapshot, or names
    alone. Warm starts and prediction jobs (assist/worker.py) map outputs to labels with it."""
    names = run.metrics.get("labels") or run.dataset_summary.get("labels") or []
    try:
        manifest = snapshot.read_snapshot(project_bucket(run.project), run.snapshot_key, run.snapshot_sha256)
    except (BucketError, snapshot.SnapshotChanged, ValueError) as exc:
        log.warning("Run %s's snapshot is unreadable (%s); matching its labels by name", run.pk, exc)
        return [(None, name) for name in names]
    ids = manifest.get("label_ids") or [None] * len(manifest["labels"])
    return list(zip(ids, manifest["labels"], strict=True))


def fetch_warm_start(run: Run, work_dir: Path) -> WarmStart | None:
    """The worker's side: the base run's checkpoint downloaded to `work_dir`, with the label
    mapping recorded when the run was created; None for a run that starts from ImageNet."""
    record = run.metrics.get("warm_start")
    if not record:
        return None
    base = run.base_run
    artifact = base.artifacts.filter(name=CHECKPOINT).first() if base is not None else None
    if base is None or artifact is None:
        raise BaseRunRefused(
            "base_run_gone",
            f"Run {record['base_run']}, which this run starts from, or its weights were deleted after this "
            "run was queued. Start a new run.",
        )
    path = work_dir / "base" / artifact.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with project_bucket(run.project).open(artifact.key) as remote, path.open("wb") as local:
        while chunk := remote.read(1 << 20):
            digest.update(chunk)
            local.write(chunk)
    if digest.hexdigest() != artifact.sha256:
        raise BaseRunRefused("base_run_gone", f"Run {base.pk}'s weights changed in the bucket since it finished.")
    base_labels = tuple(base.metrics.get("labels") or base.dataset_summary.get("labels") or ())
    return WarmStart(path, base_labels, tuple(record["mapping"]))
