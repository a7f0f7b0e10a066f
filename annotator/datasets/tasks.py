"""Celery tasks (queue "jobs"): one-line wrappers of the plain job functions in `jobs`."""

from celery import shared_task

from annotator.datasets import jobs

run_import_job = shared_task(name="annotator.datasets.tasks.run_import_job")(jobs.run_import_job)
run_export_job = shared_task(name="annotator.datasets.tasks.run_export_job")(jobs.run_export_job)
