"""Shapes of the API's resources. The websocket reuses these for its payloads."""

from __future__ import annotations

import math

from django.urls import reverse
from rest_framework import serializers

from annotator.ids import MAX_ID, MAX_VERSION
from annotator.models import Image, Label, Project, ProjectType, ReviewEvent
from annotator.services.annotations import AnnotationSet, BoxData
from annotator.services.projects import MAX_LABEL_NAME, MAX_LABELS_AT_CREATION, InvalidLabelList, check_label_names

MAX_BOXES_PER_IMAGE = 2000
# Editors compute coordinates in floating point; forgive rounding just past an edge.
_EDGE_TOLERANCE = 1e-6


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id", "name", "type", "annotators_create_labels", "reviewers_review_own_work", "role",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "role", "created_at", "updated_at"]

    def get_role(self, project: Project) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(project.pk) if roles else None

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A project needs a name.")
        return value.strip()

    def validate_type(self, value: str) -> str:
        if self.instance is not None and value != self.instance.type:
            raise serializers.ValidationError("A project's type cannot change.")
        return value


class LabelSerializer(serializers.ModelSerializer):
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, allow_blank=True)

    class Meta:
        model = Label
        fields = ["id", "name", "color", "order"]
        # The order is set for all labels at once (PUT labels/order/), so no two share a place.
        read_only_fields = ["id", "order"]

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("A label needs a name.")
        return value


def image_urls(image: Image) -> dict[str, str]:
    """Where a browser fetches the bytes: always our permission-checked views."""
    args = [image.project_id, image.pk]
    return {
        "url": reverse("api:image-file", args=args),
        "thumbnail_url": reverse("api:image-thumbnail", args=args),
    }


class ReviewSerializer(serializers.ModelSerializer):
    """A review decision; `image_version` older than the image's version means it was edited since."""

    reviewer = serializers.IntegerField(source="reviewer_id", read_only=True, allow_null=True)
    reviewer_name = serializers.SerializerMethodField()

    class Meta:
        model = ReviewEvent
        fields = ["id", "decision", "comment", "reviewer", "reviewer_name", "image_version", "created_at"]
        read_only_fields = fields

    def get_reviewer_name(self, review: ReviewEvent) -> str:
        return review.reviewer.name if review.reviewer else ""


class ImageSerializer(serializers.ModelSerializer):
    labels: serializers.PrimaryKeyRelatedField[Label] = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    box_count = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    review = ReviewSerializer(source="last_review", read_only=True, allow_null=True)

    class Meta:
        model = Image
        fields = [
            "id", "key", "width", "height", "status", "version", "negative", "labels",
            "box_count", "sha256", "size_bytes", "url", "thumbnail_url", "created_at", "annotated_at", "review",
            "auto_labelled", "uncertainty",
        ]  # fmt: skip
        read_only_fields = fields

    def get_box_count(self, image: Image) -> int:
        counts = self.context.get("box_counts")
        return counts.get(image.pk, 0) if counts is not None else image.boxes.count()

    def get_url(self, image: Image) -> str:
        return image_urls(image)["url"]

    def get_thumbnail_url(self, image: Image) -> str:
        return image_urls(image)["thumbnail_url"]


