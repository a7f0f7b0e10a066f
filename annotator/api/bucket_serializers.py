"""Shapes of a project's bucket connection, its sync jobs and its `_annotations.json` state.

Credentials are write-only: accepted on input, never part of any output.
"""

from __future__ import annotations

from django.db.models import Model
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.models import User
from annotator.api.errors import ApiError, validation_message
from annotator.api.serializers import ProjectCreateSerializer
from annotator.buckets.connections import ConnectionInput, create_project_from_bucket
from annotator.models import AddressingStyle, BucketConnection, Project, SyncJob


def _limit(model: type[Model], field: str) -> int:
    limit = getattr(model._meta.get_field(field), "max_length", None)
    if limit is None:
        raise ValueError(f"{model.__name__}.{field} has no max_length")
    return limit


CREDENTIAL_MAX_LENGTH = 256  # stored encrypted (a TextField): the limit is ours, the pages carry it too


class ConnectionInputSerializer(serializers.Serializer):
    endpoint_url = serializers.CharField(
        max_length=_limit(BucketConnection, "endpoint_url"), required=False, allow_blank=True, default=""
    )
    region = serializers.CharField(max_length=_limit(BucketConnection, "region"), required=False, default="us-east-1")
    bucket = serializers.CharField(max_length=_limit(Project, "bucket"))
    prefix = serializers.CharField(max_length=_limit(Project, "prefix"), required=False, allow_blank=True, default="")
    addressing_style = serializers.ChoiceField(choices=AddressingStyle.choices, default=AddressingStyle.PATH)
    access_key_id = serializers.CharField(
        max_length=CREDENTIAL_MAX_LENGTH, write_only=True, required=False, allow_blank=True, default="",
        trim_whitespace=True,
    )  # fmt: skip
    secret_access_key = serializers.CharField(
        max_length=CREDENTIAL_MAX_LENGTH, write_only=True, required=False, allow_blank=True, default="",
        trim_whitespace=False, style={"input_type": "password"},
    )  # fmt: skip
    sync_interval_minutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60, default=0)

    def to_input(self) -> ConnectionInput:
        return ConnectionInput(**self.validated_data)


class AnnotationsFileSerializer(serializers.Serializer):
    """Whether the bucket's `_annotations.json` is behind the database, and how its last write went."""

    dirty = serializers.BooleanField()
    changed_at = serializers.DateTimeField(allow_null=True)
    written_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class BucketConnectionSerializer(serializers.ModelSerializer):
    """What an admin sees of a connection: where it points and how write-back stands, no secrets."""

    connected = serializers.SerializerMethodField()
    bucket = serializers.CharField(source="project.bucket")
    prefix = serializers.CharField(source="project.prefix")
    has_credentials = serializers.SerializerMethodField()
    annotations_file = serializers.SerializerMethodField()

    class Meta:
        model = BucketConnection
        fields = [
            "connected", "endpoint_url", "region", "bucket", "prefix", "addressing_style", "sync_interval_minutes",
            "has_credentials", "annotations_file", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field({"type": "boolean", "enum": [True]})
    def get_connected(self, connection: BucketConnection) -> bool:
        return True

    def get_has_credentials(self, connection: BucketConnection) -> bool:
        return bool(connection.access_key_id_encrypted and connection.secret_access_key_encrypted)

    @extend_schema_field(AnnotationsFileSerializer)
    def get_annotations_file(self, connection: BucketConnection) -> dict:
        return {
            "dirty": connection.annotations_dirty,
            "changed_at": connection.annotations_changed_at,
            "written_at": connection.annotations_written_at,
            "error": connection.annotations_write_error,
        }


class SyncJobSerializer(serializers.ModelSerializer):
    """A sync as GET …/sync/{job}/ shows it; its `job.progress` events carry the same fields (PAYLOAD_FIELDS)."""

    class Meta:
        model = SyncJob
        fields = list(SyncJob.PAYLOAD_FIELDS)
        read_only_fields = fields


class NotConnectedSerializer(serializers.Serializer):
    """A project on the instance's storage: the whole answer of GET storage/."""

    connected = serializers.SerializerMethodField()

    @extend_schema_field({"type": "boolean", "enum": [False]})
    def get_connected(self, _: object) -> bool:
        return False


class ConnectionCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["ok", "warning", "error"])
    message = serializers.CharField(allow_blank=True)
    code = serializers.CharField(allow_blank=True, help_text="Stable code of a failed or warning check; empty if ok.")


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="No check failed (warnings allowed).")
    checks = ConnectionCheckSerializer(many=True)


@extend_schema_serializer(component_name="ProjectCreate")
class ProjectCreateWithStorageSerializer(ProjectCreateSerializer):
    """POST projects/ as documented: the project, and optionally a bucket to bind it to (docs/buckets.md)."""

    storage = ConnectionInputSerializer(required=False, allow_null=True, help_text="Create it from this bucket.")

    class Meta(ProjectCreateSerializer.Meta):
        fields = [*ProjectCreateSerializer.Meta.fields, "storage"]


def create_project_from_storage_block(user: User, name: str, type_: str, block: object) -> Project:
    """POST /projects/ with a "storage" object: validate it, then create, bind and queue the first sync."""
    serializer = ConnectionInputSerializer(data=block)
    if not serializer.is_valid():
        details = {"storage": serializer.errors}
        raise ApiError("invalid", validation_message(details), 400, details=details)
    project, _ = create_project_from_bucket(user, name, type_, serializer.to_input())
    return project
