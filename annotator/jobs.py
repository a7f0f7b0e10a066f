"""The background-job kernel: claim, heartbeat, progress, finish, fail, cancel, reap, dispatch.

Every kind of background work (bucket syncs, dataset imports and exports, training runs) is a
row of a `annotator.models.jobs.Job` subclass, and changes state only here. Invariants:

- The row is the truth; a queue only delivers its id. Each transition is one conditional UPDATE
  on the statuses it may start from, so it happens at most once however many deliveries, reapers
  or cancels race: queued -> running (`claim`), running -> succeeded (`finish`), active -> failed
  (`fail`, `reap`) or cancelled (`cancel`). A function that lost the race gets False or None and
  leaves the row alone.
- A running job writes `heartbeat_at` at least every few seconds (`heartbeat`, `progress`). When
  that write finds the row no longer running (cancelled, or failed by the reaper), the worker
  stops: `progress` raises `JobAbandoned`, `execute` swallows it, nothing more is written.
- `reap` fails every running job silent for longer than its kind's timeout (and, for kinds that
  ask, every job queued that long) with code `worker_lost`. It runs from Celery beat
  (`annotator.tasks.reap_jobs`, every REAP_SECONDS), from the thread-mode ticker, and when a
  project's jobs are read, so a killed worker's job fails within its timeout + REAP_SECONDS.
- Whoever fails a job calls its `on_failed` once, after the row says so (a run removes its
  half-written uploads there, whether its runner, the reaper or a refused queue failed it).
- Every transition and progress write publishes one `job.progress` event to the project after
  the transaction commits: `{"kind", "id", "status", ...the kind's API representation}`.

Dispatch has three modes. `inline` runs the job in the calling thread before returning (small
imports answer in one request); `thread` runs it in a daemon thread of this process once the
transaction commits (the embedded default for syncs: no server needed); `celery` sends the task
`run_job` (defined here) to the kind's queue once the transaction commits (production). All three
call `execute`, which claims the job and runs its kind's runner.

Periodic work runs on Celery beat in production (`reap_jobs` here, the storage tick in
annotator/tasks.py). A process that runs jobs in threads has no beat: `ensure_ticker` starts one
daemon thread that reaps every TICK_SECONDS and runs the housekeeping registered with `every_tick`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from celery import shared_task
from django.apps import apps
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from annotator.errors import CodedError
from annotator.events import broadcast
from annotator.models.jobs import ACTIVE_JOB_STATUSES, Job, JobStatus
from config.logs import job_event

log = logging.getLogger("annotator.jobs.kernel")

DispatchMode = Literal["inline", "thread", "celery"]
J = TypeVar("J", bound=Job)

# Celery beat's reaper period; the thread-mode ticker reaps at least this often too.
REAP_SECONDS = 15.0
TICK_SECONDS = 10.0
EVENT = "job.progress"
WORKER_LOST = "worker_lost"
LOST_MESSAGE = (
    "The worker stopped reporting (no heartbeat for {seconds} s): it was killed, ran out of memory "
    "or lost its connection. Start the {noun} again; if it happens again, check the worker's log."
)


class JobAbandoned(Exception):
    """The row stopped saying "running" (cancelled, or failed by the reaper): stop quietly."""


def job_models() -> list[type[Job]]:
    """Every concrete job model of the installed apps."""
    return [model for model in apps.get_models() if issubclass(model, Job)]


def model_for(kind: str) -> type[Job]:
    for model in job_models():
        if model.job_kind == kind:
            return model
    raise LookupError(f"No job kind {kind!r}.")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- State changes --------------------------------------------------------------------------


def _stamped(model: type[Job], values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`.update()` skips auto_now: a model that keeps `updated_at` gets it set here."""
    if any(field.name == "updated_at" for field in model._meta.get_fields()):
        values = {**values, "updated_at": now}
    return values


def _fields(job: Job, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(job, name) for name in names}


def claim(model: type[J], job_id: int) -> J | None:
    """Queued -> running, exactly once; None when another delivery, a cancel or the reaper got it first."""
    now = timezone.now()
    worker = worker_name()
    running = {"status": JobStatus.RUNNING, "started_at": now, "heartbeat_at": now, "worker": worker}
    values = _stamped(model, running, now)
    if not model._default_manager.filter(pk=job_id, status=JobStatus.QUEUED).update(**values):
        return None
    job = model._default_manager.select_related("project").get(pk=job_id)
    job_event(model.job_kind, job.pk, "started", project_id=job.project_id, worker=worker)
    publish(job)
    return job


