"""Fail runs whose worker went silent, so no run stays "running" forever.

A live worker writes a heartbeat every ANNOTATOR_RUN_HEARTBEAT_INTERVAL seconds, from a
thread of its own, even while exporting. The reaper runs periodically (Celery beat, the
`runall` command) and whenever runs are read, so a dead worker's run is failed within
ANNOTATOR_RUN_HEARTBEAT_TIMEOUT plus one reaper period even if nothing else is running.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from annotator.models import Project
from training import services
from training.models import Run

STALE_MESSAGE = (
    "The worker stopped reporting (no heartbeat for {seconds} s): it was killed, ran out of memory "
    "or lost its connection. Nothing it wrote is offered. Start a new run; if it happens again, "
    "check the worker's log and memory."
)


def reap(project: Project | None = None) -> list[int]:
    """Fail every stale run (of `project`, or everywhere); returns the ids failed."""
    timeout = settings.ANNOTATOR_RUN_HEARTBEAT_TIMEOUT
    cutoff = timezone.now() - timedelta(seconds=timeout)
    stale = Run.objects.stale(cutoff)
    if project is not None:
        stale = stale.filter(project=project)
    message = STALE_MESSAGE.format(seconds=timeout)
    return [
        run_id
        for run_id in stale.values_list("pk", flat=True)
        if services.fail_run(run_id, message, stale_before=cutoff)
    ]
