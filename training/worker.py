"""One run on a worker: claim it, fetch its snapshot, train, upload, and only then succeed.

Artifacts go to the bucket first; their rows and the "succeeded" status are written in one
transaction at the very end, so a run killed half way offers nothing. Every failure ends
as a failed run whose error says what to do.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import traceback
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotator.events import broadcast
from annotator.storage import BucketError, project_bucket
from config.logs import job_event
from training import base_runs, cache, services, snapshot, weights
from training.artifacts import upload_checkpoint, upload_outcome
from training.ml.errors import (
    DatasetError,
    ExportError,
    ExportVerificationFailed,
    TrainingCancelled,
    WeightsUnavailable,
)
from training.ml.warmstart import WarmStartFailed
from training.models import Run, RunStatus
from training.progress import Reporter, finite

log = logging.getLogger(__name__)


def claim(run_id: int) -> Run | None:
    """Queued -> running, exactly once; a cancelled or redelivered run is left alone."""
    now = timezone.now()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with transaction.atomic():
        changed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, updated_at=now, worker=worker
        )
        if not changed:
            return None
        run = Run.objects.select_related("project").get(pk=run_id)
        run.attempts += 1
        run.save(update_fields=["attempts"])
        broadcast(run.project_id, "run.updated", services.run_payload(run))
    job_event("run", run_id, "started", project_id=run.project_id, worker=worker, attempt=run.attempts)
    return run


def execute(run_id: int) -> None:
    run = claim(run_id)
    if run is None:
        log.info("Run %s is not queued any more; nothing to do.", run_id)
        return
    with Reporter(run) as reporter, tempfile.TemporaryDirectory(prefix=f"run-{run_id}-") as tmp:
        try:
            _train(run, reporter, Path(tmp))
        except TrainingCancelled:
            reporter.log("stopped: the run was cancelled")
            services.discard_uploads(run)
        except Exception as exc:  # every failure must reach the run's status and error text
            log.exception("Run %s failed", run_id)
            reporter.log(traceback.format_exc(limit=8))
            services.fail_run(run_id, explain(exc))


def _train(run: Run, reporter: Reporter, work_dir: Path) -> None:
    from training import mlrun  # TensorFlow loads here, in the worker, only when it trains

    bucket = project_bucket(run.project)
    manifest = snapshot.read_snapshot(bucket, run.snapshot_key, run.snapshot_sha256)
    reporter.phase(f"fetching {len(manifest['images'])} images")
    paths, downloaded = cache.fetch_images(bucket, manifest["images"], settings.ANNOTATOR_TRAINING_CACHE_DIR)
    reporter.log(f"{downloaded} images downloaded, {len(paths) - downloaded} from the cache")
    data = mlrun.training_set(manifest, paths)
    warm_start = base_runs.fetch_warm_start(run, work_dir)
    if warm_start is not None:
        record = run.metrics["warm_start"]
        reporter.log(
            f"starting from run {record['base_run']}: {len(record['reused_labels'])} labels reused, "
            f"{len(record['new_labels'])} new, {len(record['dropped_labels'])} dropped"
        )
    config = mlrun.make_config(
        run.kind, run.hyperparameters, len(data.train), weights.for_worker(run.hyperparameters["alpha"]), warm_start
    )
    reporter.phase(f"training on {len(data.train)} samples, validating on {len(data.validation)}")
    outcome = mlrun.run(
        data, config, work_dir, settings.ANNOTATOR_NODE_ROOT,
        on_progress=reporter.progress, should_cancel=reporter.should_cancel, on_phase=reporter.phase,
    )  # fmt: skip
    if outcome.metrics.get("trained_from_scratch"):
        reporter.log("no pretrained weights were available: the backbone trained from scratch, as allowed")
    for name, reason in outcome.metrics["export_failures"].items():
        reporter.log(f"{name} could not be built and is not offered: {reason}")
    for name, check in outcome.metrics["verification"].items():
        if not check["ok"]:
            reporter.log(f"{name} is offered unverified: {check['error']}")
    reporter.phase("uploading")
    metrics = finite(outcome.metrics)
    if run.metrics.get("warm_start"):
        metrics["warm_start"] = run.metrics["warm_start"]
    report = {"metrics": metrics, "history": finite(outcome.history), "hyperparameters": run.hyperparameters,
              "snapshot": {"key": run.snapshot_key, "sha256": run.snapshot_sha256}}  # fmt: skip
    artifacts = upload_outcome(
        run, bucket, outcome.exports, outcome.predictions, json.dumps(report, indent=2), metrics["verification"]
    )
    if outcome.checkpoint is not None:
        artifacts.append(upload_checkpoint(run, bucket, outcome.checkpoint))
    if reporter.should_cancel():
        raise TrainingCancelled("cancelled while uploading")
    reporter.log("done")
    reporter.write(force=True)
    if not services.succeed_run(run.pk, metrics, artifacts):
        services.discard_uploads(run)


def explain(exc: Exception) -> str:
    """The error text a person reads on the run page: what happened and what to do."""
    if isinstance(exc, base_runs.BaseRunRefused):
        return str(exc)
    if isinstance(exc, WarmStartFailed):
        return f"The weights of the run this one starts from could not be used: {exc}. Start a new run from ImageNet."
    if isinstance(exc, WeightsUnavailable):
        return (
            f"No pretrained backbone weights on the worker ({exc}). Run `manage.py fetchweights` on the "
            "worker (with --from FILE without internet), set ANNOTATOR_BACKBONE_WEIGHTS to a MobileNetV2 .h5 "
            "file matching the run's alpha, or re-run with allow_scratch (much weaker models)."
        )
    if isinstance(exc, DatasetError):
        return f"The dataset snapshot could not be used: {exc}. Fix the images listed and start a new run."
    if isinstance(exc, cache.ImageChanged | snapshot.SnapshotChanged):
        return f"{exc} Start a new run to train on the current data."
    if isinstance(exc, BucketError):
        return f"The worker could not use the bucket: {exc}"
    if isinstance(exc, ExportVerificationFailed | ExportError):
        # Only the SavedModel's failure ends a run: the other formats are offered unverified or named.
        return f"The trained model could not be saved, so nothing is offered: {exc}"
    return f"The worker failed unexpectedly ({type(exc).__name__}: {exc}). The run's log has details."
