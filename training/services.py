"""Starting, cancelling and ending runs: every status change of a run happens here.

Status changes are conditional updates (`WHERE status IN ...`), so a cancel, the reaper
and a finishing worker can race and exactly one of them wins.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotator.buckets.thumbnails import ensure_thumbnail
from annotator.events import broadcast
from annotator.models import Image, Project
from annotator.storage import BucketError, project_bucket
from config.logs import job_event
from training import base_runs, dispatch, snapshot
from training.hyperparameters import validated
from training.models import ACTIVE_STATUSES, Artifact, Run, RunStatus
from training.preflight import EXAMPLES_SHOWN, Preflight, Problem, run_preflight

log = logging.getLogger(__name__)


class PreflightFailed(Exception):
    def __init__(self, preflight: Preflight) -> None:
        super().__init__("The data is not ready for training.")
        self.preflight = preflight


class RunNotActive(Exception):
    code = "run_finished"


def run_payload(run: Run) -> dict:
    from training.api.serializers import RunSerializer

    return RunSerializer(run).data


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
        dispatch.enqueue(run)
        broadcast(project.pk, "run.created", run_payload(run))
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
    """Queued runs never start; a running worker sees the status at its next check and stops."""
    now = timezone.now()
    with transaction.atomic():
        changed = Run.objects.filter(pk=run.pk, status__in=ACTIVE_STATUSES).update(
            status=RunStatus.CANCELLED, finished_at=now, updated_at=now
        )
        run.refresh_from_db()
        if not changed:
            raise RunNotActive(f"The run has already {run.status}; only queued or running runs can be cancelled.")
        broadcast(run.project_id, "run.updated", run_payload(run))
    job_event("run", run.pk, "cancelled", project_id=run.project_id)
    return run


def fail_run(run_id: int, error: str, *, stale_before: datetime | None = None) -> bool:
    """Mark the run failed with `error` unless it already ended; True if this call failed it.

    With `stale_before`, only a running run whose last heartbeat is older than that fails:
    a heartbeat written since the reaper looked saves the run.
    """
    now = timezone.now()
    runs = Run.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES)
    if stale_before is not None:
        runs = runs.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale_before)
    with transaction.atomic():
        changed = runs.update(status=RunStatus.FAILED, error=error, finished_at=now, updated_at=now)
        if changed:
            run = Run.objects.get(pk=run_id)
            broadcast(run.project_id, "run.updated", run_payload(run))
    if changed:
        job_event("run", run_id, "lost" if stale_before else "failed", error=error[:200])
        discard_uploads(Run.objects.select_related("project").get(pk=run_id))
    return bool(changed)


def succeed_run(run_id: int, metrics: dict, artifacts: list[Artifact]) -> bool:
    """Offer the artifacts and mark the run succeeded in one transaction, if it is still running.

    Unverified exports (`Artifact.verified` false) are offered too: the run still succeeded."""
    now = timezone.now()
    with transaction.atomic():
        changed = Run.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.SUCCEEDED, metrics=metrics, finished_at=now, updated_at=now
        )
        if changed:
            Artifact.objects.bulk_create(artifacts)
            run = Run.objects.get(pk=run_id)
            broadcast(run.project_id, "run.updated", run_payload(run))
    if changed:
        unverified = ",".join(sorted(a.name for a in artifacts if not a.verified)) or "none"
        job_event("run", run_id, "succeeded", artifacts=len(artifacts), unverified=unverified)
    return bool(changed)


def discard_uploads(run: Run) -> None:
    """Remove files a run wrote but never offered; the snapshot stays, for the record."""
    if run.artifacts.exists():
        return
    bucket = project_bucket(run.project)
    try:
        for info in bucket.list(run.prefix + "/"):
            if info.key != run.snapshot_key:
                bucket.delete(info.key)
    except BucketError:
        log.exception("Could not remove the unfinished files of run %s", run.pk)
