"""Hyper-parameters of a run: validated once, stored with every default filled in.

The stored dict is what the worker turns into training/ml's config, so a run's page always
shows exactly what it trained with, and a re-run can start from it.
"""

from __future__ import annotations

from rest_framework import serializers

from training.ml.config import ClassifierConfig, DetectorConfig
from training.ml.warmstart import epochs as warm_epochs
from training.models import RunKind

ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# Settings only a classifier has; a detector's stored hyper-parameters leave them out.
CLASSIFIER_ONLY = {
    "label_smoothing": ClassifierConfig.label_smoothing,
    "rotation": ClassifierConfig().augment.rotation,
    "test_time_flip": ClassifierConfig.test_time_flip,
}
# Settings only a detector has.
DETECTOR_ONLY = {
    # On by default: on playing-cards it raised suggestion recall and precision from about 0.7
    # to about 0.87 (docs/assist.md), for a few more minutes of training.
    "box_classifier": True,
}
# The defaults are training/ml's own, so a run started with no settings trains exactly what
# bench/train_playing_cards.py measures.
DEFAULTS = {
    RunKind.CLASSIFICATION: {
        "epochs": ClassifierConfig.head_epochs,
        "input_size": ClassifierConfig.input_size,
        "batch_size": ClassifierConfig.batch_size,
        "learning_rate": ClassifierConfig.learning_rate,
        "fine_tune_epochs": ClassifierConfig.fine_tune_epochs,
        **CLASSIFIER_ONLY,
    },
    RunKind.DETECTION: {
        "epochs": DetectorConfig.epochs,
        "input_size": DetectorConfig.input_size,
        "batch_size": DetectorConfig.batch_size,
        "learning_rate": DetectorConfig.learning_rate,
        "fine_tune_epochs": 0,
        **DETECTOR_ONLY,
    },
}
COMMON_DEFAULTS = {
    "steps": None,
    "alpha": DetectorConfig.alpha,
    "seed": DetectorConfig.seed,
    "validation_fraction": 0.2,
    "augment": True,
    "allow_scratch": DetectorConfig.allow_scratch,
    "eval_every": DetectorConfig.eval_every,
    "early_stop_patience": DetectorConfig.early_stop_patience,
}


class HyperParametersSerializer(serializers.Serializer):
    """Every field is optional; `context["kind"]` picks the kind's defaults."""

    # Each field's label and one-line help text are what the Train form shows (training/views.py).
    epochs = serializers.IntegerField(
        min_value=1, max_value=1000, required=False, label="Epochs",
        help_text="Passes over the training images (a classifier's head); more learns more, and takes longer.",
    )  # fmt: skip
    steps = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, allow_null=True, label="or steps",
        help_text="Train for this many optimiser steps instead of a number of epochs.",
    )  # fmt: skip
    batch_size = serializers.IntegerField(
        min_value=1, max_value=256, required=False, label="Batch size",
        help_text="Images per step; smaller needs less memory, larger gives smoother steps.",
    )  # fmt: skip
    learning_rate = serializers.FloatField(
        min_value=1e-6, max_value=1.0, required=False, label="Learning rate",
        help_text="Step size of the optimiser; lower it if the loss jumps around.",
    )  # fmt: skip
    input_size = serializers.IntegerField(
        min_value=32, max_value=640, required=False, label="Input size",
        help_text="Square input side in pixels, a multiple of 32; larger sees small details, runs slower.",
    )  # fmt: skip
    alpha = serializers.ChoiceField(
        choices=ALPHAS, required=False, label="Width (alpha)",
        help_text="MobileNetV2 width: wider is more accurate and slower; the weights must match it.",
    )  # fmt: skip
    seed = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, label="Seed",
        help_text="Draws the validation split and the training order; same data and seed, same split.",
    )  # fmt: skip
    validation_fraction = serializers.FloatField(
        min_value=0.05, max_value=0.5, required=False, label="Validation share",
        help_text="Share of each class held out to measure the model (at least one image).",
    )  # fmt: skip
    fine_tune_epochs = serializers.IntegerField(
        min_value=0, max_value=200, required=False, label="Fine-tune epochs",
        help_text="Classifier only: epochs of fine-tuning the backbone after the head; 0 skips it.",
    )  # fmt: skip
    augment = serializers.BooleanField(
        required=False, label="Augment images",
        help_text="Random flips, crops and colour changes, so the model sees more variety.",
    )  # fmt: skip
    allow_scratch = serializers.BooleanField(
        required=False, label="Train from scratch if no pretrained weights",
        help_text="Train without pretrained weights when none are available (much weaker models).",
    )  # fmt: skip
    eval_every = serializers.IntegerField(
        min_value=1, max_value=1000, required=False, label="Evaluate every",
        help_text="Epochs between measurements on the validation images; the best one is the model kept.",
    )  # fmt: skip
    early_stop_patience = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, label="Early-stop patience",
        help_text="Stop after this many evaluations without improvement; 0 never stops early.",
    )  # fmt: skip
    label_smoothing = serializers.FloatField(
        min_value=0.0, max_value=0.5, required=False, label="Label smoothing",
        help_text="Classifier only: soften the targets so the model is less over-confident on unseen images.",
    )  # fmt: skip
    rotation = serializers.FloatField(
        min_value=0.0, max_value=45.0, required=False, label="Rotation (degrees)",
        help_text="Classifier only: random rotation either way while augmenting; 0 for none.",
    )  # fmt: skip
    test_time_flip = serializers.BooleanField(
        required=False, label="Flip at test time",
        help_text="Classifier only: the exported model averages the image and its mirror image.",
    )  # fmt: skip
    box_classifier = serializers.BooleanField(
        required=False, label="Box classifier for suggestions",
        help_text="Detector only: also train a classifier on the box crops that names each suggested box "
        "(better suggestions, a few minutes more; the downloaded models do not change).",
    )  # fmt: skip

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
        if kind == RunKind.DETECTION and (given := sorted(set(attrs) & set(CLASSIFIER_ONLY))):
            raise serializers.ValidationError({name: "Only classifiers have this setting." for name in given})
        if kind == RunKind.CLASSIFICATION and (given := sorted(set(attrs) & set(DETECTOR_ONLY))):
            raise serializers.ValidationError({name: "Only detectors have this setting." for name in given})
        values = {
            **COMMON_DEFAULTS,
            **DEFAULTS[RunKind(kind)],
            **warm_start_defaults(kind, self.context.get("base")),
            **attrs,
        }
        if attrs.get("steps"):
            values["epochs"] = None
        values["alpha"] = float(values["alpha"])
        return values


def warm_start_defaults(kind: str, base: dict | None) -> dict:
    """What a run warm-started from a run with hyper-parameters `base` gets unless told otherwise:
    the base's architecture (its weights only fit that) and a shorter schedule (docs/training.md)."""
    if base is None:
        return {}
    defaults = DEFAULTS[RunKind(kind)]
    return {
        "alpha": base["alpha"],
        "input_size": base["input_size"],
        "epochs": warm_epochs(int(defaults["epochs"])),
        "fine_tune_epochs": warm_epochs(int(defaults["fine_tune_epochs"])),
    }


def validated(kind: str, data: object, base: dict | None = None) -> dict:
    """The complete hyper-parameters for `data`, or a DRF ValidationError; `base` is the
    hyper-parameters of the run this one warm-starts from."""
    if data is None:
        data = {}
    serializer = HyperParametersSerializer(data=data, context={"kind": kind, "base": base})
    if not serializer.is_valid():
        raise serializers.ValidationError({"hyperparameters": serializer.errors})
    return dict(serializer.validated_data)
