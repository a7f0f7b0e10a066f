"""Objects a failed import could not remove (annotator/buckets/stranded.py), on moto's S3 over HTTP:
a sync removes them instead of adding them as images, lists them while the bucket refuses, never
removes a key an image names, and an upload of the same key keeps its object."""

from __future__ import annotations

import botocore.exceptions
import pytest

from annotator.buckets import stranded
from annotator.models import Image, StrandedObject
from annotator.storage import BucketError, S3Bucket, layout
from tests.annotator.buckets.conftest import connect, sync
from tests.annotator.test_api_images import upload
from tests.conftest import client_for, make_image_bytes
from tests.factories import make_persona_project

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def left(remote):
    """A project on the remote bucket whose failed import left `left.jpg` there."""
    remote.put("ok.jpg", make_image_bytes())
    personas = make_persona_project()
    project = connect(personas.project, remote)
    remote.put("left.jpg", make_image_bytes(20, 20))
    thumbnail = layout.thumbnail_key("ab" * 32)
    stranded.record(project, {"left.jpg": BucketError("left.jpg: access denied"), thumbnail: BucketError("denied")})
    return project, personas


def gone(remote, key: str) -> bool:
    try:
        remote.read(key)
    except botocore.exceptions.ClientError as error:
        return error.response["Error"]["Code"] == "NoSuchKey"
    return False


def test_only_image_objects_are_remembered_not_shared_thumbnails(left):
    project, _ = left
    assert list(project.stranded_objects.values_list("key", "reason")) == [("left.jpg", "left.jpg: access denied")]


def test_a_sync_removes_what_a_failed_import_left_instead_of_adding_it(left, remote):
    project, _ = left
    job = sync(project)
    assert list(Image.objects.filter(project=project).values_list("key", flat=True)) == ["ok.jpg"]
    assert gone(remote, "left.jpg") and not gone(remote, "ok.jpg")
    assert not StrandedObject.objects.exists()
    assert (job.added, job.skipped, job.problems) == (1, 0, [])


def test_while_the_bucket_refuses_the_sync_lists_it_and_adds_no_image(left, remote, monkeypatch):
    project, _ = left
    monkeypatch.setattr(S3Bucket, "delete_many", lambda self, keys: dict.fromkeys(keys, BucketError("still denied")))
    job = sync(project)
    assert list(Image.objects.filter(project=project).values_list("key", flat=True)) == ["ok.jpg"]
    assert not gone(remote, "left.jpg")
    assert job.skipped == 1
    assert job.problems == [
        {"key": "left.jpg", "message": "left by a failed import; the bucket refused to remove it: still denied"}
    ]
    assert list(project.stranded_objects.values_list("key", "reason")) == [("left.jpg", "still denied")]

    monkeypatch.undo()  # the bucket lets go: the next sync removes it
    again = sync(project)
    assert gone(remote, "left.jpg") and (again.skipped, again.problems) == (0, [])


def test_a_key_an_image_names_is_forgotten_not_removed(left, remote):
    project, _ = left
    sync(project)
    stranded.record(project, {"ok.jpg": BucketError("denied")})  # e.g. an image imported again since
    sync(project)
    assert not gone(remote, "ok.jpg") and Image.objects.filter(project=project, key="ok.jpg").exists()
    assert not StrandedObject.objects.exists()


def test_an_upload_of_the_same_name_makes_the_object_the_projects(left, remote):
    project, personas = left
    data = make_image_bytes(33, 22)
    assert upload(client_for(personas.owner), project, ("left.jpg", data)).status_code == 201
    assert not StrandedObject.objects.exists()
    sync(project)
    assert remote.read("left.jpg") == data
    assert Image.objects.filter(project=project, key="left.jpg").exists()
