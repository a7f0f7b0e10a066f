"""Dataset imports and exports of a project (docs/datasets.md).

Importing needs UPLOAD: an import adds images, and annotates only images nobody has
annotated yet (never overwriting anyone's work), which annotators may do one by one
anyway; new labels additionally need CREATE_LABEL, checked by the service. Exporting
and downloading need DOWNLOAD.
"""

from __future__ import annotations

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.current import current_user
from annotator.api.dataset_serializers import (
    ExportJobSerializer,
    ExportRequestSerializer,
    ImportJobSerializer,
    ImportRequestSerializer,
    check_download_token,
)
from annotator.api.errors import ApiError, error_response
from annotator.api.parsers import JSONParser
from annotator.api.schema import errors
from annotator.api.views import ProjectScopedMixin
from annotator.datasets import jobs
from annotator.jobs import reap
from annotator.models import ExportJob, ImportJob, JobStatus, Project
from annotator.permissions import Action
from annotator.storage import project_bucket

LIST_LIMIT = 50


def _reap(project: Project) -> None:
    """Reading a project's jobs fails those whose worker died, so nobody waits on a dead one."""
    reap(kinds=[ImportJob, ExportJob], project_id=project.pk)


def _created(data: dict, job: ImportJob | ExportJob) -> Response:
    """201 with the job; a job that already failed (it ran inline) is the request's error, with the job."""
    if job.status == JobStatus.FAILED:
        return error_response(job.error_code, job.error, status.HTTP_400_BAD_REQUEST, job=data)
    return Response(data, status=status.HTTP_201_CREATED)


class ImportListView(ProjectScopedMixin, APIView):
    actions = {"POST": Action.UPLOAD}
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = ImportJobSerializer

    @extend_schema(responses=ImportJobSerializer(many=True), description=f"The {LIST_LIMIT} newest imports.")
    def get(self, request: Request, project_id: int) -> Response:
        _reap(self.project)
        recent = ImportJob.objects.filter(project=self.project).select_related("created_by")[:LIST_LIMIT]
        return Response(ImportJobSerializer(recent, many=True).data)

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer}, responses={201: ImportJobSerializer, **errors(502)}
    )
    def post(self, request: Request, project_id: int) -> Response:
        form = ImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        job = jobs.start_import(
            self.project,
            current_user(request),
            upload,
            upload.name,
            upload.size,
            form.validated_data["format"],
            form.validated_data["skip_invalid"],
        )
        return _created(ImportJobSerializer(job).data, job)


class ImportDetailView(ProjectScopedMixin, APIView):
    serializer_class = ImportJobSerializer

    def get(self, request: Request, project_id: int, import_id: int) -> Response:
        _reap(self.project)
        return Response(ImportJobSerializer(get_object_or_404(ImportJob, project=self.project, pk=import_id)).data)


class ExportListView(ProjectScopedMixin, APIView):
    actions = {"POST": Action.DOWNLOAD}
    parser_classes = [JSONParser, FormParser]
    serializer_class = ExportJobSerializer

    @extend_schema(responses=ExportJobSerializer(many=True), description=f"The {LIST_LIMIT} newest exports.")
    def get(self, request: Request, project_id: int) -> Response:
        _reap(self.project)
        recent = ExportJob.objects.filter(project=self.project).select_related("created_by", "project")[:LIST_LIMIT]
        return Response(ExportJobSerializer(recent, many=True, context={"request": request}).data)

    @extend_schema(request=ExportRequestSerializer, responses={201: ExportJobSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        form = ExportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        job = jobs.start_export(
            self.project, current_user(request), form.validated_data["format"], form.validated_data["split"]
        )
        return _created(ExportJobSerializer(job, context={"request": request}).data, job)


class ExportDetailView(ProjectScopedMixin, APIView):
    serializer_class = ExportJobSerializer

    def get(self, request: Request, project_id: int, export_id: int) -> Response:
        _reap(self.project)
        job = get_object_or_404(ExportJob, project=self.project, pk=export_id)
        return Response(ExportJobSerializer(job, context={"request": request}).data)


class ExportDownloadView(ProjectScopedMixin, APIView):
    """The zip behind a local download link: the signed token must be this user's and fresh."""

    actions = {"GET": Action.DOWNLOAD}

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True, description="From the job's `download_url`.")],
        responses={(200, "application/zip"): bytes, **errors(409, 502)},
    )
    def get(self, request: Request, project_id: int, export_id: int) -> FileResponse:
        job = get_object_or_404(ExportJob, project=self.project, pk=export_id)
        if job.status != JobStatus.SUCCEEDED or not job.file_key:
            raise ApiError("export_not_ready", "This export has not finished.", 409)
        if not check_download_token(request.query_params.get("token", ""), job, current_user(request).pk):
            raise ApiError("link_expired", "This download link is invalid or has expired; ask for a new one.", 400)
        stream = project_bucket(self.project).open(job.file_key)
        return FileResponse(
            stream, as_attachment=True, filename=jobs.export_file_name(job), content_type="application/zip"
        )
