"""Writing `_annotations.json` back: same annotations out as in, atomic, never missing an edit."""

from __future__ import annotations

import json

import pytest

from annotator.buckets import writeback
from annotator.formats.cloud_annotations import parse
from annotator.models import BucketConnection, Image
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from tests.annotator.buckets.conftest import connect, sync
from tests.annotator.buckets.test_sync import CA_LOCALIZATION
from tests.conftest import make_image_bytes
from tests.factories import make_persona_project

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _normalised(annotations: dict) -> dict:
    """Cloud Annotations' two spellings of a negative image, written as one."""
    return {key: [] if records == [{"label": "Negative"}] else records for key, records in annotations.items()}


@pytest.fixture
def connected(remote):
    for key in ("a.jpg", "b.png", "sub/c.jpg"):
        remote.put(key, make_image_bytes(64, 48, "PNG" if key.endswith(".png") else "JPEG"))
    remote.put_annotations(CA_LOCALIZATION)
    personas = make_persona_project()
    project = connect(personas.project, remote)
    sync(project)
    return personas, project


def test_written_file_reads_back_as_the_same_annotations(connected, remote):
    _, project = connected

    writeback.write_annotations_file(project)

    written = json.loads(remote.read("_annotations.json"))
    expected = {k: v for k, v in CA_LOCALIZATION["annotations"].items() if k != "gone.jpg"}
    assert written["version"] == "1.0" and written["type"] == "localization"
    assert written["labels"] == ["cat", "Dog"]
    assert written["annotations"] == _normalised(expected)
    # A second project reading the file we wrote gets the same boxes.
    other = connect(make_persona_project().project, remote)
    sync(other)
    boxes = lambda p: sorted(  # noqa: E731
        Image.objects.filter(project=p).values_list("key", "boxes__label__name", "boxes__x", "boxes__y2", "negative")
    )
    assert boxes(other) == boxes(project)


def test_edits_mark_the_file_dirty_and_the_quiet_writer_writes_it(connected, remote, settings):
    personas, project = connected
    image = Image.objects.get(project=project, key="b.png")
    dog = project.labels.get(name="Dog")
    save_annotations(
        image, AnnotationSet([BoxData(dog.pk, 0.0, 0.0, 0.25, 0.25)], [], False),
        base_version=image.version, user=personas.annotator,
    )  # fmt: skip
    assert BucketConnection.objects.get(project=project).annotations_dirty

    settings.ANNOTATOR_ANNOTATIONS_WRITE_DELAY = 3600
    assert writeback.write_quiet_files() == []  # not quiet for long enough yet
    settings.ANNOTATOR_ANNOTATIONS_WRITE_DELAY = 0
    assert writeback.write_quiet_files() == [project.pk]

    written = json.loads(remote.read("_annotations.json"))["annotations"]
    assert written["b.png"] == [{"x": 0.0, "y": 0.0, "x2": 0.25, "y2": 0.25, "label": "Dog"}]
    assert not BucketConnection.objects.get(project=project).annotations_dirty


def test_an_edit_made_while_the_file_is_written_is_written_too(connected, remote, monkeypatch):
    personas, project = connected
    image = Image.objects.get(project=project, key="b.png")
    cat = project.labels.get(name="cat")
    real_render = writeback.render_project
    rounds = []

    def render_then_someone_edits(p):
        data = real_render(p)
        if not rounds:  # an annotator saves after the file's contents were read
            fresh = Image.objects.get(pk=image.pk)
            save_annotations(
                fresh, AnnotationSet([BoxData(cat.pk, 0.5, 0.5, 0.75, 0.75)], [], False),
                base_version=fresh.version, user=personas.annotator,
            )  # fmt: skip
        rounds.append(data)
        return data

    monkeypatch.setattr(writeback, "render_project", render_then_someone_edits)
    connection = writeback.write_annotations_file(project)

    assert len(rounds) == 2 and not connection.annotations_dirty
    written = json.loads(remote.read("_annotations.json"))["annotations"]
    assert written["b.png"][0]["label"] == "cat"


def test_our_own_file_is_not_imported_again(connected, remote):
    _, project = connected
    writeback.write_annotations_file(project)

    job = sync(project)

    assert job.annotations_imported == 0
    assert not [p for p in job.problems if p["key"] == "_annotations.json"]
    assert parse(remote.read("_annotations.json")).type == "localization"
