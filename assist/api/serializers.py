"""Shapes of model-assisted labelling in the API (docs/assist.md).

Prediction and auto-label jobs show their models' PAYLOAD_FIELDS, which their `job.progress`
events carry too (Job.event_payload: foreign keys as ids), plus the `kind` every event has; so
the REST API and the websocket say the same. The assist state is `assist.services.assist_state`
as it is: the serializers below document it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.ids import MAX_ID
from assist import services
from assist.models import AutoLabelJob, PredictionJob, PredictionScope, Suggestion
from training.models import RunKind

MAX_PREDICT_IMAGES = 10_000
MAX_REJECT_IDS = 1_000
THRESHOLD_HELP = "A score from 0 to 1; omitted or null: the assist run's (the best F1 on its validation split)."


class PredictionJobSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="job_kind", read_only=True, help_text="Always `predict`.")

    class Meta:
        model = PredictionJob
        fields = ["kind", *PredictionJob.PAYLOAD_FIELDS]
        read_only_fields = fields


class AutoLabelJobSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="job_kind", read_only=True, help_text="Always `autolabel`.")

    class Meta:
        model = AutoLabelJob
        fields = ["kind", *AutoLabelJob.PAYLOAD_FIELDS]
        read_only_fields = fields


class AssistRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RunKind.choices)
    created_at = serializers.DateTimeField()
    metric_name = serializers.CharField(help_text="What `score` measures, for people (mAP@0.5, accuracy).")
    score = serializers.FloatField(allow_null=True, help_text="Its validation figure; null without validation.")
    metrics = serializers.DictField(help_text="The headline metric and `suggestion_threshold`, when measured.")
    url = serializers.CharField(help_text="The run's page.")


class AssistCountsSerializer(serializers.Serializer):
    predicted = serializers.IntegerField(help_text="Present images the assist run has predicted.")
    unpredicted = serializers.IntegerField()
    pending_suggestions = serializers.IntegerField(help_text="The assist run's suggestions nobody decided on yet.")
    auto_labelled = serializers.IntegerField(help_text="Images a bulk auto-label wrote and nobody saved since.")


class AssistStateSerializer(serializers.Serializer):
    run = AssistRunSerializer(allow_null=True, help_text="The assist run; null before a run of its kind succeeds.")
    pinned = serializers.BooleanField(help_text="true: the run is pinned; false: the newest succeeded run assists.")
    auto_suggest = serializers.BooleanField(help_text="Images that arrive are predicted as they come.")
    threshold = serializers.FloatField(help_text="The run's default suggestion threshold (0.5 without one).")
    counts = AssistCountsSerializer()
    active_prediction = PredictionJobSerializer(allow_null=True, help_text="A queued or running prediction.")


class AssistSettingsSerializer(serializers.Serializer):
    pinned_run = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, allow_null=True, required=False,
        help_text="A succeeded run of the project's kind to assist with; null: the newest succeeded one.",
    )  # fmt: skip
    auto_suggest = serializers.BooleanField(required=False)


class ScopeField(serializers.ChoiceField):
    """A prediction scope the service checks, so an unknown one is its `invalid_scope`, not DRF's `invalid`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=PredictionScope.choices, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return data if isinstance(data, str) else repr(data)


class PredictionRequestSerializer(serializers.Serializer):
    scope = ScopeField(
        default=PredictionScope.UNLABELLED,
        help_text="unlabelled | unpredicted (by the assist run) | all | filter (`status`, `label`) | images.",
    )
    status = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, max_length=10,
        help_text="Scope `filter`: image statuses, as the image list's `status`.",
    )  # fmt: skip
    # DRF's metaclass pops declared fields off the class, so this never shadows Field.label; the stubs can't tell.
    label = serializers.IntegerField(  # type: ignore[assignment]
        min_value=1, max_value=MAX_ID, required=False, allow_null=True,
        help_text="Scope `filter`: images carrying this label.",
    )  # fmt: skip
    images = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=MAX_PREDICT_IMAGES,
        help_text=f"Scope `images`: the image ids, at most {MAX_PREDICT_IMAGES}.",
    )  # fmt: skip


class ThresholdField(serializers.FloatField):
    """A score threshold, refused as the service refuses it (`invalid_threshold`), not with DRF's `invalid`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=0.0, max_value=1.0, **kwargs)

    def to_internal_value(self, data: Any) -> float:
        return services.validate_threshold(data)


class AutoLabelRequestSerializer(serializers.Serializer):
    threshold = ThresholdField(required=False, allow_null=True, help_text=THRESHOLD_HELP)


class AutoLabelPreviewSerializer(serializers.Serializer):
    threshold = serializers.FloatField()
    images = serializers.IntegerField(help_text="Never-annotated images that would be labelled.")
    per_label = serializers.DictField(child=serializers.IntegerField(), help_text="Annotations by label name.")


class SuggestedBoxSerializer(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()
    x2 = serializers.FloatField()
    y2 = serializers.FloatField()


class SuggestionSerializer(serializers.ModelSerializer):
    # DRF's metaclass pops declared fields off the class, so this never shadows Field.label; the stubs can't tell.
    label = serializers.IntegerField(source="label_id", read_only=True)  # type: ignore[assignment]
    label_name = serializers.CharField(source="label.name", read_only=True)
    box = serializers.SerializerMethodField()

    class Meta:
        model = Suggestion
        fields = ["id", "uid", "label", "label_name", "score", "box", "status"]
        read_only_fields = fields

    @extend_schema_field(SuggestedBoxSerializer(allow_null=True, help_text="Normalised 0..1; null for a class."))
    def get_box(self, suggestion: Suggestion) -> dict[str, float | None] | None:
        if not suggestion.is_box:
            return None
        return {"x": suggestion.x, "y": suggestion.y, "x2": suggestion.x2, "y2": suggestion.y2}


class ImageSuggestionsSerializer(serializers.Serializer):
    run = serializers.IntegerField(allow_null=True, help_text="The assist run; null: no model assists yet.")
    threshold = serializers.FloatField(help_text="The run's default threshold: the editor's slider starts there.")
    kind = serializers.ChoiceField(choices=RunKind.choices, help_text="Boxes (`detection`) or classes.")
    suggestions = SuggestionSerializer(many=True, help_text="Best first; pending only unless `all=true`.")


class RejectRequestSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=MAX_REJECT_IDS,
        help_text="Suggestions to reject (pending ones on this image; others are left as they are).",
    )  # fmt: skip
    all = serializers.BooleanField(default=False, help_text="Reject every pending suggestion of the assist run.")


class RejectResultSerializer(serializers.Serializer):
    rejected = serializers.IntegerField()


class SuggestionStatsSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Accepted unchanged.")
    edited = serializers.IntegerField(help_text="Accepted, then changed.")
    rejected = serializers.IntegerField()
    pending = serializers.IntegerField()
    added = serializers.IntegerField(
        help_text="Boxes people drew on images this run predicted that no suggestion proposed (classifiers: 0)."
    )
