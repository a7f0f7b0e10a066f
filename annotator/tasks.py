"""Celery tasks of the annotator app, for Celery's autodiscovery.

Every job kind runs through the kernel's `run_job` (annotator/jobs.py, sent to the kind's own
queue); `reap_jobs` is beat's reaper; `storage_tick` is beat's bucket housekeeping.
"""

from celery import shared_task

from annotator.buckets import scheduler
from annotator.jobs import reap_jobs, run_job

storage_tick = shared_task(name="annotator.tasks.storage_tick")(scheduler.tick)

__all__ = ["reap_jobs", "run_job", "storage_tick"]
