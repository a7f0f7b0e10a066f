"""`manage.py runall [ADDRPORT]`: the web server and the Celery workers, started and stopped together.

This is what `make run` uses on a laptop: one worker consumes the `training` queue on the
embedded broker, another the `jobs` queue (dataset imports and exports, bulk auto-labels), a third
the `predict` queue (the assist model's prediction jobs, docs/assist.md), and this process reaps
jobs of every kind whose worker died (annotator.jobs.reap). Production runs the web server,
`celery -A config worker -Q training`, `-Q jobs,storage`, `-Q predict` and `celery -A config beat`
separately (docker/compose.yaml).

Ctrl-C and SIGTERM (what `docker stop`, systemd and a supervisor send) stop the same way: each
child runs in a process group of its own, and every group is sent SIGTERM, then SIGKILL after
STOP_SECONDS, so no server or worker (nor a child of theirs) outlives this command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotator import jobs

STOP_SECONDS = 20


class _Stop(Exception):
    """Raised in the main thread by SIGINT or SIGTERM."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


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


def predict_worker_command() -> list[str]:
    """Prediction jobs (docs/assist.md), apart from training so suggestions never wait for a run to end.

    One at a time: each holds a model in memory. The pool process is kept between jobs (unlike
    training's), so the ML runtime is imported once and auto-suggest's small jobs start at once.
    """
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "predict",
        "--concurrency", "1", "--hostname", "predict@%h", "--loglevel", "INFO",
    ]  # fmt: skip


class Command(BaseCommand):
    help = "Run the development web server and the Celery workers (training, jobs, predict); Ctrl-C stops them all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        stop = threading.Event()
        children: list[subprocess.Popen] = []
        try:
            children.append(_start(worker_command()))
            children.append(_start(jobs_worker_command()))
            children.append(_start(predict_worker_command()))
            threading.Thread(target=self._reap, args=(stop,), daemon=True).start()
            server = _start([sys.executable, "manage.py", "runserver", options["addrport"]])
            children.append(server)
            server.wait()
        except _Stop:
            pass
        finally:
            # No second signal may interrupt the shutdown itself.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            stop.set()
            _stop_all(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _reap(self, stop: threading.Event) -> None:
        while not stop.wait(jobs.REAP_SECONDS):
            for kind, job_id in jobs.reap():
                self.stderr.write(f"{kind.capitalize()} {job_id} failed: its worker stopped sending heartbeats.")


def _start(command: list[str]) -> subprocess.Popen:
    # A group of its own: a terminal's Ctrl-C reaches only this command, which stops each group whole.
    return subprocess.Popen(command, start_new_session=True)


def _stop_all(children: list[subprocess.Popen]) -> None:
    """SIGTERM to every child's group (Celery finishes or hands back its task), SIGKILL to stragglers."""
    for child in children:
        _signal_group(child, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()
    for child in children:  # grandchildren left in a group whose leader has exited
        _signal_group(child, signal.SIGKILL)


def _signal_group(child: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has exited already
        os.killpg(child.pid, sig)
