"""The write-back hears of changes through the domain events, and a bucket sync sends `images_added`."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from annotator import domain_events
from annotator.models import BucketConnection, Image, Project
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from tests.annotator.buckets.conftest import connect, sync
from tests.conftest import make_image_bytes
from tests.factories import ImageFactory, LabelFactory, make_persona_project

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _revision(project: Project) -> int:
    return BucketConnection.objects.values_list("annotations_revision", flat=True).get(project=project)


@pytest.fixture
def connected(remote) -> Project:
    return connect(make_persona_project().project, remote)


def test_a_sync_sends_images_added_with_the_new_images_only(remote):
    remote.put("a.jpg", make_image_bytes(64, 48))
    project = connect(make_persona_project().project, remote)
    sync(project)
    remote.put("b.jpg", make_image_bytes(32, 32))
    remote.put("c.png", make_image_bytes(16, 16, "PNG"))
    heard: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        heard.append(kwargs)

    domain_events.images_added.connect(receiver, weak=False, dispatch_uid="test-sync-images-added")
    try:
        sync(project)
    finally:
        domain_events.images_added.disconnect(dispatch_uid="test-sync-images-added")

    new = Image.objects.filter(project=project, key__in=["b.jpg", "c.png"]).values_list("pk", flat=True)
    assert [(e["project_id"], sorted(e["image_ids"])) for e in heard] == [(project.pk, sorted(new))]


@pytest.mark.parametrize("signal", ["annotations_changed", "labels_changed", "images_removed"])
def test_the_write_back_marks_the_file_dirty_on_each_change_it_listens_to(connected, signal):
    before = _revision(connected)

    getattr(domain_events, signal).send(sender=Project, project_id=connected.pk, image_ids=[])

    assert _revision(connected) == before + 1
    assert BucketConnection.objects.get(project=connected).annotations_dirty


def test_new_images_leave_the_file_clean(connected):
    """Unlabelled images are not in `_annotations.json`; imported annotations come as annotations_changed."""
    before = _revision(connected)

    domain_events.images_added.send(sender=Project, project_id=connected.pk, image_ids=[])

    assert _revision(connected) == before


def test_a_rolled_back_change_leaves_the_revision_alone(connected):
    image = ImageFactory(project=connected)
    label = LabelFactory(project=connected)
    before = _revision(connected)

    with pytest.raises(RuntimeError), transaction.atomic():
        data = AnnotationSet([BoxData(label.pk, 0.1, 0.1, 0.5, 0.5)], [], False)
        save_annotations(image, data, base_version=image.version, user=None)
        assert _revision(connected) == before + 1  # bumped inside the transaction...
        raise RuntimeError("the request fails after the save")

    assert _revision(connected) == before  # ...and rolled back with it
    image.refresh_from_db()
    assert image.version == 0
