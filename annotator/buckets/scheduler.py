"""Storage housekeeping, run every few seconds by Celery beat or this process's ticker thread.

`housekeeping` is registered with the kernel's in-process ticker (annotator/apps.py), which
reaps jobs itself; `tick` adds the reap for Celery beat's storage_tick and the
`bucket_scheduler` command (beat's `reap_jobs` reaps too; reaping twice is harmless).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max
from django.utils import timezone

from annotator import jobs
from annotator.buckets.sync import SyncAlreadyRunning, start_sync
from annotator.buckets.writeback import write_quiet_files
from annotator.models import BucketConnection


def start_due_syncs() -> list[int]:
    """Queue a sync for every project whose periodic interval has passed since its last one."""
    started = []
    connections = BucketConnection.objects.filter(sync_interval_minutes__gt=0).select_related("project")
    for connection in connections.annotate(last_sync=Max("project__sync_jobs__created_at")):
        due_at = (connection.last_sync or connection.created_at) + timedelta(minutes=connection.sync_interval_minutes)
        if due_at > timezone.now():
            continue
        try:
            start_sync(connection.project)
        except SyncAlreadyRunning:
            continue
        started.append(connection.project_id)
    return started


def housekeeping() -> None:
    """Write quiet `_annotations.json` files, start periodic syncs."""
    write_quiet_files()
    start_due_syncs()


def tick() -> None:
    """Fail silent jobs (every kind), then the housekeeping."""
    jobs.reap()
    housekeeping()
