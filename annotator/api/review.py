"""Review endpoint: GET an image's review history, POST a decision (reviewers and up)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api.errors import ApiError, error_response
from annotator.api.schema import errors
from annotator.api.serializers import AnnotationsSerializer, ImageSerializer, ReviewSerializer
from annotator.api.views import ProjectScopedMixin
from annotator.ids import MAX_VERSION
from annotator.models import ReviewDecision
from annotator.permissions import Action
from annotator.services.annotations import StaleVersion
from annotator.services.review import MAX_COMMENT_LENGTH, NotReviewable, OwnWork, review_image

_DECISIONS = {"approve": ReviewDecision.APPROVED, "reject": ReviewDecision.REJECTED}


class ReviewRequestSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=list(_DECISIONS))
    comment = serializers.CharField(required=False, allow_blank=True, max_length=MAX_COMMENT_LENGTH, default="")
    version = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_VERSION,
        help_text="The annotation version you reviewed; refused with 409 if it changed.",
    )


class ImageReviewView(ProjectScopedMixin, APIView):
    actions = {"POST": Action.REVIEW}
    serializer_class = ReviewRequestSerializer

    @extend_schema(responses={200: ReviewSerializer(many=True)})
    def get(self, request: Request, project_id: int, image_id: int) -> Response:
        image = get_object_or_404(self.project.images, pk=image_id)
        return Response(ReviewSerializer(image.reviews.select_related("reviewer"), many=True).data)

    @extend_schema(request=ReviewRequestSerializer, responses={200: ImageSerializer, **errors(409)})
    def post(self, request: Request, project_id: int, image_id: int) -> Response:
        image = get_object_or_404(self.project.images, pk=image_id)
        serializer = ReviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            image = review_image(
                image, request.user, _DECISIONS[data["decision"]], data["comment"], version=data.get("version")
            )
        except NotReviewable as exc:
            raise ApiError(exc.code, str(exc), 409) from None
        except OwnWork as exc:
            raise ApiError(exc.code, str(exc), 403) from None
        except StaleVersion as stale:
            return error_response(
                "stale_version",
                "The annotations changed after the version you reviewed; look again before deciding.",
                409,
                current=AnnotationsSerializer(stale.image).data,
            )
        return Response(ImageSerializer(image).data)
