"""The lifecycle every background job row shares: bucket syncs, dataset imports and exports, training runs.

A concrete job model subclasses `Job` and says, in class attributes, what kind it is, which queue
delivers it, which function does its work and how long it may stay silent. Its rows change state
only through `annotator.jobs` (claim, heartbeat, progress, finish, fail, cancel, reap), whose
conditional updates make each transition happen at most once whoever races for it.

    queued ──claim──▶ running ──finish──▶ succeeded
       │                 │  └────fail────▶ failed      (also: the reaper, when heartbeats stop)
       └──fail/cancel────┴────cancel─────▶ cancelled
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_JOB_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """Status, error, heartbeat and timestamps; the kind's own fields live on the subclass."""

    # The name clients and logs know the kind by ("sync", "import", "export", "run").
    job_kind: ClassVar[str]
    # What a person calls one ("sync", "import", "export", "run"), for messages.
    noun: ClassVar[str]
    # The Celery queue that delivers it, so a training run never delays a sync.
    queue: ClassVar[str]
    # "module.function": does the work of a claimed job (annotator.jobs.execute calls it).
    runner: ClassVar[str]
    # The setting (seconds) after which a silent running job counts as lost.
    heartbeat_timeout_setting: ClassVar[str]
    # Also fail jobs queued for longer than the timeout (a thread-mode job whose process died
    # before it started would otherwise block its project's next one forever).
    reap_queued: ClassVar[bool] = False
    # Fields the runner fills in as it works, stored with every progress write and at the end.
    result_fields: ClassVar[tuple[str, ...]] = ()
    # The kind's representation: its REST serializer's fields and its job.progress event's keys.
    PAYLOAD_FIELDS: ClassVar[tuple[str, ...]] = ()

    # Every concrete job belongs to a project (its events go to the project's group).
    project_id: int

    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # A stable code clients branch on, and a message for the person who started the job.
    error_code = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    # host:pid of the process that claimed it: a stuck job's log is found there.
    worker = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES

    @classmethod
    def heartbeat_timeout(cls) -> int:
        return int(getattr(settings, cls.heartbeat_timeout_setting))

    def on_failed(self) -> None:
        """Called once, by whoever failed the job (its runner, the reaper, a refused queue), after the
        row says "failed": remove what the job half wrote. Nothing by default."""

    def event_payload(self) -> dict[str, Any]:
        """The job's API representation (PAYLOAD_FIELDS), JSON-safe, as its `job.progress` event carries it.

        Foreign keys give their id and times are ISO 8601 in UTC, as the REST serializer writes them.
        """
        payload = {}
        for name in self.PAYLOAD_FIELDS:
            field = self._meta.get_field(name)
            value = getattr(self, getattr(field, "attname", name))
            payload[name] = _json_time(value) if isinstance(value, datetime) else value
        return payload


def _json_time(value: datetime) -> str:
    """DRF's DateTimeField output under USE_TZ with UTC: "2026-12-02T10:00:00.123456Z"."""
    text = timezone.localtime(value, timezone.get_default_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