class BoxSerializer(serializers.Serializer):
    id = serializers.UUIDField(required=False, source="uid")
    # DRF's metaclass pops declared fields off the class, so this never shadows Field.label; the stubs can't tell.
    label = serializers.IntegerField(source="label_id", min_value=1, max_value=MAX_ID)  # type: ignore[assignment]
    x = serializers.FloatField()
    y = serializers.FloatField()
    x2 = serializers.FloatField()
    y2 = serializers.FloatField()
    author = serializers.IntegerField(source="author_id", read_only=True, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        coords = [attrs["x"], attrs["y"], attrs["x2"], attrs["y2"]]
        if not all(math.isfinite(c) for c in coords):
            raise serializers.ValidationError("Coordinates must be finite numbers.")
        if any(c < -_EDGE_TOLERANCE or c > 1 + _EDGE_TOLERANCE for c in coords):
            raise serializers.ValidationError("Coordinates are normalised: each must lie within 0..1.")
        x, y, x2, y2 = (min(max(c, 0.0), 1.0) for c in coords)
        if not (x < x2 and y < y2):
            raise serializers.ValidationError("A box needs x < x2 and y < y2.")
        attrs.update(x=x, y=y, x2=x2, y2=y2)
        return attrs


class AnnotationsSerializer(serializers.Serializer):
    """An image's whole annotation set, as read and as written (PUT)."""

    image = serializers.IntegerField(source="pk", read_only=True)
    version = serializers.IntegerField(min_value=0, max_value=MAX_VERSION, required=False)
    status = serializers.CharField(read_only=True)
    negative = serializers.BooleanField(default=False)
    labels = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), default=list, max_length=100
    )
    # many=True hands max_length to the ListSerializer (DRF 3.15); the stub's signature lacks it.
    boxes = BoxSerializer(many=True, default=list, max_length=MAX_BOXES_PER_IMAGE)  # type: ignore[call-arg]

    def to_representation(self, image: Image) -> dict:
        return {
            "image": image.pk,
            "version": image.version,
            "status": image.status,
            "negative": image.negative,
            "labels": [label.pk for label in image.labels.all()],
            "boxes": BoxSerializer(image.boxes.all(), many=True).data,
        }

    def to_annotation_set(self) -> AnnotationSet:
        data = self.validated_data
        boxes = [BoxData(**box) for box in data["boxes"]]
        return AnnotationSet(boxes=boxes, label_ids=list(dict.fromkeys(data["labels"])), negative=data["negative"])


class ProjectCreateSerializer(ProjectSerializer):
    type = serializers.ChoiceField(
        choices=ProjectType.choices,
        default=ProjectType.LOCALIZATION,
        # DRF's own message does not say what is valid; "detection" is a likely first guess.
        error_messages={
            "invalid_choice": '"{input}" is not a project type: use "localization" (boxes) or "classification".'
        },
    )
    labels = serializers.ListField(
        child=serializers.CharField(max_length=MAX_LABEL_NAME, allow_blank=True),
        required=False,
        max_length=MAX_LABELS_AT_CREATION,
        help_text="The project's labels, in order (keys 1-9 follow it); names differ in more than case.",
    )

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "labels"]

    def validate_labels(self, value: list[str]) -> list[str]:
        try:
            return check_label_names(value)
        except InvalidLabelList as exc:
            raise serializers.ValidationError(exc.message) from None


class ImageCountsSerializer(serializers.Serializer):
    """The filter bar's numbers (GET images/counts/); missing images count only in `missing`."""

    all = serializers.IntegerField()
    annotated = serializers.IntegerField(
        help_text="Annotated images: labelled, approved or rejected (any status but unlabelled; docs/editor.md)."
    )
    labelled_total = serializers.IntegerField(help_text="The same number as `annotated` (its older name).")
    status = serializers.DictField(child=serializers.IntegerField(), help_text="Images per status, every status.")
    labels = serializers.DictField(child=serializers.IntegerField(), help_text="Images per label id, when not 0.")
    missing = serializers.IntegerField(help_text="Images whose object left the bucket.")


class UploadOutcomeSerializer(serializers.Serializer):
    """One file of an upload: `code` and `message` say why an `error` was refused."""

    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    code = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    image = ImageSerializer(required=False, help_text="The image added, or the one already there.")


class UploadSummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    error = serializers.IntegerField()


class UploadResultSerializer(serializers.Serializer):
    """POST images/: 201 if any file was added, 200 if all were already there."""

    summary = UploadSummarySerializer()
    results = UploadOutcomeSerializer(many=True)


def annotations_payload(image: Image) -> dict:
    return AnnotationsSerializer().to_representation(image)


__all__ = [
    "AnnotationsSerializer",
    "BoxSerializer",
    "ImageCountsSerializer",
    "ImageSerializer",
    "LabelSerializer",
    "ProjectCreateSerializer",
    "ProjectSerializer",
    "ReviewSerializer",
    "UploadResultSerializer",
    "annotations_payload",
]
