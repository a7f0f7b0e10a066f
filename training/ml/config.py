"""Hyper-parameters of a training run as plain dataclasses (JSON-friendly via ``asdict``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .warmstart import WarmStart


@dataclass(frozen=True)
class AugmentConfig:
    """Switches for training-time augmentation; every transform keeps boxes consistent."""

    horizontal_flip: bool = True
    scale_crop: bool = True
    min_crop_fraction: float = 0.6  # smallest crop side as a fraction of the image side
    color_jitter: bool = True
    brightness: float = 0.15  # max delta on 0..1 pixels
    contrast: float = 0.2  # max relative change
    saturation: float = 0.2
    # Max rotation in degrees either way, classifiers only (0 = none): a detector's boxes would
    # no longer fit a rotated object.
    rotation: float = 0.0


@dataclass(frozen=True)
class _BaseConfig:
    input_size: int = 224
    alpha: float = 0.5
    # A local .h5 path, "imagenet" (Keras download, needs internet) or None (no pretrained weights).
    weights: str | None = "imagenet"
    # Without usable weights, train from random initialisation only when this is True.
    allow_scratch: bool = False
    batch_size: int = 16
    learning_rate: float = 1e-3
    seed: int = 0
    # Evaluation/export work on the validation split; the split comes from the TrainingSet.
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # Cache decoded, resized images in memory (fine for the dataset sizes a project trains on).
    cache_images: bool = True
    # Measure the validation split every this many epochs (a fixed ``steps`` budget counts an
    # epoch as one pass over the training images), keep the best weights, export those.
    eval_every: int = 5
    # Stop a phase after this many evaluations without improvement (0 = never stop early).
    early_stop_patience: int = 5

    # Start from an earlier run's trained weights instead of the ImageNet backbone (warmstart.py).
    warm_start: WarmStart | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _classifier_augment() -> AugmentConfig:
    # Gentler crops than the detector's: a classifier's label must stay true of what is left,
    # and small distinguishing marks (a card's corner index) sit near the edge.
    return AugmentConfig(min_crop_fraction=0.85)


@dataclass(frozen=True)
class ClassifierConfig(_BaseConfig):
    """Frozen-backbone head training on cached features, then fine-tuning of the top blocks.

    The defaults are the settings bench/train_playing_cards.py measures: on card crops,
    288 px reached 0.986 accuracy where 224 px stayed at 0.92-0.95 (nine and ten confused:
    their corner indices are a few pixels apart at 224).
    """

    input_size: int = 288
    batch_size: int = 32
    head_epochs: int = 40
    dropout: float = 0.2
    # Number of augmented feature copies per training image for the frozen phase (0 = none).
    feature_augment_copies: int = 2
    fine_tune_epochs: int = 60
    fine_tune_learning_rate: float = 3e-4
    # Unfreeze backbone layers from this block on during fine-tuning (1e-3 from block_1 diverged).
    fine_tune_from: str = "block_6_expand"
    augment: AugmentConfig = field(default_factory=_classifier_augment)
    # Soft targets against over-confidence on a few hundred images: the true label aims at
    # 1 - e + e / C and every other at e / C (Keras' rule); 0 trains on hard labels.
    label_smoothing: float = 0.0
    # The exported model averages the probabilities of the image and its mirror, a symmetry the
    # training flips already teach it; on held-out card-crop folds it never cost accuracy and
    # gained 1-2 crops of 75 on three of five (bench/classifier_cv.py, docs/training.md), for
    # twice the inference time.
    test_time_flip: bool = True


@dataclass(frozen=True)
class DetectorConfig(_BaseConfig):
    """Anchor-free single-shot detector (centre heatmap + box distances at stride 8)."""

    input_size: int = 320
    # With the early blocks frozen, 80 epochs cost what 60 did end to end, and on playing-cards
    # reach mAP@0.5 0.86-0.87 where 60 reached 0.82.
    epochs: int = 80
    # If set, overrides epochs: train for exactly this many optimiser steps.
    steps: int | None = None
    learning_rate: float = 2e-3
    warmup_steps: int = 100
    weight_decay: float = 1e-4
    head_channels: int = 96  # 64 gave mAP 0.797, 96 gave 0.820 on playing-cards
    # Backbone layers before this one stay frozen (None trains all): the high-resolution early
    # blocks cost the most per step on a CPU (0.42 s instead of 0.58 s a step of 16 at 320 px)
    # and only hold generic edges and textures.
    trainable_from: str | None = "block_3_expand"
    # Post-processing inside the exported model.
    max_detections: int = 50
    pre_nms_top_k: int = 200
    score_threshold: float = 0.05
    iou_threshold: float = 0.5
