"""The serving function shared by evaluation and every export format.

Preprocessing (inside the Keras model), a classifier's test-time flip averaging and, for
detectors, box decoding and NMS live here, so evaluation measures exactly what clients will
run and every client sends raw pixels.
"""

from __future__ import annotations

import tensorflow as tf

from .config import ClassifierConfig
from .dataset import CLASSIFICATION
from .loop import TrainResult
from .models.anchor_free import decode

INPUT_NAME = "image"
CLASSIFIER_OUTPUTS = ("probabilities",)
DETECTOR_OUTPUTS = ("boxes", "classes", "num_detections", "scores")


class InferenceModule(tf.Module):
    """``serve(image)``: float32 ``[1, S, S, 3]`` RGB in 0..255 to named outputs."""

    def __init__(self, result: TrainResult):
        super().__init__()
        self.model = result.model
        self.kind = result.kind
        self.config = result.config
        size = result.config.input_size
        spec = tf.TensorSpec([1, size, size, 3], tf.float32, name=INPUT_NAME)
        self.serve = tf.function(self._serve, input_signature=[spec])

    def _serve(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        config = self.config
        if isinstance(config, ClassifierConfig):  # each recipe builds its result with its own config class
            return {"probabilities": self._classify(image, config.test_time_flip)}
        outputs = self.model(image, training=False)
        return decode(
            outputs["heatmap"],
            outputs["box"],
            max_detections=config.max_detections,
            pre_nms_top_k=config.pre_nms_top_k,
            score_threshold=config.score_threshold,
            iou_threshold=config.iou_threshold,
        )

    def _classify(self, image: tf.Tensor, test_time_flip: bool) -> tf.Tensor:
        """Softmax probabilities; with ``test_time_flip``, the mean over the image and its
        mirror, computed as one batch of two so every runtime runs the network once."""
        if not test_time_flip:
            return self.model(image, training=False)
        pair = tf.concat([image, tf.reverse(image, axis=[2])], axis=0)
        return tf.reduce_mean(self.model(pair, training=False), axis=0, keepdims=True)


def output_names(kind: str) -> tuple[str, ...]:
    """Output names in the order TensorFlow flattens them (sorted keys)."""
    return CLASSIFIER_OUTPUTS if kind == CLASSIFICATION else DETECTOR_OUTPUTS
