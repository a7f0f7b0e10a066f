"""Celery tasks (queue "storage"): one-line wrappers of the plain job functions."""

from celery import shared_task

from annotator.buckets import scheduler, sync

run_sync_job = shared_task(name="annotator.tasks.run_sync_job")(sync.run_sync_job)
storage_tick = shared_task(name="annotator.tasks.storage_tick")(scheduler.tick)
