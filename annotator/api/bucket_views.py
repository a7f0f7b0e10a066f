"""REST endpoints for a project's own bucket: connection, test, sync, `_annotations.json`.

Managing storage is Action.MANAGE_PROJECT (owners and admins); any member may watch
a sync's progress.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.current import current_user
from annotator.api.bucket_serializers import (
    AnnotationsFileSerializer,
    BucketConnectionSerializer,
    ConnectionInputSerializer,
    ConnectionTestSerializer,
    NotConnectedSerializer,
    SyncJobSerializer,
)
from annotator.api.errors import ApiError
from annotator.api.schema import errors
from annotator.api.views import ProjectScopedMixin
from annotator.buckets.connections import ConnectionInput, save_connection, test_input
from annotator.buckets.sync import start_sync
from annotator.buckets.writeback import write_annotations_file
from annotator.models import BucketConnection, Project
from annotator.permissions import Action

RECENT_JOBS = 10
# GET storage/: the connection, or only {"connected": false}; `connected` tells them apart.
_STORAGE = PolymorphicProxySerializer(
    component_name="ProjectStorage",
    serializers=[BucketConnectionSerializer, NotConnectedSerializer],
    resource_type_field_name=None,
)


def _connection(project: Project) -> BucketConnection:
    connection = getattr(project, "bucket_connection", None)
    if connection is None:
        raise ApiError("not_connected", "This project uses the instance's storage, not a bucket of its own.", 409)
    return connection


def _input(request: Request) -> ConnectionInput:
    serializer = ConnectionInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.to_input()


def _test(data: ConnectionInput, project: Project | None = None) -> Response:
    return Response(test_input(data, project))


class ConnectionTestView(APIView):
    """Test a bucket before creating a project from it."""

    @extend_schema(request=ConnectionInputSerializer, responses=ConnectionTestSerializer)
    def post(self, request: Request) -> Response:
        return _test(_input(request))


class ProjectStorageView(ProjectScopedMixin, APIView):
    """The project's bucket connection. PUT binds the project to a bucket (credentials write-only)."""

    actions = {"GET": Action.MANAGE_PROJECT, "PUT": Action.MANAGE_PROJECT}

    @extend_schema(responses=_STORAGE)
    def get(self, request: Request, project_id: int) -> Response:
        connection = getattr(self.project, "bucket_connection", None)
        if connection is None:
            return Response(NotConnectedSerializer({}).data)
        return Response(BucketConnectionSerializer(connection).data)

    @extend_schema(request=ConnectionInputSerializer, responses={200: BucketConnectionSerializer, **errors(409)})
    def put(self, request: Request, project_id: int) -> Response:
        connection = save_connection(self.project, _input(request))
        return Response(BucketConnectionSerializer(connection).data)


class ProjectStorageTestView(ProjectScopedMixin, APIView):
    """Test the saved connection, or changed values with the stored credentials filling blanks."""

    actions = {"POST": Action.MANAGE_PROJECT}

    @extend_schema(
        request=ConnectionInputSerializer,
        responses={200: ConnectionTestSerializer, **errors(409)},
        description="Without a body: test the saved connection (409 `not_connected` if there is none).",
    )
    def post(self, request: Request, project_id: int) -> Response:
        if request.data:
            return _test(_input(request), self.project)
        connection = _connection(self.project)
        data = ConnectionInput(
            bucket=self.project.bucket, prefix=self.project.prefix, endpoint_url=connection.endpoint_url,
            region=connection.region, addressing_style=connection.addressing_style,
        )  # fmt: skip
        return _test(data, self.project)


class SyncListView(ProjectScopedMixin, APIView):
    """Recent syncs of the project's bucket (newest first); POST starts one."""

    actions = {"POST": Action.MANAGE_PROJECT}

    @extend_schema(responses=SyncJobSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        jobs = self.project.sync_jobs.all()[:RECENT_JOBS]
        return Response(SyncJobSerializer(jobs, many=True).data)

    @extend_schema(request=None, responses={202: SyncJobSerializer, **errors(409)})
    def post(self, request: Request, project_id: int) -> Response:
        _connection(self.project)
        job = start_sync(self.project, current_user(request))
        return Response(SyncJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class SyncDetailView(ProjectScopedMixin, APIView):
    @extend_schema(responses=SyncJobSerializer)
    def get(self, request: Request, project_id: int, job_id: int) -> Response:
        return Response(SyncJobSerializer(get_object_or_404(self.project.sync_jobs, pk=job_id)).data)


class AnnotationsFileView(ProjectScopedMixin, APIView):
    """The bucket's `_annotations.json`: GET says whether it is up to date, POST writes it now."""

    actions = {"POST": Action.MANAGE_PROJECT}

    @extend_schema(responses={200: AnnotationsFileSerializer, **errors(409)})
    def get(self, request: Request, project_id: int) -> Response:
        return Response(BucketConnectionSerializer(_connection(self.project)).data["annotations_file"])

    @extend_schema(request=None, responses={200: AnnotationsFileSerializer, **errors(409, 502)})
    def post(self, request: Request, project_id: int) -> Response:
        _connection(self.project)
        connection = write_annotations_file(self.project)
        return Response(BucketConnectionSerializer(connection).data["annotations_file"])
