"""REST endpoints of model-assisted labelling (docs/assist.md): the assist run and its settings,
prediction and auto-label jobs, an image's suggestions, and what a run's suggestions saved.

Views stay thin: every rule is assist.services', every refusal its coded error (assist/errors.py).
Members see suggestions; annotators reject them (accepting is the annotation PUT with the
suggestion's uid); owners and admins predict, pin and auto-label. Reading a project's jobs
reaps its stale ones, so a dead worker's job never reads as running.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.current import current_user
from annotator import jobs
from annotator.api.errors import ApiError
from annotator.api.params import bool_param
from annotator.api.schema import errors
from annotator.api.views import ProjectScopedMixin
from annotator.models import Image, Project
from annotator.permissions import Action
from assist import services
from assist.api.serializers import (
    THRESHOLD_HELP,
    AssistSettingsSerializer,
    AssistStateSerializer,
    AutoLabelJobSerializer,
    AutoLabelPreviewSerializer,
    AutoLabelRequestSerializer,
    ImageSuggestionsSerializer,
    PredictionJobSerializer,
    PredictionRequestSerializer,
    RejectRequestSerializer,
    RejectResultSerializer,
    SuggestionSerializer,
    SuggestionStatsSerializer,
)
from assist.models import AutoLabelJob, PredictionJob
from training.models import Run
from training.preflight import default_kind

LIST_LIMIT = 50


def _threshold(project: Project, value: object) -> float:
    """A requested threshold, or the assist run's own when none is given (no run: `no_assist_model`)."""
    if value is None or value == "":
        return services.suggestion_threshold(services.required_run(project))
    return services.validate_threshold(value)


class AssistView(ProjectScopedMixin, APIView):
    """The project's assist run, its settings and what it has predicted; PATCH pins a run or switches auto-suggest."""

    actions = {"PATCH": Action.PREDICT}
    serializer_class = AssistStateSerializer

    def get(self, request: Request, project_id: int) -> Response:
        return Response(services.assist_state(self.project))

    @extend_schema(request=AssistSettingsSerializer, responses={200: AssistStateSerializer, **errors(409)})
    def patch(self, request: Request, project_id: int) -> Response:
        serializer = AssistSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.update_settings(self.project, current_user(request), **serializer.validated_data)
        return Response(services.assist_state(self.project))


