"""Uploads and listing with the instance's storage on a real S3 endpoint (moto over HTTP)."""

from __future__ import annotations

import urllib.request

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import client_for, make_image_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _objects(settings) -> list[str]:
    s3 = settings.ANNOTATOR_S3
    client = boto3.client(
        "s3", endpoint_url=s3["endpoint_url"], region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    return [o["Key"] for o in client.list_objects_v2(Bucket=settings.ANNOTATOR_BUCKET).get("Contents", [])]


def test_upload_list_and_fetch_through_s3(personas, s3_storage, settings):
    client = client_for(personas.owner)
    project = personas.project
    data = make_image_bytes(50, 40)

    response = client.post(
        f"/api/v1/projects/{project.pk}/images/",
        {"files": [SimpleUploadedFile("s3.jpg", data), SimpleUploadedFile("bad.jpg", b"")]},
        format="multipart",
    )

    assert response.status_code == 201
    image = response.json()["results"][0]["image"]
    assert sorted(_objects(settings)) == sorted(
        [f"projects/{project.pk}/s3.jpg", f"projects/{project.pk}/_annotator/thumbnails/{image['sha256']}.jpg"]
    )
    listed = client.get(f"/api/v1/projects/{project.pk}/images/").json()["results"]
    assert [i["key"] for i in listed] == ["s3.jpg"]

    redirect = client.get(image["url"])
    assert redirect.status_code == 302
    with urllib.request.urlopen(redirect["Location"]) as fetched:
        assert fetched.read() == data


def test_outsider_gets_no_presigned_url(personas, s3_storage):
    client = client_for(personas.owner)
    project = personas.project
    response = client.post(
        f"/api/v1/projects/{project.pk}/images/", {"files": [SimpleUploadedFile("a.jpg", make_image_bytes())]},
        format="multipart",
    )  # fmt: skip
    image = response.json()["results"][0]["image"]
    assert client_for(personas.outsider).get(image["url"]).status_code == 404


def test_delete_removes_objects_from_s3(personas, s3_storage, settings):
    client = client_for(personas.owner)
    project = personas.project
    response = client.post(
        f"/api/v1/projects/{project.pk}/images/", {"files": [SimpleUploadedFile("a.jpg", make_image_bytes())]},
        format="multipart",
    )  # fmt: skip
    image_id = response.json()["results"][0]["image"]["id"]

    assert client.delete(f"/api/v1/projects/{project.pk}/images/{image_id}/").status_code == 204
    assert _objects(settings) == []
