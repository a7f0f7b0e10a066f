"""Connecting and syncing a bucket over HTTP (moto's S3 server): images, labels, boxes, changes."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from PIL import Image as PILImage

from annotator import jobs
from annotator.buckets import sync as sync_module
from annotator.models import BucketConnection, Image, JobStatus, SyncJob, UnreadableObject
from annotator.services.projects import create_label
from annotator.storage import BucketError, project_bucket
from tests.annotator.buckets.conftest import connect, sync
from tests.conftest import client_for, make_image_bytes
from tests.factories import make_persona_project

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CA_LOCALIZATION = {
    "version": "1.0",
    "type": "localization",
    "labels": ["cat", "Dog"],
    "annotations": {
        "a.jpg": [
            {"x": 0.1, "y": 0.2, "x2": 0.5, "y2": 0.6, "label": "cat"},
            {"x": 0.5, "y": 0.5, "x2": 1.0, "y2": 1.0, "label": "Dog"},
        ],
        "b.png": [],
        "sub/c.jpg": [{"label": "Negative"}],
        "gone.jpg": [{"x": 0, "y": 0, "x2": 1, "y2": 1, "label": "cat"}],
    },
}


@pytest.fixture
def count_gets():
    """Start counting the GetObject calls a project's S3 client sends (boto3's event hooks)."""
    registered = []

    def start(project) -> list[str]:
        calls: list[str] = []
        events = project_bucket(project).client.meta.events
        handler = lambda params, **kw: calls.append(params["Key"])  # noqa: E731
        events.register("provide-client-params.s3.GetObject", handler)
        registered.append((events, handler))
        return calls

    yield start
    for events, handler in registered:
        events.unregister("provide-client-params.s3.GetObject", handler)


@pytest.fixture
def seeded(remote):
    remote.put("a.jpg", make_image_bytes(64, 48))
    remote.put("b.png", make_image_bytes(30, 20, "PNG"))
    remote.put("sub/c.jpg", make_image_bytes(10, 40))
    remote.put("notes.txt", b"not an image, not imported")
    remote.put_annotations(CA_LOCALIZATION)
    return remote


def test_connecting_imports_images_labels_and_boxes(seeded):
    personas = make_persona_project()
    existing = create_label(personas.project, "CAT")  # matched case-insensitively, not duplicated
    project = connect(personas.project, seeded)

    job = sync(project)

    images = {image.key: image for image in Image.objects.filter(project=project)}
    assert set(images) == {"a.jpg", "b.png", "sub/c.jpg"}
    assert (images["a.jpg"].width, images["a.jpg"].height) == (64, 48)
    assert (images["b.png"].width, images["b.png"].height, images["b.png"].content_type) == (30, 20, "image/png")
    assert sorted(project.labels.values_list("name", flat=True)) == ["CAT", "Dog"]
    boxes = sorted(images["a.jpg"].boxes.values_list("label__name", "x", "y", "x2", "y2"))
    assert boxes == [("CAT", 0.1, 0.2, 0.5, 0.6), ("Dog", 0.5, 0.5, 1.0, 1.0)]
    assert images["a.jpg"].boxes.filter(label=existing).count() == 1
    assert images["b.png"].negative and images["sub/c.jpg"].negative
    assert {i.status for i in images.values()} == {"labelled"}
    assert (job.listed, job.added, job.header_reads, job.annotations_imported) == (5, 3, 3, 3)
    assert any("not in the bucket" in p["message"] for p in job.problems)


def test_resync_without_changes_lists_once_and_downloads_nothing(seeded, count_gets):
    project = connect(make_persona_project().project, seeded)
    sync(project)
    gets = count_gets(project)

    job = sync(project)

    assert gets == []
    assert (job.added, job.replaced, job.missing, job.header_reads, job.annotations_imported) == (0, 0, 0, 0, 0)


def test_resync_adds_new_marks_deleted_missing_and_notices_replaced(seeded, count_gets):
    personas = make_persona_project()
    project = connect(personas.project, seeded)
    sync(project)
    seeded.put("d.jpg", make_image_bytes(12, 12))
    seeded.delete("b.png")
    seeded.put("a.jpg", make_image_bytes(128, 96, color=(0, 0, 255)))
    gets = count_gets(project)

    job = sync(project)

    assert (job.added, job.missing, job.replaced) == (1, 1, 1)
    assert sorted(gets) == sorted([seeded.prefix + "a.jpg", seeded.prefix + "d.jpg"])
    a = Image.objects.get(project=project, key="a.jpg")
    assert (a.width, a.height, a.thumbnail_key, a.sha256) == (128, 96, "", "")
    assert a.boxes.count() == 2  # annotations survive a replaced object
    b = Image.objects.get(project=project, key="b.png")
    assert b.missing and b.negative
    client = client_for(personas.owner)
    listed = [i["key"] for i in client.get(f"/api/v1/projects/{project.pk}/images/").json()["results"]]
    assert listed == ["a.jpg", "d.jpg", "sub/c.jpg"]
    gone = client.get(f"/api/v1/projects/{project.pk}/images/?missing=true").json()["results"]
    assert [i["key"] for i in gone] == ["b.png"]
    assert client.get(f"/api/v1/projects/{project.pk}/images/counts/").json()["missing"] == 1

    seeded.put("b.png", make_image_bytes(30, 20, "PNG"))
    assert sync(project).restored == 1
    assert not Image.objects.get(pk=b.pk).missing


def test_database_wins_over_the_file_for_annotated_images(seeded):
    personas = make_persona_project()
    project = connect(personas.project, seeded)
    seeded.put_annotations({"version": "1.0", "type": "localization", "labels": [], "annotations": {}})
    sync(project)
    image = Image.objects.get(project=project, key="a.jpg")
    Image.objects.filter(pk=image.pk).update(version=3)  # someone labelled (or cleared) it here
    seeded.put_annotations(CA_LOCALIZATION)

    job = sync(project)

    assert Image.objects.get(pk=image.pk).boxes.count() == 0
    assert job.annotations_imported == 2  # b.png and sub/c.jpg, never annotated here


def test_classification_file(remote):
    remote.put("x.jpg", make_image_bytes())
    remote.put("y.jpg", make_image_bytes())
    remote.put("z.jpg", make_image_bytes())
    remote.put_annotations({
        "version": "1.0", "type": "classification", "labels": ["ripe", "unripe"],
        "annotations": {"x.jpg": [{"label": "ripe"}], "y.jpg": [], "z.jpg": [{"label": "UNRIPE"}]},
    })  # fmt: skip
    project = connect(make_persona_project("classification").project, remote)

    sync(project)

    images = {i.key: i for i in Image.objects.filter(project=project)}
    assert [label.name for label in images["x.jpg"].labels.all()] == ["ripe"]
    assert [label.name for label in images["z.jpg"].labels.all()] == ["unripe"]
    assert images["y.jpg"].negative
    assert project.labels.count() == 2


def _jpeg_with_big_icc_profile(width: int, height: int) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height)).save(out, "JPEG", icc_profile=bytes(200_000))
    return out.getvalue()


def test_header_reads_widen_for_big_jpeg_headers_and_respect_exif_orientation(remote):
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotated 90°: displayed as 40 wide, 64 high
    remote.put("rotated.jpg", make_image_bytes(64, 40, exif=exif.tobytes()))
    remote.put("big-header.jpg", _jpeg_with_big_icc_profile(33, 22))
    project = connect(make_persona_project().project, remote)

    job = sync(project)

    sizes = dict((i.key, (i.width, i.height)) for i in Image.objects.filter(project=project))
    assert sizes == {"rotated.jpg": (40, 64), "big-header.jpg": (33, 22)}
    assert job.header_reads == 3  # one for the small header, two for the 200 KB one


def test_unreadable_objects_are_reported_once_and_not_read_again(remote, count_gets):
    remote.put("broken.jpg", b"\xff\xd8 this is no jpeg at all")
    remote.put("ok.jpg", make_image_bytes())
    project = connect(make_persona_project().project, remote)

    first = sync(project)
    gets = count_gets(project)
    second = sync(project)

    assert first.skipped == 1 and first.problems[0]["key"] == "broken.jpg"
    assert UnreadableObject.objects.filter(project=project, key="broken.jpg").exists()
    assert gets == [] and second.skipped == 1
    assert list(Image.objects.filter(project=project).values_list("key", flat=True)) == ["ok.jpg"]


def test_an_interrupted_sync_marks_nothing_missing_and_a_rerun_finishes(seeded, monkeypatch):
    project = connect(make_persona_project().project, seeded)
    sync(project)
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 2)
    real_list = type(project_bucket(project)).list

    def dies_after_one_page(self, prefix=""):
        for n, info in enumerate(real_list(self, prefix)):
            if n == 2:
                raise BucketError("Listing: connection reset.")
            yield info

    monkeypatch.setattr(type(project_bucket(project)), "list", dies_after_one_page)
    job = sync_module.start_sync(project)
    jobs.execute("sync", job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "storage_error"
    assert job.error == "Listing: connection reset." and job.listed == 2  # the counts reached are kept
    assert not Image.objects.filter(project=project, missing=True).exists()

    monkeypatch.setattr(type(project_bucket(project)), "list", real_list)
    assert sync(project).missing == 0


def test_a_silent_job_is_reaped_so_a_new_sync_can_start(seeded, settings):
    project = connect(make_persona_project().project, seeded)
    SyncJob.objects.create(project=project, status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    settings.ANNOTATOR_SYNC_HEARTBEAT_TIMEOUT = 0

    job = sync(project)

    assert job.added == 3
    lost = SyncJob.objects.get(project=project, status=JobStatus.FAILED)
    assert lost.error_code == "worker_lost" and "Start the sync again" in lost.error


def test_a_sync_cancelled_mid_listing_stops_at_its_next_page_and_marks_nothing_missing(seeded, monkeypatch):
    project = connect(make_persona_project().project, seeded)
    sync(project)
    monkeypatch.setattr(sync_module, "PAGE_SIZE", 2)
    real_list = type(project_bucket(project)).list

    def cancelled_after_one_page(self, prefix=""):
        for n, info in enumerate(real_list(self, prefix)):
            if n == 2:  # the first page is stored: someone cancels meanwhile
                jobs.cancel(SyncJob.objects.get(project=project, status=JobStatus.RUNNING))
            yield info

    monkeypatch.setattr(type(project_bucket(project)), "list", cancelled_after_one_page)
    job = sync_module.start_sync(project)
    jobs.execute("sync", job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.error_code == ""
    assert job.listed == 2  # the last heartbeat's counts: nothing was written after the cancel
    assert not Image.objects.filter(project=project, missing=True).exists()


def test_unreadable_credentials_fail_the_sync_saying_so(remote, settings):
    from cryptography.fernet import Fernet

    project = connect(make_persona_project().project, remote)
    settings.ANNOTATOR_ENCRYPTION_KEY = Fernet.generate_key().decode()  # the key they were stored with is lost

    job = sync_module.start_sync(project)
    jobs.execute("sync", job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "credentials_unreadable"
    assert "again" in job.error
    assert BucketConnection.objects.filter(project=project).exists()


def test_a_bug_fails_the_sync_without_showing_its_details(remote, monkeypatch):
    project = connect(make_persona_project().project, remote)
    monkeypatch.setattr(sync_module, "_mark_missing", lambda job: 1 / 0)

    job = sync_module.start_sync(project)
    jobs.execute("sync", job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "internal_error"
    assert "ZeroDivisionError" in job.error and "by zero" not in job.error  # the log has the rest


def test_bad_records_are_reported_and_the_good_ones_imported(remote):
    for key in ("good.jpg", "outside.jpg", "long.jpg", "negbox.jpg", "odd.jpg"):
        remote.put(key, make_image_bytes(100, 100))
    remote.put_annotations({
        "version": "1.0", "type": "localization", "labels": ["ok", "x" * 150, 42],
        "annotations": {
            "good.jpg": [{"x": 0.1, "y": 0.1, "x2": 0.2, "y2": 0.2, "label": "ok"}],
            "outside.jpg": [{"x": 0.1, "y": 0.1, "x2": 1.7, "y2": 0.2, "label": "ok"}],
            "long.jpg": [{"x": 0.1, "y": 0.1, "x2": 0.2, "y2": 0.2, "label": "x" * 150}],
            "negbox.jpg": [{"x": 0.1, "y": 0.1, "x2": 0.2, "y2": 0.2, "label": "Negative"}],
            "odd.jpg": "not a list",
        },
    })  # fmt: skip
    project = connect(make_persona_project().project, remote)

    job = sync(project)

    boxed = dict(Image.objects.filter(project=project, boxes__isnull=False).values_list("key", "boxes__label__name"))
    assert boxed == {"good.jpg": "ok", "negbox.jpg": "Negative"}  # a box may be labelled Negative
    reported = {p["key"] for p in job.problems}
    assert {"outside.jpg", "long.jpg", "odd.jpg", "_annotations.json"} <= reported
    assert job.annotations_imported == 2


def test_images_uploaded_through_annotator_are_recognised_not_reread(remote, count_gets):
    from django.core.files.base import ContentFile

    from annotator.services.images import add_images

    personas = make_persona_project()
    project = connect(personas.project, remote)
    outcome = add_images(project, personas.owner, [("up.jpg", ContentFile(make_image_bytes(20, 10)))])
    assert outcome[0].status == "created"
    gets = count_gets(project)

    job = sync(project)

    image = Image.objects.get(project=project)
    assert (job.added, job.replaced, job.missing, gets) == (0, 0, 0, [])
    assert image.etag and image.thumbnail_key  # ETag learnt from the listing; thumbnail kept, not an image
