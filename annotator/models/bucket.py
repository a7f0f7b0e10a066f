"""A project's own S3-compatible bucket, the jobs that sync it, and objects it could not read."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from annotator.buckets.crypto import decrypt, encrypt
from annotator.models.jobs import Job
from annotator.models.project import Project
from annotator.storage import S3Settings


class AddressingStyle(models.TextChoices):
    PATH = "path", "Path (endpoint/bucket/key): MinIO, Ceph, most self-hosted"
    VIRTUAL = "virtual", "Virtual host (bucket.endpoint/key): AWS, IBM COS"
    AUTO = "auto", "Let the client decide"


class BucketConnection(models.Model):
    """How to reach a project's bucket. The bucket name and prefix stay on the project.

    Credentials are stored encrypted (ANNOTATOR_ENCRYPTION_KEY) and never leave the
    server: the API takes them but never returns them.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="bucket_connection")
    endpoint_url = models.CharField(max_length=500)
    region = models.CharField(max_length=64, default="us-east-1")
    addressing_style = models.CharField(max_length=10, choices=AddressingStyle.choices, default=AddressingStyle.PATH)
    access_key_id_encrypted = models.TextField()
    secret_access_key_encrypted = models.TextField()
    # 0 = only when someone presses Sync; otherwise the scheduler syncs this often.
    sync_interval_minutes = models.PositiveIntegerField(default=0)
    # Write-back of _annotations.json: every annotation change bumps the revision; the
    # writer records which revision it wrote, so a change made while it ran stays pending.
    annotations_revision = models.PositiveBigIntegerField(default=0)
    annotations_written_revision = models.PositiveBigIntegerField(default=0)
    annotations_changed_at = models.DateTimeField(null=True, blank=True)
    annotations_written_at = models.DateTimeField(null=True, blank=True)
    annotations_writing_since = models.DateTimeField(null=True, blank=True)
    annotations_write_error = models.TextField(blank=True)
    annotations_retry_after = models.DateTimeField(null=True, blank=True)
    # ETag of _annotations.json as we last wrote or imported it: an unchanged file is not re-imported.
    annotations_file_etag = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.endpoint_url} / {self.project.bucket}"

    def __repr__(self) -> str:
        # Never the credentials, not even encrypted.
        return f"<BucketConnection project={self.project_id} endpoint={self.endpoint_url!r}>"

    def set_credentials(self, access_key_id: str, secret_access_key: str) -> None:
        self.access_key_id_encrypted = encrypt(access_key_id)
        self.secret_access_key_encrypted = encrypt(secret_access_key)

    def s3_settings(self) -> S3Settings:
        return S3Settings(
            endpoint_url=self.endpoint_url,
            region=self.region,
            access_key_id=decrypt(self.access_key_id_encrypted),
            secret_access_key=decrypt(self.secret_access_key_encrypted),
            addressing_style=self.addressing_style,
            restricted=True,
        )

    @property
    def annotations_dirty(self) -> bool:
        return self.annotations_revision > self.annotations_written_revision


class SyncJob(Job):
    """One pass over a project's bucket. This row is the truth; the queue only delivers it."""

    job_kind = "sync"
    noun = "sync"
    queue = "storage"
    runner = "annotator.buckets.sync.run"
    heartbeat_timeout_setting = "ANNOTATOR_SYNC_HEARTBEAT_TIMEOUT"
    # A thread-mode sync whose process died before it started would block the project's next one.
    reap_queued = True
    result_fields = (
        "listed", "added", "replaced", "missing", "restored", "skipped", "header_reads", "annotations_imported",
        "problems",
    )  # fmt: skip
    # What the API and the job.progress event show (annotator/api/bucket_serializers.py reuses it).
    PAYLOAD_FIELDS = (
        "id", "project", "status", "requested_by", "listed", "added", "replaced", "missing", "restored",
        "skipped", "header_reads", "annotations_imported", "problems", "error_code", "error",
        "heartbeat_at", "started_at", "finished_at", "created_at",
    )  # fmt: skip

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sync_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    listed = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    replaced = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    restored = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    header_reads = models.PositiveIntegerField(default=0)
    annotations_imported = models.PositiveIntegerField(default=0)
    # The first few objects or records that could not be used, each {"key", "message"}.
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one queued or running sync per project: two would race on the same rows.
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(status__in=["queued", "running"]),
                name="sync_job_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"sync {self.pk} of project {self.project_id}: {self.status}"


class UnreadableObject(models.Model):
    """An object with an image's name whose header could not be read, remembered by ETag
    so that a re-sync does not download it again until it changes."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="unreadable_objects")
    key = models.CharField(max_length=1024)
    etag = models.CharField(max_length=200)
    reason = models.CharField(max_length=300)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="unreadable_object_unique")]

    def __str__(self) -> str:
        return self.key


class StrandedObject(models.Model):
    """An image's object a failed import wrote and could not remove, because the bucket refused
    the removal too (annotator/buckets/stranded.py). It is not the project's: a sync neither
    adds it as an image nor forgets it, but removes it then (or lists it among its problems
    while the bucket still refuses); writing the same key again (an upload, an import) makes it
    the project's."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="stranded_objects")
    key = models.CharField(max_length=1024)
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="stranded_object_unique")]

    def __str__(self) -> str:
        return self.key
