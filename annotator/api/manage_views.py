"""REST endpoints for managing labels (order, usage, merge) and for actions on several images.

Each route needs one action of the role table, declared per method as everywhere else,
so the generated permission tests cover them: reordering and merging labels need
`manage_labels`; the bulk routes need what the single-image action needs (`delete_images`,
`annotate` for "no objects", `review` for sending decided images back to review).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.current import current_user
from annotator.api.errors import ApiError, error_response
from annotator.api.schema import errors
from annotator.api.serializers import LabelSerializer
from annotator.api.views import _FILTERS, ProjectScopedMixin, filtered_images
from annotator.ids import MAX_ID
from annotator.permissions import Action
from annotator.services import bulk
from annotator.services import images as image_service
from annotator.services import labels as label_service


class LabelOrderSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), max_length=10_000)


class LabelMergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The label that takes the boxes over.")


class LabelUsageSerializer(serializers.Serializer):
    boxes = serializers.IntegerField()
    images = serializers.IntegerField()


class MergeResultSerializer(serializers.Serializer):
    images = serializers.IntegerField(help_text="Images whose annotations moved to the target label.")
    label = LabelSerializer()  # type: ignore[assignment]  # a field named label: DRF's metaclass takes it from Field.label


class LabelOrderView(ProjectScopedMixin, APIView):
    """The labels in a new order: `ids` names every label of the project once (keys 1-9 follow it)."""

    actions = {"PUT": Action.MANAGE_LABELS}

    @extend_schema(request=LabelOrderSerializer, responses={200: LabelSerializer(many=True)})
    def put(self, request: Request, project_id: int) -> Response:
        serializer = LabelOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        labels = label_service.reorder_labels(self.project, serializer.validated_data["ids"])
        return Response(LabelSerializer(labels, many=True).data)


class LabelUsageView(ProjectScopedMixin, APIView):
    """How many boxes and images carry the label: what a delete would remove."""

    @extend_schema(responses=LabelUsageSerializer)
    def get(self, request: Request, project_id: int, label_id: int) -> Response:
        return Response(label_service.usage(get_object_or_404(self.project.labels, pk=label_id)))


class LabelMergeView(ProjectScopedMixin, APIView):
    """Move the label's boxes and classes to `into`, then delete the label (one transaction)."""

    actions = {"POST": Action.MANAGE_LABELS}

    @extend_schema(request=LabelMergeSerializer, responses={200: MergeResultSerializer})
    def post(self, request: Request, project_id: int, label_id: int) -> Response:
        source = get_object_or_404(self.project.labels, pk=label_id)
        serializer = LabelMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = self.project.labels.filter(pk=serializer.validated_data["into"]).first()
        if target is None:
            raise ApiError("invalid_target", "Merge into a label of this project.")
        images = label_service.merge_label(source, target)
        return Response({"images": images, "label": LabelSerializer(target).data})


class BulkRequestSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        help_text=f"Image ids of this project, at most {bulk.MAX_BULK_IDS}.",
    )


class SkippedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField())
    skipped = SkippedSerializer(many=True)


class ImageIdsSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="In key order, the grid's order.")
    total = serializers.IntegerField(help_text="Images under the filter; more than `ids` holds when over the cap.")


class ImageIdsView(ProjectScopedMixin, APIView):
    """Ids of the images under the grid's filter, at most one bulk request's worth: "select all"."""

    @extend_schema(parameters=_FILTERS, responses=ImageIdsSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        images = filtered_images(self.project, request)
        ids = list(images.order_by("key").values_list("pk", flat=True)[: bulk.MAX_BULK_IDS])
        total = len(ids) if len(ids) < bulk.MAX_BULK_IDS else images.count()
        return Response({"ids": ids, "total": total})


class _BulkView(ProjectScopedMixin, APIView):
    def _ids(self, request: Request) -> list[int]:
        serializer = BulkRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["ids"]

    def _run(self, request: Request, action) -> Response:
        result = action(self._ids(request))
        return Response({"done": result.done, "skipped": result.skipped})


class BulkDeleteView(_BulkView):
    """Delete the images (objects, then rows in one transaction); 502 `deleted` lists what went anyway."""

    actions = {"POST": Action.DELETE_IMAGES}

    @extend_schema(request=BulkRequestSerializer, responses={200: BulkResultSerializer, **errors(502)})
    def post(self, request: Request, project_id: int) -> Response:
        images = bulk.images_of(self.project, self._ids(request))
        try:
            deleted = image_service.delete_images(self.project, images)
        except image_service.PartialDelete as exc:
            return error_response(exc.code, str(exc), 502, deleted=exc.deleted)
        return Response({"done": deleted, "skipped": []})


class BulkNegativeView(_BulkView):
    """Mark unlabelled images "no objects"; labelled ones are skipped."""

    actions = {"POST": Action.ANNOTATE}

    @extend_schema(request=BulkRequestSerializer, responses={200: BulkResultSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        return self._run(request, lambda ids: bulk.mark_negative(self.project, current_user(request), ids))


class BulkSendToReviewView(_BulkView):
    """Send approved or rejected images back to the review queue; others are skipped."""

    actions = {"POST": Action.REVIEW}

    @extend_schema(request=BulkRequestSerializer, responses={200: BulkResultSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        return self._run(request, lambda ids: bulk.send_to_review(self.project, ids))
