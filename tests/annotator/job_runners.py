"""Runners the kernel tests point a job model's `runner` at (annotator.jobs.execute imports them by name)."""

from __future__ import annotations

import threading

from annotator import jobs
from annotator.errors import CodedError
from annotator.models import SyncJob

# Set by tests that need the runner to wait (cancel while running).
started = threading.Event()
release = threading.Event()


def ok(job: SyncJob) -> None:
    job.listed, job.added = 7, 3


def refuses(job: SyncJob) -> None:
    job.listed = 2
    raise CodedError("bucket_gone", "The bucket is gone; connect another one.")


def crashes(job: SyncJob) -> None:
    raise ZeroDivisionError("bug")


def waits_then_reports(job: SyncJob) -> None:
    started.set()
    release.wait(10)
    job.listed = 1
    jobs.progress(job, "listed")  # JobAbandoned when cancelled meanwhile
    job.added = 99
