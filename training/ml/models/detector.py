"""Single-shot anchor-free detector on MobileNetV2 features (stride 8 output).

A light top-down path (stride 32 -> 16 -> 8, FPN-style) brings semantic features to the
stride-8 grid, where cards and similar small-to-medium objects still span several cells.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .anchor_free import BOX_SCALE_CELLS, HEATMAP_PRIOR_BIAS
from .backbone import preprocess

# MobileNetV2 layers at strides 8, 16 and 32.
FEATURE_LAYERS = ("block_6_expand_relu", "block_13_expand_relu", "out_relu")
STRIDE = 8


class BoxDistances(layers.Layer):
    """Raw head output to positive normalised distances; exp keeps gradients for all sizes."""

    def __init__(self, scale: float, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        return ops.exp(ops.clip(x, -6.0, 4.0)) * self.scale


def _conv_bn(x, channels: int, kernel: int, name: str, separable: bool = False):
    conv = layers.SeparableConv2D if separable else layers.Conv2D
    x = conv(channels, kernel, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def _neck(features: list, channels: int):
    s8, s16, s32 = features
    p32 = _conv_bn(s32, channels, 1, "lat32")
    p16 = layers.Add(name="td16")([_conv_bn(s16, channels, 1, "lat16"), layers.UpSampling2D(2)(p32)])
    p16 = _conv_bn(p16, channels, 3, "smooth16", separable=True)
    p8 = layers.Add(name="td8")([_conv_bn(s8, channels, 1, "lat8"), layers.UpSampling2D(2)(p16)])
    return _conv_bn(p8, channels, 3, "smooth8", separable=True)


def build_detector(backbone: keras.Model, input_size: int, num_classes: int, channels: int = 64) -> keras.Model:
    """Raw pixels (0..255) to ``{"heatmap": [G, G, C] sigmoid, "box": [G, G, 4] distances}``."""
    if input_size % 32:
        raise ValueError(f"detector input size must be a multiple of 32, got {input_size}")
    taps = keras.Model(backbone.input, [backbone.get_layer(n).output for n in FEATURE_LAYERS], name="backbone")
    image = keras.Input((input_size, input_size, 3), name="image")
    x = _neck(taps(preprocess()(image)), channels)

    h = _conv_bn(x, channels, 3, "heat_tower", separable=True)
    heatmap = layers.Conv2D(
        num_classes,
        1,
        activation="sigmoid",
        bias_initializer=keras.initializers.Constant(HEATMAP_PRIOR_BIAS),
        name="heatmap",
    )(h)
    b = _conv_bn(x, channels, 3, "box_tower", separable=True)
    raw = layers.Conv2D(4, 1, kernel_initializer="zeros", name="box_raw")(b)
    grid = input_size // STRIDE
    box = BoxDistances(BOX_SCALE_CELLS / grid, name="box")(raw)
    return keras.Model(image, {"heatmap": heatmap, "box": box}, name="detector")
