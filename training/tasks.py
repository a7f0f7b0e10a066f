"""Celery tasks; both are thin: the work lives in training.worker and training.reaper."""

from __future__ import annotations

from config.celery import app


@app.task(name="training.tasks.train_run", acks_late=True)
def train_run(run_id: int) -> None:
    # Imported here so a worker process loads TensorFlow only when it trains.
    from training.worker import execute

    execute(run_id)


@app.task(name="training.tasks.reap_stale_runs")
def reap_stale_runs() -> int:
    from training.reaper import reap

    return len(reap())
