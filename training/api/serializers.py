"""Shapes of runs and artifacts; websocket events reuse RunSerializer for their payloads."""

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
    created_by = serializers.SerializerMethodField()
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id", "project", "kind", "status", "hyperparameters", "snapshot_key", "snapshot_sha256",
            "dataset_summary", "metrics", "progress", "error", "attempts", "heartbeat_at", "worker",
            "created_by", "created_at", "started_at", "finished_at", "urls", "base_run",
        ]  # fmt: skip
        read_only_fields = fields

    def get_created_by(self, run: Run) -> str | None:
        user = run.created_by
        return (user.display_name or user.email) if user else None

    def get_urls(self, run: Run) -> dict[str, str]:
        args = [run.project_id, run.pk]
        return {
            "detail": reverse("api:run-detail", args=args),
            "cancel": reverse("api:run-cancel", args=args),
            "artifacts": reverse("api:run-artifacts", args=args),
            "page": reverse("training:run-detail", args=args),
        }


class RunDetailSerializer(RunSerializer):
    """A single run: everything, with its loss and validation curves, log and artifacts."""

    # The checkpoint later runs warm-start from is kept, not offered (Run.offered_artifacts).
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
        return "map50" if run.kind == RunKind.DETECTION else "accuracy"

    def get_metric(self, run: Run) -> float | None:
        names = ("map50", "map") if run.kind == RunKind.DETECTION else ("accuracy",)
        value = next((run.metrics[n] for n in names if run.metrics.get(n) is not None), None)
        return value if isinstance(value, int | float) else None


class RunDefaultsSerializer(HyperParametersSerializer):
    """The defaults of a new run: every hyper-parameter, and the run it would start from."""

    base_run = serializers.IntegerField(
        allow_null=True, help_text="The run these defaults warm-start from; null: from ImageNet."
    )
    base_runs = BaseRunSerializer(many=True, help_text="Compatible runs to start from, newest (the default) first.")
