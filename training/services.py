"""Starting, cancelling and ending runs, through the job kernel (annotator.jobs).

Every status change is the kernel's conditional update, so a cancel, the reaper and a finishing
worker can race and exactly one of them wins; each change is one `job.progress` event. A run
succeeds only together with its Artifact rows, and a failed one removes its unfinished uploads
(Run.on_failed).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from django.db import transaction

from accounts.models import User
from annotator import jobs
from annotator.buckets.thumbnails import ensure_thumbnail
from annotator.errors import CodedError
from annotator.models import Image, Project
from annotator.storage import project_bucket
from training import base_runs, snapshot
from training.hyperparameters import validated
from training.models import Artifact, Run
from training.preflight import EXAMPLES_SHOWN, Preflight, Problem, run_preflight

log = logging.getLogger(__name__)


class PreflightFailed(CodedError):
    """The pre-flight check found problems: the API lists them in `problems` (and `warnings`)."""

    def __init__(self, preflight: Preflight) -> None:
        check = preflight.to_dict()
        super().__init__(
            "preflight_failed",
            "The data is not ready for training; fix the problems listed.",
            problems=check["errors"],
            warnings=check["warnings"],
        )
        self.preflight = preflight


class RunNotActive(CodedError):
    status = 409

    def __init__(self, message: str) -> None:
        super().__init__("run_finished", message)


def create_run(
    project: Project, user: User | None, kind: str, hyperparameters: dict | None, base_run_id: int | None = None
) -> Run:
    """Check the data, freeze the snapshot, and queue the run once it is committed.

    With `base_run_id` the run warm-starts from that run's weights (training.base_runs, which
    raises BaseRunRefused for a run it cannot start from)."""
    base = base_runs.base_run_for(project, kind, base_run_id) if base_run_id is not None else None
    params = validated(kind, hyperparameters, base.hyperparameters if base else None)
    if base is not None:
        base_runs.check_architecture(base, params)
    preflight = run_preflight(project, kind, params["alpha"], params["allow_scratch"], warm_start=base is not None)
    if not preflight.ok:
        raise PreflightFailed(preflight)
    _freeze_checksums(project, preflight)
    manifest = snapshot.build_manifest(preflight, params["seed"], params["validation_fraction"])
    with transaction.atomic():
        run = Run.objects.create(
            project=project,
            kind=kind,
            hyperparameters=params,
            created_by=user,
            base_run=base,
            metrics={"warm_start": base_runs.warm_start_record(base, preflight.labels)} if base else {},
            dataset_summary={**snapshot.summary(manifest), "warnings": [w.to_dict() for w in preflight.warnings]},
        )
        # A rolled-back transaction leaves only an unreferenced snapshot behind, never a run without one.
        run.snapshot_key, run.snapshot_sha256 = snapshot.write_snapshot(project_bucket(project), run.prefix, manifest)
        run.save(update_fields=["snapshot_key", "snapshot_sha256"])
        jobs.publish(run)
        jobs.dispatch(run, "celery")
    return run


def _freeze_checksums(project: Project, preflight: Preflight) -> None:
    """Give every image a checksum to freeze: a bucket sync reads only headers, so some have none yet."""
    unknown = {r.id for r in preflight.images if not r.sha256}
    if not unknown:
        return
    for image in Image.objects.filter(project=project, pk__in=unknown).select_related("project"):
        ensure_thumbnail(image)  # downloads once, checks the bytes as an upload would, records sha256
    checksums = dict(Image.objects.filter(pk__in=unknown).values_list("id", "sha256"))
    unreadable = [r.key for r in preflight.images if r.id in unknown and not checksums.get(r.id)]
    if unreadable:
        preflight.errors.append(
            Problem(
                "images_unreadable",
                f"{len(unreadable)} images in the bucket are not readable images; fix or delete them.",
                count=len(unreadable),
                examples=tuple(unreadable[:EXAMPLES_SHOWN]),
            )
        )
        raise PreflightFailed(preflight)
    preflight.images = [replace(r, sha256=checksums[r.id]) if r.id in unknown else r for r in preflight.images]


def cancel_run(run: Run) -> Run:
    """Queued runs never start; a running worker sees the status at its next heartbeat and stops."""
    if not jobs.cancel(run):
        run.refresh_from_db()
        raise RunNotActive(f"The run has already {run.status}; only queued or running runs can be cancelled.")
    return run


def fail_run(run: Run, code: str, error: str) -> bool:
    """Fail the run with a stable `code` and `error` for the person, unless it already ended; True if
    this call failed it (its unfinished uploads are then removed: Run.on_failed)."""
    return jobs.fail(run, code, error)


def succeed_run(run: Run, metrics: dict, artifacts: list[Artifact]) -> bool:
    """Offer the artifacts and mark the run succeeded in one transaction, if it is still running.

    Unverified exports (`Artifact.verified` false) are offered too: the run still succeeded."""
    run.metrics = metrics
    with transaction.atomic():
        # The rows first, so the "succeeded" event lists them; rolled back if the run ended meanwhile.
        Artifact.objects.bulk_create(artifacts)
        if not jobs.finish(run, "metrics"):
            transaction.set_rollback(True)
            return False
    unverified = ",".join(sorted(a.name for a in artifacts if not a.verified)) or "none"
    log.info("Run %s offers %s artifacts (unverified: %s)", run.pk, len(artifacts), unverified)
    return True
