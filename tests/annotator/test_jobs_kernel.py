"""The background-job kernel (annotator/jobs.py): transitions happen once, silence is reaped, both dispatch modes.

Runs against the database the suite is on (SQLite file or PostgreSQL), with real threads and a
real child process; the only stand-in is the runner each test points a model at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from annotator import jobs
from annotator.models import ExportJob, ImportJob, JobStatus, SyncJob
from tests.annotator import job_runners
from tests.factories import make_persona_project
from training.models import Run

pytestmark = pytest.mark.django_db(transaction=True)
RUNNERS = "tests.annotator.job_runners"


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(jobs, "broadcast", lambda project_id, event, payload: sent.append((event, payload)))
    return sent


def new_job(model: type = SyncJob, **fields: Any) -> Any:
    project = make_persona_project().project
    if model is Run:
        fields.setdefault("kind", "detection")
    return model.objects.create(project=project, **fields)


def race(count: int, action: Callable[[int], object]) -> list[object]:
    """Run `action(i)` in `count` threads released together; each thread has its own connection."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def body(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


# --- Transitions happen once ---------------------------------------------------------------


def test_a_queued_job_is_claimed_by_exactly_one_of_many_racing_deliveries(events):
    job = new_job()

    claims = race(6, lambda _: jobs.claim(SyncJob, job.pk))

    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.worker == jobs.worker_name() and job.started_at
    assert [e for e, _ in events] == ["job.progress"]


def test_finish_cancel_fail_and_reap_racing_for_one_running_job_leave_exactly_one_outcome(settings, events):
    settings.ANNOTATOR_SYNC_HEARTBEAT_TIMEOUT = 0
    job = new_job()
    jobs.claim(SyncJob, job.pk)
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=5))

    def act(i: int) -> object:
        copy = SyncJob.objects.get(pk=job.pk)
        return [
            lambda: jobs.finish(copy),
            lambda: jobs.cancel(copy),
            lambda: jobs.fail(copy, "x", "failed"),
            lambda: bool(jobs.reap(kinds=[SyncJob])),
        ][i % 4]()

    outcomes = race(8, act)

    assert outcomes.count(True) == 1
    job.refresh_from_db()
    assert job.status in {JobStatus.SUCCEEDED, JobStatus.CANCELLED, JobStatus.FAILED} and job.finished_at


def test_an_ended_job_does_not_change_again(events):
    job = new_job()
    jobs.claim(SyncJob, job.pk)
    assert jobs.finish(job)

    assert not jobs.fail(job, "late", "too late")
    assert not jobs.cancel(job)
    assert jobs.claim(SyncJob, job.pk) is None
    assert not jobs.heartbeat(job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.error == ""


# --- Heartbeats and the reaper -------------------------------------------------------------


@pytest.mark.parametrize("model", [SyncJob, ImportJob, ExportJob, Run], ids=lambda m: m.job_kind)
def test_every_kind_of_running_job_silent_past_its_timeout_is_failed_as_lost(model, events):
    job = new_job(model)
    jobs.claim(model, job.pk)
    timeout = model.heartbeat_timeout()
    model.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=timeout + 1))
    fresh = new_job(model)
    jobs.claim(model, fresh.pk)

    lost = jobs.reap()

    assert (model.job_kind, job.pk) in lost and (model.job_kind, fresh.pk) not in lost
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == jobs.WORKER_LOST
    assert f"no heartbeat for {timeout} s" in job.error and model.noun in job.error
    assert events[-1][1] | {"kind": model.job_kind, "id": job.pk, "status": "failed"} == events[-1][1]


def test_a_heartbeat_keeps_a_job_alive_and_one_landing_after_the_cutoff_beats_the_reaper(events):
    job = new_job()
    jobs.claim(SyncJob, job.pk)
    cutoff = timezone.now()
    assert jobs.heartbeat(job)  # arrives after the reaper chose its cutoff

    assert not jobs.fail(job, jobs.WORKER_LOST, "lost", stale_before=cutoff)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.heartbeat_at > cutoff


