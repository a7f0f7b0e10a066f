"""The imports and exports API: jobs, permissions, progress rows, and short-lived download links."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from annotator import jobs
from annotator.models import Box, ExportJob, Image, ImportJob, JobStatus
from tests.conftest import SHARED_DATA, client_for, make_image_bytes

pytestmark = pytest.mark.django_db

RACCOON = SHARED_DATA / "raccoon"


def _raccoon_zip(count: int = 3) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for xml in sorted((RACCOON / "annotations").glob("*.xml"))[:count]:
            archive.write(xml, f"annotations/{xml.name}")
            archive.write(RACCOON / "images" / f"{xml.stem}.jpg", f"images/{xml.stem}.jpg")
    return SimpleUploadedFile("raccoon.zip", buffer.getvalue(), "application/zip")


def _imports(project) -> str:
    return f"/api/v1/projects/{project.pk}/imports/"


def _exports(project) -> str:
    return f"/api/v1/projects/{project.pk}/exports/"


def test_a_small_import_runs_in_the_request_and_reports(personas, local_buckets):
    response = client_for(personas.annotator).post(_imports(personas.project), {"file": _raccoon_zip()})

    assert response.status_code == 201, response.json()
    job = response.json()
    assert (job["status"], job["format"], job["report"]["format"], job["report"]["images"]) == (
        "succeeded",
        "auto",
        "voc",
        3,
    )
    assert Image.objects.filter(project=personas.project).count() == 3
    assert not list(local_buckets.rglob("_annotator/imports/*")), "the upload is deleted once imported"
    detail = client_for(personas.viewer).get(f"{_imports(personas.project)}{job['id']}/").json()
    assert detail["report"]["boxes"] == Box.objects.filter(image__project=personas.project).count()
    assert [j["id"] for j in client_for(personas.viewer).get(_imports(personas.project)).json()] == [job["id"]]


def test_a_large_import_is_queued_and_the_job_task_finishes_it(
    personas, settings, local_buckets, django_capture_on_commit_callbacks
):
    from config.celery import app

    settings.ANNOTATOR_INLINE_IMPORT_MAX_BYTES = 0
    app.conf.task_always_eager = True  # the task runs where it is sent: what a worker would do
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(personas.owner).post(
                _imports(personas.project), {"file": _raccoon_zip(2), "format": "voc"}
            )
    finally:
        app.conf.task_always_eager = False

    assert response.status_code == 201 and response.json()["status"] == "queued"
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.done, job.total, job.report["images"]) == (JobStatus.SUCCEEDED, 2, 2, 2)
    assert job.heartbeat_at is not None and job.finished_at is not None and job.worker
    assert not list(local_buckets.rglob("_annotator/imports/*")), "the upload is deleted once imported"


def test_import_progress_reaches_the_websocket_group_as_the_api_shows_it(personas, monkeypatch):
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(jobs, "broadcast", lambda project_id, event, payload: sent.append((event, payload)))
    client = client_for(personas.annotator)

    job_id = client.post(_imports(personas.project), {"file": _raccoon_zip()}).json()["id"]

    assert {event for event, _ in sent} == {"job.progress"}
    assert sent[0][1]["status"] == "running" and sent[-1][1]["status"] == "succeeded"
    assert {payload["phase"] for _, payload in sent[1:-1]} >= {"reading", "images", "database"}
    last = sent[-1][1]
    assert (last["kind"], last["id"], last["created_by"]) == ("import", job_id, personas.annotator.email)
    shown = client.get(f"{_imports(personas.project)}{job_id}/").json()
    assert {key: value for key, value in last.items() if key != "kind"} == shown  # one shape, event and API
    json.dumps(sent)  # the payload is plain JSON


def test_a_bad_dataset_fails_with_its_reason_and_imports_nothing(personas, local_buckets):
    upload = SimpleUploadedFile("x.zip", _zip({"images/a.jpg": b"not an image"}), "application/zip")

    response = client_for(personas.owner).post(_imports(personas.project), {"file": upload})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["job"]["status"] == "failed" and error["code"] == error["job"]["error_code"]
    assert error["job"]["report"]["errors"], "the records at fault are kept with the failed job"
    assert not Image.objects.filter(project=personas.project).exists()
    assert not list(local_buckets.rglob("_annotator/imports/*")), "the upload is deleted whatever happens"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_hostile_zip_is_refused_before_any_job_exists(personas):
    upload = SimpleUploadedFile("evil.zip", _zip({"../evil.jpg": make_image_bytes()}), "application/zip")

    response = client_for(personas.owner).post(_imports(personas.project), {"file": upload})

    assert (response.status_code, response.json()["error"]["code"]) == (400, "archive_unsafe_path")
    assert not ImportJob.objects.exists()


def test_a_viewer_cannot_import_and_an_outsider_does_not_see_the_project(personas):
    assert client_for(personas.viewer).post(_imports(personas.project), {"file": _raccoon_zip(1)}).status_code == 403
    assert client_for(personas.outsider).post(_imports(personas.project), {"file": _raccoon_zip(1)}).status_code == 404
    assert client_for(personas.outsider).get(_exports(personas.project)).status_code == 404
    assert not ImportJob.objects.exists()


def _exported(personas, client, fmt: str = "coco") -> dict:
    client_for(personas.owner).post(_imports(personas.project), {"file": _raccoon_zip(2)})
    response = client.post(_exports(personas.project), {"format": fmt, "split": 0.5}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_an_export_is_downloaded_by_a_signed_link_only_its_user_can_use(personas, settings):
    viewer = client_for(personas.viewer)
    job = _exported(personas, viewer)

    assert job["status"] == "succeeded" and job["download_url"]
    download = viewer.get(job["download_url"])
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        assert len([name for name in archive.namelist() if name.endswith(".jpg")]) == 2
    assert client_for(personas.annotator).get(job["download_url"]).status_code == 400
    assert client_for(personas.outsider).get(job["download_url"]).status_code == 404
    settings.ANNOTATOR_PRESIGNED_URL_SECONDS = -1
    assert viewer.get(job["download_url"]).json()["error"]["code"] == "link_expired"


def test_an_export_event_is_the_api_representation_without_the_download_link(personas, monkeypatch):
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(jobs, "broadcast", lambda project_id, event, payload: sent.append((event, payload)))

    job = _exported(personas, client_for(personas.owner))

    last = [payload for _, payload in sent if payload["kind"] == "export"][-1]
    assert last["status"] == "succeeded" and last["size_bytes"] > 0 and "download_url" not in last
    assert {key: value for key, value in last.items() if key != "kind"} == {
        key: value for key, value in job.items() if key != "download_url"
    }


def test_an_export_on_s3_is_served_by_a_presigned_url(personas, s3_storage):
    job = _exported(personas, client_for(personas.owner), "tfrecord")

    assert job["download_url"].startswith("http") and "Signature" in job["download_url"]
    with urllib.request.urlopen(job["download_url"], timeout=10) as response:
        names = zipfile.ZipFile(io.BytesIO(response.read())).namelist()
    assert {"train.record", "val.record", "label_map.pbtxt"} <= set(names)
    assert job["report"]["split"]["validation_images"] == 1


def test_an_unknown_export_format_is_refused(personas):
    response = client_for(personas.owner).post(_exports(personas.project), {"format": "pdf"}, format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "unknown_format")
    assert not ExportJob.objects.exists()


def test_exporting_an_empty_project_fails_with_a_reason(personas):
    response = client_for(personas.owner).post(_exports(personas.project), {"format": "voc"}, format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "empty_project")
    job = ExportJob.objects.get()
    assert (job.status, job.error_code, job.report) == (JobStatus.FAILED, "empty_project", {"errors": []})


def test_a_running_job_without_heartbeat_is_failed_when_listed(personas, settings):
    settings.ANNOTATOR_DATASET_JOB_HEARTBEAT_TIMEOUT = -1
    job = ExportJob.objects.create(
        project=personas.project, format="coco", status=JobStatus.RUNNING, heartbeat_at=timezone.now()
    )

    listed = client_for(personas.owner).get(_exports(personas.project)).json()

    assert listed[0]["id"] == job.pk and listed[0]["status"] == "failed" and listed[0]["error_code"] == "worker_lost"
