"""Image classifier: MobileNetV2 features, global pooling, a small softmax head.

Training runs in two phases. With the backbone frozen its output never changes, so the
features are computed once and the head trains on them in seconds. Fine-tuning then
unfreezes the top of the backbone and trains end to end on augmented images.
"""

from __future__ import annotations

import keras

from .backbone import preprocess


def feature_extractor(backbone: keras.Model, input_size: int) -> keras.Model:
    """Raw pixels (0..255) to pooled backbone features."""
    image = keras.Input((input_size, input_size, 3), name="image")
    features = backbone(preprocess()(image))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    return keras.Model(image, pooled, name="features")


def head(feature_dim: int, num_classes: int, dropout: float) -> keras.Model:
    features = keras.Input((feature_dim,), name="features")
    x = keras.layers.Dropout(dropout)(features)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(features, probabilities, name="head")


def assemble(extractor: keras.Model, classifier_head: keras.Model) -> keras.Model:
    """The end-to-end model that is fine-tuned and exported."""
    image = keras.Input(extractor.input_shape[1:], name="image")
    return keras.Model(image, classifier_head(extractor(image)), name="classifier")