def test_old_queued_jobs_are_reaped_only_for_kinds_that_ask(settings, events):
    settings.ANNOTATOR_SYNC_HEARTBEAT_TIMEOUT = settings.ANNOTATOR_RUN_HEARTBEAT_TIMEOUT = 1
    sync, run = new_job(SyncJob), new_job(Run)
    long_ago = timezone.now() - timedelta(seconds=5)
    SyncJob.objects.filter(pk=sync.pk).update(created_at=long_ago)
    Run.objects.filter(pk=run.pk).update(created_at=long_ago)

    assert jobs.reap() == [("sync", sync.pk)]  # a queued run may wait for a busy GPU for long
    assert Run.objects.get(pk=run.pk).status == JobStatus.QUEUED


def test_the_reaper_can_be_limited_to_one_project(events):
    job, other = new_job(), new_job()
    for each in (job, other):
        jobs.claim(SyncJob, each.pk)
    SyncJob.objects.update(heartbeat_at=timezone.now() - timedelta(days=1))

    assert jobs.reap(kinds=[SyncJob], project_id=job.project_id) == [("sync", job.pk)]
    assert SyncJob.objects.get(pk=other.pk).status == JobStatus.RUNNING


# --- Cancel --------------------------------------------------------------------------------


def test_a_cancelled_job_stops_at_its_next_progress_and_stays_cancelled(monkeypatch, events):
    monkeypatch.setattr(SyncJob, "runner", f"{RUNNERS}.waits_then_reports")
    job_runners.started.clear()
    job_runners.release.clear()
    job = new_job()
    worker = threading.Thread(target=jobs._in_thread, args=("sync", job.pk))
    worker.start()
    assert job_runners.started.wait(10)

    assert jobs.cancel(SyncJob.objects.get(pk=job.pk))
    job_runners.release.set()
    worker.join(10)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.listed == 0 and job.added == 0 and job.error_code == ""
    assert [p["status"] for _, p in events] == ["running", "cancelled"]


def test_a_queued_job_cancelled_before_delivery_is_never_run(monkeypatch, events):
    monkeypatch.setattr(SyncJob, "runner", f"{RUNNERS}.crashes")
    job = new_job()
    assert jobs.cancel(job)

    jobs.execute("sync", job.pk)

    assert SyncJob.objects.get(pk=job.pk).status == JobStatus.CANCELLED


# --- execute -------------------------------------------------------------------------------


def test_a_runner_that_returns_succeeds_the_job_with_its_results_stored(monkeypatch, events):
    monkeypatch.setattr(SyncJob, "runner", f"{RUNNERS}.ok")
    job = new_job()

    jobs.execute("sync", job.pk)
    jobs.execute("sync", job.pk)  # a redelivered message finds nothing to do

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and (job.listed, job.added) == (7, 3) and job.finished_at
    assert [p["status"] for _, p in events] == ["running", "succeeded"]
    assert events[-1][1]["listed"] == 7 and events[-1][1]["kind"] == "sync"


def test_a_coded_refusal_fails_the_job_with_its_code_and_message(monkeypatch, events):
    monkeypatch.setattr(SyncJob, "runner", f"{RUNNERS}.refuses")
    job = new_job()

    jobs.execute("sync", job.pk)

    job.refresh_from_db()
    assert (job.status, job.error_code, job.listed) == (JobStatus.FAILED, "bucket_gone", 2)
    assert job.error == "The bucket is gone; connect another one."


