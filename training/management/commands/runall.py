"""`manage.py runall [ADDRPORT]`: the web server and the Celery workers, started and stopped together.

This is what `make run` uses on a laptop: one worker consumes the `training` queue on the
embedded broker, another the `jobs` queue (dataset imports and exports), and this process
reaps runs whose worker died. Production runs the web
server, `celery -A config worker -Q training`, `celery -A config worker -Q jobs` and
`celery -A config beat` separately.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from training.reaper import reap

REAP_EVERY_SECONDS = 15


def worker_command(*extra: str) -> list[str]:
    """One training at a time, each in a fresh child process so TensorFlow's memory is returned."""
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "training",
        "--concurrency", "1", "--max-tasks-per-child", "1", "--loglevel", "INFO", *extra,
    ]  # fmt: skip


def jobs_worker_command() -> list[str]:
    """Dataset imports and exports (docs/datasets.md), in their own worker so a training never delays them."""
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "jobs",
        "--concurrency", "1", "--hostname", "jobs@%h", "--loglevel", "INFO",
    ]  # fmt: skip


class Command(BaseCommand):
    help = "Run the development web server and the Celery workers (training, jobs); Ctrl-C stops them all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = subprocess.Popen(worker_command())
        jobs_worker = subprocess.Popen(jobs_worker_command())
        stop = threading.Event()
        threading.Thread(target=self._reap, args=(stop,), daemon=True).start()
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", options["addrport"]])
        try:
            server.wait()
        except KeyboardInterrupt:
            # A terminal's Ctrl-C reached the server too; a signal sent to this process alone did not.
            server.terminate()
            server.wait()
        finally:
            stop.set()
            for process in (worker, jobs_worker):
                process.terminate()
            for process in (worker, jobs_worker):
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _reap(self, stop: threading.Event) -> None:
        while not stop.wait(REAP_EVERY_SECONDS):
            for run_id in reap():
                self.stderr.write(f"Run {run_id} failed: its worker stopped sending heartbeats.")
