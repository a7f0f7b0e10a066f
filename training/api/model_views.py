"""The run page's "Try it" panel: model_web/ served file by file, and the SavedModel's answer.

Both need the `download` action, like the zips they are read from.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api.errors import ApiError
from annotator.api.schema import ErrorSerializer, errors
from annotator.ids import MAX_ID
from annotator.permissions import Action
from annotator.storage import project_bucket
from annotator.uploads import UploadRejected
from training import serving
from training.api.views import _RunView

NO_TF = OpenApiResponse(ErrorSerializer, description="This server has no TensorFlow to run the SavedModel.")


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
        try:
            found = serving.web_model_file(run, project_bucket(self.project), filename)
        except serving.ModelUnavailable as exc:
            raise ApiError(exc.code, str(exc), exc.status) from None
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
        try:
            answer = serving.predict(run, bucket, pixels, data["min_score"])
        except serving.ModelUnavailable as exc:
            raise ApiError(exc.code, str(exc), exc.status) from None
        except UploadRejected as exc:
            raise ApiError(exc.code, str(exc)) from None
        return Response(answer)
