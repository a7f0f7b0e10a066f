"""Run the bucket housekeeping loop: periodic bucket syncs, debounced `_annotations.json`, the job reaper.

With ANNOTATOR_BUCKET_JOBS=celery, Celery beat runs the same tick; with the embedded
thread mode, run this next to the web server so periodic syncs happen even when nobody
is using the app.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from annotator.buckets.scheduler import tick
from annotator.jobs import TICK_SECONDS


class Command(BaseCommand):
    help = "Sync buckets on their schedule and write pending _annotations.json files, every few seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")

    def handle(self, *args: object, once: bool = False, **options: object) -> None:
        while True:
            close_old_connections()
            tick()
            if once:
                return
            time.sleep(TICK_SECONDS)
