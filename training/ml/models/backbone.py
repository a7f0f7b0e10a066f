"""MobileNetV2 backbone with an explicit answer to "where do the pretrained weights come from"."""

from __future__ import annotations

import logging
from pathlib import Path

import keras

from ..errors import WeightsUnavailable

logger = logging.getLogger(__name__)

IMAGENET = "imagenet"


def _weights_problem(weights: str | None) -> str | None:
    """Why ``weights`` cannot be used, or None when it looks usable."""
    if weights is None:
        return "no pretrained weights configured"
    if weights != IMAGENET and not Path(weights).is_file():
        return f"weights file {weights} does not exist"
    return None


def mobilenet_v2(input_size: int, alpha: float, weights: str | None, allow_scratch: bool) -> tuple[keras.Model, bool]:
    """Return ``(backbone, trained_from_scratch)``.

    Training from random initialisation gives far worse models on small datasets, so it only
    happens when the caller allowed it; otherwise a missing download or file is an error.
    """
    problem = _weights_problem(weights)
    if problem is None:
        try:
            return _build(input_size, alpha, weights), False
        except Exception as error:  # Keras raises bare Exception for a failed download.
            problem = f"could not load {weights} weights: {error}"
    if not allow_scratch:
        raise WeightsUnavailable(
            f"{problem}; set the backbone weights to a local .h5 file or allow training from scratch"
        )
    logger.warning("training from scratch: %s", problem)
    return _build(input_size, alpha, None), True


def untrained(input_size: int, alpha: float) -> keras.Model:
    """The architecture alone, for weights that come from elsewhere (a warm start's checkpoint)."""
    return _build(input_size, alpha, None)


def _build(input_size: int, alpha: float, weights: str | None) -> keras.Model:
    return keras.applications.MobileNetV2(
        input_shape=(input_size, input_size, 3), alpha=alpha, include_top=False, weights=weights
    )


def preprocess() -> keras.layers.Layer:
    """Pixels 0..255 to MobileNetV2's -1..1; lives inside every model so clients send raw RGB."""
    return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")


def freeze_batch_norm(backbone: keras.Model) -> None:
    """Small batches make batch statistics noisy; keep the pretrained ones (inference mode)."""
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def train_from(backbone: keras.Model, first_layer: str | None) -> None:
    """Make the layers from ``first_layer`` (a name prefix) on trainable and freeze the ones
    before it; ``None`` trains them all. Batch norm stays frozen everywhere."""
    names = [layer.name for layer in backbone.layers]
    start = 0 if first_layer is None else next((i for i, n in enumerate(names) if n.startswith(first_layer)), None)
    if start is None:
        raise ValueError(f"the backbone has no layer named {first_layer}*")
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= start
    freeze_batch_norm(backbone)
