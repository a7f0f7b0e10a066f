"""Shapes of runs and artifacts; RunSerializer and a run's websocket events share Run.PAYLOAD_FIELDS."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from annotator.ids import MAX_ID
from training.hyperparameters import HyperParametersSerializer
from training.models import Artifact, Run, RunKind


class ArtifactSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = [
            "name", "filename", "size_bytes", "sha256", "content_type", "created_at", "url",
            "verified", "verification_error",
        ]  # fmt: skip

    def get_url(self, artifact: Artifact) -> str:
        return reverse("api:run-artifact", args=[artifact.run.project_id, artifact.run_id, artifact.name])


class RunSerializer(serializers.ModelSerializer):
    """A run as lists show it; its `job.progress` events carry the same (Run.PAYLOAD_FIELDS, Run.event_payload)."""

    created_by = serializers.CharField(source="created_by_name", read_only=True, allow_null=True)
    # Old detector runs stored mAP@0.5 as `map`; readers get it as `map50` too (Run.shown_metrics).
    metrics = serializers.JSONField(source="shown_metrics", read_only=True)
    urls = serializers.DictField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Run
        fields = [*Run.PAYLOAD_FIELDS, "urls"]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    """A single run: everything, with its loss and validation curves, log and artifacts."""

    # The checkpoint later runs warm-start from and the box classifier are kept, not offered (Run.offered_artifacts).
    artifacts = ArtifactSerializer(many=True, read_only=True, source="offered_artifacts")

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "loss_curve", "eval_curve", "log", "artifacts"]
        read_only_fields = fields


class ProblemSerializer(serializers.Serializer):
    """One thing pre-flight found (training.preflight.Problem); empty details are left out."""

    code = serializers.CharField()
    message = serializers.CharField()
    # DRF's metaclass pops declared fields off the class, so this never shadows Field.label; the stubs can't tell.
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    count = serializers.IntegerField(required=False)
    examples = serializers.ListField(child=serializers.CharField(), required=False)


class PreflightSerializer(serializers.Serializer):
    """What a run of `kind` would train on; `ok` is false while `errors` is not empty."""

    ok = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=RunKind.choices)
    errors = ProblemSerializer(many=True)  # type: ignore[assignment]  # a declared field too, not Serializer.errors
    warnings = ProblemSerializer(many=True)
    images = serializers.IntegerField(help_text="Images the run would train and validate on.")
    examples_per_label = serializers.DictField(child=serializers.IntegerField(), help_text="By label name.")
    minimum_per_label = serializers.IntegerField()


class RunCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RunKind.choices, required=False, help_text="Defaults to the project's type.")
    base_run = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True,
        help_text="Start from this earlier run's trained weights (see `runs/hyperparameters/` for the compatible "
        "ones and the default); omitted or null: start from ImageNet.",
    )  # fmt: skip
    # Checked against the kind's defaults by training.hyperparameters; see HyperParameters in the schema.
    hyperparameters = serializers.DictField(required=False, default=dict)


class BaseRunSerializer(serializers.ModelSerializer):
    """A run a new one can warm-start from: what it knew and how good it was."""

    labels = serializers.SerializerMethodField()
    metric_name = serializers.SerializerMethodField(help_text="`map50` (detectors) or `accuracy` (classifiers).")
    metric = serializers.SerializerMethodField(help_text="Its validation figure; null when it had no validation.")

    class Meta:
        model = Run
        fields = ["id", "created_at", "finished_at", "labels", "metric_name", "metric"]
        read_only_fields = fields

    def get_labels(self, run: Run) -> list[str]:
        return list(run.metrics.get("labels") or run.dataset_summary.get("labels") or [])

    def get_metric_name(self, run: Run) -> str:
        return run.metric_name

    def get_metric(self, run: Run) -> float | None:
        return run.score


class RunDefaultsSerializer(HyperParametersSerializer):
    """The defaults of a new run: every hyper-parameter, and the run it would start from."""

    base_run = serializers.IntegerField(
        allow_null=True, help_text="The run these defaults warm-start from; null: from ImageNet."
    )
    base_runs = BaseRunSerializer(many=True, help_text="Compatible runs to start from, newest (the default) first.")
