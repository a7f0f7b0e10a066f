"""Stable model URLs for apps and CI: the newest verified model, or a given run's, by format;
and `manage.py downloadmodel --project --latest`. Who may fetch them."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotator.storage import project_bucket
from tests.conftest import client_for
from training.artifacts import MODEL_NAMES
from training.models import Artifact, Run, RunStatus

pytestmark = pytest.mark.django_db


def model_zip(name: str, run_marker: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"{name}/README.md", f"{name} of {run_marker}")
    return out.getvalue()


def finished_run(project, user, status=RunStatus.SUCCEEDED, unverified=()) -> Run:
    """A run whose four model zips (and models.zip) are in the bucket; `unverified` failed their check."""
    run = Run.objects.create(project=project, kind="detection", status=status, created_by=user)
    bucket = project_bucket(project)
    for name in (*MODEL_NAMES, "models"):
        data = model_zip(name, f"run {run.pk}")
        key = f"{run.prefix}/{name}.zip"
        bucket.put(key, io.BytesIO(data), content_type="application/zip")
        Artifact.objects.create(
            run=run, name=name, key=key, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
            content_type="application/zip", verified=name not in unverified,
            verification_error="scores differ from the SavedModel's" if name in unverified else "",
        )  # fmt: skip
    return run


def latest_url(project, name: str) -> str:
    return reverse("api:model-latest", args=[project.pk, name])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_latest_answers_the_newest_verified_export_of_each_format(personas):
    project = personas.project
    older = finished_run(project, personas.owner)
    newer = finished_run(project, personas.owner, unverified=("model_ios",))
    finished_run(project, personas.owner, status=RunStatus.FAILED)
    Run.objects.create(project=project, kind="detection", status=RunStatus.RUNNING)
    client = client_for(personas.viewer)

    web = client.get(latest_url(project, "model_web"))
    assert web.status_code == 200 and web["X-Annotator-Run"] == str(newer.pk)
    assert web["Content-Type"] == "application/zip" and web["X-Annotator-Verified"] == "true"
    assert f'filename="run-{newer.pk}-model_web.zip"' in web["Content-Disposition"]
    assert zipfile.ZipFile(io.BytesIO(body(web))).read("model_web/README.md") == f"model_web of run {newer.pk}".encode()
    assert web["ETag"] == f'"{newer.artifacts.get(name="model_web").sha256}"'
    # The newest run's Core ML export failed its check: apps get the last one that passed.
    assert client.get(latest_url(project, "model_ios"))["X-Annotator-Run"] == str(older.pk)
    # All four together only from a run where none failed.
    assert client.get(latest_url(project, "models"))["X-Annotator-Run"] == str(older.pk)


def test_no_model_yet_and_unknown_formats_are_404s_that_say_why(personas):
    client = client_for(personas.owner)
    Run.objects.create(project=personas.project, kind="detection", status=RunStatus.RUNNING)
    missing = client.get(latest_url(personas.project, "model_web"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_model"
    assert "model_web" in missing.json()["error"]["message"]
    finished_run(personas.project, personas.owner)
    unknown = client.get(latest_url(personas.project, "model_windows"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_model"


@pytest.mark.parametrize(("role", "expected"), [("owner", 200), ("viewer", 200), ("outsider", 404), (None, 401)])
def test_members_fetch_models_outsiders_get_404(personas, role, expected):
    finished_run(personas.project, personas.owner)
    client = client_for(personas.of(role) if role else None)
    assert client.get(latest_url(personas.project, "model_android")).status_code == expected


def test_scripts_fetch_the_latest_with_a_token(personas):
    finished_run(personas.project, personas.owner)
    token = Token.objects.create(user=personas.viewer)
    response = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}").get(latest_url(personas.project, "model"))
    assert response.status_code == 200 and body(response).startswith(b"PK")


def test_a_run_by_id_answers_its_own_model_even_unverified(personas):
    project = personas.project
    run = finished_run(project, personas.owner, unverified=("model_ios",))
    client = client_for(personas.viewer)
    response = client.get(reverse("api:model-by-run", args=[project.pk, run.pk, "model_ios"]))
    assert response.status_code == 200 and response["X-Annotator-Verified"] == "false"
    failed = finished_run(project, personas.owner, status=RunStatus.FAILED)
    refused = client.get(reverse("api:model-by-run", args=[project.pk, failed.pk, "model_web"]))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "no_model"
    other = client.get(reverse("api:model-by-run", args=[personas.other_project.pk, run.pk, "model_web"]))
    assert other.status_code == 404


def test_downloadmodel_latest_writes_the_newest_verified_folder(personas, tmp_path, capsys):
    project = personas.project
    older = finished_run(project, personas.owner)
    newer = finished_run(project, personas.owner, unverified=("model_ios",))
    latest = ["--project", str(project.pk), "--latest"]
    call_command("downloadmodel", *latest, "--format", "model_web", "--out", str(tmp_path))
    assert (tmp_path / "model_web" / "README.md").read_text() == f"model_web of run {newer.pk}"
    assert capsys.readouterr().out.split() == [str(tmp_path / "model_web")]
    call_command("downloadmodel", *latest, "--out", str(tmp_path / "all"))
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(MODEL_NAMES)
    assert (tmp_path / "all" / "model" / "README.md").read_text() == f"model of run {older.pk}"
    call_command("downloadmodel", "--project", str(project.pk), "--run", str(newer.pk), "--out", str(tmp_path / "n"))
    assert (tmp_path / "n" / "model_ios" / "README.md").read_text() == f"model_ios of run {newer.pk}"


def test_downloadmodel_says_what_is_missing(personas, tmp_path):
    project = personas.project
    with pytest.raises(CommandError, match="no succeeded run with verified model_web"):
        call_command(
            "downloadmodel", "--project", str(project.pk), "--latest", "--format", "model_web", "--out", str(tmp_path)
        )
    with pytest.raises(CommandError, match="Say which run"):
        call_command("downloadmodel", "--project", str(project.pk))
    with pytest.raises(CommandError, match="has no run 999"):
        call_command("downloadmodel", "--project", str(project.pk), "--run", "999")
    run = finished_run(project, personas.owner)
    Artifact.objects.filter(run=run, name="model_web").update(sha256="0" * 64)
    with pytest.raises(CommandError, match="does not match its recorded checksum"):
        call_command("downloadmodel", str(run.pk), "--format", "model_web", "--out", str(tmp_path))


def test_apps_revalidate_the_latest_model_with_its_etag(personas):
    """200 with a strong ETag (the zip's sha256) and `no-cache`; the same ETag back is a 304 without a
    body; a new run's zip has a new ETag, so the old one gets the new zip."""
    project = personas.project
    first = finished_run(project, personas.owner)
    client = client_for(personas.viewer)
    url = latest_url(project, "model_android")
    fetched = client.get(url)
    etag = f'"{first.artifacts.get(name="model_android").sha256}"'
    assert fetched.status_code == 200 and fetched["ETag"] == etag
    assert fetched["Cache-Control"] == "private, no-cache"
    body(fetched)

    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == "private, no-cache"
    assert again["X-Annotator-Run"] == str(first.pk)
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304  # weak comparison, a list
    assert client.get(url, HTTP_IF_NONE_MATCH="*").status_code == 304

    second = finished_run(project, personas.owner)
    newer = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert newer.status_code == 200 and newer["X-Annotator-Run"] == str(second.pk)
    assert newer["ETag"] == f'"{second.artifacts.get(name="model_android").sha256}"' != etag
    assert zipfile.ZipFile(io.BytesIO(body(newer))).read("model_android/README.md") == (
        f"model_android of run {second.pk}".encode()
    )
    assert client.get(url, HTTP_IF_NONE_MATCH=newer["ETag"]).status_code == 304


def test_a_run_by_id_and_outsiders_with_an_etag(personas):
    project = personas.project
    run = finished_run(project, personas.owner)
    etag = f'"{run.artifacts.get(name="models").sha256}"'
    by_run = reverse("api:model-by-run", args=[project.pk, run.pk, "models"])
    assert client_for(personas.viewer).get(by_run, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # Knowing the sha256 is no way in: permissions come first.
    assert client_for(personas.outsider).get(by_run, HTTP_IF_NONE_MATCH=etag).status_code == 404
    assert client_for(personas.outsider).get(latest_url(project, "models"), HTTP_IF_NONE_MATCH=etag).status_code == 404


@pytest.mark.integration
def test_on_s3_the_redirect_carries_the_etag_and_a_match_is_a_304_without_one(s3_storage, personas):
    run = finished_run(personas.project, personas.owner)
    etag = f'"{run.artifacts.get(name="model_web").sha256}"'
    client = client_for(personas.viewer)
    url = latest_url(personas.project, "model_web")
    redirect = client.get(url)
    assert redirect.status_code == 302 and "X-Amz-Signature" in redirect["Location"]
    assert redirect["ETag"] == etag and redirect["Cache-Control"] == "private, no-cache"
    current = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert current.status_code == 304 and "Location" not in current and current.content == b""
