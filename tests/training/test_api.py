"""The runs API: who may do what, the errors a person can trigger, downloads."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from annotator.storage import project_bucket
from tests.conftest import client_for
from tests.training.conftest import classification_data
from training.models import Artifact, Run, RunStatus
from training.services import create_run

pytestmark = pytest.mark.django_db
ROLES = ["owner", "admin", "reviewer", "annotator", "viewer", "outsider", "anonymous"]


@pytest.fixture
def ready(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    return classification_project


def finished_run(project, user) -> Run:
    """A succeeded run with one model artifact whose bytes are in the bucket."""
    run = create_run(project, user, "classification", {"epochs": 1})
    data = b"PK zip bytes"
    key = f"{run.prefix}/model_web.zip"
    project_bucket(project).put(key, data)
    Artifact.objects.create(run=run, name="model_web", key=key, size_bytes=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), content_type="application/zip")  # fmt: skip
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, metrics={"accuracy": 1.0})
    return run


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 201), ("admin", 201), ("reviewer", 403), ("annotator", 403), ("viewer", 403), ("outsider", 404),
     ("anonymous", 401)],
)  # fmt: skip
def test_who_may_start_a_run(ready, personas, role, expected):
    response = client_for(personas.of(role)).post(
        reverse("api:run-list", args=[ready.pk]), {"hyperparameters": {"epochs": 2}}, format="json"
    )
    assert response.status_code == expected, response.content
    if expected == 201:
        body = response.json()
        assert body["status"] == "queued" and body["kind"] == "classification"
        assert body["hyperparameters"]["epochs"] == 2 and body["hyperparameters"]["input_size"] == 288


@pytest.mark.parametrize("role", ROLES)
def test_who_may_read_runs_and_download(ready, personas, role):
    run = finished_run(ready, personas.owner)
    client = client_for(personas.of(role))
    urls = [
        reverse("api:run-list", args=[ready.pk]),
        reverse("api:run-detail", args=[ready.pk, run.pk]),
        reverse("api:run-artifacts", args=[ready.pk, run.pk]),
        reverse("api:run-artifact", args=[ready.pk, run.pk, "model_web"]),
    ]
    expected = {"outsider": 404, "anonymous": 401}.get(role, 200)
    assert [client.get(url).status_code for url in urls] == [expected] * 4


def test_preflight_failure_lists_the_problems(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=3)
    response = client_for(personas.owner).post(reverse("api:run-list", args=[classification_project.pk]), {},
                                               format="json")  # fmt: skip
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "preflight_failed"
    assert [p["code"] for p in error["problems"]] == ["too_few_examples", "too_few_examples"]
    assert error["problems"][0]["label"] == "red" and "at least 5" in error["problems"][0]["message"]
    assert not Run.objects.exists()


def test_preflight_endpoint(ready, personas):
    url = reverse("api:run-preflight", args=[ready.pk])
    body = client_for(personas.admin).get(url).json()
    assert body["ok"] and body["kind"] == "classification" and body["examples_per_label"] == {"red": 5, "blue": 5}
    assert client_for(personas.annotator).get(url).status_code == 403
    assert client_for(personas.outsider).get(url).status_code == 404
    mismatch = client_for(personas.admin).get(url + "?kind=detection").json()
    assert [p["code"] for p in mismatch["errors"]] == ["kind_mismatch"]
    assert client_for(personas.admin).get(url + "?kind=segmentation").json()["error"]["code"] == "invalid_kind"


@pytest.mark.parametrize(
    ("hyperparameters", "field"),
    [({"epochs": 0}, "epochs"), ({"epochs": 3, "steps": 10}, "steps"), ({"input_size": 100}, "input_size"),
     ({"alpha": 0.6}, "alpha"), ({"fine_tune_epochs": "many"}, "fine_tune_epochs"), ({"nonsense": 1}, None)],
)  # fmt: skip
def test_invalid_hyperparameters_are_refused(ready, personas, hyperparameters, field):
    response = client_for(personas.owner).post(reverse("api:run-list", args=[ready.pk]),
                                               {"hyperparameters": hyperparameters}, format="json")  # fmt: skip
    if field is None:  # unknown names are ignored, like any extra JSON field
        assert response.status_code == 201
        assert "nonsense" not in response.json()["hyperparameters"]
        return
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["details"]["hyperparameters"]


def test_unknown_kind_is_refused(ready, personas):
    response = client_for(personas.owner).post(reverse("api:run-list", args=[ready.pk]), {"kind": "segmentation"},
                                               format="json")  # fmt: skip
    assert response.status_code == 400 and "kind" in response.json()["error"]["details"]


def test_cancel_a_queued_run_then_again(ready, personas):
    run = create_run(ready, personas.owner, "classification", {})
    url = reverse("api:run-cancel", args=[ready.pk, run.pk])
    assert client_for(personas.viewer).post(url).status_code == 403
    response = client_for(personas.admin).post(url)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = client_for(personas.admin).post(url)
    assert again.status_code == 409 and again.json()["error"]["code"] == "run_finished"


def test_runs_of_other_projects_are_not_found(ready, personas):
    run = finished_run(ready, personas.owner)
    other = personas.other_project.pk
    client = client_for(personas.outsider)
    assert client.get(reverse("api:run-detail", args=[other, run.pk])).status_code == 404
    assert client.get(reverse("api:run-artifact", args=[other, run.pk, "model_web"])).status_code == 404


def test_artifact_list_and_local_download(ready, personas):
    run = finished_run(ready, personas.owner)
    client = client_for(personas.viewer)
    listed = client.get(reverse("api:run-artifacts", args=[ready.pk, run.pk])).json()
    assert listed[0]["name"] == "model_web" and listed[0]["sha256"] == hashlib.sha256(b"PK zip bytes").hexdigest()
    response = client.get(listed[0]["url"])
    assert b"".join(response.streaming_content) == b"PK zip bytes"
    assert f'filename="run-{run.pk}-model_web.zip"' in response["Content-Disposition"]
    missing = client.get(reverse("api:run-artifact", args=[ready.pk, run.pk, "model_ios"]))
    assert missing.status_code == 404


@pytest.mark.integration
def test_download_redirects_to_a_presigned_url_on_s3(s3_storage, classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    run = finished_run(classification_project, personas.owner)
    response = client_for(personas.viewer).get(reverse("api:run-artifact", args=[classification_project.pk, run.pk,
                                                                                  "model_web"]))  # fmt: skip
    assert response.status_code == 302
    assert "X-Amz-Signature" in response["Location"] and "model_web.zip" in response["Location"]


def test_list_filters_and_pages(ready, personas):
    first = create_run(ready, personas.owner, "classification", {})
    second = create_run(ready, personas.owner, "classification", {})
    Run.objects.filter(pk=first.pk).update(status=RunStatus.FAILED)
    client = client_for(personas.viewer)
    url = reverse("api:run-list", args=[ready.pk])
    assert [r["id"] for r in client.get(url).json()["results"]] == [second.pk, first.pk]
    assert [r["id"] for r in client.get(url + "?status=failed").json()["results"]] == [first.pk]
    assert client.get(url + "?status=exploded").json()["error"]["code"] == "invalid_filter"


def test_pages_render_for_members_and_hide_from_outsiders(ready, personas, client):
    run = finished_run(ready, personas.owner)
    pages = [reverse("training:run-list", args=[ready.pk]), reverse("training:run-detail", args=[ready.pk, run.pk]),
             reverse("training:run-compare", args=[ready.pk]) + f"?run={run.pk}"]  # fmt: skip
    client.force_login(personas.viewer)
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200
    assert b'id="train-form"' not in client.get(pages[0]).content
    client.force_login(personas.owner)
    assert b'id="train-form"' in client.get(pages[0]).content
    assert b"model_web.zip" in client.get(pages[1]).content
    client.force_login(personas.outsider)
    assert [client.get(page).status_code for page in pages] == [404, 404, 404]
