"""Models for people and programs: the run page's "Try it" panel (model_web/ file by file, the
SavedModel's answer) and the model zips by stable URL, the latest or a given run's.

All need the `download` action, like the artifacts they are read from. `models/latest/` only ever
answers a model whose export passed its check in its own runtime (`Artifact.verified`), so an app
or a CI job fetching it never gets one that failed; a run named by id answers what it has, with
`X-Annotator-Verified` saying whether it passed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseNotModified, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api.errors import ApiError
from annotator.api.schema import ErrorSerializer, errors
from annotator.api.views import ProjectScopedMixin
from annotator.ids import MAX_ID
from annotator.permissions import Action
from annotator.storage import project_bucket
from training import serving
from training.api.views import _RunView
from training.artifacts import DOWNLOADABLE_MODELS, latest_model
from training.models import Artifact, RunStatus

NO_TF = OpenApiResponse(ErrorSerializer, description="This server has no TensorFlow to run the SavedModel.")
MODEL_NAME = OpenApiParameter(
    "name", str, OpenApiParameter.PATH, enum=DOWNLOADABLE_MODELS,
    description="model (SavedModel), model_web (TF.js), model_android (TFLite), model_ios (Core ML), models (all)",
)  # fmt: skip
MODEL_ZIP: dict[Any, OpenApiResponse] = {
    (200, "application/zip"): OpenApiResponse(
        bytes, description="The zip; `X-Annotator-Run` names the run, `ETag` is its sha256."
    ),
    302: OpenApiResponse(description="On S3: a presigned link to the zip."),
    304: OpenApiResponse(description="`If-None-Match` named this zip's ETag: what you hold is current."),
    **errors(502),
}


class PredictRequestSerializer(serializers.Serializer):
    image = serializers.FileField(required=False, help_text="an image file; or name a project image")
    image_id = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="an image of this project, read from its bucket"
    )
    min_score = serializers.FloatField(default=0.5, min_value=0.0, max_value=1.0)

    def validate(self, data: dict) -> dict:
        if ("image" in data) == ("image_id" in data):
            raise serializers.ValidationError("Send either an image file or an image_id.")
        return data


class PredictAnswerSerializer(serializers.Serializer):
    kind = serializers.CharField()
    milliseconds = serializers.FloatField(help_text="time the SavedModel took, without decoding")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    detections = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="detectors: [{label, score, box: {x, y, width, height}}] in pixels",
    )
    classes = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="classifiers: [{label, probability}], most probable first",
    )


class WebModelFileView(_RunView):
    """A file of the run's model_web/, so a browser can load the model with TensorFlow.js."""

    actions = {"GET": Action.DOWNLOAD}

    @extend_schema(responses={(200, "application/octet-stream"): bytes, **errors(502)})
    def get(self, request: Request, project_id: int, run_id: int, filename: str) -> HttpResponse:
        run = self.get_run(run_id)
        found = serving.web_model_file(run, project_bucket(self.project), filename)
        response = HttpResponse(found.data, content_type=found.content_type)
        # A finished run's files never change.
        response["Cache-Control"] = "private, max-age=86400, immutable"
        return response


class PredictView(_RunView):
    """The SavedModel's answer on one image: detections or class probabilities, in pixels."""

    actions = {"POST": Action.DOWNLOAD}
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=PredictRequestSerializer, responses={200: PredictAnswerSerializer, **errors(502), 503: NO_TF}
    )
    def post(self, request: Request, project_id: int, run_id: int) -> Response:
        run = self.get_run(run_id)
        serializer = PredictRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bucket = project_bucket(self.project)
        if "image_id" in data:
            # A project image is read from the bucket here: the browser may not be allowed to upload
            # what it shows (presigned S3 links are cross-origin).
            pixels = bucket.read(get_object_or_404(self.project.images, pk=data["image_id"]).key)
        else:
            pixels = data["image"].read()
        return Response(serving.predict(run, bucket, pixels, data["min_score"]))


def _model_name(name: str) -> str:
    if name not in DOWNLOADABLE_MODELS:
        raise ApiError("unknown_model", f"No model called {name!r}; use one of {', '.join(DOWNLOADABLE_MODELS)}.", 404)
    return name


def model_zip_response(request: Request, artifact: Artifact) -> HttpResponseBase:
    """The zip itself (local storage) or a presigned link (S3), saying which run it came from;
    `304 Not Modified`, without touching the bucket, when the client already holds these bytes.

    The ETag is strong and is the zip's sha256, on the redirect too: an app that sends it back in
    `If-None-Match` learns "unchanged" from this URL whatever the storage, and a new run (new
    bytes) answers 200 with a new ETag."""
    run = artifact.run
    etag = f'"{artifact.sha256}"'
    response: HttpResponseBase
    if _holds(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponseNotModified()
    else:
        bucket = project_bucket(run.project)
        url = bucket.presigned_url(artifact.key, settings.ANNOTATOR_PRESIGNED_URL_SECONDS)
        if url:
            response = HttpResponseRedirect(url)
        else:
            filename = f"run-{run.pk}-{artifact.filename}"
            response = FileResponse(bucket.open(artifact.key), content_type=artifact.content_type,
                                    as_attachment=True, filename=filename)  # fmt: skip
    response["ETag"] = etag
    # "latest" moves on with every run: caches may keep the zip but must ask again before using it.
    response["Cache-Control"] = "private, no-cache"
    response["X-Annotator-Run"] = str(run.pk)
    response["X-Annotator-Verified"] = "true" if artifact.verified else "false"
    response["X-Annotator-SHA256"] = artifact.sha256
    return response


def _holds(if_none_match: str, etag: str) -> bool:
    """Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header)."""
    if if_none_match.strip() == "*":
        return True
    return etag in {tag.removeprefix("W/") for tag in parse_etags(if_none_match)}


class LatestModelView(ProjectScopedMixin, APIView):
    """The newest succeeded run's model in one format, verified in its runtime: for apps and CI."""

    actions = {"GET": Action.DOWNLOAD}

    @extend_schema(operation_id="models_latest", parameters=[MODEL_NAME], responses=MODEL_ZIP)
    def get(self, request: Request, project_id: int, name: str) -> HttpResponseBase:
        artifact = latest_model(self.project, _model_name(name))
        if artifact is None:
            raise ApiError(
                "no_model",
                f"This project has no succeeded run with a verified {name}.zip yet; train one (or wait for the "
                "running one) and ask again.",
                404,
            )
        return model_zip_response(request, artifact)


class RunModelView(_RunView):
    """A given run's model in one format, by the same URL shape as the latest one."""

    actions = {"GET": Action.DOWNLOAD}

    @extend_schema(operation_id="models_by_run", parameters=[MODEL_NAME], responses=MODEL_ZIP)
    def get(self, request: Request, project_id: int, run_id: int, name: str) -> HttpResponseBase:
        run = self.get_run(run_id)
        artifact = run.artifacts.select_related("run").filter(name=_model_name(name)).first()
        if run.status != RunStatus.SUCCEEDED or artifact is None:
            raise ApiError("no_model", f"Run {run.pk} has no {name}.zip (it is {run.status}).", 404)
        return model_zip_response(request, artifact)
