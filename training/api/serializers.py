"""Shapes of runs and artifacts; websocket events reuse RunSerializer for their payloads."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from training.models import Artifact, Run, RunKind


class ArtifactSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = ["name", "filename", "size_bytes", "sha256", "content_type", "created_at", "url"]

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
            "created_by", "created_at", "started_at", "finished_at", "urls",
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
    """A single run: everything, with its loss curve, log and artifacts."""

    artifacts = ArtifactSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "loss_curve", "log", "artifacts"]
        read_only_fields = fields


class ProblemSerializer(serializers.Serializer):
    """One thing pre-flight found (training.preflight.Problem); empty details are left out."""

    code = serializers.CharField()
    message = serializers.CharField()
    label = serializers.CharField(required=False)
    count = serializers.IntegerField(required=False)
    examples = serializers.ListField(child=serializers.CharField(), required=False)


class PreflightSerializer(serializers.Serializer):
    """What a run of `kind` would train on; `ok` is false while `errors` is not empty."""

    ok = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=RunKind.choices)
    errors = ProblemSerializer(many=True)
    warnings = ProblemSerializer(many=True)
    images = serializers.IntegerField(help_text="Images the run would train and validate on.")
    examples_per_label = serializers.DictField(child=serializers.IntegerField(), help_text="By label name.")
    minimum_per_label = serializers.IntegerField()


class RunCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RunKind.choices, required=False, help_text="Defaults to the project's type.")
    # Checked against the kind's defaults by training.hyperparameters; see HyperParameters in the schema.
    hyperparameters = serializers.DictField(required=False, default=dict)
