"""One run on a worker: train, upload, and only then succeed.

annotator.jobs claims the run (queued -> running, exactly once) and calls `run`, the Run kind's
runner. Artifacts go to the bucket first; their rows and the "succeeded" status are written in
one transaction at the very end, so a run killed half way offers nothing. Every failure ends
here as a failed run with a stable `error_code` and an error (`explain`) that says what to do,
never the kernel's generic message. TensorFlow is imported only once a run trains.
"""

from __future__ import annotations

import json
import logging
import tempfile
import traceback
from pathlib import Path

from django.conf import settings
from django.db.models import F

from annotator.storage import BucketError, project_bucket
from training import base_runs, cache, services, snapshot, weights
from training.artifacts import upload_box_classifier, upload_checkpoint, upload_outcome
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


def run(job: Run) -> None:
    """Train a run the kernel has just claimed; it ends succeeded, failed, or as its canceller left it."""
    # Counted right after the kernel's claim: the row tells an operator how often a worker took it up.
    Run.objects.filter(pk=job.pk).update(attempts=F("attempts") + 1)
    job.refresh_from_db(fields=["attempts"])
    log.info("Run %s: attempt %s on %s", job.pk, job.attempts, job.worker)
    with Reporter(job) as reporter, tempfile.TemporaryDirectory(prefix=f"run-{job.pk}-") as tmp:
        try:
            _train(job, reporter, Path(tmp))
        except TrainingCancelled:
            reporter.log("stopped: the run was cancelled")
            job.discard_uploads()
        except Exception as exc:  # every failure must reach the run's status, code and error text
            log.exception("Run %s failed", job.pk)
            reporter.log(traceback.format_exc(limit=8))
            services.fail_run(job, error_code(exc), explain(exc))
    if job.status == RunStatus.RUNNING:
        # Cancelled or reaped while it worked: read what the row says, so the kernel leaves it be.
        job.refresh_from_db(fields=["status"])


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
    box_classifier = mlrun.make_box_classifier_config(run.hyperparameters, config, len(data.train))
    outcome = mlrun.run(
        data, config, work_dir, settings.ANNOTATOR_NODE_ROOT,
        on_progress=reporter.progress, should_cancel=reporter.should_cancel, on_phase=reporter.phase,
        box_classifier=box_classifier,
    )  # fmt: skip
    if outcome.metrics.get("trained_from_scratch"):
        reporter.log("no pretrained weights were available: the backbone trained from scratch, as allowed")
    for name, reason in outcome.metrics["export_failures"].items():
        reporter.log(f"{name} could not be built and is not offered: {reason}")
    if error := outcome.metrics.get("box_classifier_error"):
        reporter.log(f"no box classifier: suggestions use the detector alone ({error})")
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
        run, bucket, outcome.exports, outcome.predictions, json.dumps(report, indent=2), metrics["verification"],
        failures=metrics["export_failures"],
    )  # fmt: skip
    if outcome.checkpoint is not None:
        artifacts.append(upload_checkpoint(run, bucket, outcome.checkpoint))
    if outcome.box_classifier is not None:
        artifacts.append(upload_box_classifier(run, bucket, outcome.box_classifier))
    if reporter.should_cancel():
        raise TrainingCancelled("cancelled while uploading")
    reporter.log("done")
    reporter.write(force=True)
    if not services.succeed_run(run, metrics, artifacts):
        run.discard_uploads()


def error_code(exc: Exception) -> str:
    """The failed run's stable `error_code`, for clients to branch on (explain says it in words)."""
    if isinstance(exc, base_runs.BaseRunRefused | BucketError):
        return exc.code
    if isinstance(exc, WarmStartFailed):
        return "warm_start_failed"
    if isinstance(exc, WeightsUnavailable):
        return "weights_unavailable"
    if isinstance(exc, DatasetError):
        return "dataset_unusable"
    if isinstance(exc, cache.ImageChanged | snapshot.SnapshotChanged):
        return "data_changed"
    if isinstance(exc, ExportVerificationFailed | ExportError):
        return "export_failed"
    return "worker_failed"


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
