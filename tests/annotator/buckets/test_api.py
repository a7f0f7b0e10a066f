"""The storage API: create a project from a bucket, test, sync, write back; credentials never shown."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import pytest

from annotator.jobs import execute
from annotator.models import BucketConnection, Image, Project, SyncJob
from tests.annotator.buckets.conftest import ACCESS_KEY, SECRET_KEY, connect
from tests.annotator.buckets.test_sync import CA_LOCALIZATION
from tests.conftest import client_for, make_image_bytes
from tests.factories import UserFactory, make_persona_project

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _storage(remote, **overrides) -> dict:
    return {
        "endpoint_url": remote.endpoint, "region": "us-east-1", "bucket": remote.name, "prefix": remote.prefix,
        "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY,
    } | overrides  # fmt: skip


def _no_secrets(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text


def test_create_a_project_from_a_bucket_sync_and_write_back_without_leaking_credentials(remote, caplog):
    caplog.set_level(logging.DEBUG)  # as with LOG_LEVEL=DEBUG: settings keep botocore's header dumps out
    remote.put("a.jpg", make_image_bytes(64, 48))
    remote.put_annotations(CA_LOCALIZATION)
    user = UserFactory()
    client = client_for(user)

    tested = client.post("/api/v1/storage/test/", _storage(remote), format="json")
    created = client.post(
        "/api/v1/projects/", {"name": "Cats", "type": "localization", "storage": _storage(remote)}, format="json"
    )
    project = Project.objects.get(pk=created.json()["id"])
    job = SyncJob.objects.get(project=project)
    execute("sync", job.pk)  # what the background runner does once the request committed
    progress = client.get(f"/api/v1/projects/{project.pk}/sync/{job.pk}/")
    storage = client.get(f"/api/v1/projects/{project.pk}/storage/")
    written = client.post(f"/api/v1/projects/{project.pk}/annotations-file/")

    assert tested.status_code == 200 and tested.json()["ok"], tested.json()
    assert created.status_code == 201, created.json()
    assert progress.json()["status"] == "succeeded" and progress.json()["added"] == 1
    assert Image.objects.get(project=project).boxes.count() == 2
    assert storage.json()["bucket"] == remote.name and storage.json()["has_credentials"] is True
    assert written.status_code == 200 and written.json()["dirty"] is False
    connection = BucketConnection.objects.get(project=project)
    _no_secrets(connection.access_key_id_encrypted, connection.secret_access_key_encrypted, repr(connection))
    _no_secrets(tested.content.decode(), created.content.decode(), progress.content.decode())
    _no_secrets(storage.content.decode(), written.content.decode(), caplog.text)
    _no_secrets(remote.read("_annotations.json").decode(), repr(connection.s3_settings()))
    schema = client.get("/api/v1/schema/", {"format": "json"}).content.decode()
    assert "secret_access_key" in schema  # documented as an input...
    assert connection.s3_settings().secret_access_key == SECRET_KEY  # ...and decrypted only for boto3


def test_a_bad_storage_block_creates_no_project(remote):
    client = client_for(UserFactory())

    refused = client.post(
        "/api/v1/projects/",
        {"name": "Cats", "storage": _storage(remote, endpoint_url="http://169.254.169.254")},
        format="json",
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_storage"
    assert refused.json()["error"]["field"] == "endpoint_url"
    assert not Project.objects.filter(name="Cats").exists()


def test_credentials_are_kept_for_the_same_endpoint_and_required_for_a_new_one(remote):
    personas = make_persona_project()
    project = connect(personas.project, remote)
    client = client_for(personas.admin)
    url = f"/api/v1/projects/{project.pk}/storage/"
    blank = _storage(remote, access_key_id="", secret_access_key="", sync_interval_minutes=60)

    kept = client.put(url, blank, format="json")
    moved = client.put(url, blank | {"endpoint_url": "http://localhost:1"}, format="json")

    assert kept.status_code == 200 and kept.json()["sync_interval_minutes"] == 60
    assert BucketConnection.objects.get(project=project).s3_settings().secret_access_key == SECRET_KEY
    assert moved.status_code == 400 and moved.json()["error"]["field"] == "access_key_id"


def test_sync_twice_is_refused_while_one_is_queued(remote):
    personas = make_persona_project()
    project = connect(personas.project, remote)
    client = client_for(personas.owner)

    first = client.post(f"/api/v1/projects/{project.pk}/sync/")
    second = client.post(f"/api/v1/projects/{project.pk}/sync/")
    listed = client.get(f"/api/v1/projects/{project.pk}/sync/")

    assert first.status_code == 202 and first.json()["status"] == "queued"
    assert second.status_code == 409 and second.json()["error"]["job"]["id"] == first.json()["id"]
    assert [job["id"] for job in listed.json()] == [first.json()["id"]]


def test_storage_routes_of_an_unconnected_project_say_so(personas):
    client = client_for(personas.owner)
    base = f"/api/v1/projects/{personas.project.pk}/"

    assert client.get(base + "storage/").json() == {"connected": False}
    assert client.post(base + "sync/").json()["error"]["code"] == "not_connected"
    assert client.post(base + "annotations-file/").json()["error"]["code"] == "not_connected"


def _checks(response) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["status"], c["message"]) for c in response.json()["checks"]}


def test_connection_test_reports_plainly_what_is_wrong(remote, s3_endpoint):
    client = client_for(UserFactory())
    port = urlsplit(s3_endpoint).port

    def test(**overrides):
        return _checks(client.post("/api/v1/storage/test/", _storage(remote, **overrides), format="json"))

    assert test(bucket="no-such-bucket")["bucket"][0] == "error"
    assert "DNS" in test(endpoint_url="http://no-such-host.invalid")["endpoint"][1]
    assert test(endpoint_url=f"https://127.0.0.1:{port}")["tls"][0] == "error"
    assert "Cannot connect" in test(endpoint_url="http://127.0.0.1:1")["connect"][1]
    assert "metadata" in test(endpoint_url="http://[::ffff:169.254.169.254]")["endpoint"][1]
    assert test()["cors"][0] == "warning"
    remote.client.put_bucket_cors(
        Bucket=remote.name,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
    )
    result = test()
    assert result["cors"][0] == "ok" and result["write"][0] == "ok" and result["list"][0] == "ok"


def test_the_connection_test_leaves_nothing_behind(remote):
    client = client_for(UserFactory())

    client.post("/api/v1/storage/test/", _storage(remote), format="json")

    keys = [o["Key"] for o in remote.client.list_objects_v2(Bucket=remote.name).get("Contents", [])]
    assert not [key for key in keys if "connection-test" in key]


def test_progress_reaches_the_websocket_group_as_the_api_shows_it(remote, monkeypatch):
    from annotator import jobs

    sent = []
    monkeypatch.setattr(jobs, "broadcast", lambda project_id, event, payload: sent.append((event, payload)))
    remote.put("a.jpg", make_image_bytes())
    project = connect(make_persona_project().project, remote)
    client = client_for(project.owner)
    job_id = client.post(f"/api/v1/projects/{project.pk}/sync/").json()["id"]

    execute("sync", job_id)

    assert {event for event, _ in sent} == {"job.progress"}
    assert [payload["status"] for _, payload in sent] == ["running", "running", "running", "succeeded"]
    last = sent[-1][1]
    assert last["kind"] == "sync" and last["id"] == job_id and last["added"] == 1
    shown = client.get(f"/api/v1/projects/{project.pk}/sync/{job_id}/").json()
    assert {key: value for key, value in last.items() if key != "kind"} == shown  # one shape, event and API
    json.dumps(sent)  # the payload is plain JSON


def test_exports_of_a_connected_project_carry_no_credentials(remote, tmp_path):
    import zipfile

    from annotator.datasets.exporting import EXPORT_FORMATS, export_dataset

    remote.put("a.jpg", make_image_bytes())
    remote.put_annotations(CA_LOCALIZATION)
    project = connect(make_persona_project().project, remote)
    job = SyncJob.objects.create(project=project)
    execute("sync", job.pk)

    for format in ("cloud-annotations", "coco", "voc"):
        assert format in EXPORT_FORMATS
        out = tmp_path / f"{format}.zip"
        export_dataset(project, format, out)
        with zipfile.ZipFile(out) as archive:
            _no_secrets(*(archive.read(name).decode("latin-1") for name in archive.namelist()))
