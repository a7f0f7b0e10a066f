import pytest

from training.ml.dataset import Box, Sample, TrainingSet, crops_as_classification, split_samples, voc_samples
from training.ml.errors import DatasetError

from .conftest import CARDS, RACCOON


def test_voc_folder_with_xml_next_to_images(cards):
    labels, samples = cards
    assert sorted(labels) == ["ace", "jack", "king", "nine", "queen", "ten"]
    assert len(samples) == 133
    assert sum(len(s.boxes) for s in samples) == 233
    for sample in samples:
        for box in sample.boxes:
            assert 0 <= box.x < box.x2 <= 1 and 0 <= box.y < box.y2 <= 1


def test_voc_folder_with_images_and_annotations_dirs():
    if not RACCOON.is_dir():
        pytest.skip("raccoon data not available")
    labels, samples = voc_samples(RACCOON)
    assert labels == ("raccoon",)
    assert len(samples) == 200 and sum(len(s.boxes) for s in samples) == 217


def test_unknown_label_is_refused_when_labels_are_given(cards):
    with pytest.raises(DatasetError, match="not in"):
        voc_samples(CARDS / "train", labels=["king"])


def test_crops_give_one_classification_sample_per_box(cards):
    _, samples = cards
    crops = crops_as_classification(samples[:10])
    assert len(crops) == sum(len(s.boxes) for s in samples[:10])
    assert all(c.crop is not None and c.label is not None and not c.boxes for c in crops)


def test_split_is_deterministic_and_complete(cards):
    _, samples = cards
    train, validation = split_samples(samples, 0.2, seed=3)
    assert (train, validation) == split_samples(samples, 0.2, seed=3)
    assert len(validation) == round(len(samples) * 0.2)
    assert sorted(s.image_path for s in train + validation) == sorted(s.image_path for s in samples)


def test_validate_lists_every_problem(cards, tmp_path):
    _, samples = cards
    bad = (
        Sample(samples[0].image_path, boxes=(Box(0.5, 0.5, 0.4, 0.9, 0),)),
        Sample(samples[1].image_path, boxes=(Box(0.1, 0.1, 0.2, 0.2, 7),)),
        Sample(str(tmp_path / "missing.jpg")),
    )
    with pytest.raises(DatasetError) as error:
        TrainingSet("detection", ("a",), bad, ()).validate()
    message = str(error.value)
    assert "degenerate" in message and "out of range" in message and "missing" in message
