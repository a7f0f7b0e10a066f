"""Acting on several images at once (delete, "no objects", send to review), and deleting safely.

Deleting removes the object before the row: a bucket failure leaves the image whole, so
the 502 can be retried, instead of a row gone and its object orphaned.
"""

from __future__ import annotations

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotator.models import AnnotationEvent, Image, ImageStatus
from annotator.services import bulk, tally
from annotator.storage import project_bucket
from tests.annotator.test_label_management import Listener, put_boxes
from tests.annotator.test_tally import assert_true_counts
from tests.conftest import client_for, make_image_bytes
from tests.factories import LabelFactory

pytestmark = pytest.mark.django_db


def bulk_url(project, action: str) -> str:
    return f"/api/v1/projects/{project.pk}/images/bulk/{action}/"


def upload(project, user, n: int, *, same: bool = False) -> list[Image]:
    files = [
        SimpleUploadedFile(f"{i}.png", make_image_bytes(30 + (0 if same else i), 20, "PNG", color=(i, 9, 9)))
        for i in range(n)
    ]
    response = client_for(user).post(f"/api/v1/projects/{project.pk}/images/", {"files": files}, format="multipart")
    assert response.status_code == 201, response.content
    return list(Image.objects.filter(project=project).order_by("key"))


def test_bulk_delete_removes_objects_rows_and_unused_thumbnails(personas, django_capture_on_commit_callbacks):
    project = personas.project
    a, b, c = upload(project, personas.owner, 3)
    bucket = project_bucket(project)
    listener = Listener(project.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(personas.admin).post(bulk_url(project, "delete"), {"ids": [a.pk, c.pk]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"done": [a.pk, c.pk], "skipped": []}
    assert list(Image.objects.filter(project=project)) == [b]
    assert not bucket.exists(a.key) and not bucket.exists(c.thumbnail_key)
    assert bucket.exists(b.key) and bucket.exists(b.thumbnail_key)
    assert {("image.deleted", a.pk), ("image.deleted", c.pk)} <= {(n, p.get("id")) for n, p in listener.drain()}
    assert assert_true_counts(project.pk) == {"status:unlabelled": 1}


def test_bulk_requests_are_bounded_and_refuse_other_projects_images(personas, settings):
    project = personas.project
    (mine,) = upload(project, personas.owner, 1)
    (theirs,) = upload(personas.other_project, personas.outsider, 1)
    owner = client_for(personas.owner)

    for ids, code in (
        ([mine.pk, theirs.pk], "unknown_images"),
        ([], "no_images"),
        (list(range(1, bulk.MAX_BULK_IDS + 2)), "too_many_images"),
    ):
        for action in ("delete", "no-objects", "send-to-review"):
            response = owner.post(bulk_url(project, action), {"ids": ids}, format="json")
            assert response.status_code == 400 and response.json()["error"]["code"] == code, (action, code)
    assert owner.post(bulk_url(project, "delete"), {"ids": ["x"]}, format="json").status_code == 400
    assert Image.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


@pytest.mark.parametrize(
    ("action", "allowed", "refused"),
    [
        ("delete", "admin", "reviewer"),
        ("no-objects", "annotator", "viewer"),
        ("send-to-review", "reviewer", "annotator"),
    ],
)
def test_bulk_actions_follow_the_role_table(personas, action, allowed, refused):
    project = personas.project
    (image,) = upload(project, personas.owner, 1)

    assert (
        client_for(personas.outsider).post(bulk_url(project, action), {"ids": [image.pk]}, format="json").status_code
        == 404
    )
    assert (
        client_for(personas.of(refused)).post(bulk_url(project, action), {"ids": [image.pk]}, format="json").status_code
        == 403
    )
    assert (
        client_for(personas.of(allowed)).post(bulk_url(project, action), {"ids": [image.pk]}, format="json").status_code
        == 200
    )


def test_mark_no_objects_writes_like_the_editor_and_skips_labelled_images(personas):
    project = personas.project
    cat = LabelFactory(project=project)
    empty, boxed = upload(project, personas.owner, 2)
    put_boxes(client_for(personas.owner), boxed, [cat])

    response = client_for(personas.annotator).post(
        bulk_url(project, "no-objects"), {"ids": [empty.pk, boxed.pk]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["done"] == [empty.pk]
    assert [s["code"] for s in response.json()["skipped"]] == ["has_annotations"]
    empty.refresh_from_db()
    assert (empty.negative, empty.status, empty.version, empty.annotated_by) == (
        True, ImageStatus.LABELLED, 1, personas.annotator,
    )  # fmt: skip
    assert AnnotationEvent.objects.filter(image=empty, user=personas.annotator).exists()
    assert Image.objects.get(pk=boxed.pk).boxes.count() == 1
    assert_true_counts(project.pk)


def test_send_to_review_reopens_decided_images_only(personas):
    project = personas.project
    unlabelled, waiting, approved, rejected = upload(project, personas.owner, 4)
    cat = LabelFactory(project=project)
    for image in (waiting, approved, rejected):
        put_boxes(client_for(personas.annotator), image, [cat])
    Image.objects.filter(pk=approved.pk).update(status=ImageStatus.APPROVED)
    Image.objects.filter(pk=rejected.pk).update(status=ImageStatus.REJECTED)
    tally.recount(project.pk)
    ids = [unlabelled.pk, waiting.pk, approved.pk, rejected.pk]

    response = client_for(personas.reviewer).post(bulk_url(project, "send-to-review"), {"ids": ids}, format="json")

    assert response.status_code == 200
    assert response.json()["done"] == [approved.pk, rejected.pk]
    assert {s["id"]: s["code"] for s in response.json()["skipped"]} == {
        unlabelled.pk: "not_labelled",
        waiting.pk: "in_review",
    }
    statuses = dict(Image.objects.filter(project=project).values_list("pk", "status"))
    assert statuses == {
        unlabelled.pk: "unlabelled",
        waiting.pk: "labelled",
        approved.pk: "labelled",
        rejected.pk: "labelled",
    }
    assert Image.objects.get(pk=approved.pk).version == 1  # the annotations did not change
    assert_true_counts(project.pk)


def test_select_all_answers_the_filters_ids_up_to_the_cap(personas, settings, monkeypatch):
    project = personas.project
    images = upload(project, personas.owner, 3)
    url = f"/api/v1/projects/{project.pk}/images/ids/"
    viewer = client_for(personas.viewer)

    assert viewer.get(url).json() == {"ids": [i.pk for i in images], "total": 3}
    assert viewer.get(url, {"status": "labelled"}).json() == {"ids": [], "total": 0}
    monkeypatch.setattr(bulk, "MAX_BULK_IDS", 2)
    assert viewer.get(url).json() == {"ids": [i.pk for i in images[:2]], "total": 3}
    assert client_for(personas.outsider).get(url).status_code == 404


def _drop_bucket(name: str, endpoint: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


def test_a_bucket_failure_leaves_the_image_whole_and_the_delete_can_be_retried(personas, s3_storage, s3_endpoint):
    project = personas.project
    first, second = upload(project, personas.owner, 2)
    owner = client_for(personas.owner)
    _drop_bucket(s3_storage, s3_endpoint)  # every bucket call now fails

    single = owner.delete(f"/api/v1/projects/{project.pk}/images/{first.pk}/")
    many = owner.post(bulk_url(project, "delete"), {"ids": [first.pk, second.pk]}, format="json")

    assert single.status_code == 502
    assert many.status_code == 502 and many.json()["error"]["deleted"] == []
    assert Image.objects.filter(project=project).count() == 2
    assert_true_counts(project.pk)

    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=s3_storage)  # the bucket is back (its objects are not: deleting a gone object is fine)
    assert owner.delete(f"/api/v1/projects/{project.pk}/images/{first.pk}/").status_code == 204
    assert owner.post(bulk_url(project, "delete"), {"ids": [second.pk]}, format="json").status_code == 200
    assert not Image.objects.filter(project=project).exists()
