import keras
import pytest

from training.ml.models.backbone import mobilenet_v2, train_from


@pytest.fixture
def backbone(weights) -> keras.Model:
    return mobilenet_v2(64, 0.5, weights, allow_scratch=False)[0]


def _trainable(backbone: keras.Model) -> list[str]:
    return [layer.name for layer in backbone.layers if layer.trainable and layer.weights]


def test_train_from_freezes_the_layers_before_it_and_every_batch_norm(backbone):
    train_from(backbone, "block_3_expand")
    names = _trainable(backbone)
    assert names[0] == "block_3_expand"
    assert not any(name.startswith(("Conv1", "expanded_conv", "block_1_", "block_2_")) for name in names)
    assert not any(isinstance(backbone.get_layer(name), keras.layers.BatchNormalization) for name in names)
    assert "Conv_1" in names  # the last convolution


def test_train_from_none_trains_every_layer_but_batch_norm(backbone):
    train_from(backbone, "block_13_expand")
    train_from(backbone, None)
    names = _trainable(backbone)
    assert names[0] == "Conv1"
    convolutions = [layer for layer in backbone.layers if isinstance(layer, keras.layers.Conv2D)]
    assert all(layer.trainable for layer in convolutions)


def test_train_from_an_unknown_layer_is_an_error(backbone):
    with pytest.raises(ValueError, match="no layer named block_99"):
        train_from(backbone, "block_99")