def heartbeat(job: Job, *fields: str) -> bool:
    """Store `fields` (the job's current values) and the heartbeat; False when the job is no longer running."""
    now = timezone.now()
    model = type(job)
    values = _stamped(model, {"heartbeat_at": now, **_fields(job, fields)}, now)
    alive = model._default_manager.filter(pk=job.pk, status=JobStatus.RUNNING).update(**values)
    if alive:
        job.heartbeat_at = now
    return bool(alive)


def progress(job: Job, *fields: str, payload: dict[str, Any] | None = None) -> None:
    """Heartbeat plus `fields`, then tell the project; raises JobAbandoned when the job stopped running.

    `payload` replaces the full representation in the event (a training run's frequent ticks
    send only what changed).
    """
    if not heartbeat(job, *fields):
        job.status = type(job)._default_manager.values_list("status", flat=True).get(pk=job.pk)
        raise JobAbandoned(f"{job.job_kind} {job.pk} is {job.status}")
    publish(job, payload)


def _transition(job: Job, sources: Iterable[str], status: JobStatus, values: dict[str, Any], extra: Q | None) -> bool:
    now = timezone.now()
    model = type(job)
    values = _stamped(model, {"status": status, "finished_at": now, **values}, now)
    rows = model._default_manager.filter(pk=job.pk, status__in=list(sources))
    if extra is not None:
        rows = rows.filter(extra)
    if not rows.update(**values):
        return False
    for name, value in values.items():
        setattr(job, name, value)
    return True


def finish(job: Job, *fields: str) -> bool:
    """Running -> succeeded with `fields` stored; False when it stopped running meanwhile."""
    names = fields or job.result_fields
    if not _transition(job, [JobStatus.RUNNING], JobStatus.SUCCEEDED, _fields(job, names), None):
        return False
    job_event(job.job_kind, job.pk, "succeeded", project_id=job.project_id)
    publish(job)
    return True


def fail(job: Job, code: str, message: str, *fields: str, stale_before: datetime | None = None) -> bool:
    """Active -> failed with a coded reason; False when it had already ended.

    With `stale_before`, only if it has stayed silent since then (the reaper must not fail a job
    whose heartbeat arrived while it decided).
    """
    values = {"error_code": code, "error": message, **_fields(job, fields)}
    silent = None
    if stale_before is not None:
        silent = Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, created_at__lt=stale_before)
    if not _transition(job, ACTIVE_JOB_STATUSES, JobStatus.FAILED, values, silent):
        return False
    event = "lost" if code == WORKER_LOST else "failed"
    job_event(job.job_kind, job.pk, event, project_id=job.project_id, error_code=code)
    publish(job)
    job.on_failed()
    return True


def cancel(job: Job) -> bool:
    """Active -> cancelled. A running worker notices at its next heartbeat and stops."""
    if not _transition(job, ACTIVE_JOB_STATUSES, JobStatus.CANCELLED, {}, None):
        return False
    job_event(job.job_kind, job.pk, "cancelled", project_id=job.project_id)
    publish(job)
    return True


def reap(*, kinds: Iterable[type[Job]] | None = None, project_id: int | None = None) -> list[tuple[str, int]]:
    """Fail every job silent for longer than its kind's timeout; returns (kind, id) of those failed."""
    lost = []
    for model in kinds or job_models():
        timeout = model.heartbeat_timeout()
        cutoff = timezone.now() - timedelta(seconds=timeout)
        quiet = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
        silent = Q(status=JobStatus.RUNNING) & quiet
        if model.reap_queued:
            silent |= Q(status=JobStatus.QUEUED, created_at__lt=cutoff)
        rows = model._default_manager.filter(silent)
        if project_id is not None:
            rows = rows.filter(**{"project_id": project_id})  # every concrete job has a project
        message = LOST_MESSAGE.format(seconds=timeout, noun=model.noun)
        for job in rows:
            if fail(job, WORKER_LOST, message, stale_before=cutoff):
                lost.append((model.job_kind, job.pk))
    return lost


