"""Labelled projects with real image bytes in the bucket, and a private job queue."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import pytest
from PIL import Image as PILImage

from annotator.models import Image, Project
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from annotator.services.images import add_images
from annotator.services.projects import create_label
from tests.conftest import SHARED_DATA
from tests.keras_host import KerasHost

COLOURS = {"red": (200, 40, 40), "blue": (40, 40, 200), "green": (40, 180, 40)}
WEIGHTS = SHARED_DATA / "keras-weights"
WEIGHTS_FILE = WEIGHTS / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"


@pytest.fixture
def keras_host(monkeypatch) -> Iterator[KerasHost]:
    """Pre-flight's probe answered by a local server that has Keras' file of every width."""
    from training import weights
    from training.hyperparameters import ALPHAS

    host = KerasHost({weights.file_name(alpha) for alpha in ALPHAS})
    monkeypatch.setattr(weights, "PROBE_URL", host.url)
    yield host
    host.close()


def image_bytes(colour: tuple[int, int, int], seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A solid colour with noise: every image distinct (uploads dedupe by checksum), classes easy."""
    rng = random.Random(seed)
    image = PILImage.new("RGB", size, colour)
    pixels = image.load()
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        pixels[x, y] = tuple(min(255, c + rng.randrange(60)) for c in colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(project: Project, user, names_and_colours: list[tuple[str, tuple]], size=(64, 48)) -> list[Image]:
    files = [(name, io.BytesIO(image_bytes(c, seed=i, size=size))) for i, (name, c) in enumerate(names_and_colours)]
    outcomes = add_images(project, user, files)
    assert all(o.status == "created" for o in outcomes), [(o.name, o.message) for o in outcomes]
    return [o.image for o in outcomes]


def annotate(image: Image, user, *, labels=(), boxes=(), negative: bool = False) -> Image:
    data = AnnotationSet(
        boxes=[BoxData(label.pk, *coords) for label, coords in boxes],
        label_ids=[label.pk for label in labels],
        negative=negative,
    )
    return save_annotations(image, data, base_version=image.version, user=user)


def classification_data(project: Project, user, per_class: int = 5, classes=("red", "blue")) -> dict:
    """`per_class` labelled images of each colour; returns {name: label}."""
    labels = {name: create_label(project, name) for name in classes}
    for name in classes:
        images = upload(project, user, [(f"{name}-{i}.png", COLOURS[name]) for i in range(per_class)])
        for image in images:
            annotate(image, user, labels=[labels[name]])
    return labels


def detection_data(project: Project, user, images: int = 5, classes=("red", "blue")) -> dict:
    """Each image holds one box of every class (so `images` boxes per class)."""
    labels = {name: create_label(project, name) for name in classes}
    for image in upload(project, user, [(f"scene-{i}.png", (128, 128, 128)) for i in range(images)]):
        boxes = [(labels[name], (0.1 + 0.4 * k, 0.2, 0.45 + 0.4 * k, 0.7)) for k, name in enumerate(classes)]
        annotate(image, user, boxes=boxes)
    return labels


@pytest.fixture
def classification_project(personas) -> Project:
    from annotator.models import Membership, Role
    from annotator.services.projects import create_project

    project = create_project(personas.owner, "Colours", "classification")
    for role in ("admin", "annotator", "reviewer", "viewer"):
        Membership.objects.create(project=project, user=personas.of(role), role=Role(role))
    return project
