"""The bucket interface behaves the same on a local directory and on a real S3 endpoint."""

from __future__ import annotations

import io

import pytest

from annotator.storage import InvalidKey, LocalBucket, ObjectMissing, S3Bucket, S3Settings


@pytest.fixture
def local(tmp_path) -> LocalBucket:
    return LocalBucket(tmp_path, "bucket", prefix="projects/1")


@pytest.fixture
def s3(s3_endpoint) -> S3Bucket:
    import uuid

    settings = S3Settings(endpoint_url=s3_endpoint, access_key_id="testing", secret_access_key="testing")
    bucket = S3Bucket(settings, f"b-{uuid.uuid4().hex[:10]}", prefix="projects/1/")
    bucket.client.create_bucket(Bucket=bucket.name)
    return bucket


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def bucket(request):
    return request.getfixturevalue(request.param)


def test_put_read_list_delete_round_trip(bucket):
    bucket.put("b/two.jpg", b"22", "image/jpeg")
    bucket.put("a.jpg", io.BytesIO(b"1"), "image/jpeg")

    assert bucket.read("b/two.jpg") == b"22"
    assert bucket.read_range("b/two.jpg", 1, 5) == b"2"
    assert [(o.key, o.size) for o in bucket.list()] == [("a.jpg", 1), ("b/two.jpg", 2)]
    assert [o.key for o in bucket.list("b/")] == ["b/two.jpg"]
    assert bucket.exists("a.jpg")

    bucket.delete("a.jpg")
    bucket.delete("a.jpg")  # already gone: not an error
    assert not bucket.exists("a.jpg")


def test_overwrite_changes_the_etag(bucket):
    bucket.put("x.jpg", b"one")
    before = next(iter(bucket.list())).etag
    bucket.put("x.jpg", b"other bytes")
    assert next(iter(bucket.list())).etag != before


def test_missing_object_raises_object_missing(bucket):
    with pytest.raises(ObjectMissing):
        bucket.read("nope.jpg")


@pytest.mark.parametrize("key", ["../escape.jpg", "/abs.jpg", "a/../../b.jpg", "a//b.jpg", "", "a\\b.jpg"])
def test_keys_that_could_escape_the_prefix_are_refused(bucket, key):
    with pytest.raises(InvalidKey):
        bucket.put(key, b"x")


def test_local_writes_are_atomic_and_leave_no_temp_files(local, tmp_path):
    local.put("a.jpg", b"data")
    files = [p.name for p in (tmp_path / "bucket" / "projects" / "1").iterdir()]
    assert files == ["a.jpg"]


def test_presigned_urls_only_on_s3(local, s3):
    assert local.presigned_url("a.jpg", 60) is None
    s3.put("a.jpg", b"x")
    url = s3.presigned_url("a.jpg", 60)
    assert url.startswith(s3.client.meta.endpoint_url) and "X-Amz-Signature" in url
