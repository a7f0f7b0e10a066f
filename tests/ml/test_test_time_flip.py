"""Test-time flip averaging lives inside the exported classifier: every format answers the
same probabilities for an image and its mirror, and they agree with each other."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from training.ml.config import ClassifierConfig
from training.ml.export import export_saved_model, export_tflite
from training.ml.inference import InferenceModule
from training.ml.pipeline import sample_images
from training.ml.train_classifier import train_classifier
from training.ml.verify import run_saved_model, run_tfjs, run_tflite


@pytest.fixture(scope="module")
def flip_result(tiny_classification, weights):
    config = ClassifierConfig(
        input_size=96, weights=weights, head_epochs=2, batch_size=8, fine_tune_epochs=0, test_time_flip=True
    )
    return train_classifier(tiny_classification, config)


@pytest.fixture(scope="module")
def images(tiny_classification):
    return sample_images("classification", tiny_classification.validation[:3], 96)


def _mirror(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, ::-1])


def _without_flip(result):
    return dataclasses.replace(result, config=dataclasses.replace(result.config, test_time_flip=False))


def test_serving_averages_the_image_and_its_mirror(flip_result, images):
    serve = InferenceModule(flip_result).serve
    for image in images:
        batch = tf.constant(image[None])
        expected = (flip_result.model(batch) + flip_result.model(tf.reverse(batch, axis=[2]))) / 2
        np.testing.assert_allclose(serve(batch)["probabilities"], expected, atol=1e-6)
        np.testing.assert_allclose(serve(batch)["probabilities"].numpy().sum(), 1.0, atol=1e-5)


def test_without_flip_the_mirror_scores_differently(flip_result, images):
    """The control: the same weights without averaging are not mirror-symmetric, so the
    symmetry checked below comes from the averaging, not from the model or the images."""
    serve = InferenceModule(_without_flip(flip_result)).serve

    def probabilities(image):
        return serve(tf.constant(image[None]))["probabilities"].numpy()

    assert max(np.abs(probabilities(image) - probabilities(_mirror(image))).max() for image in images) > 1e-3


def test_saved_model_and_tflite_are_mirror_symmetric(flip_result, images, tmp_path):
    export_saved_model(flip_result, tmp_path / "model")
    export_tflite(tmp_path / "model", tmp_path / "android")
    mirrored = [_mirror(image) for image in images]
    saved = run_saved_model(tmp_path / "model", images)
    for run in (lambda batch: run_saved_model(tmp_path / "model", batch),
                lambda batch: run_tflite(tmp_path / "android" / "model.tflite", batch)):  # fmt: skip
        for plain, mirror, reference in zip(run(images), run(mirrored), saved, strict=True):
            np.testing.assert_allclose(plain["probabilities"], mirror["probabilities"], atol=1e-5)
            np.testing.assert_allclose(plain["probabilities"], reference["probabilities"], atol=1e-4)


def test_every_exported_format_of_a_run_is_mirror_symmetric(classifier_run, tiny_classification, node_root):
    """The session's classifier run (conftest) exports with flip averaging; test_export checks
    that its formats agree, this that each answers its mirror the same."""
    images = sample_images("classification", tiny_classification.validation[:2], 96)
    mirrored = [_mirror(image) for image in images]
    paths = classifier_run.exports
    for run in (lambda batch: run_saved_model(paths.saved_model, batch),
                lambda batch: run_tflite(paths.android / "model.tflite", batch),
                lambda batch: run_tfjs(paths.web, batch, node_root)):  # fmt: skip
        for plain, mirror in zip(run(images), run(mirrored), strict=True):
            np.testing.assert_allclose(plain["probabilities"], mirror["probabilities"], atol=1e-4)
    assert all(check["ok"] for check in classifier_run.verification.values())
