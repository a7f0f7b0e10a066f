"""Hyper-parameters of a run: validated once, stored with every default filled in.

The stored dict is what the worker turns into training/ml's config, so a run's page always
shows exactly what it trained with, and a re-run can start from it.
"""

from __future__ import annotations

from rest_framework import serializers

from training.ml.config import ClassifierConfig, DetectorConfig
from training.models import RunKind

ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# The defaults are training/ml's own, so a run started with no settings trains exactly what
# bench/train_playing_cards.py measures.
DEFAULTS = {
    RunKind.CLASSIFICATION: {
        "epochs": ClassifierConfig.head_epochs,
        "input_size": ClassifierConfig.input_size,
        "batch_size": ClassifierConfig.batch_size,
        "learning_rate": ClassifierConfig.learning_rate,
        "fine_tune_epochs": ClassifierConfig.fine_tune_epochs,
    },
    RunKind.DETECTION: {
        "epochs": DetectorConfig.epochs,
        "input_size": DetectorConfig.input_size,
        "batch_size": DetectorConfig.batch_size,
        "learning_rate": DetectorConfig.learning_rate,
        "fine_tune_epochs": 0,
    },
}
COMMON_DEFAULTS = {
    "steps": None,
    "alpha": DetectorConfig.alpha,
    "seed": DetectorConfig.seed,
    "validation_fraction": 0.2,
    "augment": True,
    "allow_scratch": DetectorConfig.allow_scratch,
}


class HyperParametersSerializer(serializers.Serializer):
    """Every field is optional; `context["kind"]` picks the kind's defaults."""

    epochs = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    steps = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, allow_null=True,
        help_text="Train for this many optimiser steps instead of a number of epochs.",
    )  # fmt: skip
    batch_size = serializers.IntegerField(min_value=1, max_value=256, required=False)
    learning_rate = serializers.FloatField(min_value=1e-6, max_value=1.0, required=False)
    input_size = serializers.IntegerField(
        min_value=32, max_value=640, required=False, help_text="Square input side in pixels, a multiple of 32."
    )
    alpha = serializers.ChoiceField(choices=ALPHAS, required=False, help_text="MobileNetV2 width.")
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    validation_fraction = serializers.FloatField(min_value=0.05, max_value=0.5, required=False)
    fine_tune_epochs = serializers.IntegerField(
        min_value=0, max_value=200, required=False, help_text="Classifier only: epochs of fine-tuning the backbone."
    )
    augment = serializers.BooleanField(required=False)
    allow_scratch = serializers.BooleanField(
        required=False, help_text="Train without pretrained weights when none are available (much weaker models)."
    )

    def validate_input_size(self, value: int) -> int:
        if value % 32:
            raise serializers.ValidationError("Use a multiple of 32 (e.g. 96, 160, 224, 320).")
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs.get("epochs") and attrs.get("steps"):
            raise serializers.ValidationError({"steps": "Give epochs or steps, not both."})
        kind = self.context.get("kind", RunKind.DETECTION)
        if kind == RunKind.DETECTION and attrs.get("fine_tune_epochs"):
            raise serializers.ValidationError({"fine_tune_epochs": "Only classifiers have a fine-tuning phase."})
        values = {**COMMON_DEFAULTS, **DEFAULTS[RunKind(kind)], **attrs}
        if attrs.get("steps"):
            values["epochs"] = None
        values["alpha"] = float(values["alpha"])
        return values


def validated(kind: str, data: object) -> dict:
    """The complete hyper-parameters for `data`, or a DRF ValidationError."""
    if data is None:
        data = {}
    serializer = HyperParametersSerializer(data=data, context={"kind": kind})
    if not serializer.is_valid():
        raise serializers.ValidationError({"hyperparameters": serializer.errors})
    return dict(serializer.validated_data)
