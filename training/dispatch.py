"""Hand a run to the queue once its row is committed; the row stays the truth.

If the broker cannot take the message, the run is failed at once with a message that says
so, instead of waiting "queued" for a worker that will never hear of it.
"""

from __future__ import annotations

import logging

from django.db import transaction

from training.models import Run

log = logging.getLogger(__name__)
QUEUE = "training"


def enqueue(run: Run) -> None:
    """Send the run to a worker after the current transaction commits."""
    run_id = run.pk
    transaction.on_commit(lambda: _send(run_id))


def _send(run_id: int) -> None:
    from training import services
    from training.tasks import train_run

    try:
        train_run.apply_async(args=[run_id], queue=QUEUE)
    except Exception as exc:  # any broker failure: the person must learn the run will not start
        log.exception("Could not queue run %s", run_id)
        services.fail_run(run_id, f"The job queue could not accept the run ({exc}). Check CELERY_BROKER_URL and retry.")
