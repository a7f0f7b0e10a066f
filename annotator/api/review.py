"""Review endpoints: an image's history and decision, the reviewer's queue, and bulk decisions.

The queue and the bulk decision read and apply the rules of `annotator.services.review`
(what waits, own work, stale versions); nothing here decides who may review what.
"""

from __future__ import annotations

from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.current import current_user
from annotator.api.errors import ApiError, error_response
from annotator.api.params import bool_param, int_param
from annotator.api.schema import errors
from annotator.api.serializers import AnnotationsSerializer, ImageSerializer, ReviewSerializer
from annotator.api.views import ProjectScopedMixin
from annotator.ids import MAX_ID, MAX_VERSION
from annotator.models import Box, Image, ReviewDecision
from annotator.permissions import Action
from annotator.services.annotations import StaleVersion
from annotator.services.review import (
    MAX_BULK_REVIEW,
    MAX_COMMENT_LENGTH,
    review_image,
    review_many,
    waiting,
)

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
                image, current_user(request), _DECISIONS[data["decision"]], data["comment"], version=data.get("version")
            )
        except StaleVersion as stale:
            return error_response(
                "stale_version",
                "The annotations changed after the version you reviewed; look again before deciding.",
                409,
                current=AnnotationsSerializer(stale.image).data,
            )
        return Response(ImageSerializer(image).data)


class QueueItemSerializer(ImageSerializer):
    """An image in the review queue, with who labelled it last."""

    annotated_by = serializers.SerializerMethodField()

    class Meta(ImageSerializer.Meta):
        fields = [*ImageSerializer.Meta.fields, "annotated_by"]
        read_only_fields = fields

    def get_annotated_by(self, image: Image) -> dict | None:
        user = image.annotated_by
        return {"id": user.pk, "name": user.name} if user else None


_QUEUE_FILTERS = [
    OpenApiParameter("annotator", int, description="Only images this user labelled last."),
    OpenApiParameter("label", int, description="Only images carrying this label (boxes or class)."),
    OpenApiParameter(
        "auto_labelled", bool, description="true: only images a bulk auto-label wrote; false: only people's work."
    ),
]


class _QueueMixin(ProjectScopedMixin):
    actions = {"GET": Action.REVIEW}

    def queue(self):
        images = waiting(
            self.project,
            current_user(self.request),
            annotator=int_param(self.request, "annotator", code="invalid_filter"),
            label=int_param(self.request, "label", code="invalid_filter"),
        )
        if (auto_labelled := bool_param(self.request, "auto_labelled", code="invalid_filter")) is not None:
            images = images.filter(auto_labelled=auto_labelled)
        return images


class ReviewQueueView(_QueueMixin, generics.ListAPIView):
    """GET: the labelled images waiting for you (not your own work unless the project allows it), by name."""

    serializer_class = QueueItemSerializer

    def get_queryset(self):
        return self.queue().select_related("annotated_by", "last_review__reviewer").prefetch_related("labels")

    @extend_schema(parameters=_QUEUE_FILTERS)
    def get(self, request: Request, project_id: int) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        ids = [image.pk for image in page]
        counts = dict(Box.objects.filter(image_id__in=ids).values_list("image_id").annotate(n=Count("id")))
        serializer = self.get_serializer(page, many=True, context={"box_counts": counts})
        return self.get_paginated_response(serializer.data)


class QueueAnnotatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class QueueSummarySerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Images in the queue under these filters.")
    annotators = QueueAnnotatorSerializer(many=True, help_text="Who labelled the images waiting (all filters aside).")
    max_bulk = serializers.IntegerField(help_text="The most images one bulk decision takes.")


class ReviewQueueSummaryView(_QueueMixin, APIView):
    """GET: how many images the filtered queue holds, and whose work waits (the annotator filter's choices)."""

    @extend_schema(parameters=_QUEUE_FILTERS, responses=QueueSummarySerializer)
    def get(self, request: Request, project_id: int) -> Response:
        count = self.queue().count()
        rows = (
            waiting(self.project, current_user(request))
            .exclude(annotated_by=None)
            .order_by()
            .values("annotated_by", "annotated_by__display_name", "annotated_by__first_name",
                    "annotated_by__last_name", "annotated_by__email")
            .annotate(n=Count("id"))
        )  # fmt: skip
        annotators = sorted(
            ({"id": row["annotated_by"], "name": _name(dict(row)), "count": row["n"]} for row in rows),
            key=lambda a: a["name"].lower(),
        )
        return Response({"count": count, "annotators": annotators, "max_bulk": MAX_BULK_REVIEW})


def _name(row: dict) -> str:
    """User.name from a values() row, without loading each user."""
    full = f"{row['annotated_by__first_name']} {row['annotated_by__last_name']}".strip()
    return row["annotated_by__display_name"] or full or row["annotated_by__email"].split("@")[0]


class BulkImageSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    version = serializers.IntegerField(min_value=0, max_value=MAX_VERSION, help_text="The version you were shown.")


class BulkReviewRequestSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=list(_DECISIONS))
    comment = serializers.CharField(required=False, allow_blank=True, max_length=MAX_COMMENT_LENGTH, default="")
    images = BulkImageSerializer(many=True, help_text=f"At most {MAX_BULK_REVIEW}, each once.")


class BulkSkippedSerializer(serializers.Serializer):
    image = serializers.IntegerField()
    code = serializers.ChoiceField(choices=["not_labelled", "stale_version", "own_work", "already_reviewed"])
    message = serializers.CharField()


class BulkReviewResultSerializer(serializers.Serializer):
    decided = serializers.ListField(child=serializers.IntegerField(), help_text="Images decided, by id.")
    skipped = BulkSkippedSerializer(many=True, help_text="Images left as they were, each with its reason.")


class BulkReviewView(ProjectScopedMixin, APIView):
    """POST: approve (or reject) many images in one transaction, each at the version you were shown."""

    actions = {"POST": Action.REVIEW}
    serializer_class = BulkReviewRequestSerializer

    @extend_schema(request=BulkReviewRequestSerializer, responses={200: BulkReviewResultSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        images = request.data.get("images") if isinstance(request.data, dict) else None
        # Counted before validation, so an oversized list costs no per-item work.
        if isinstance(images, list) and len(images) > MAX_BULK_REVIEW:
            raise ApiError(
                "too_many_images", f"Send at most {MAX_BULK_REVIEW} images per request; split the batch.", 400
            )
        serializer = BulkReviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not data["images"]:
            raise ApiError("no_images", "Name at least one image.")
        versions = {item["id"]: item["version"] for item in data["images"]}
        if len(versions) != len(data["images"]):
            raise ApiError("duplicate_images", "Name each image once.")
        outcome = review_many(
            self.project, current_user(request), _DECISIONS[data["decision"]], versions, data["comment"]
        )
        skipped = [{"image": s.image, "code": s.code, "message": s.message} for s in outcome.skipped]
        return Response({"decided": outcome.decided, "skipped": skipped})
