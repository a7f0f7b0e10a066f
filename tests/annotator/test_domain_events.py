"""The domain events (annotator/domain_events.py): who sends which, with which arguments.

A receiver connected here records every signal; each test drives one producer through its
service, as the views and jobs do, and checks what was heard.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.dispatch import Signal

from annotator import domain_events
from annotator.datasets.importing import import_dataset
from annotator.models import Image, Project
from annotator.services import bulk, labels
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from annotator.services.images import add_images, delete_image, delete_images
from tests.conftest import SHARED_DATA, make_image_bytes
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db

SIGNALS = ("annotations_changed", "labels_changed", "images_added", "images_removed")


@dataclass
class Heard:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for signal, kwargs in self.events if signal == name]

    def names(self) -> list[str]:
        return [signal for signal, _ in self.events]


@pytest.fixture
def heard() -> Iterator[Heard]:
    """Every domain event sent during the test, with its keyword arguments (sender checked here)."""
    result = Heard()
    for name in SIGNALS:

        def receiver(sender: object, signal: Signal, _name: str = name, **kwargs: Any) -> None:
            assert sender is Project
            assert connection.in_atomic_block  # sent inside the changing transaction
            result.events.append((_name, kwargs))

        getattr(domain_events, name).connect(receiver, weak=False, dispatch_uid=f"test-{name}")
    yield result
    for name in SIGNALS:
        getattr(domain_events, name).disconnect(dispatch_uid=f"test-{name}")


def _boxes(image: Image, label_id: int) -> Image:
    data = AnnotationSet([BoxData(label_id, 0.1, 0.1, 0.5, 0.5)], [], False)
    return save_annotations(image, data, base_version=image.version, user=None)


def test_saving_annotations_sends_annotations_changed(personas, heard):
    image = ImageFactory(project=personas.project)
    label = LabelFactory(project=personas.project)

    _boxes(image, label.pk)

    assert heard.events == [("annotations_changed", {"project_id": personas.project.pk, "image_ids": [image.pk]})]


def test_marking_negative_in_bulk_sends_annotations_changed_per_image(personas, heard):
    images = [ImageFactory(project=personas.project) for _ in range(2)]

    bulk.mark_negative(personas.project, personas.annotator, [image.pk for image in images])

    assert heard.of("annotations_changed") == [
        {"project_id": personas.project.pk, "image_ids": [image.pk]} for image in images
    ]


def test_renaming_and_reordering_labels_send_labels_changed(personas, heard):
    first, second = LabelFactory(project=personas.project, order=1), LabelFactory(project=personas.project, order=2)

    labels.update_label(first, name="raccoon")
    labels.update_label(first, color="#ff0000")
    labels.reorder_labels(personas.project, [second.pk, first.pk])

    assert heard.events == [("labels_changed", {"project_id": personas.project.pk})] * 3


def test_deleting_a_label_sends_labels_changed_and_annotations_changed_for_its_images(personas, heard):
    label, kept = LabelFactory(project=personas.project), LabelFactory(project=personas.project)
    carrying = [_boxes(ImageFactory(project=personas.project), label.pk) for _ in range(2)]
    _boxes(ImageFactory(project=personas.project), kept.pk)
    heard.events.clear()

    labels.delete_label(label)

    project_id = personas.project.pk
    assert heard.events == [
        ("labels_changed", {"project_id": project_id}),
        ("annotations_changed", {"project_id": project_id, "image_ids": [image.pk for image in carrying]}),
    ]


def test_merging_labels_sends_labels_changed_and_annotations_changed_for_the_moved_images(personas, heard):
    source, target = LabelFactory(project=personas.project), LabelFactory(project=personas.project)
    moved = _boxes(ImageFactory(project=personas.project), source.pk)
    heard.events.clear()

    labels.merge_label(source, target)

    project_id = personas.project.pk
    assert heard.events == [
        ("labels_changed", {"project_id": project_id}),
        ("annotations_changed", {"project_id": project_id, "image_ids": [moved.pk]}),
    ]


def test_deleting_an_unused_label_changes_no_annotations(personas, heard):
    labels.delete_label(LabelFactory(project=personas.project))

    assert heard.names() == ["labels_changed"]


def test_an_upload_sends_images_added_for_each_new_image_and_nothing_for_a_duplicate(personas, heard):
    red, blue = make_image_bytes(color=(255, 0, 0)), make_image_bytes(color=(0, 0, 255))

    outcomes = add_images(
        personas.project,
        personas.annotator,
        [("red.jpg", io.BytesIO(red)), ("blue.jpg", io.BytesIO(blue)), ("again.jpg", io.BytesIO(red))],
    )

    assert [o.status for o in outcomes] == ["created", "created", "duplicate"]
    assert heard.events == [
        ("images_added", {"project_id": personas.project.pk, "image_ids": [outcome.image.pk]})
        for outcome in outcomes[:2]
        if outcome.image is not None
    ]


def test_deleting_images_sends_images_removed(personas, heard):
    outcomes = add_images(
        personas.project,
        personas.annotator,
        [(f"{n}.jpg", io.BytesIO(make_image_bytes(color=(n * 40, 0, 0)))) for n in range(3)],
    )
    one, *others = [outcome.image for outcome in outcomes if outcome.image is not None]
    heard.events.clear()

    delete_image(one)
    delete_images(personas.project, others)

    project_id = personas.project.pk
    assert heard.events == [
        ("images_removed", {"project_id": project_id, "image_ids": [one.pk]}),
        ("images_removed", {"project_id": project_id, "image_ids": [image.pk for image in others]}),
    ]


def test_a_dataset_import_sends_images_added_and_annotations_changed(personas, heard, tmp_path: Path):
    root = tmp_path / "raccoon"
    for folder in ("annotations", "images"):
        (root / folder).mkdir(parents=True)
    for xml in sorted((SHARED_DATA / "raccoon" / "annotations").glob("*.xml"))[:3]:
        shutil.copy(xml, root / "annotations" / xml.name)
        shutil.copy(SHARED_DATA / "raccoon" / "images" / f"{xml.stem}.jpg", root / "images" / f"{xml.stem}.jpg")

    import_dataset(personas.project, root, user=personas.owner)

    ids = sorted(Image.objects.filter(project=personas.project).values_list("pk", flat=True))
    assert len(ids) == 3
    added, changed = heard.of("images_added"), heard.of("annotations_changed")
    assert [(e["project_id"], sorted(e["image_ids"])) for e in added] == [(personas.project.pk, ids)]
    assert [(e["project_id"], sorted(e["image_ids"])) for e in changed] == [(personas.project.pk, ids)]


def test_a_change_that_fails_in_a_receiver_is_rolled_back(personas):
    """`send`, not `send_robust`: a receiver's rows never drift from the change they follow."""
    image = ImageFactory(project=personas.project)
    label = LabelFactory(project=personas.project)

    def refuse(sender: object, **kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    domain_events.annotations_changed.connect(refuse, weak=False, dispatch_uid="test-refuse")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            _boxes(image, label.pk)
    finally:
        domain_events.annotations_changed.disconnect(dispatch_uid="test-refuse")

    image.refresh_from_db()
    assert (image.version, image.boxes.count()) == (0, 0)