def test_a_bug_in_a_runner_fails_the_job_without_leaking_the_exception(monkeypatch, events):
    monkeypatch.setattr(SyncJob, "runner", f"{RUNNERS}.crashes")
    job = new_job()

    jobs.execute("sync", job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "internal_error"
    assert "ZeroDivisionError" in job.error and "bug" not in job.error


# --- Dispatch ------------------------------------------------------------------------------


def test_inline_dispatch_runs_the_job_before_returning(monkeypatch, events):
    monkeypatch.setattr(SyncJob, "runner", f"{RUNNERS}.ok")
    job = new_job()

    jobs.dispatch(job, "inline")

    assert job.status == JobStatus.SUCCEEDED and job.added == 3


def test_thread_dispatch_runs_the_job_in_the_background_after_commit(monkeypatch, events):
    monkeypatch.setattr(SyncJob, "runner", f"{RUNNERS}.ok")
    job = new_job()

    jobs.dispatch(job, "thread")  # no transaction open: on_commit runs at once

    deadline = time.monotonic() + 10
    while SyncJob.objects.get(pk=job.pk).status != JobStatus.SUCCEEDED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert SyncJob.objects.get(pk=job.pk).added == 3


def test_celery_dispatch_sends_the_job_to_its_kinds_queue(monkeypatch, events):
    from config.celery import app

    monkeypatch.setattr(SyncJob, "runner", f"{RUNNERS}.ok")
    sent: list[dict[str, Any]] = []
    job = new_job()
    app.conf.task_always_eager = True
    from annotator.tasks import run_job

    original = run_job.apply_async

    def spy(*args: Any, **options: Any) -> Any:
        sent.append(options)
        return original(*args, **options)

    monkeypatch.setattr(run_job, "apply_async", spy)
    try:
        jobs.dispatch(job, "celery")
    finally:
        app.conf.task_always_eager = False

    assert sent == [{"args": ["sync", job.pk], "queue": "storage"}]
    assert SyncJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


def test_a_broker_that_refuses_the_job_fails_it_at_once_saying_so(events):
    from config.celery import app

    job = new_job(ImportJob)
    previous = app.conf.broker_url, app.conf.broker_transport_options, app.conf.broker_connection_retry
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app.conf.broker_transport_options = {"max_retries": 0}
    app.conf.broker_connection_retry = False
    _forget_pools(app)  # pools are cached per app and connection: new ones for the dead broker...
    try:
        jobs.dispatch(job, "celery")
    finally:
        app.conf.broker_url, app.conf.broker_transport_options, app.conf.broker_connection_retry = previous
        _forget_pools(app)  # ...and the suite's own (still open) ones again afterwards

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "queue_unavailable"
    assert "could not accept the import" in job.error


def _forget_pools(app: Any) -> None:
    """Let the app look its broker pools up again for its current URL (never close them: kombu's
    registry is process-wide, and a closed pool would refuse every later test's message)."""
    app._pool = None
    app.amqp._producer_pool = None


# --- A worker killed mid-job ---------------------------------------------------------------

CHILD = """
import django, sys, time
django.setup()
from annotator import jobs
from annotator.models import SyncJob
job = jobs.claim(SyncJob, int(sys.argv[1]))
print("claimed", flush=True)
while True:
    jobs.heartbeat(job)
    time.sleep(0.2)
"""


def test_a_worker_killed_mid_job_has_its_job_failed_within_the_timeout(settings, events):
    from django.db import connections

    job = new_job()
    database = connections["default"].settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    if database["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{database['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(job.pk)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "claimed"
        time.sleep(0.5)
        settings.ANNOTATOR_SYNC_HEARTBEAT_TIMEOUT = 1
        assert jobs.reap(kinds=[SyncJob]) == []  # alive: its heartbeats keep coming
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        killed_at = time.monotonic()
        lost: list[tuple[str, int]] = []
        while not lost and time.monotonic() - killed_at < 5:
            time.sleep(0.2)
            lost = jobs.reap(kinds=[SyncJob])
    finally:
        if child.poll() is None:
            child.kill()
    assert lost == [("sync", job.pk)]
    assert time.monotonic() - killed_at < 1 + 1.5  # timeout + the polling here, well inside timeout + REAP_SECONDS
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == jobs.WORKER_LOST