def publish(job: Job, payload: dict[str, Any] | None = None) -> None:
    """Send the job's `job.progress` event to its project once the transaction commits."""
    body = job.event_payload() if payload is None else payload
    broadcast(job.project_id, EVENT, {**body, "kind": job.job_kind, "id": job.pk, "status": job.status})


# --- Running and dispatching ----------------------------------------------------------------


def execute(kind: str, job_id: int) -> None:
    """Claim the job and run its kind's runner to the end. Thread, inline and Celery all call this.

    A runner raises a CodedError for a refusal a person can act on, anything else for a bug;
    either fails the job. Returning normally succeeds it, unless the runner ended it itself.
    """
    model = model_for(kind)
    job = claim(model, job_id)
    if job is None:
        log.info("%s %s is not queued any more; nothing to do.", kind, job_id)
        return
    runner = import_string(model.runner)
    try:
        runner(job)
    except JobAbandoned:
        log.info("%s %s stopped: it is no longer running.", kind, job_id)
    except CodedError as error:
        fail(job, error.code, error.message, *job.result_fields)
    except Exception as exc:
        log.exception("%s %s failed", kind, job_id)
        message = f"The {model.noun} failed unexpectedly ({type(exc).__name__}); the server log has details."
        fail(job, "internal_error", message, *job.result_fields)
    else:
        if job.status == JobStatus.RUNNING:
            finish(job)


def _in_thread(kind: str, job_id: int) -> None:
    try:
        execute(kind, job_id)
    except Exception:
        log.exception("%s %s could not run", kind, job_id)
    finally:
        connection.close()


def dispatch(job: Job, mode: DispatchMode) -> None:
    """Run the job as `mode` says (see the module docstring); the row must be saved already."""
    kind, job_id = job.job_kind, job.pk
    if mode == "inline":
        execute(kind, job_id)
        job.refresh_from_db()
    elif mode == "thread":
        thread = threading.Thread(target=_in_thread, args=(kind, job_id), daemon=True, name=f"job-{kind}-{job_id}")
        transaction.on_commit(thread.start)
    elif mode == "celery":
        transaction.on_commit(lambda: _send(type(job), job_id))
    else:
        raise ValueError(f"Unknown dispatch mode {mode!r}.")


@shared_task(name="annotator.tasks.run_job", acks_late=True)
def run_job(kind: str, job_id: int) -> None:
    """The one Celery task of every kind; `dispatch` sends it to the kind's own queue."""
    execute(kind, job_id)


@shared_task(name="annotator.tasks.reap_jobs")
def reap_jobs() -> int:
    return len(reap())


def _send(model: type[Job], job_id: int) -> None:
    """Hand the job to its queue; a broker that refuses fails the job at once, saying so."""
    try:
        run_job.apply_async(args=[model.job_kind, job_id], queue=model.queue)
    except Exception as exc:  # any broker failure: the person must learn the job will not start
        log.exception("Could not queue %s %s", model.job_kind, job_id)
        job = model._default_manager.get(pk=job_id)
        message = f"The job queue could not accept the {model.noun} ({exc}). Check CELERY_BROKER_URL and retry."
        fail(job, "queue_unavailable", message)


# --- The in-process ticker (no Celery beat) --------------------------------------------------

_housekeeping: list[Callable[[], object]] = []
_ticker_lock = threading.Lock()
_ticker: threading.Thread | None = None


def every_tick(function: Callable[[], object]) -> None:
    """Run `function` on every tick of this process's ticker (apps register in their ready())."""
    if function not in _housekeeping:
        _housekeeping.append(function)


def tick() -> None:
    """Reap silent jobs of every kind, then run the registered housekeeping; one failure stops nothing."""
    for function in [reap, *_housekeeping]:
        try:
            function()
        except Exception:
            log.exception("Tick of %s failed", getattr(function, "__qualname__", function))


def _tick_forever() -> None:
    while True:
        time.sleep(TICK_SECONDS)
        close_old_connections()
        tick()


def ensure_ticker() -> None:
    """Start this process's ticker once: call it where a process starts running jobs in threads."""
    global _ticker
    with _ticker_lock:
        if _ticker is None or not _ticker.is_alive():
            _ticker = threading.Thread(target=_tick_forever, daemon=True, name="job-ticker")
            _ticker.start()