class PredictionListView(ProjectScopedMixin, APIView):
    actions = {"POST": Action.PREDICT}
    serializer_class = PredictionJobSerializer

    @extend_schema(responses=PredictionJobSerializer(many=True), description=f"The {LIST_LIMIT} newest predictions.")
    def get(self, request: Request, project_id: int) -> Response:
        jobs.reap(kinds=[PredictionJob], project_id=self.project.pk)
        recent = PredictionJob.objects.filter(project=self.project)[:LIST_LIMIT]
        return Response(PredictionJobSerializer(recent, many=True).data)

    @extend_schema(request=PredictionRequestSerializer, responses={202: PredictionJobSerializer, **errors(409)})
    def post(self, request: Request, project_id: int) -> Response:
        """Predict the scope's images with the assist run, on a worker; suggestions arrive as it goes."""
        serializer = PredictionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = services.start_prediction(
            self.project,
            current_user(request),
            scope=data["scope"],
            status=data.get("status"),
            label=data.get("label"),
            image_ids=data.get("images"),
        )
        return Response(PredictionJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class _PredictionView(ProjectScopedMixin, APIView):
    serializer_class = PredictionJobSerializer

    def get_job(self, prediction_id: int) -> PredictionJob:
        jobs.reap(kinds=[PredictionJob], project_id=self.project.pk)
        return get_object_or_404(PredictionJob, project=self.project, pk=prediction_id)


class PredictionDetailView(_PredictionView):
    def get(self, request: Request, project_id: int, prediction_id: int) -> Response:
        return Response(PredictionJobSerializer(self.get_job(prediction_id)).data)


class PredictionCancelView(_PredictionView):
    actions = {"POST": Action.PREDICT}

    @extend_schema(request=None, responses={200: PredictionJobSerializer, **errors(409)})
    def post(self, request: Request, project_id: int, prediction_id: int) -> Response:
        """A queued prediction never starts; a running one stops before its next batch. Suggestions written stay."""
        job = services.cancel_prediction(self.get_job(prediction_id))
        return Response(PredictionJobSerializer(job).data)


class _ImageView(ProjectScopedMixin, APIView):
    def get_image(self, image_id: int) -> Image:
        return get_object_or_404(self.project.images.select_related("project"), pk=image_id)


class ImageSuggestionsView(_ImageView):
    serializer_class = ImageSuggestionsSerializer

    @extend_schema(
        parameters=[OpenApiParameter("all", bool, description="true: decided suggestions too (default false).")]
    )
    def get(self, request: Request, project_id: int, image_id: int) -> Response:
        """The assist run's pending suggestions on the image, best first, with the run's default threshold."""
        image = self.get_image(image_id)
        run, threshold, suggestions = services.suggestions_for(image, include_decided=bool(bool_param(request, "all")))
        return Response(
            {
                "run": run.pk if run else None,
                "threshold": threshold,
                "kind": run.kind if run else default_kind(self.project),
                "suggestions": SuggestionSerializer(suggestions, many=True).data,
            }
        )


class RejectSuggestionsView(_ImageView):
    actions = {"POST": Action.ANNOTATE}
    serializer_class = RejectRequestSerializer

    @extend_schema(request=RejectRequestSerializer, responses={200: RejectResultSerializer})
    def post(self, request: Request, project_id: int, image_id: int) -> Response:
        """Reject the listed pending suggestions, or with `all` every pending one; the others stay as they are."""
        serializer = RejectRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not data["all"] and not data.get("ids"):
            raise ApiError("no_suggestions", "Name the suggestions to reject (`ids`), or send `all: true`.")
        rejected = services.reject(
            self.get_image(image_id), current_user(request), ids=data.get("ids"), everything=data["all"]
        )
        return Response({"rejected": rejected})


class AutoLabelPreviewView(ProjectScopedMixin, APIView):
    actions = {"GET": Action.PREDICT}
    serializer_class = AutoLabelPreviewSerializer

    @extend_schema(
        parameters=[OpenApiParameter("threshold", float, description=THRESHOLD_HELP)],
        responses={200: AutoLabelPreviewSerializer, **errors(409)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        """What an auto-label at the threshold would write, before anyone confirms it."""
        threshold = _threshold(self.project, request.query_params.get("threshold"))
        return Response(services.preview_autolabel(self.project, threshold))


class AutoLabelListView(ProjectScopedMixin, APIView):
    actions = {"POST": Action.PREDICT}
    serializer_class = AutoLabelJobSerializer

    @extend_schema(responses=AutoLabelJobSerializer(many=True), description=f"The {LIST_LIMIT} newest auto-labels.")
    def get(self, request: Request, project_id: int) -> Response:
        jobs.reap(kinds=[AutoLabelJob], project_id=self.project.pk)
        recent = AutoLabelJob.objects.filter(project=self.project)[:LIST_LIMIT]
        return Response(AutoLabelJobSerializer(recent, many=True).data)

    @extend_schema(request=AutoLabelRequestSerializer, responses={202: AutoLabelJobSerializer, **errors(409)})
    def post(self, request: Request, project_id: int) -> Response:
        """Write the assist run's suggestions at or above the threshold on never-annotated images, as a job."""
        serializer = AutoLabelRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        threshold = _threshold(self.project, serializer.validated_data.get("threshold"))
        job = services.start_autolabel(self.project, current_user(request), threshold)
        return Response(AutoLabelJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class AutoLabelDetailView(ProjectScopedMixin, APIView):
    serializer_class = AutoLabelJobSerializer

    def get(self, request: Request, project_id: int, autolabel_id: int) -> Response:
        jobs.reap(kinds=[AutoLabelJob], project_id=self.project.pk)
        job = get_object_or_404(AutoLabelJob, project=self.project, pk=autolabel_id)
        return Response(AutoLabelJobSerializer(job).data)


class SuggestionStatsView(ProjectScopedMixin, APIView):
    """Is the run saving us work: its suggestions accepted, edited, rejected, pending, and boxes people added."""

    serializer_class = SuggestionStatsSerializer

    def get(self, request: Request, project_id: int, run_id: int) -> Response:
        run = get_object_or_404(Run, project=self.project, pk=run_id)
        return Response(services.suggestion_stats(run))
