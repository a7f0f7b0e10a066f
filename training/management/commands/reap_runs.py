"""`manage.py reap_runs`: fail runs whose worker stopped sending heartbeats (for cron or ops)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from annotator import jobs
from training.models import Run


class Command(BaseCommand):
    help = "Fail running runs whose heartbeat is older than ANNOTATOR_RUN_HEARTBEAT_TIMEOUT."

    def handle(self, *args: Any, **options: Any) -> None:
        failed = [job_id for _, job_id in jobs.reap(kinds=[Run])]
        self.stdout.write(f"{len(failed)} stale runs failed" + (f": {', '.join(map(str, failed))}" if failed else "."))
