"""Binding a project to its own S3-compatible bucket, and creating a project from one."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from django.db import transaction

from accounts.models import User
from annotator.buckets.checks import test_connection
from annotator.buckets.sync import start_sync
from annotator.errors import CodedError
from annotator.models import BucketConnection, Project, ProjectType, SyncJob
from annotator.services.projects import create_project
from annotator.storage import BucketError, S3Settings
from annotator.storage.endpoints import check_endpoint_url

_BUCKET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$")
_REGION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ConnectionInvalid(CodedError):
    """A field of the connection cannot be used; `field` names it for the form (and the API's error)."""

    def __init__(self, field: str, message: str, reason: str = "") -> None:
        super().__init__("invalid_storage", message, field=field)
        self.field = field
        self.reason = reason or self.code  # the lower layer's code, for a connection test's check


@dataclass(frozen=True)
class ConnectionInput:
    bucket: str
    endpoint_url: str = ""
    region: str = "us-east-1"
    prefix: str = ""
    addressing_style: str = "path"
    access_key_id: str = ""
    secret_access_key: str = ""
    sync_interval_minutes: int = 0

    def __repr__(self) -> str:
        return f"ConnectionInput(endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r}, prefix={self.prefix!r})"


def clean_prefix(prefix: str) -> str:
    """'a/b/' for a prefix (segments checked), '' for the whole bucket."""
    parts = [part for part in prefix.strip().strip("/").split("/") if part]
    if any(part in (".", "..") for part in parts) or "\\" in prefix or "\x00" in prefix:
        raise ConnectionInvalid("prefix", "The prefix cannot contain '.', '..', backslashes or NUL.")
    return "/".join(parts) + "/" if parts else ""


def endpoint_for(data: ConnectionInput) -> str:
    """The checked endpoint URL; AWS's regional endpoint when none is given."""
    if not _REGION.match(data.region):
        raise ConnectionInvalid("region", "A region looks like us-east-1 (lowercase letters, digits, dashes).")
    url = data.endpoint_url.strip() or f"https://s3.{data.region}.amazonaws.com"
    try:
        return check_endpoint_url(url)
    except BucketError as exc:
        raise ConnectionInvalid("endpoint_url", str(exc), exc.code) from None


def settings_for(data: ConnectionInput) -> tuple[S3Settings, str, str]:
    """Checked S3 settings, bucket name and prefix from a form's values (credentials required)."""
    endpoint = endpoint_for(data)
    if not _BUCKET_NAME.match(data.bucket.strip()):
        raise ConnectionInvalid("bucket", "A bucket name is 3-255 letters, digits, dots, dashes or underscores.")
    if not data.access_key_id.strip() or not data.secret_access_key:
        raise ConnectionInvalid("access_key_id", "Enter the access key ID and the secret access key.")
    if data.addressing_style not in ("path", "virtual", "auto"):
        raise ConnectionInvalid("addressing_style", "Addressing style is path, virtual or auto.")
    s3 = S3Settings(
        endpoint_url=endpoint,
        region=data.region,
        access_key_id=data.access_key_id.strip(),
        secret_access_key=data.secret_access_key,
        addressing_style=data.addressing_style,
        restricted=True,
    )
    return s3, data.bucket.strip(), clean_prefix(data.prefix)


def _with_stored_credentials(project: Project, data: ConnectionInput) -> ConnectionInput:
    """Keep the stored credentials when none are sent, but only for the same endpoint:
    pointing a connection elsewhere must not hand the old keys to a new host."""
    current = getattr(project, "bucket_connection", None)
    if data.access_key_id or data.secret_access_key or current is None:
        return data
    if endpoint_for(data) != current.endpoint_url:
        raise ConnectionInvalid("access_key_id", "A new endpoint needs its credentials entered again.")
    stored = current.s3_settings()
    return replace(data, access_key_id=stored.access_key_id, secret_access_key=stored.secret_access_key)


@transaction.atomic
def save_connection(project: Project, data: ConnectionInput) -> BucketConnection:
    """Bind the project to the bucket (creating or replacing its connection)."""
    s3, bucket, prefix = settings_for(_with_stored_credentials(project, data))
    connection = getattr(project, "bucket_connection", None) or BucketConnection(project=project)
    connection.endpoint_url = s3.endpoint_url
    connection.region = s3.region
    connection.addressing_style = s3.addressing_style
    connection.sync_interval_minutes = max(0, data.sync_interval_minutes)
    if s3.access_key_id is None or s3.secret_access_key is None:  # settings_for has already refused this
        raise ConnectionInvalid("access_key_id", "Enter the access key ID and the secret access key.")
    connection.set_credentials(s3.access_key_id, s3.secret_access_key)
    if (project.bucket, project.prefix) != (bucket, prefix):
        connection.annotations_file_etag = ""  # another place: its file is new to us
    connection.save()
    project.bucket, project.prefix = bucket, prefix
    project.save(update_fields=["bucket", "prefix", "updated_at"])
    project.bucket_connection = connection
    return connection


def create_project_from_bucket(
    owner: User, name: str, type: ProjectType | str, data: ConnectionInput
) -> tuple[Project, SyncJob]:
    """A new project bound to the bucket, with its first sync queued."""
    settings_for(data)  # refuse bad input before anything is created
    with transaction.atomic():
        project = create_project(owner, name, type)
        save_connection(project, data)
        job = start_sync(project, owner)
    return project, job


def test_input(data: ConnectionInput, project: Project | None = None) -> dict:
    """Run 'Test connection' on a form's values (a project's stored credentials fill blanks).

    An endpoint the guard refuses is reported as the failed first check, like any other
    reason the connection cannot work; other bad fields raise ConnectionInvalid.
    """
    try:
        if project is not None:
            data = _with_stored_credentials(project, data)
        s3, bucket, prefix = settings_for(data)
    except ConnectionInvalid as exc:
        if exc.field != "endpoint_url":
            raise
        check = {"name": "endpoint", "status": "error", "message": exc.message, "code": exc.reason}
        return {"ok": False, "checks": [check]}
    return test_connection(s3, bucket, prefix)
