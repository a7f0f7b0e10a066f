"""REST endpoints for training runs, their pre-flight check and their artifacts.

Every view declares its per-method actions through ProjectScopedMixin; reading runs also
reaps the project's stale ones, so a dead worker's run never reads as "running".
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.current import current_user
from annotator import jobs
from annotator.api.errors import ApiError
from annotator.api.pagination import IdCursorPagination
from annotator.api.schema import errors
from annotator.api.views import ProjectScopedMixin
from annotator.formats.checks import shown
from annotator.ids import parse_id
from annotator.models import Project
from annotator.permissions import Action
from annotator.storage import project_bucket
from training import base_runs, services
from training.api.serializers import (
    ArtifactSerializer,
    BaseRunSerializer,
    PreflightSerializer,
    RunCreateSerializer,
    RunDefaultsSerializer,
    RunDetailSerializer,
    RunSerializer,
)
from training.hyperparameters import ALPHAS, HyperParametersSerializer, validated
from training.models import Run, RunKind, RunStatus
from training.preflight import default_kind, run_preflight

BASE_RUN_QUERY = (
    "The run to warm-start from (an id), or `none` for ImageNet; omitted: the newest compatible run, if any."
)


WARM_START_QUERY = "true: the run starts from an earlier run's weights, so no ImageNet weights are needed."


class NewestFirst(IdCursorPagination):
    ordering = ("-id",)


def _kind(project: Project, value: str | None) -> str:
    if not value:
        return default_kind(project)
    if value not in RunKind.values:
        raise ApiError("invalid_kind", f"Unknown kind {shown(value)}; use one of {RunKind.values}.")
    return value


class RunListView(ProjectScopedMixin, generics.GenericAPIView):
    actions = {"POST": Action.TRAIN}
    serializer_class = RunSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        runs = Run.objects.filter(project=self.project).select_related("created_by")
        for field, choices in (("status", RunStatus.values), ("kind", RunKind.values)):
            if wanted := self.request.query_params.get(field):
                if wanted not in choices:
                    raise ApiError("invalid_filter", f"Unknown {field} {wanted!r}; use one of {choices}.")
                runs = runs.filter(**{field: wanted})
        return runs

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=RunStatus.values),
                               OpenApiParameter("kind", str, enum=RunKind.values)],
                   responses=RunSerializer(many=True))  # fmt: skip
    def get(self, request: Request, project_id: int) -> Response:
        jobs.reap(kinds=[Run], project_id=self.project.pk)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=RunCreateSerializer, responses={201: RunDetailSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        serializer = RunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kind = _kind(self.project, serializer.validated_data.get("kind"))
        data = serializer.validated_data
        run = services.create_run(
            self.project, current_user(request), kind, data["hyperparameters"], data.get("base_run")
        )
        return Response(RunDetailSerializer(run).data, status=status.HTTP_201_CREATED)


class PreflightView(ProjectScopedMixin, APIView):
    """What a run of `kind` would train on, and what blocks it."""

    actions = {"GET": Action.TRAIN}

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=RunKind.values),
                               OpenApiParameter("alpha", float, enum=ALPHAS, description="backbone width to check"),
                               OpenApiParameter("allow_scratch", bool),
                               OpenApiParameter("warm_start", bool, description=WARM_START_QUERY)],
                   responses=PreflightSerializer)  # fmt: skip
    def get(self, request: Request, project_id: int) -> Response:
        kind = _kind(self.project, request.query_params.get("kind"))
        query = request.query_params
        params = validated(kind, {name: query[name] for name in ("alpha", "allow_scratch") if name in query})
        warm_start = query.get("warm_start", "false")
        if warm_start not in ("true", "false"):
            raise ApiError("invalid_warm_start", "warm_start is true or false.")
        check = run_preflight(self.project, kind, params["alpha"], params["allow_scratch"], warm_start == "true")
        return Response(check.to_dict())


class HyperParametersView(ProjectScopedMixin, APIView):
    """The defaults a run of `kind` gets for every hyper-parameter it is not given, and the
    earlier runs it can warm-start from: by default the newest compatible one, whose
    architecture and shorter schedule the defaults then follow."""

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=RunKind.values),
                               OpenApiParameter("base_run", str, description=BASE_RUN_QUERY)],
                   responses={200: RunDefaultsSerializer})  # fmt: skip
    def get(self, request: Request, project_id: int) -> Response:
        kind = _kind(self.project, request.query_params.get("kind"))
        offered = base_runs.offered(self.project, kind)
        base = self._base(kind, request.query_params.get("base_run"), offered)
        serializer = HyperParametersSerializer(
            data={}, context={"kind": kind, "base": base.hyperparameters if base else None}
        )
        serializer.is_valid(raise_exception=True)
        answer = {
            **serializer.validated_data,
            "base_run": base.pk if base else None,
            "base_runs": BaseRunSerializer(offered, many=True).data,
        }
        return Response(answer)

    def _base(self, kind: str, value: str | None, offered: list[Run]) -> Run | None:
        if value is None:
            return offered[0] if offered else None
        if value == "none":
            return None
        base_run_id = parse_id(value)
        if base_run_id is None:
            raise ApiError("invalid_base_run", "base_run is a run id, or none to start from ImageNet.")
        return base_runs.base_run_for(self.project, kind, base_run_id)


class _RunView(ProjectScopedMixin, APIView):
    def get_run(self, run_id: int) -> Run:
        jobs.reap(kinds=[Run], project_id=self.project.pk)
        return get_object_or_404(Run.objects.filter(project=self.project).select_related("created_by"), pk=run_id)


class RunDetailView(_RunView):
    serializer_class = RunDetailSerializer

    def get(self, request: Request, project_id: int, run_id: int) -> Response:
        return Response(RunDetailSerializer(self.get_run(run_id)).data)


class RunCancelView(_RunView):
    actions = {"POST": Action.TRAIN}

    @extend_schema(request=None, responses={200: RunDetailSerializer, **errors(409)})
    def post(self, request: Request, project_id: int, run_id: int) -> Response:
        run = services.cancel_run(self.get_run(run_id))
        return Response(RunDetailSerializer(run).data)


class ArtifactListView(_RunView):
    actions = {"GET": Action.DOWNLOAD}
    serializer_class = ArtifactSerializer

    @extend_schema(responses=ArtifactSerializer(many=True))
    def get(self, request: Request, project_id: int, run_id: int) -> Response:
        artifacts = self.get_run(run_id).offered_artifacts.select_related("run")
        return Response(ArtifactSerializer(artifacts, many=True).data)


class ArtifactDownloadView(_RunView):
    """An artifact's bytes: a presigned redirect on S3, a permission-checked stream locally."""

    actions = {"GET": Action.DOWNLOAD}

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 302: None, **errors(502)})
    def get(self, request: Request, project_id: int, run_id: int, name: str) -> HttpResponseRedirect | FileResponse:
        artifact = get_object_or_404(self.get_run(run_id).artifacts, name=name)
        bucket = project_bucket(self.project)
        url = bucket.presigned_url(artifact.key, settings.ANNOTATOR_PRESIGNED_URL_SECONDS)
        if url:
            return HttpResponseRedirect(url)
        filename = f"run-{run_id}-{artifact.filename}"
        inline = artifact.content_type.startswith("image/")
        response = FileResponse(
            bucket.open(artifact.key), content_type=artifact.content_type, as_attachment=not inline, filename=filename
        )
        response["Cache-Control"] = "private, max-age=3600"
        return response
