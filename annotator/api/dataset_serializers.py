"""Import and export jobs as the API shows them.

The fields are the models' PAYLOAD_FIELDS, which their `job.progress` events carry too
(DatasetJob.event_payload), so the REST API and the websocket say the same; an export's
`download_url` is per user and stays out of events.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse
from rest_framework import serializers

from annotator.models import ExportJob, ImportJob, JobStatus
from annotator.storage import project_bucket

DOWNLOAD_SALT = "annotator.datasets.export-download"


class ImportJobSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = ImportJob
        fields = list(ImportJob.PAYLOAD_FIELDS)
        read_only_fields = fields


class ExportJobSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [*ExportJob.PAYLOAD_FIELDS, "download_url"]
        read_only_fields = fields

    def get_download_url(self, job: ExportJob) -> str | None:
        """A short-lived link for whoever asked (see `download_link`); None until the zip exists."""
        request = self.context.get("request")
        if request is None or job.status != JobStatus.SUCCEEDED or not job.file_key:
            return None
        return download_link(job, request.user.pk)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.CharField(default="auto", max_length=30)
    skip_invalid = serializers.BooleanField(default=False)


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.CharField(max_length=30)
    split = serializers.FloatField(default=0.8)


def download_link(job: ExportJob, user_id: int) -> str:
    """A presigned URL on S3; locally, our own URL with a token signed for this user, expiring like one."""
    seconds = settings.ANNOTATOR_PRESIGNED_URL_SECONDS
    url = project_bucket(job.project).presigned_url(job.file_key, seconds)
    if url:
        return url
    token = signing.dumps({"export": job.pk, "user": user_id}, salt=DOWNLOAD_SALT)
    path = reverse("api:export-download", kwargs={"project_id": job.project_id, "export_id": job.pk})
    return f"{path}?token={token}"


def check_download_token(token: str, job: ExportJob, user_id: int) -> bool:
    try:
        data = signing.loads(token, salt=DOWNLOAD_SALT, max_age=settings.ANNOTATOR_PRESIGNED_URL_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        return False
    return data == {"export": job.pk, "user": user_id}
