"""Running storage jobs in the background, and telling the project how they progress.

The job's database row is the truth; this module only delivers it. With
ANNOTATOR_STORAGE_JOBS=celery the task goes to Celery's "storage" queue (annotator/tasks.py
wraps the plain job functions); with "thread", the embedded default, it runs in a
thread of the process that asked, started once the transaction commits. Either way a
job that dies mid-way is failed by the heartbeat reaper and can simply be run again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from annotator.events import broadcast
from annotator.models import SyncJob

log = logging.getLogger(__name__)

TICK_SECONDS = 10
_ticker_lock = threading.Lock()
_ticker: threading.Thread | None = None


def _in_thread(function: Callable[..., None], *args: object) -> None:
    try:
        function(*args)
    except Exception:
        log.exception("Storage job %s%r failed", function.__name__, args)
    finally:
        connection.close()


def enqueue(function: Callable[..., None], *args: object) -> None:
    """Run `function(*args)` in the background once the current transaction commits.

    `function` is a plain job function; in Celery mode its task is annotator.tasks.<same name>.
    """
    if settings.ANNOTATOR_STORAGE_JOBS == "celery":
        from annotator import tasks  # Celery is imported only where it is used

        task = getattr(tasks, function.__name__)
        transaction.on_commit(lambda: task.delay(*args))
        return
    thread = threading.Thread(target=_in_thread, args=(function, *args), daemon=True, name="storage-job")
    transaction.on_commit(thread.start)
    transaction.on_commit(ensure_ticker)


def _tick_forever() -> None:
    from annotator.buckets.scheduler import tick

    while True:
        time.sleep(TICK_SECONDS)
        close_old_connections()
        try:
            tick()
        except Exception:
            log.exception("Storage scheduler tick failed")


def ensure_ticker() -> None:
    """Thread mode: start this process's scheduler (debounced write-back, periodic sync) once."""
    global _ticker
    if settings.ANNOTATOR_STORAGE_JOBS != "thread":
        return
    with _ticker_lock:
        if _ticker is None or not _ticker.is_alive():
            _ticker = threading.Thread(target=_tick_forever, daemon=True, name="storage-scheduler")
            _ticker.start()


def progress(job: SyncJob) -> None:
    """Tell the project's websocket group how the sync stands (the API's own shape)."""
    from annotator.api.storage_serializers import SyncJobSerializer

    broadcast(job.project_id, "sync.progress", SyncJobSerializer(job).data)
