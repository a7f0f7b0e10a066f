"""The bucket interface behaves the same on a local directory and on a real S3 endpoint."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from annotator.storage import InvalidKey, LocalBucket, ObjectMissing, S3Bucket, S3Settings
from annotator.storage.s3 import Timeouts


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


def test_delete_many_removes_every_listed_object_and_gone_ones_are_no_error(bucket, monkeypatch):
    from annotator.storage import s3 as s3_module

    monkeypatch.setattr(s3_module, "DELETE_BATCH", 2)  # five keys: three DeleteObjects requests on S3
    for name in "abcd":
        bucket.put(f"d/{name}.jpg", b"x")
    bucket.put("keep.jpg", b"k")

    assert bucket.delete_many(["d/a.jpg", "d/b.jpg", "d/c.jpg", "d/d.jpg", "d/never-there.jpg"]) == {}
    assert [o.key for o in bucket.list()] == ["keep.jpg"]
    assert bucket.delete_many([]) == {}


def test_delete_many_answers_a_key_it_refuses_and_removes_the_others(bucket):
    bucket.put("a.jpg", b"1")
    failed = bucket.delete_many(["a.jpg", "../escape.jpg"])
    assert list(failed) == ["../escape.jpg"] and isinstance(failed["../escape.jpg"], InvalidKey)
    assert not bucket.exists("a.jpg")


@pytest.mark.integration
def test_delete_many_on_a_bucket_that_is_gone_answers_every_key(s3):
    s3.client.delete_bucket(Bucket=s3.name)
    failed = s3.delete_many(["a.jpg", "b/c.jpg"])
    assert set(failed) == {"a.jpg", "b/c.jpg"}
    assert "the bucket does not exist" in str(failed["a.jpg"])


class FakeS3(ThreadingHTTPServer):
    """An S3-compatible store as far as deletes go: DeleteObjects answers `batch` (its XML, or
    NotImplemented as some stores do); a single DELETE succeeds. Requests are recorded."""

    def __init__(self, batch: str) -> None:
        requests: list[tuple[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                requests.append(("POST", self.path))
                status = 501 if "NotImplemented" in batch else 200
                body = batch.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_DELETE(self) -> None:
                requests.append(("DELETE", self.path))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.requests = requests
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def bucket(self) -> S3Bucket:
        url = f"http://127.0.0.1:{self.server_address[1]}"
        settings = S3Settings(endpoint_url=url, access_key_id="testing", secret_access_key="testing")
        return S3Bucket(settings, "fake", prefix="projects/1/", timeouts=Timeouts(2, 2, 1))


def test_a_store_without_delete_objects_is_served_one_key_at_a_time():
    server = FakeS3("<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality "
                    "that is not implemented</Message></Error>")  # fmt: skip
    try:
        assert server.bucket().delete_many(["a.jpg", "b.jpg"]) == {}
    finally:
        server.shutdown()
    assert [method for method, _ in server.requests] == ["POST", "DELETE", "DELETE"]
    assert [path for _, path in server.requests[1:]] == ["/fake/projects/1/a.jpg", "/fake/projects/1/b.jpg"]


def test_keys_the_delete_objects_answer_lists_under_errors_are_answered_failed():
    server = FakeS3(
        '<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Error><Key>projects/1/b.jpg</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        "<Error><Key>projects/1/c.jpg</Key><Code>NoSuchKey</Code><Message>gone</Message></Error>"
        "</DeleteResult>"
    )
    try:
        failed = server.bucket().delete_many(["a.jpg", "b.jpg", "c.jpg"])
    finally:
        server.shutdown()
    assert list(failed) == ["b.jpg"] and "access denied" in str(failed["b.jpg"])
    assert [method for method, _ in server.requests] == ["POST"]  # one request for the three keys
